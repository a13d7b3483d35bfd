"""Class packets (classrooms/pdf.py: rendered by a background worker, with a progress page and a
JSON status) and sign-in sheets (/classes/<pk>/sign-in-sheet.pdf)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from classrooms.models import Assignment
from classrooms.pdf import packet_job, packet_wait
from classrooms.services_live import comment_create
from tests.conftest import World, client_for
from tests.factories import make_session, make_student
from tests.pdf_fixtures import answer, assert_accessible, assign, flat, pdf_pages, pdf_reader, save_pngs, struct_figures
from worksheets.models import Worksheet


@pytest.fixture(autouse=True)
def _packet_folder(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.PDF_CACHE_DIR = tmp_path / "pdf-cache"


@pytest.fixture
def five_havrutot(world: World) -> Assignment:
    """A lesson of ten students in five havrutot, each havruta with an answer of its own."""
    students = [make_student(classroom=world.classroom, name=f"Learner {n:02d}", pin=f"{n:04d}") for n in range(10)]
    session = make_session(classroom=world.classroom, groups=[students[i : i + 2] for i in range(0, 10, 2)])
    assignment = assign(session=session, by=world.teacher, protocol_slug="noticing-and-wondering", text_slug="avot-1-6")
    for worksheet in Worksheet.objects.filter(assignment=assignment).select_related("havruta"):
        answer(worksheet, "chosen_question", f"Question of havruta {worksheet.havruta.number}")
    return assignment


def _status(client: Client, assignment: Assignment) -> dict:
    response = client.get(reverse("classrooms:packet_status", args=[assignment.pk]))
    assert response.status_code == 200
    return response.json()


def _wait(assignment: Assignment) -> dict:
    return packet_wait(packet_job(assignment), timeout=120)


def test_it_builds_the_packet_in_the_background_and_reports_progress(world: World, five_havrutot: Assignment) -> None:
    client = client_for(world, "teacher")
    page = client.get(reverse("classrooms:packet", args=[five_havrutot.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "js/packet.js" in html and "<script>" not in html  # no inline script
    assert f'data-status-url="{reverse("classrooms:packet_status", args=[five_havrutot.pk])}?paper=letter"' in html

    seen = [_status(client, five_havrutot)]
    assert seen[0]["state"] in ("queued", "running", "ready")
    assert seen[0]["total"] == 5
    final = _wait(five_havrutot)
    seen.append(_status(client, five_havrutot))
    assert final["state"] == "ready"
    assert seen[-1] == {
        "state": "ready",
        "done": 5,
        "total": 5,
        "percent": 100,
        "error": "",
        "download_url": seen[-1]["download_url"],
    }
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    assert packet_job(five_havrutot).path.exists()

    download = client.get(seen[-1]["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    document = b"".join(download.streaming_content)
    pages = [flat(text) for text in pdf_pages(document)]
    # The cover lists every havruta; the text comes once, after the cover.
    assert "Class packet" in pages[0] and "5 havrutot in this packet" in pages[0]
    for number in range(1, 6):
        assert f"Havruta {number}" in pages[0]
    # Then one section per havruta, each starting on a new page, in order.
    starts = [n for n, text in enumerate(pages) if text.startswith("COMPLETED WORKSHEET · HAVRUTA")]
    assert [pages[n].split()[4] for n in starts] == ["1", "2", "3", "4", "5"]
    for number, start in enumerate(starts, start=1):
        assert f"Question of havruta {number}" in pages[start]
    assert sum("Havruta partners:" in text for text in pages) == 5
    assert pdf_reader(document).metadata.title.startswith("Class packet")
    assert_accessible(document, title="Class packet · Noticing and Wondering · Grade 7 Chumash")
    save_pngs(document, "class-packet", last=4)


def test_it_serves_a_finished_packet_until_someone_writes_more(world: World, five_havrutot: Assignment) -> None:
    client = client_for(world, "teacher")
    client.get(reverse("classrooms:packet", args=[five_havrutot.pk]))
    _wait(five_havrutot)
    first = packet_job(five_havrutot).path
    page = client.get(reverse("classrooms:packet", args=[five_havrutot.pk]))
    assert page.context["status"]["state"] == "ready"  # not rendered again
    download_link = re.search(r'<a [^>]*id="packet-download"[^>]*>', page.content.decode())
    assert download_link is not None and " hidden" not in download_link.group(0)

    worksheet = Worksheet.objects.filter(assignment=five_havrutot).order_by("havruta__number").first()
    answer(worksheet, "why_this_question", "Because the text repeats it.")
    assert _status(client, five_havrutot)["state"] in ("queued", "running", "ready")
    _wait(five_havrutot)
    second = packet_job(five_havrutot).path
    assert second != first and second.exists() and not first.exists()
    download = client.get(reverse("classrooms:packet_pdf", args=[five_havrutot.pk]))
    assert "Because the text repeats it." in flat(" ".join(pdf_pages(b"".join(download.streaming_content))))


def test_it_makes_the_packet_again_when_a_teacher_comments(world: World, five_havrutot: Assignment) -> None:
    before = packet_job(five_havrutot).key
    worksheet = Worksheet.objects.filter(assignment=five_havrutot).order_by("havruta__number").first()
    comment_create(worksheet=worksheet, by=world.teacher, field_id="shared:chosen_question", text="Good question!")
    assert packet_job(five_havrutot).key != before


def test_it_makes_an_a4_packet_on_request(world: World, five_havrutot: Assignment) -> None:
    client = client_for(world, "teacher")
    client.get(reverse("classrooms:packet", args=[five_havrutot.pk]) + "?paper=a4")
    assert packet_wait(packet_job(five_havrutot, paper="a4"), timeout=120)["state"] == "ready"
    download = client.get(reverse("classrooms:packet_pdf", args=[five_havrutot.pk]) + "?paper=a4")
    document = b"".join(download.streaming_content)
    assert round(float(pdf_reader(document).pages[0].mediabox.height)) == 842


def test_it_sends_the_download_back_to_the_progress_page_while_not_ready(world: World) -> None:
    assignment = assign(session=world.session, by=world.teacher)
    response = client_for(world, "co_teacher").get(reverse("classrooms:packet_pdf", args=[assignment.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("classrooms:packet", args=[assignment.pk]))


@pytest.mark.parametrize("persona", ["student", "partner", "outsider", "other_teacher", "staff"])
def test_it_shows_packets_only_to_the_classes_teachers(world: World, persona: str) -> None:
    assignment = assign(session=world.session, by=world.teacher)
    client = client_for(world, persona)
    for name in ("classrooms:packet", "classrooms:packet_status", "classrooms:packet_pdf"):
        assert client.get(reverse(name, args=[assignment.pk])).status_code == 404
    assert client.get(reverse("classrooms:packet", args=[987654])).status_code == 404


def test_it_sends_anonymous_visitors_of_a_packet_to_sign_in(world: World) -> None:
    assignment = assign(session=world.session, by=world.teacher)
    response = client_for(world, "anonymous").get(reverse("classrooms:packet", args=[assignment.pk]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


# --------------------------------------------------------------------------------------------
# Sign-in sheets
# --------------------------------------------------------------------------------------------


def test_it_prints_the_class_code_and_a_card_per_student(world: World) -> None:
    response = client_for(world, "teacher").get(reverse("classrooms:signin_sheet_pdf", args=[world.classroom.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pages = [flat(text) for text in pdf_pages(response.content)]
    assert world.classroom.name in pages[0]
    assert world.classroom.join_code in pages[0]
    assert "class code" in pages[0].lower()
    cards = " ".join(pages[1:]).lower()
    for name, pin in (("Dana", "1111"), ("Eli", "2222"), ("Noa", "3333"), ("Yoni", "4444")):
        assert f"{name} pin {pin} class code {world.classroom.join_code}".lower() in cards
    assert "outsider" not in cards and "5555" not in cards
    assert_accessible(response.content, title=f"Sign-in sheet · {world.classroom.name}")
    # The QR codes are drawn, and named for a screen reader: the class's, then one per student.
    figures = struct_figures(response.content)
    assert figures[0] == f"Sign-in code for the class {world.classroom.name}"
    assert sorted(figures[1:]) == [f"Sign-in code for {name}" for name in ("Dana", "Eli", "Noa", "Yoni")]
    save_pngs(response.content, "sign-in-sheet")  # a student of another class


def test_it_offers_the_sign_in_sheet_as_pdf_on_the_sign_in_page(world: World) -> None:
    html = client_for(world, "co_teacher").get(reverse("classrooms:signin_sheet", args=[world.classroom.pk]))
    url = reverse("classrooms:signin_sheet_pdf", args=[world.classroom.pk])
    assert f'href="{url}?paper=letter"' in html.content.decode()
    assert f'href="{url}?paper=a4"' in html.content.decode()


@pytest.mark.parametrize("persona", ["student", "outsider", "other_teacher", "staff"])
def test_it_shows_sign_in_sheets_only_to_the_classes_teachers(world: World, persona: str) -> None:
    url = reverse("classrooms:signin_sheet_pdf", args=[world.classroom.pk])
    assert client_for(world, persona).get(url).status_code == 404
