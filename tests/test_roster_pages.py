"""Adding students through the roster pages: preview, per-row errors, confirmation; editing students."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from classrooms import roster_import
from classrooms.models import Enrollment, PairingConstraint
from tests.classes_fixtures import fast_password_hashing  # noqa: F401
from tests.conftest import World, client_for
from tests.factories import make_classroom, make_student

pytestmark = pytest.mark.django_db


def _names(world: World) -> list[str]:
    return sorted(Enrollment.objects.filter(classroom=world.classroom).values_list("student__display_name", flat=True))


def _add_url(world: World) -> str:
    return f"/classes/{world.classroom.pk}/roster/add/"


def _confirm(client: Client, world: World, preview_body: str):  # type: ignore[no-untyped-def]
    token = re.search(r'name="token" value="([^"]+)"', preview_body)
    assert token, "the preview has no confirm form"
    return client.post(f"/classes/{world.classroom.pk}/roster/confirm/", {"token": token.group(1)})


def _upload(client: Client, world: World, data: bytes, name: str = "class.csv"):  # type: ignore[no-untyped-def]
    return client.post(_add_url(world), {"csv_file": SimpleUploadedFile(name, data, content_type="text/csv")})


def _error_rows(body: str) -> list[tuple[str, str]]:
    rows = re.findall(
        r'<tr class="error-row">\s*<td class="line-number">(\d+)</td>\s*<td><bdi[^>]*>.*?</bdi></td>\s*<td>(.*?)</td>',
        body,
        re.S,
    )
    return [(line, message.strip()) for line, message in rows]


def test_it_previews_pasted_names_with_each_bad_row_and_adds_nothing_yet(world: World) -> None:
    client = client_for(world, "teacher")
    before = _names(world)
    pasted = "\n".join(["Tamar", "", "Ari", "x" * 81, "tamar", "Dana", "Maya"])
    response = client.post(_add_url(world), {"names": pasted})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing has been added yet." in body
    assert "3 students are ready to add." in body
    assert "3 rows have problems and will be left out." in body
    assert _error_rows(body) == [
        ("4", "The name is 81 characters long; names can have at most 80."),
        ("5", "The same name is already on line 1."),
        ("6", "A student with this name is already in the class."),
    ]
    assert _names(world) == before  # no partial import without confirmation


def test_it_adds_only_the_good_rows_after_confirmation(world: World) -> None:
    client = client_for(world, "teacher")
    preview = client.post(_add_url(world), {"names": "Tamar\tBlue\nAri\n\ndana\nAri"}).content.decode()
    response = _confirm(client, world, preview)
    assert response.status_code == 302
    assert response["Location"] == f"/classes/{world.classroom.pk}/#roster"
    assert _names(world) == ["Ari", "Dana", "Eli", "Noa", "Tamar", "Yoni"]
    tamar = Enrollment.objects.get(classroom=world.classroom, student__display_name="Tamar")
    assert tamar.group_label == "Blue"
    assert re.fullmatch(r"\d{4}", tamar.pin)
    assert tamar.student.is_student
    assert not tamar.student.has_usable_password()
    detail = client.get(response["Location"]).content.decode()
    assert "2 students added." in detail
    # The preview is used up: confirming again adds nobody twice.
    again = _confirm(client, world, preview)
    assert again["Location"] == f"/classes/{world.classroom.pk}/roster/add/"
    assert _names(world).count("Ari") == 1


def test_it_adds_nothing_for_a_forged_or_stale_confirmation(world: World) -> None:
    client = client_for(world, "teacher")
    client.post(_add_url(world), {"names": "Tamar"})
    response = client.post(f"/classes/{world.classroom.pk}/roster/confirm/", {"token": "forged"}, follow=True)
    assert "This preview is no longer current" in response.content.decode()
    assert "Tamar" not in _names(world)


def test_it_keeps_a_preview_to_its_own_class(world: World) -> None:
    client = client_for(world, "teacher")
    second = make_classroom(teacher=world.teacher, name="Grade 8")
    preview = client.post(_add_url(world), {"names": "Tamar"}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', preview).group(1)  # type: ignore[union-attr]
    client.post(f"/classes/{second.pk}/roster/confirm/", {"token": token})
    assert not Enrollment.objects.filter(classroom=second).exists()


def test_it_skips_a_name_added_by_someone_else_between_preview_and_confirmation(world: World) -> None:
    client = client_for(world, "teacher")
    preview = client.post(_add_url(world), {"names": "Tamar\nAri"}).content.decode()
    make_student(classroom=world.classroom, name="Tamar")  # the co-teacher was quicker
    response = _confirm(client, world, preview)
    body = client.get(response["Location"]).content.decode()
    assert "1 student added." in body
    assert "Skipped because the name is already on the roster: Tamar" in body
    assert _names(world).count("Tamar") == 1


def test_it_offers_to_fix_a_pasted_list_in_place(world: World) -> None:
    client = client_for(world, "teacher")
    body = client.post(_add_url(world), {"names": "Tamar\nDana"}).content.decode()
    assert "Fix the list here and check it again" in body
    assert ">Tamar\nDana</textarea>" in body


def test_it_previews_a_csv_with_a_byte_order_mark_and_group_labels(world: World) -> None:
    client = client_for(world, "teacher")
    data = "\ufeffname,group\nTamar,Blue\nAri,\n,Green\n".encode()
    body = _upload(client, world, data).content.decode()
    assert "2 students are ready to add." in body
    assert _error_rows(body) == [("4", "The name is empty.")]
    _confirm(client, world, body)
    assert Enrollment.objects.get(student__display_name="Tamar").group_label == "Blue"


def test_it_previews_a_csv_without_a_header(world: World) -> None:
    client = client_for(world, "teacher")
    body = _upload(client, world, b"Tamar,Blue\nAri,Green\n").content.decode()
    assert "2 students are ready to add." in body
    assert '<td class="line-number">1</td>' in body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("name\nZoë\nRené\n".encode("cp1252"), "The file is not saved as UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "This is not a text file."),
        (b"PK\x03\x04" + b"\x00" * 64, "This is a spreadsheet file"),
        (b"Dana\n" * (roster_import.MAX_BYTES // 5 + 1), "The file is larger than 1 MB."),
        (
            "\n".join(f"Student {n}" for n in range(501)).encode(),
            "The list has 501 students; at most 500 can be added at once.",
        ),
        (b"name,group\n", "There are no names in it."),
    ],
    ids=["wrong-encoding", "binary", "xlsx", "oversize", "too-many-rows", "header-only"],
)
def test_it_refuses_unusable_files_with_a_clear_message(world: World, data: bytes, message: str) -> None:
    client = client_for(world, "teacher")
    before = _names(world)
    response = _upload(client, world, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'name="token"' not in body  # no preview to confirm
    assert f"roster-import-{world.classroom.pk}" not in client.session
    assert _names(world) == before


def test_it_asks_for_names_or_a_file_but_not_both(world: World) -> None:
    client = client_for(world, "teacher")
    assert "Type at least one name, or choose a CSV file." in client.post(_add_url(world), {}).content.decode()
    both = client.post(
        _add_url(world), {"names": "Tamar", "csv_file": SimpleUploadedFile("a.csv", b"Ari", content_type="text/csv")}
    )
    assert "Paste names or upload a file, not both." in both.content.decode()


# --- One student at a time ---------------------------------------------------------------------


def test_it_renames_a_student_and_changes_the_group_label(world: World) -> None:
    client = client_for(world, "co_teacher")
    url = f"/classes/{world.classroom.pk}/students/{world.student.pk}/edit/"
    assert 'value="Dana"' in client.get(url).content.decode()
    response = client.post(url, {"display_name": "  Dana   K. ", "group_label": "Blue"})
    assert response.status_code == 302
    world.student.refresh_from_db()
    assert world.student.display_name == "Dana K."
    assert Enrollment.objects.get(student=world.student).group_label == "Blue"


def test_it_refuses_a_rename_to_a_classmates_name(world: World) -> None:
    client = client_for(world, "teacher")
    url = f"/classes/{world.classroom.pk}/students/{world.student.pk}/edit/"
    response = client.post(url, {"display_name": "eli", "group_label": ""})
    assert response.status_code == 200
    assert "Another student in this class already has this name." in response.content.decode()
    world.student.refresh_from_db()
    assert world.student.display_name == "Dana"


def test_it_resets_a_pin_after_confirmation_and_shows_the_new_one(world: World) -> None:
    client = client_for(world, "teacher")
    url = f"/classes/{world.classroom.pk}/students/{world.student.pk}/pin/"
    assert "New PIN for" in client.get(url).content.decode()
    assert Enrollment.objects.get(student=world.student).pin == "1111"
    body = client.post(url, follow=True).content.decode()
    pin = Enrollment.objects.get(student=world.student).pin
    assert pin != "1111"
    assert f"New PIN for Dana: {pin}." in body


def test_it_removes_a_student_after_confirmation(world: World) -> None:
    client = client_for(world, "teacher")
    url = f"/classes/{world.classroom.pk}/students/{world.classmate.pk}/remove/"
    confirm = client.get(url).content.decode()
    assert "This cannot be undone." in confirm
    assert "Noa" in _names(world)
    response = client.post(url, follow=True)
    assert "Noa was removed from the class." in response.content.decode()
    assert "Noa" not in _names(world)


def test_it_refuses_to_move_a_student_into_a_class_with_the_same_name(world: World) -> None:
    second = make_classroom(teacher=world.teacher, name="Grade 8")
    make_student(classroom=second, name="Dana")
    client = client_for(world, "teacher")
    url = f"/classes/{world.classroom.pk}/students/{world.student.pk}/move/"
    assert "Grade 8" in client.get(url).content.decode()
    response = client.post(url, {"to_classroom": second.pk})
    assert response.status_code == 200
    assert "A student with this name is already in that class." in response.content.decode()


def test_it_drops_old_pairing_constraints_when_moving_a_student(world: World) -> None:
    second = make_classroom(teacher=world.teacher, name="Grade 8")
    PairingConstraint.objects.create(
        classroom=world.classroom, student_a=world.student, student_b=world.partner, kind="apart"
    )
    client = client_for(world, "teacher")
    client.post(f"/classes/{world.classroom.pk}/students/{world.student.pk}/move/", {"to_classroom": second.pk})
    assert not PairingConstraint.objects.filter(classroom=world.classroom).exists()


def test_it_explains_when_there_is_no_other_class_to_move_to(world: World) -> None:
    client = client_for(world, "teacher")
    body = client.get(f"/classes/{world.classroom.pk}/students/{world.student.pk}/move/").content.decode()
    assert "You have no other active class to move this student to." in body
