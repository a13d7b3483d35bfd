"""Saving as the student types (autosave) and without JavaScript (plain POST), until the teacher locks."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from reflections.models import Reflection
from tests.conftest import client_for
from tests.reflections_fixtures import assign_lesson, end_learning, set_intentions

pytestmark = pytest.mark.django_db

FORM = {
    "r-partner_helped": "Eli asked me what the word meant.",
    "r-intentions_kept": "some",
    "a-rate_listening": "3",
    "a-example_listening": "I waited until Eli finished.",
    "a-rate_challenging": "1",
    "a-goal": "Next time I will disagree out loud.",
    "intention-0-kept": "partly",
    "intention-0-evidence": "We forgot once in verse 7.",
    "intention-0-next_time": "Keep a card on the table.",
    "appreciation": "Thank you for your patience.",
    "send_appreciation": "1",
}


@pytest.fixture
def ended(world):  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, ["We listen to the end."])
    end_learning(world.session, world.teacher)
    return world


def _autosave(world, data):  # type: ignore[no-untyped-def]
    return client_for(world, "student").post(reverse("reflections:autosave", args=[world.session.pk]), data)


def test_it_saves_the_same_payload_twice_into_one_unchanged_row(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    first = _autosave(world, FORM)
    assert first.status_code == 200
    assert first.json()["status"] == "saved" and first.json()["changed"] is True
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    state = (reflection.reflection_answers, reflection.assessment_answers, reflection.intentions, reflection.updated_at)

    second = _autosave(world, FORM)
    assert second.status_code == 200
    assert second.json()["changed"] is False
    assert Reflection.objects.filter(student=world.student).count() == 1
    reflection.refresh_from_db()
    assert (
        reflection.reflection_answers,
        reflection.assessment_answers,
        reflection.intentions,
        reflection.updated_at,
    ) == state
    assert reflection.assessment_answers == {
        "rate_listening": 3,
        "example_listening": "I waited until Eli finished.",
        "rate_challenging": 1,
        "goal": "Next time I will disagree out loud.",
    }
    assert reflection.intentions == [
        {
            "text": "We listen to the end.",
            "kept": "partly",
            "evidence": "We forgot once in verse 7.",
            "next_time": "Keep a card on the table.",
        }
    ]
    # Autosave keeps a draft: nothing is handed in, so nothing is sent yet.
    assert reflection.submitted_at is None and reflection.appreciation_sent_at is None


def test_it_answers_400_for_an_off_scale_rating_and_keeps_what_was_saved(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    _autosave(world, FORM)
    response = _autosave(world, {**FORM, "a-rate_listening": "5", "a-goal": "changed"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid"
    assert "5 is not on the scale" in body["errors"]["a-rate_listening"][0]
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert reflection.assessment_answers["goal"] == "Next time I will disagree out loud."


def test_it_works_without_javascript_and_stays_editable_until_locked(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    client = client_for(world, "student")
    url = reverse("reflections:reflection", args=[world.session.pk])
    response = client.post(url, {**FORM, "action": "submit"})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert "Your reflection is handed in" in page
    assert "Eli asked me what the word meant." in page
    assert re.search(r'<input type="radio" name="a-rate_listening" id="a-rate_listening-3" value="3" checked', page)
    assert "Sent: your partner can read it." in page

    client.post(url, {**FORM, "a-goal": "Ask Eli for evidence.", "action": "save"})
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert reflection.assessment_answers["goal"] == "Ask Eli for evidence."
    assert reflection.submitted_at is not None

    client_for(world, "teacher").post(reverse("reflections:session_lock", args=[world.session.pk]), {"action": "lock"})
    locked = client.post(url, {**FORM, "a-goal": "Too late", "action": "save"}, follow=True).content.decode()
    assert "locked these reflections" in locked
    assert re.search(r'<input type="text" [^>]*name="a-goal" value="Ask Eli for evidence\.[^>]* disabled>', locked)
    assert _autosave(world, {**FORM, "a-goal": "Too late"}).status_code == 409
    reflection.refresh_from_db()
    assert reflection.locked and reflection.assessment_answers["goal"] == "Ask Eli for evidence."

    client_for(world, "co_teacher").post(
        reverse("reflections:session_lock", args=[world.session.pk]), {"action": "unlock"}
    )
    assert _autosave(world, {**FORM, "a-goal": "Open again"}).status_code == 200


def test_it_does_not_open_before_the_teacher_ends_the_learning(world) -> None:  # type: ignore[no-untyped-def]
    assign_lesson(world.session, world.teacher)
    client = client_for(world, "student")
    page = client.get(reverse("reflections:reflection", args=[world.session.pk])).content.decode()
    assert "Your reflection opens when the learning ends" in page
    assert _autosave(world, FORM).status_code == 409
    assert not Reflection.objects.exists()

    teacher = client_for(world, "teacher")
    overview = teacher.get(reverse("reflections:session_overview", args=[world.session.pk])).content.decode()
    assert "End learning and open reflections" in overview
    teacher.post(reverse("reflections:session_end", args=[world.session.pk]))
    world.session.refresh_from_db()
    assert world.session.ended_at is not None
    assert _autosave(world, FORM).status_code == 200


def test_it_keeps_a_locked_session_closed_to_students_who_had_not_started(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    client_for(world, "teacher").post(reverse("reflections:session_lock", args=[world.session.pk]), {"action": "lock"})
    page = client_for(world, "partner").get(reverse("reflections:reflection", args=[world.session.pk])).content.decode()
    assert "Reflections for this session are closed" in page
    assert not Reflection.objects.filter(student=world.partner).exists()


def test_it_serves_the_autosave_script_and_marks_the_status_line_for_screen_readers(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    html = client_for(world, "student").get(reverse("reflections:reflection", args=[world.session.pk])).content.decode()
    assert f'data-autosave-url="{reverse("reflections:autosave", args=[world.session.pk])}"' in html
    assert 'role="status"' in html and 'data-saving="Saving…"' in html and 'data-saved="Saved"' in html
    assert "<script>" not in html  # no inline script (CSP)
    assert '<script src="/static/js/reflections.js" defer></script>' in html
