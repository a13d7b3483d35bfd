"""Blank handouts (protocols/handouts.py, /protocols/<slug>/handout.pdf): every protocol in both
versions and both paper sizes, nothing of the teacher's in the student version, writing space for
every field, Hebrew in logical order, right to left on the right, and who may print what."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from protocols.handouts import handout_cache_key, handout_pdf, text_data, text_data_from_fixture
from protocols.models import Protocol, Text
from protocols.services import library_load, protocol_version_current, text_create_from_paste
from protocols.validation import teacher_only_strings
from tests.conftest import World, client_for
from tests.pdf_fixtures import (
    ARTIFACTS,
    FIXTURES,
    PROTOCOL_SLUGS,
    assign,
    fixture_protocol,
    fixture_text,
    flat,
    letters,
    pdf_fonts,
    pdf_reader,
    pdf_text,
    poppler,
    run,
    squash,
)

SHIPPED_FONTS = {"Havruta-Hebrew", "Havruta-Hebrew-Bold"}
PAPER_SIZES = {"letter": (612, 792), "a4": (595, 842)}
GENESIS = text_data_from_fixture(fixture_text("genesis-4-1-16"))


def _practices() -> dict:
    return json.loads((FIXTURES / "practices.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("paper", ["letter", "a4"])
@pytest.mark.parametrize("version", ["student", "teacher"])
@pytest.mark.parametrize("slug", PROTOCOL_SLUGS)
def test_it_renders_every_protocol_in_both_versions_and_paper_sizes(slug: str, version: str, paper: str) -> None:
    data = fixture_protocol(slug)
    text = GENESIS if data["uses_text"] else None
    document = handout_pdf(data, text=text, version=version, paper=paper)
    reader = pdf_reader(document)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == PAPER_SIZES[paper]
    assert data["title"] in reader.metadata.title
    # Only the shipped font: nothing fell back to a system font or to empty missing-glyph boxes.
    assert pdf_fonts(document) <= SHIPPED_FONTS
    pages = [flat(page.extract_text()) for page in reader.pages]
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))
    everything = squash(" ".join(pages))
    assert squash(data["title"]) in everything
    if version == "student":
        for field in data["fields"]:
            assert squash(field["label"]) in everything, f"no writing space for {field['key']}"
        for step in data["steps"]:
            assert squash(step["title"]) in everything
            for starter in step["sentence_starters"]:
                assert squash(starter) in everything
        for secret in teacher_only_strings(data, _practices()):
            assert squash(secret) not in everything, f"teacher-only text in the student version: {secret[:60]}"
        assert squash(data["student"]["summary"]) in everything
    else:
        teacher = data["teacher"]
        for block in (teacher["purpose"], teacher["preparation"], teacher["timing"]):
            if block:
                assert squash(block) in everything
        for item in [*teacher["listen_for"], *teacher["debrief"], *teacher["adaptations"].values()]:
            assert squash(item) in everything
        for step in data["steps"]:
            if step.get("teacher_notes"):
                assert squash(step["teacher_notes"]) in everything
        if data.get("torah_wisdom"):
            assert squash(data["torah_wisdom"]["teaching"]) in everything
        for field in data["fields"]:
            assert squash(field["label"]) in everything


def test_it_gives_each_field_kind_its_own_writing_space() -> None:
    """Long text gets ruled lines, lists numbered boxes, choices circles, checklists squares,
    scales circles with labels (faces for the youngest: the font has no emoji)."""
    data = fixture_protocol("havruta-warm-up-younger")
    text = flat(pdf_text(handout_pdf(data, version="student")))
    for field in data["fields"]:
        for option in field["options"]:
            assert flat(option["label"]) in text
    younger = fixture_protocol("self-assessment-younger")
    document = handout_pdf(younger, version="student", age="upper-elementary")
    text = flat(pdf_text(document))
    for label in ("Not yet", "Sometimes", "Most of the time"):
        assert label in text
    assert not any(unicodedata.category(c) == "So" and ord(c) > 0x1F000 for c in text), "an emoji was printed"
    assert pdf_fonts(document) <= SHIPPED_FONTS
    numbered = flat(pdf_text(handout_pdf(fixture_protocol("listening-to-the-text"), version="student")))
    assert re.search(r"Details we noticed.* 1 .*2 .*3 .*4 ", numbered)


def test_it_prints_hebrew_in_logical_order_with_nikkud() -> None:
    document = handout_pdf(fixture_protocol("listening-to-the-text"), text=GENESIS, version="student")
    extracted = pdf_text(document)
    first_words = " ".join(fixture_text("genesis-4-1-16")["segments"][0]["he"].split()[:3])
    assert letters(first_words) == "והאדם ידע את־חוה"
    assert letters(first_words) in letters(extracted)
    assert letters(first_words)[::-1] not in letters(extracted)
    assert re.search("[\u05b0-\u05bc]", extracted), "the nikkud is missing"
    assert "Genesis 4:1-16" in extracted
    for segment in fixture_text("genesis-4-1-16")["segments"]:
        assert segment["label"] in extracted


def test_it_puts_the_hebrew_column_on_the_right_and_saves_a_png(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pdftoppm, pdftotext = poppler("pdftoppm"), poppler("pdftotext")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "handout.pdf"
    path.write_bytes(handout_pdf(fixture_protocol("listening-to-the-text"), text=GENESIS, version="student"))
    run(pdftoppm, "-r", "80", "-png", "-f", "1", "-l", "2", path, ARTIFACTS / "student-handout-letter")
    image = Image.open(ARTIFACTS / "student-handout-letter-1.png").convert("L")
    width, height = image.size
    ink = sum(image.histogram()[:160])
    assert ink > 0.02 * width * height, "the page is blank"

    # Where pdftotext finds words on page 1: the Hebrew of the text sits right of the English.
    html = run(pdftotext, "-bbox", "-f", "1", "-l", "1", path, "-")
    page_width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)</word>', html)
    hebrew = [(float(x0), float(x1)) for x0, x1, w in words if re.search("[\u05d0-\u05ea]", w)]
    english = [(float(x0), float(x1)) for x0, x1, w in words if w in {"Eve", "Cain", "Abel", "conceived"}]
    assert hebrew and english
    body_hebrew = [x0 for x0, _x1 in hebrew if x0 > page_width * 0.3]  # not the reference under the title
    assert min(body_hebrew) > page_width / 2
    assert max(x1 for _x0, x1 in english) < page_width / 2 + 20

    # And by pixels: in the text rows, the right half of the page carries the Hebrew column's ink.
    top, bottom = int(height * 0.45), int(height * 0.85)
    left_ink = right_ink = 0
    for y in range(top, bottom, 2):
        for x in range(0, width, 2):
            if image.getpixel((x, y)) < 160:
                if x < width // 2:
                    left_ink += 1
                else:
                    right_ink += 1
    assert right_ink > 0.6 * left_ink > 0

    # More pages for a person to look at (CI keeps artifacts/pdf/).
    for name, document in (
        (
            "teacher-guide-a4",
            handout_pdf(fixture_protocol("listening-to-the-text"), text=GENESIS, version="teacher", paper="a4"),
        ),
        ("self-assessment-younger", handout_pdf(fixture_protocol("self-assessment-younger"), age="upper-elementary")),
        ("warm-up-younger", handout_pdf(fixture_protocol("havruta-warm-up-younger"), age="middle-school")),
    ):
        pdf_path = tmp_path / f"{name}.pdf"
        pdf_path.write_bytes(document)
        run(pdftoppm, "-r", "80", "-png", "-f", "1", "-l", "2", pdf_path, ARTIFACTS / name)
    assert (ARTIFACTS / "teacher-guide-a4-1.png").exists()


# --------------------------------------------------------------------------------------------
# The URL: who may print what
# --------------------------------------------------------------------------------------------


@pytest.fixture
def library(db: None) -> None:
    library_load(FIXTURES)


def _url(slug: str = "listening-to-the-text", **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("protocols:handout_pdf", args=[slug]) + (f"?{query}" if query else "")


@pytest.mark.parametrize("persona", ["anonymous", "student", "outsider", "teacher", "staff"])
def test_it_prints_the_student_version_for_everyone(world: World, library: None, persona: str) -> None:
    response = client_for(world, persona).get(_url(text="genesis-4-1-16"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = flat(pdf_text(response.content))
    assert "Details we noticed" in text and "Student handout" in text
    assert flat(fixture_protocol("listening-to-the-text")["teacher"]["purpose"]) not in text


@pytest.mark.parametrize("persona", ["anonymous", "student", "partner", "outsider"])
def test_it_hides_the_teacher_version_from_everyone_but_teachers(world: World, library: None, persona: str) -> None:
    assert client_for(world, persona).get(_url(version="teacher")).status_code == 404


@pytest.mark.parametrize("persona", ["teacher", "co_teacher", "other_teacher", "staff"])
def test_it_prints_the_teacher_version_for_teachers(world: World, library: None, persona: str) -> None:
    response = client_for(world, persona).get(_url(version="teacher", paper="a4"))
    assert response.status_code == 200
    text = flat(pdf_text(response.content))
    assert flat(fixture_protocol("listening-to-the-text")["teacher"]["purpose"]) in text
    assert round(float(pdf_reader(response.content).pages[0].mediabox.height)) == 842


def test_it_answers_404_for_unknown_protocols_texts_and_versions(world: World, library: None) -> None:
    client = client_for(world, "teacher")
    assert client.get(_url("no-such-protocol")).status_code == 404
    assert client.get(_url(text="no-such-text")).status_code == 404
    assert client.get(_url(version="principal")).status_code == 404


def test_it_keeps_a_teachers_own_text_private(world: World, library: None) -> None:
    text = text_create_from_paste(
        owner=world.other_teacher, title="My midrash", hebrew="", english="1 A private line\n2 Another line"
    )
    assert client_for(world, "teacher").get(_url(text=text.slug)).status_code == 404
    assert client_for(world, "anonymous").get(_url(text=text.slug)).status_code == 404
    response = client_for(world, "other_teacher").get(_url(text=text.slug))
    assert response.status_code == 200
    assert "A private line" in pdf_text(response.content)


def test_it_prints_the_age_variant_of_a_protocol_family(world: World, library: None) -> None:
    response = client_for(world, "anonymous").get(_url("havruta-warm-up", age="upper-elementary"))
    text = flat(pdf_text(response.content))
    assert "Upper elementary and middle school" in text
    assert "Things that help me learn" in text  # a field only the younger variant has


def test_it_caches_a_rendered_blank_handout(world: World, library: None) -> None:
    client = client_for(world, "anonymous")
    first = client.get(_url(text="genesis-4-1-16", paper="a4"))
    protocol_version = protocol_version_current(protocol=Protocol.objects.get(slug="listening-to-the-text"))
    key = handout_cache_key(
        version_hash=protocol_version.content_hash,
        text=text_data(Text.objects.get(slug="genesis-4-1-16")),
        version="student",
        paper="a4",
        age="",
        lang="en",
    )
    assert cache.get(key) == first.content
    assert client.get(_url(text="genesis-4-1-16", paper="a4")).content == first.content
    # A different paper size is a different handout.
    assert client.get(_url(text="genesis-4-1-16", paper="letter")).content != first.content


def test_it_prints_an_assignments_handout_as_assigned(world: World, library: None) -> None:
    assignment = assign(
        session=world.session, by=world.teacher, protocol_slug="listening-to-the-text", text_slug="genesis-4-1-16"
    )
    url = reverse("classrooms:assignment_handout_pdf", args=[assignment.pk])
    for persona in ("student", "outsider", "other_teacher", "staff"):
        assert client_for(world, persona).get(url + "?version=teacher").status_code == 404
    response = client_for(world, "co_teacher").get(url + "?version=student")
    text = flat(pdf_text(response.content))
    assert "Grade 7 Chumash" in text  # the class in the running header
    assert "Cain and Abel" in text
