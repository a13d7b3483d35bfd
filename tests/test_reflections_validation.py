"""Answers are checked against the frozen protocol: a rating must be one of the scale's points."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from classrooms.models import GradeBand
from reflections.answers import clean_answers
from reflections.models import Reflection
from tests.conftest import client_for
from tests.factories import make_classroom, make_session, make_student
from tests.reflections_fixtures import assign_lesson, end_learning, reflect, set_intentions, start

FOUR_POINTS = {
    "key": "rate_listening",
    "kind": "scale",
    "label": "Listening: I listened closely.",
    "scale": [{"value": v, "label": str(v)} for v in (1, 2, 3, 4)],
}


@given(st.integers(min_value=-1000, max_value=1000))
def test_it_accepts_exactly_the_points_of_the_scale(value: int) -> None:
    cleaned, problems = clean_answers([FOUR_POINTS], {"rate_listening": value})
    if 1 <= value <= 4:
        assert cleaned == {"rate_listening": value} and problems == []
    else:
        assert cleaned == {} and [p.code for p in problems] == ["not_a_point"]


@pytest.mark.parametrize("value", ["3", 3])
def test_it_reads_a_rating_sent_as_text_or_number(value: object) -> None:
    assert clean_answers([FOUR_POINTS], {"rate_listening": value}) == ({"rate_listening": 3}, [])


@pytest.mark.parametrize("value", [True, 2.5, "three", "", None, [3]])
def test_it_never_stores_something_that_is_not_a_point(value: object) -> None:
    cleaned, _problems = clean_answers([FOUR_POINTS], {"rate_listening": value})
    assert cleaned == {}


@pytest.fixture
def ended(world):  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, ["We take turns.", "We ask why."])
    end_learning(world.session, world.teacher)
    return world


@pytest.mark.django_db
def test_it_rejects_a_rating_off_the_scale_with_a_clear_error(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    reflect(world.session, world.student, ratings={"listening": 2})
    with pytest.raises(ValidationError) as caught:
        reflect(world.session, world.student, ratings={"listening": 7, "focusing": 1})
    message = caught.value.message_dict["a-rate_listening"][0]
    # It names the question, the value and the points allowed (the class is middle school: three faces).
    assert "Listening" in message
    assert "7 is not on the scale" in message
    assert "1 (😟 Not yet), 2 (🙂 Sometimes), 3 (😄 Most of the time)" in message
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert reflection.assessment_answers == {"rate_listening": 2}  # nothing of the rejected save was kept


@pytest.mark.django_db
def test_it_gives_younger_classes_three_faces_and_older_classes_four_points(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    with pytest.raises(ValidationError):
        reflect(world.session, world.student, ratings={"talk_time": 4})
    assert start(world.session, world.student).assessment_version.data["slug"] == "self-assessment-younger"

    older = make_classroom(teacher=world.teacher, name="Adult class", grade_band=GradeBand.ADULT)
    a, b = make_student(classroom=older, name="Avi"), make_student(classroom=older, name="Bina")
    session = make_session(classroom=older, groups=[[a, b]])
    assign_lesson(session, world.teacher)
    end_learning(session, world.teacher)
    reflection = reflect(session, a, ratings={"talk_time": 4})
    assert reflection.assessment_answers["rate_talk_time"] == 4
    assert reflection.assessment_version.data["slug"] == "self-assessment"
    with pytest.raises(ValidationError) as caught:
        reflect(session, a, ratings={"talk_time": 5})
    assert "Almost always" in caught.value.message_dict["a-rate_talk_time"][0]


@pytest.mark.django_db
def test_it_shows_the_error_beside_the_question_when_the_plain_form_sends_an_off_scale_rating(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    client = client_for(world, "student")
    url = reverse("reflections:reflection", args=[world.session.pk])
    response = client.post(
        url, {"a-rate_listening": "9", "a-example_listening": "I kept my example", "action": "submit"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "9 is not on the scale" in html
    assert "One answer needs another look" in html
    assert 'value="I kept my example"' in html  # what the student typed is still there
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert reflection.assessment_answers == {} and reflection.submitted_at is None


@pytest.mark.django_db
def test_it_rejects_unknown_choices_for_intentions_and_the_reflection_questions(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    with pytest.raises(ValidationError) as caught:
        reflect(world.session, world.student, kept=["maybe"], reflection={"intentions_kept": "most"})
    errors = caught.value.message_dict
    assert "We take turns." in errors["intention-0-kept"][0]
    assert "Did we keep our Warm Up intentions?" in errors["r-intentions_kept"][0]


@pytest.mark.django_db
def test_it_keeps_the_intentions_word_for_word_whatever_the_form_sends(ended) -> None:  # type: ignore[no-untyped-def]
    world = ended
    client = client_for(world, "student")
    client.post(
        reverse("reflections:autosave", args=[world.session.pk]),
        {"intention-0-kept": "yes", "intention-0-text": "We were perfect.", "intention-0-evidence": "Line 4"},
    )
    reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert reflection.intentions[0] == {"text": "We take turns.", "kept": "yes", "evidence": "Line 4", "next_time": ""}
