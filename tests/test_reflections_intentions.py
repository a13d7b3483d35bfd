"""Warm Up intentions come back in the reflection: word for word, and only to the havruta that set them."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from classrooms.models import PairingSession
from reflections.answers import intention_items
from tests.conftest import client_for
from tests.factories import make_session
from tests.reflections_fixtures import assign_lesson, end_learning, set_intentions, start

pytestmark = pytest.mark.django_db

OURS = ["We will each say back the other's idea before answering.", "When one of us is stuck, we reread the verse."]
THEIRS = ["We take turns reading aloud.", "We ask 'what makes you say that?'"]


def _lesson(world):  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, OURS)
    set_intentions(warm_up, world.classmate, THEIRS)
    end_learning(world.session, world.teacher)
    return warm_up


def _page(world, persona: str, session: PairingSession | None = None) -> str:  # type: ignore[no-untyped-def]
    url = reverse("reflections:reflection", args=[(session or world.session).pk])
    response = client_for(world, persona).get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_both_partners_their_warm_up_intentions_word_for_word(world) -> None:  # type: ignore[no-untyped-def]
    _lesson(world)
    for persona in ("student", "partner"):
        html = _page(world, persona)
        assert "Our Warm Up intentions" in html
        assert "We will each say back the other&#x27;s idea before answering." in html
        assert "When one of us is stuck, we reread the verse." in html
        assert "set in today's Warm Up" in html
    reflection = start(world.session, world.student)
    assert [row["text"] for row in reflection.intentions] == OURS
    assert reflection.intentions_session_id == world.session.pk


def test_it_never_shows_one_havrutas_intentions_in_another_havrutas_reflection(world) -> None:  # type: ignore[no-untyped-def]
    _lesson(world)
    classmate_html = _page(world, "classmate")
    assert "We take turns reading aloud." in classmate_html
    assert "say back the other" not in classmate_html
    student_html = _page(world, "student")
    assert "We take turns reading aloud." not in student_html
    assert [row["text"] for row in start(world.session, world.classmate_partner).intentions] == THEIRS


def test_it_asks_kept_evidence_and_next_time_for_each_intention(world) -> None:  # type: ignore[no-untyped-def]
    _lesson(world)
    html = _page(world, "student")
    for index in range(len(OURS)):
        assert f'name="intention-{index}-kept"' in html
        assert f'name="intention-{index}-evidence"' in html
        assert f'name="intention-{index}-next_time"' in html
    assert 'name="intention-2-kept"' not in html


def test_it_says_so_when_the_havruta_set_no_intentions(world) -> None:  # type: ignore[no-untyped-def]
    assign_lesson(world.session, world.teacher, warm_up=False)
    end_learning(world.session, world.teacher)
    html = _page(world, "student")
    assert "did not set intentions in a Warm Up this time" in html
    assert start(world.session, world.student).intentions == []


def _next_session(world, groups):  # type: ignore[no-untyped-def]
    session = make_session(classroom=world.classroom, groups=groups)
    PairingSession.objects.filter(pk=session.pk).update(date=world.session.date + datetime.timedelta(days=7))
    session.refresh_from_db()
    return session


def test_it_carries_intentions_forward_from_the_last_warm_up_with_the_same_partner(world) -> None:  # type: ignore[no-untyped-def]
    _lesson(world)
    later = _next_session(world, [[world.student, world.partner], [world.classmate, world.classmate_partner]])
    assign_lesson(later, world.teacher, warm_up=False)
    end_learning(later, world.teacher)
    html = _page(world, "partner", later)
    assert "When one of us is stuck, we reread the verse." in html
    assert "the last time you learned together" in html
    reflection = start(later, world.partner)
    assert reflection.intentions_session_id == world.session.pk


def test_it_does_not_carry_intentions_to_a_new_partnership(world) -> None:  # type: ignore[no-untyped-def]
    _lesson(world)
    later = _next_session(world, [[world.student, world.classmate], [world.partner, world.classmate_partner]])
    assign_lesson(later, world.teacher, warm_up=False)
    end_learning(later, world.teacher)
    html = _page(world, "student", later)
    assert "reread the verse" not in html
    assert "turns reading aloud" not in html
    assert start(later, world.student).intentions == []


def test_it_prefers_todays_warm_up_over_an_earlier_one(world) -> None:  # type: ignore[no-untyped-def]
    _lesson(world)
    later = _next_session(world, [[world.student, world.partner], [world.classmate, world.classmate_partner]])
    warm_up, _text = assign_lesson(later, world.teacher)
    set_intentions(warm_up, world.student, "We each ask one question.\nWe point to the line we mean.")
    end_learning(later, world.teacher)
    reflection = start(later, world.student)
    assert [row["text"] for row in reflection.intentions] == [
        "We each ask one question.",
        "We point to the line we mean.",
    ]
    assert reflection.intentions_session_id == later.pk


def test_it_reads_intentions_from_every_shape_the_worksheet_stores() -> None:
    assert intention_items(["  Listen first ", "", "Take turns"]) == ["Listen first", "Take turns"]
    assert intention_items("Listen first\n\nTake turns\n") == ["Listen first", "Take turns"]
    assert intention_items({"items": ["Listen first"]}) == ["Listen first"]
    assert intention_items([{"text": "Listen first"}, {"id": 2}]) == ["Listen first"]
    assert intention_items(None) == []
