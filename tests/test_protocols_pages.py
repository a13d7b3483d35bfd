"""The library pages: /protocols/ (filters, search) and /protocols/<slug>/ (versions, text preview)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils.html import escape

from protocols.services import library_load, text_create_from_paste
from protocols.validation import teacher_only_strings
from tests.conftest import World, client_for
from tests.protocols_fixtures import (
    PROTOCOL_SLUGS,
    copy_fixtures,
    fixture_practices,
    fixture_protocol,
    library,  # noqa: F401  (fixture)
    write_protocol,
)

pytestmark = pytest.mark.django_db

LIBRARY = "/protocols/"
LISTENING = "/protocols/listening-to-the-text/"


def _titles(html: str) -> list[str]:
    return re.findall(r'class="protocol-card-title"><a href="/protocols/([a-z0-9-]+)/"', html)


# --- the library page ------------------------------------------------------------------------


@pytest.mark.usefixtures("library")
def test_it_lists_every_protocol_for_an_anonymous_visitor(client: Client) -> None:
    response = client.get(LIBRARY)
    assert response.status_code == 200
    html = response.content.decode()
    assert sorted(_titles(html)) == PROTOCOL_SLUGS
    assert "18 protocols" in html
    assert "Upper elementary and middle school" in html  # variant label on the card
    assert "Engagement warm-up" in html  # category
    assert "10 minutes" in html  # duration


@pytest.mark.usefixtures("library")
def test_it_filters_by_category_age_band_and_practice(client: Client) -> None:
    advisory = _titles(client.get(LIBRARY, {"category": "advisory"}).content.decode())
    assert advisory and all(slug.startswith("advisory-") for slug in advisory)

    young = _titles(client.get(LIBRARY, {"age_band": "upper-elementary"}).content.decode())
    assert "havruta-warm-up-younger" in young
    assert "havruta-warm-up" not in young
    assert "self-assessment" not in young

    challenging = _titles(client.get(LIBRARY, {"practice": "challenging"}).content.decode())
    expected = sorted(s for s in PROTOCOL_SLUGS if "challenging" in fixture_protocol(s)["practices"])
    assert sorted(challenging) == expected

    both = _titles(client.get(LIBRARY, {"category": "text-learning", "practice": "wondering"}).content.decode())
    assert "noticing-and-wondering" in both
    assert all(fixture_protocol(s)["category"] == "text-learning" for s in both)


@pytest.mark.usefixtures("library")
def test_it_searches_titles_and_summaries(client: Client) -> None:
    assert _titles(client.get(LIBRARY, {"q": "wondering"}).content.decode()) == ["noticing-and-wondering"]
    by_summary = _titles(client.get(LIBRARY, {"q": "alternating"}).content.decode())
    assert all("alternating" in fixture_protocol(s)["student"]["summary"].lower() for s in by_summary)


@pytest.mark.usefixtures("library")
def test_it_shows_an_empty_state_that_says_what_to_do(client: Client) -> None:
    html = client.get(LIBRARY, {"q": "no protocol is called this"}).content.decode()
    assert _titles(html) == []
    assert "No protocols match these filters" in html
    assert 'href="/protocols/"' in html  # clear the filters
    assert 'value="no protocol is called this"' in html  # the search box keeps the words


@pytest.mark.usefixtures("library")
def test_it_ignores_an_unknown_filter_value(client: Client) -> None:
    response = client.get(LIBRARY, {"category": "juggling"})
    assert response.status_code == 200
    assert len(_titles(response.content.decode())) == 18


@pytest.mark.usefixtures("library")
def test_it_labels_every_filter_control(client: Client) -> None:
    html = client.get(LIBRARY).content.decode()
    for name in ("q", "category", "age_band", "practice"):
        assert f'<label for="id_{name}">' in html
        assert f'id="id_{name}"' in html
    assert 'role="search"' in html


# --- the protocol page: versions -------------------------------------------------------------


def _teacher_secrets(slug: str) -> list[str]:
    return teacher_only_strings(fixture_protocol(slug), fixture_practices())


@pytest.mark.usefixtures("library")
def test_it_shows_a_teacher_the_teacher_version_with_marked_teacher_blocks(world: World) -> None:
    html = client_for(world, "teacher").get(LISTENING).content.decode()
    data = fixture_protocol("listening-to-the-text")
    assert "Teacher only" in html
    assert escape(data["teacher"]["purpose"]) in html
    assert escape(data["teacher"]["listen_for"][0]) in html
    assert escape(data["teacher"]["debrief"][0]) in html
    assert escape(data["teacher"]["adaptations"]["online"]) in html
    assert escape(data["steps"][0]["teacher_notes"]) in html
    assert "Listening" in html and "Focusing" in html  # targeted practices
    assert re.search(r'<a href="[^"]*version=teacher[^"]*" aria-current="page">Teacher version</a>', html)
    # ... and everything the students see.
    assert escape(data["student"]["summary"]) in html
    assert escape(data["steps"][1]["sentence_starters"][0]) in html


@pytest.mark.usefixtures("library")
def test_it_lets_a_teacher_switch_to_the_student_version(world: World) -> None:
    html = client_for(world, "teacher").get(LISTENING, {"version": "student"}).content.decode()
    assert re.search(r'<a href="[^"]*version=student[^"]*" aria-current="page">Student version</a>', html)
    for secret in _teacher_secrets("listening-to-the-text"):
        assert escape(secret) not in html
    assert escape(fixture_protocol("listening-to-the-text")["student"]["summary"]) in html


@pytest.mark.parametrize("persona", ["anonymous", "student", "outsider"])
@pytest.mark.usefixtures("library")
def test_it_never_shows_a_student_or_visitor_the_teacher_version(world: World, persona: str) -> None:
    client = client_for(world, persona)
    html = client.get(LISTENING, {"version": "teacher"}).content.decode()
    assert "Teacher version" not in html
    assert "Teacher only" not in html
    for secret in _teacher_secrets("listening-to-the-text"):
        assert escape(secret) not in html


@pytest.mark.usefixtures("library")
def test_it_keeps_teacher_only_blocks_out_of_every_student_version(world: World) -> None:
    student, teacher = client_for(world, "student"), client_for(world, "teacher")
    for slug in PROTOCOL_SLUGS:
        secrets = _teacher_secrets(slug)
        assert secrets
        # A student asking for the teacher version, and a teacher looking at the student version.
        for who, client, version in (("student", student, "teacher"), ("teacher", teacher, "student")):
            page = client.get(f"/protocols/{slug}/", {"version": version}).content.decode()
            assert escape(fixture_protocol(slug)["title"]) in page
            leaked = [s for s in secrets if escape(s) in page]
            assert leaked == [], f"the student version of {slug} shows teacher-only text to a {who}"
        # The same sentences are all there in the teacher version.
        page = teacher.get(f"/protocols/{slug}/").content.decode()
        assert all(escape(s) in page for s in secrets), slug


@pytest.mark.usefixtures("library")
def test_it_previews_every_field_kind_read_only(world: World) -> None:
    html = client_for(world, "teacher").get("/protocols/self-assessment/", {"version": "student"}).content.decode()
    assert "Almost always" in html  # a labelled scale point
    assert 'type="radio"' in html and "disabled" in html
    warm_up = client_for(world, "teacher").get("/protocols/havruta-warm-up-younger/").content.decode()
    assert 'type="checkbox"' in warm_up  # checklist
    assert "Give me a hint" in warm_up  # a choice option
    assert 'class="entry-list"' in warm_up  # a list of entries
    assert "<textarea" in client_for(world, "teacher").get(LISTENING).content.decode()  # long text
    body = warm_up.split('<div class="protocol-layout')[1]
    controls = re.findall(r"<(?:input|textarea)\b[^>]*>", body)
    assert controls
    assert all(" disabled" in control for control in controls)  # a preview: nothing can be typed


@pytest.mark.usefixtures("library")
def test_it_answers_404_for_an_unknown_protocol(client: Client) -> None:
    assert client.get("/protocols/no-such-protocol/").status_code == 404


# --- the protocol page: text preview ---------------------------------------------------------


@pytest.mark.usefixtures("library")
def test_it_previews_the_protocol_beside_a_text_in_hebrew_and_english(world: World) -> None:
    html = client_for(world, "student").get(LISTENING, {"text": "genesis-4-1-16"}).content.decode()
    assert "Cain and Abel" in html
    assert '<p class="segment-he" lang="he" dir="rtl">' in html
    assert '<p class="segment-en" lang="en" dir="ltr">' in html
    assert "4:16" in html
    assert re.search(r'<option value="genesis-4-1-16"[^>]* selected>', html)


@pytest.mark.usefixtures("library")
def test_it_keeps_the_chosen_text_when_switching_versions(world: World) -> None:
    html = client_for(world, "teacher").get(LISTENING, {"text": "genesis-4-1-16"}).content.decode()
    assert "?version=student&amp;text=genesis-4-1-16" in html
    assert "?version=teacher&amp;text=genesis-4-1-16" in html
    assert '<input type="hidden" name="version" value="teacher">' in html


@pytest.mark.usefixtures("library")
def test_it_offers_a_teacher_their_own_texts_but_not_a_colleagues(world: World) -> None:
    mine = text_create_from_paste(owner=world.teacher, title="Mine", hebrew="", english="One line.\nTwo lines.")
    theirs = text_create_from_paste(owner=world.other_teacher, title="Theirs", hebrew="", english="Secret line.")
    teacher = client_for(world, "teacher")
    html = teacher.get(LISTENING).content.decode()
    assert f'value="{mine.slug}"' in html
    assert f'value="{theirs.slug}"' not in html
    assert "Two lines." in teacher.get(LISTENING, {"text": mine.slug}).content.decode()
    assert teacher.get(LISTENING, {"text": theirs.slug}).status_code == 404
    assert client_for(world, "student").get(LISTENING, {"text": mine.slug}).status_code == 404


# --- queries: a fixed number whatever the size of the library ----------------------------------


def _grow_library(tmp_path: Path, copies: int = 2) -> None:
    """Load the library plus `copies` extra copies of every protocol (new slugs)."""
    fixtures = copy_fixtures(tmp_path)
    for slug in PROTOCOL_SLUGS:
        for n in range(copies):
            data = fixture_protocol(slug)
            data["slug"] = f"{slug}-copy-{n}"
            write_protocol(fixtures, data)
    library_load(fixtures)


@pytest.mark.parametrize("persona", ["anonymous", "teacher"])
@pytest.mark.usefixtures("library")
def test_it_answers_the_library_in_a_fixed_number_of_queries(
    world: World,
    tmp_path: Path,
    django_assert_num_queries,
    persona: str,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for(world, persona)
    # anonymous: age bands, practices (filter options), protocols, their age bands and practices.
    expected = 5 if persona == "anonymous" else 7  # + session and user
    with django_assert_num_queries(expected):
        assert client.get(LIBRARY, {"practice": "listening"}).status_code == 200
    _grow_library(tmp_path)
    with django_assert_num_queries(expected):
        html = client.get(LIBRARY, {"practice": "listening"}).content.decode()
    assert len(_titles(html)) > 18


@pytest.mark.usefixtures("library")
def test_it_answers_a_protocol_with_a_text_in_a_fixed_number_of_queries(
    world: World,
    tmp_path: Path,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for(world, "teacher")
    # session, user, protocol + 5 prefetches (age bands, practices, stances, steps, fields),
    # the text, its segments, the picker's texts.
    with django_assert_num_queries(11):
        assert client.get(LISTENING, {"text": "genesis-4-1-16"}).status_code == 200
    _grow_library(tmp_path)
    for n in range(5):
        text_create_from_paste(owner=world.teacher, title=f"Mine {n}", hebrew="", english="A.\nB.\nC.")
    with django_assert_num_queries(11):
        assert client.get(LISTENING, {"text": "genesis-18-20-33"}).status_code == 200
