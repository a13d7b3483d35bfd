"""Loading the library from fixtures, check_protocols, snapshots and frozen protocol versions."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils.html import escape

from protocols.models import AgeBand, Practice, Protocol, ProtocolField, ProtocolStep, ProtocolVersion, Stance, Text
from protocols.selectors import protocols_with_parts
from protocols.services import (
    LibraryError,
    library_load,
    protocol_comparable,
    protocol_snapshot,
    protocol_version_current,
)
from tests.protocols_fixtures import (
    PROTOCOL_SLUGS,
    TEXT_SLUGS,
    copy_fixtures,
    fixture_protocol,
    library,  # noqa: F401  (fixture)
    write_protocol,
)


def _run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_loads_the_fixtures_on_an_empty_database_and_check_protocols_reports_both_versions() -> None:
    assert not Protocol.objects.exists()
    _run("load_library")
    assert Protocol.objects.count() == len(PROTOCOL_SLUGS) == 18
    assert Text.objects.filter(owner__isnull=True).count() == len(TEXT_SLUGS) >= 8
    assert Practice.objects.filter(kind="practice").count() == 6
    assert Practice.objects.filter(kind="triangle").count() == 3
    assert Stance.objects.count() == 3
    assert list(AgeBand.objects.values_list("slug", flat=True)) == [
        "upper-elementary",
        "middle-school",
        "high-school",
        "adult",
    ]

    # The project's own CC0 English of Pirkei Avot 1:6 has no source address, and loads all the same.
    avot = Text.objects.get(slug="avot-1-6")
    assert (avot.en_license, avot.en_source, avot.en_version_title) == ("CC0", "", "Havruta Classroom translation")
    assert avot.segments.get().en.startswith("Yehoshua ben Perachyah")

    output = _run("check_protocols", "--database")
    assert f"{len(PROTOCOL_SLUGS)} protocols and {len(TEXT_SLUGS)} texts: no problems." in output
    for slug in PROTOCOL_SLUGS:
        data = fixture_protocol(slug)
        line = f"ok {slug}: student + teacher versions, {len(data['steps'])} steps, {len(data['fields'])} fields"
        assert line in output
    assert "no problems" in output


@pytest.mark.django_db
@pytest.mark.usefixtures("library")
def test_it_loads_rows_that_round_trip_to_the_fixture() -> None:
    for protocol in protocols_with_parts():
        assert protocol_comparable(protocol_snapshot(protocol)) == protocol_comparable(fixture_protocol(protocol.slug))
    warm_up = Protocol.objects.get(slug="havruta-warm-up-younger")
    assert warm_up.family == "havruta-warm-up"
    assert warm_up.variant_label == "Upper elementary and middle school"
    assert warm_up.steps.count() == len(fixture_protocol("havruta-warm-up-younger")["steps"])
    segments = Text.objects.get(slug="genesis-4-1-16").segments.order_by("position")
    assert [s.label for s in segments][:3] == ["4:1", "4:2", "4:3"]
    assert "קַיִן" in segments[0].he


@pytest.mark.django_db
@pytest.mark.usefixtures("library")
def test_it_is_idempotent_and_writes_nothing_the_second_time(
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    steps_before = list(ProtocolStep.objects.order_by("pk").values_list("pk", flat=True))
    with django_assert_max_num_queries(15):
        report = library_load()
    assert report.protocols_created == report.protocols_updated == []
    assert sorted(report.protocols_unchanged) == PROTOCOL_SLUGS
    assert report.texts_created == report.texts_updated == []
    assert Protocol.objects.count() == 18
    assert list(ProtocolStep.objects.order_by("pk").values_list("pk", flat=True)) == steps_before


@pytest.mark.django_db
def test_it_reports_the_library_order_by_category() -> None:
    library_load()
    categories = list(Protocol.objects.values_list("category", flat=True))
    assert categories[0] == "warm-up"
    order = [c.value for c in Protocol.Category]
    assert [order.index(c) for c in categories] == sorted(order.index(c) for c in categories)


# --- broken fixtures --------------------------------------------------------------------------


def _break(fixtures: Path, slug: str, mutate: Any) -> None:
    data = fixture_protocol(slug)
    mutate(data)
    write_protocol(fixtures, data)


BROKEN = [
    ("missing teacher block", "noticing-and-wondering", lambda d: d.pop("teacher"), "missing the teacher part"),
    ("missing student block", "this-is-not-an-x", lambda d: d.pop("student"), "missing the student part"),
    (
        "duplicate field key",
        "joys-and-oys",
        lambda d: d["fields"].append(dict(d["fields"][0])),
        f"duplicate field key '{fixture_protocol('joys-and-oys')['fields'][0]['key']}'",
    ),
    (
        "scale without labels",
        "self-assessment",
        lambda d: d["fields"][0].update(scale=[]),
        "scale field 'rate_listening' has no labelled points",
    ),
    (
        "field with a missing step",
        "listening-to-the-text",
        lambda d: d["fields"][1].update(step="vanished"),
        "points at missing step 'vanished'",
    ),
    (
        "unknown practice",
        "reflection-questions",
        lambda d: d["practices"].append("daydreaming"),
        "unknown practice 'daydreaming'",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "slug", "mutate", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_it_fails_check_protocols_on_a_broken_fixture_naming_the_protocol_and_problem(
    tmp_path: Path, case: str, slug: str, mutate: Any, message: str
) -> None:
    fixtures = copy_fixtures(tmp_path)
    _break(fixtures, slug, mutate)

    with pytest.raises(CommandError) as raised:
        _run("check_protocols", "--dir", str(fixtures))
    assert f"{slug}: {message}" in str(raised.value) or (slug in str(raised.value) and message in str(raised.value)), (
        str(raised.value)
    )
    assert any(line.strip().startswith(f"{slug}: ") and message in line for line in str(raised.value).splitlines())


@pytest.mark.django_db
def test_it_refuses_to_load_a_broken_library_and_writes_nothing(tmp_path: Path) -> None:
    fixtures = copy_fixtures(tmp_path)
    _break(fixtures, "noticing-and-wondering", lambda d: d.pop("teacher"))
    _break(fixtures, "joys-and-oys", lambda d: d["practices"].append("daydreaming"))

    with pytest.raises(LibraryError) as raised:
        library_load(fixtures)
    assert "noticing-and-wondering: missing the teacher part" in "\n".join(raised.value.problems)
    assert "joys-and-oys: unknown practice 'daydreaming'" in "\n".join(raised.value.problems)
    assert not Protocol.objects.exists()
    assert not Practice.objects.exists()

    with pytest.raises(CommandError, match="noticing-and-wondering: missing the teacher part"):
        _run("load_library", str(fixtures))


@pytest.mark.django_db
def test_it_reports_unreadable_json_by_file_name(tmp_path: Path) -> None:
    fixtures = copy_fixtures(tmp_path)
    (fixtures / "protocols" / "joys-and-oys.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(CommandError, match=r"joys-and-oys\.json: cannot be read as JSON"):
        _run("check_protocols", "--dir", str(fixtures))


@pytest.mark.django_db
def test_it_tells_check_protocols_database_when_the_library_is_not_loaded() -> None:
    with pytest.raises(CommandError, match="listening-to-the-text: not in the database"):
        _run("check_protocols", "--database")


# --- versions ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_keeps_an_old_version_unchanged_after_a_fixture_edit(tmp_path: Path) -> None:
    fixtures = copy_fixtures(tmp_path)
    library_load(fixtures)
    protocol = Protocol.objects.get(slug="listening-to-the-text")
    first = protocol_version_current(protocol=protocol)
    assert first.number == 1
    frozen = json.loads(json.dumps(first.data))
    assert protocol_version_current(protocol=protocol) == first  # same content, same version

    def edit(d: dict[str, Any]) -> None:
        d["title"] = "Listening Closely to the Text"
        d["steps"][0]["instructions"] = "Read the passage aloud three times."
        d["fields"].pop()
        d["teacher"]["purpose"] = "A new purpose."

    _break(fixtures, "listening-to-the-text", edit)
    report = library_load(fixtures)
    assert "listening-to-the-text" in report.protocols_updated

    first.refresh_from_db()
    assert first.data == frozen
    assert first.data["title"] == "Listening to the Text"
    assert first.data["teacher"]["purpose"] == fixture_protocol("listening-to-the-text")["teacher"]["purpose"]

    second = protocol_version_current(protocol=protocol)
    assert second.number == 2
    assert second.data["title"] == "Listening Closely to the Text"
    assert second.data["steps"][0]["instructions"] == "Read the passage aloud three times."
    assert len(second.data["fields"]) == len(frozen["fields"]) - 1
    assert ProtocolVersion.objects.filter(protocol=protocol).count() == 2


@pytest.mark.django_db
def test_it_keeps_an_assignment_on_the_protocol_as_it_was_after_a_fixture_edit(tmp_path: Path) -> None:
    from classrooms.services_pairing import assignment_create
    from tests.factories import make_classroom, make_session, make_student, make_teacher
    from worksheets.models import Worksheet

    fixtures = copy_fixtures(tmp_path)
    library_load(fixtures)
    teacher = make_teacher()
    classroom = make_classroom(teacher=teacher)
    pair = [make_student(classroom=classroom, name=name) for name in ("Dana", "Eli")]
    session = make_session(classroom=classroom, groups=[pair])
    text = Text.objects.get(slug="genesis-4-1-16")
    (before,) = assignment_create(
        session=session,
        by=teacher,
        protocol=Protocol.objects.get(slug="listening-to-the-text"),
        text=text,
        date=session.date,
    )

    original = fixture_protocol("listening-to-the-text")

    def edit(d: dict[str, Any]) -> None:
        d["title"] = "Listening Closely to the Text"
        d["steps"][0]["instructions"] = "Read the passage aloud three times."
        d["fields"][0]["label"] = "A brand new question"

    _break(fixtures, "listening-to-the-text", edit)
    _run("load_library", str(fixtures))

    before.refresh_from_db()
    assert before.protocol_version.data["title"] == "Listening to the Text"
    assert before.protocol_version.data["steps"][0]["instructions"] == original["steps"][0]["instructions"]
    assert before.protocol_version.data["fields"][0]["label"] == original["fields"][0]["label"]
    # What the havruta opens is the protocol as it was assigned...
    worksheet = Worksheet.objects.get(assignment=before)
    client = Client()
    client.force_login(pair[0])
    html = client.get(f"/worksheets/{worksheet.pk}/").content.decode()
    assert escape(original["fields"][0]["label"]) in html and "A brand new question" not in html
    # ... while the next assignment gets the edited one.
    (after,) = assignment_create(
        session=session,
        by=teacher,
        protocol=Protocol.objects.get(slug="listening-to-the-text"),
        text=text,
        date=session.date,
    )
    assert after.protocol_version.data["title"] == "Listening Closely to the Text"
    assert after.protocol_version.number == before.protocol_version.number + 1


@pytest.mark.django_db
@pytest.mark.usefixtures("library")
def test_it_makes_a_new_version_after_an_edit_in_the_admin_rows() -> None:
    protocol = Protocol.objects.get(slug="joys-and-oys")
    first = protocol_version_current(protocol=protocol)
    field = ProtocolField.objects.filter(protocol=protocol).order_by("position").first()
    assert field is not None
    field.label = "Something new"
    field.save(update_fields=["label"])
    second = protocol_version_current(protocol=protocol)
    assert (first.number, second.number) == (1, 2)
    first.refresh_from_db()
    assert "Something new" not in json.dumps(first.data)
    assert any(f["label"] == "Something new" for f in second.data["fields"])


@pytest.mark.django_db
@pytest.mark.usefixtures("library")
def test_it_freezes_display_names_in_the_snapshot() -> None:
    version = protocol_version_current(protocol=Protocol.objects.get(slug="self-assessment"))
    names = version.data["names"]
    assert names["practices"]["listening"] == "Listening"
    assert names["age_bands"]["adult"] == "Adults"
    assert names["triangle"]["text"] == "The text"
    assert set(names["stances"]) == set(version.data["stances"])


@pytest.mark.usefixtures("library")
def test_it_shows_the_whole_library_in_the_admin(admin_client) -> None:  # type: ignore[no-untyped-def]
    protocol = Protocol.objects.get(slug="self-assessment")
    version = protocol_version_current(protocol=protocol)
    text = Text.objects.get(slug="genesis-4-1-16")
    for url in (
        "/admin/protocols/protocol/",
        f"/admin/protocols/protocol/{protocol.pk}/change/",
        "/admin/protocols/practice/",
        "/admin/protocols/stance/",
        "/admin/protocols/ageband/",
        "/admin/protocols/text/",
        f"/admin/protocols/text/{text.pk}/change/",
        f"/admin/protocols/protocolversion/{version.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url
    change = admin_client.get(f"/admin/protocols/protocol/{protocol.pk}/change/").content.decode()
    assert "rate_listening" in change  # the fields inline
    assert "rate-practices" in change  # the steps inline
    assert "וַיֹּאמֶר" in admin_client.get(f"/admin/protocols/text/{text.pk}/change/").content.decode()
    # Frozen versions cannot be added or edited.
    assert admin_client.get("/admin/protocols/protocolversion/add/").status_code == 403


def test_it_loads_every_admin_changelist_and_the_library_has_no_model_left_out(admin_client, world) -> None:  # type: ignore[no-untyped-def]
    """Everything in the library is in the Django admin: each model registered or edited inline."""
    from django.apps import apps
    from django.contrib import admin

    library_load()
    protocol_version_current(protocol=Protocol.objects.get(slug="joys-and-oys"))  # one frozen version
    registered = set(admin.site._registry)
    inline = {inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines}
    library_models = set(apps.get_app_config("protocols").get_models())
    assert library_models - registered - inline == set()
    for model in sorted(registered, key=lambda m: m._meta.label):
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert response.context["cl"].result_count >= (1 if model in library_models else 0), url
