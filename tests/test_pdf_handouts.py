"""Blank handouts (protocols/handouts.py, /protocols/<slug>/handout.pdf): every protocol in both
versions and both paper sizes, nothing of the teacher's in the student version, writing space for
every field, Hebrew in logical order, right to left on the right, and who may print what."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from PIL import Image

from protocols.handouts import handout_cache_key, handout_pdf, text_data, text_data_from_fixture
from protocols.models import Protocol, Text
from protocols.pdf import PROGRESS_LOGGER
from protocols.services import library_load, protocol_version_current, text_create_from_paste
from protocols.validation import teacher_only_strings
from tests.conftest import World, client_for
from tests.pdf_fixtures import (
    ARTIFACTS,
    FIXTURES,
    PROTOCOL_SLUGS,
    Word,
    assert_accessible,
    assign,
    find_phrase,
    fixture_protocol,
    fixture_text,
    flat,
    letters,
    missing_glyphs,
    pdf_fonts,
    pdf_pages,
    pdf_reader,
    pdf_text,
    pdf_words,
    poppler,
    run,
    squash,
    struct_languages,
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
    assert_accessible(document, title=data["title"])
    # Only the shipped font: nothing fell back to a system font or to empty missing-glyph boxes.
    assert pdf_fonts(document) <= SHIPPED_FONTS
    assert missing_glyphs(document) == set()
    # Every Hebrew segment marked Hebrew for screen readers.
    if text is not None:
        assert struct_languages(document).get("he", 0) >= len(text.segments)
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


MM = 72 / 25.4  # points per millimetre
SCOPE_WORDS = {"Together", "On", "TOGETHER", "ON"}


def find_heading(words: list[Word], phrase: str, start: int = 0) -> tuple[int, int] | None:
    """Like find_phrase, but only where the words stand on lines of their own (a label or a
    heading), not inside a sentence of instructions that happens to repeat them."""
    found = find_phrase(words, phrase, start)
    while found is not None:
        first, last = found
        before = words[first - 1] if first else None
        after = words[last + 1] if last + 1 < len(words) else None
        starts = before is None or before.page != words[first].page or abs(before.y0 - words[first].y0) > 2
        ends = after is None or after.page != words[last].page or abs(after.y0 - words[last].y0) > 2
        if starts and (ends or after.text in SCOPE_WORDS):
            return found
        found = find_phrase(words, phrase, first + 1)
    return None


@pytest.mark.parametrize("slug", PROTOCOL_SLUGS)
def test_it_leaves_writing_space_for_every_field(slug: str, tmp_path: Path) -> None:
    """Measured on the page: below each field's label (and help) there is room of the field's kind,
    ruled lines for text, numbered boxes for lists, every option or scale point to mark."""
    data = fixture_protocol(slug)
    document = handout_pdf(data, text=None, version="student", paper="a4")
    page = pdf_words(document, tmp_path)
    words = page.words
    body_bottom = page.height - 17 * MM
    position = 0
    for field in data["fields"]:
        found = find_heading(words, field["label"], position)
        assert found is not None, f"{field['key']}: label not printed in order"
        last = found[1]
        if field.get("help"):
            helped = find_phrase(words, field["help"], last + 1)
            # Only the scope ("Together", "On my own") may stand between a label and its help.
            assert helped is not None and helped[0] - last <= 4, f"{field['key']}: help not under the label"
            last = helped[1]
        position = last + 1
        top = max(w.y1 for w in words[found[0] : last + 1] if w.page == words[last].page)
        below = [w.y0 for w in words[last + 1 :] if w.page == words[last].page and w.y0 > top]
        room = (min(below) if below else body_bottom) - top
        kind = field["kind"]
        if kind == "long_text":
            assert room >= 40 * MM, f"{field['key']}: only {room / MM:.0f} mm to write a few sentences"
        elif kind == "short_text":
            assert room >= 8 * MM, f"{field['key']}: only {room / MM:.0f} mm for a short answer"
        elif kind == "list":
            numbers = [w for w in words[last + 1 : last + 12] if w.text in {"1", "2", "3", "4"}][:4]
            assert [w.text for w in numbers] == ["1", "2", "3", "4"], f"{field['key']}: no numbered boxes"
            spread = numbers[-1].y0 - numbers[0].y0 if numbers[-1].page == numbers[0].page else 99 * MM
            assert spread >= 3 * 15 * MM, f"{field['key']}: boxes too small to write in"
            position = words.index(numbers[-1]) + 1
        else:  # choice, checklist, scale: every option to mark, just below the label
            page_number = words[last].page
            for mark in field.get("options") or field.get("scale") or []:
                label = " ".join(part for part in str(mark.get("label", mark.get("value"))).split() if part.isascii())
                spots = []
                found_mark = find_phrase(words, label)
                while found_mark is not None:  # pdftotext may read side-by-side boxes in any order
                    spot = words[found_mark[0]]
                    if spot.page == page_number and top < spot.y0 < top + 100 * MM:
                        spots.append(spot)
                    found_mark = find_phrase(words, label, found_mark[0] + 1)
                assert spots, f"{field['key']}: option {label!r} missing"


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_it_never_splits_a_segment_and_never_leaves_a_heading_at_the_bottom(paper: str, tmp_path: Path) -> None:
    """A long text over several pages: each segment whole on one page, English beside its Hebrew;
    and no step title or section heading ends a page without what it introduces."""
    data = fixture_protocol("listening-to-the-text")
    story = fixture_text("genesis-22-1-19")
    for version in ("student", "teacher"):
        document = handout_pdf(data, text=text_data_from_fixture(story), version=version, paper=paper)
        pages = pdf_pages(document)
        assert len(pages) >= 3
        for segment in story["segments"]:
            english = [n for n, page in enumerate(pages) if squash(segment["en"]) in squash(page)]
            hebrew = [n for n, page in enumerate(pages) if squash(letters(segment["he"])) in squash(letters(page))]
            assert len(english) == 1, f"{version} {paper}: segment {segment['label']} split across pages"
            assert hebrew == english, f"{version} {paper}: the Hebrew of {segment['label']} is not beside its English"

        words = pdf_words(document, tmp_path).words
        sections = (
            ["Step by step"] if version == "student" else ["Purpose", "Debrief questions", "The lesson step by step"]
        )
        position = 0
        steps = [f"{n} {step['title']}" for n, step in enumerate(data["steps"], start=1)]  # "2 Notice the details"
        for heading in [*sections, *steps]:
            found = find_heading(words, heading, position)
            assert found is not None, f"{version} {paper}: {heading!r} not found in order"
            last = found[1]
            assert last + 1 < len(words) and words[last + 1].page == words[last].page, (
                f"{version} {paper}: {heading!r} is the last thing on page {words[last].page}"
            )
            position = last + 1


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


def test_it_prints_english_left_to_right_from_the_hebrew_interface(tmp_path: Path) -> None:
    """A Hebrew-speaking teacher prints an English protocol: the page is right to left (the
    running header starts on the right), the English paragraphs stay left to right."""
    data = fixture_protocol("listening-to-the-text")
    with translation.override("he"):
        document = handout_pdf(data, text=GENESIS, version="student", running_left="כיתה ז")
    assert pdf_reader(document).trailer["/Root"]["/Lang"] == "he"
    page = pdf_words(document, tmp_path)
    summary = data["student"]["summary"]
    found = find_phrase(page.words, summary)
    assert found is not None
    words = page.words[found[0] : found[1] + 1]
    last_line = [w for w in words if abs(w.y0 - words[-1].y0) < 2]
    # Left to right: the summary's last line starts at the left of the page, and ends in its full stop.
    assert min(w.x0 for w in last_line) < 30 * MM
    assert words[-1].text.endswith(".")
    # Right to left: the Hebrew interface's own words ("What we are doing") sit on the right.
    heading = [w for w in page.words if w.page == 1 and w.y1 < words[0].y0 and re.search("[\u05d0-\u05ea]", w.text)]
    assert heading and min(w.x0 for w in heading[-2:]) > page.width / 2


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


@pytest.fixture
def weasyprint_renders() -> Iterator[list[str]]:
    """Every document WeasyPrint lays out while the test runs (from its own progress log)."""
    seen: list[str] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Step 4 - Creating formatting structure"):
                seen.append(record.getMessage())

    recorder = Recorder()
    PROGRESS_LOGGER.addHandler(recorder)
    try:
        yield seen
    finally:
        PROGRESS_LOGGER.removeHandler(recorder)


def test_it_serves_a_blank_handout_from_the_cache_until_the_protocol_changes(
    world: World, library: None, weasyprint_renders: list[str]
) -> None:
    client = client_for(world, "anonymous")
    first = client.get(_url(text="genesis-4-1-16", paper="a4"))
    assert first.status_code == 200 and len(weasyprint_renders) == 1
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
    # Thirty students print it: WeasyPrint runs once.
    for _ in range(3):
        again = client_for(world, "student").get(_url(text="genesis-4-1-16", paper="a4"))
        assert again.content == first.content
    assert len(weasyprint_renders) == 1
    # Other options are other handouts.
    client.get(_url(text="genesis-4-1-16", paper="letter"))
    client.get(_url(paper="a4"))
    assert len(weasyprint_renders) == 3

    # The library changes: a new protocol version, and the next handout shows the change.
    Protocol.objects.filter(slug="listening-to-the-text").update(summary="We read slowly and hunt for one new detail.")
    changed = client.get(_url(text="genesis-4-1-16", paper="a4"))
    assert len(weasyprint_renders) == 4
    assert protocol_version_current(protocol=Protocol.objects.get(slug="listening-to-the-text")).number == 2
    text = flat(pdf_text(changed.content))
    assert "We read slowly and hunt for one new detail." in text
    assert flat(fixture_protocol("listening-to-the-text")["student"]["summary"]) not in text
    client.get(_url(text="genesis-4-1-16", paper="a4"))
    assert len(weasyprint_renders) == 4


def test_it_answers_503_when_a_handout_takes_too_long(world: World, library: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PDF_RENDER_TIME_LIMIT = 0.001
    response = client_for(world, "anonymous").get(_url(text="ruth-1-1-18"))
    assert response.status_code == 503
    assert "took too long" in response.content.decode()
    settings.PDF_RENDER_TIME_LIMIT = 30
    assert client_for(world, "anonymous").get(_url(text="ruth-1-1-18")).status_code == 200  # nothing cached


@pytest.mark.parametrize(("persona", "teacher_button"), [("anonymous", False), ("student", False), ("teacher", True)])
def test_it_offers_handout_buttons_on_the_protocol_page(
    world: World, library: None, persona: str, teacher_button: bool
) -> None:
    html = (
        client_for(world, persona)
        .get(reverse("protocols:detail", args=["listening-to-the-text"]) + "?text=genesis-4-1-16")
        .content.decode()
    )
    assert f'action="{reverse("protocols:handout_pdf", args=["listening-to-the-text"])}"' in html
    assert 'name="text" value="genesis-4-1-16"' in html
    assert 'name="version" value="student"' in html
    assert ('name="version" value="teacher"' in html) is teacher_button
    assert '<option value="a4">' in html


def test_it_prints_an_assignments_handout_as_assigned(world: World, library: None) -> None:
    assignment = assign(
        session=world.session, by=world.teacher, protocol_slug="listening-to-the-text", text_slug="genesis-4-1-16"
    )
    url = reverse("classrooms:assignment_handout_pdf", args=[assignment.pk])
    for persona in ("student", "outsider", "other_teacher", "staff"):
        assert client_for(world, persona).get(url + "?version=teacher").status_code == 404
    response = client_for(world, "co_teacher").get(url + "?version=student")
    pages = [flat(page) for page in pdf_pages(response.content)]
    # The class and the protocol in the running header of every page.
    assert all("Grade 7 Chumash" in page and "Listening to the Text · Student handout" in page for page in pages)
    assert "Cain and Abel" in " ".join(pages)
    # And the assignment page offers it, with the packet and each havruta's worksheet.
    page = client_for(world, "teacher").get(reverse("classrooms:assignment_detail", args=[assignment.pk]))
    html = page.content.decode()
    assert url + "?version=student" in html and url + "?version=teacher" in html
    assert reverse("classrooms:packet", args=[assignment.pk]) in html
    for worksheet in assignment.worksheets.all():
        assert reverse("worksheets:worksheet_pdf", args=[worksheet.pk]) in html
