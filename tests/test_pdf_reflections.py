"""A student's reflection and self-assessment as PDF, for parent conferences (reflections/views_pdf.py):
what it prints, and that only the student and the class's teachers may print it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PERSONAS, World, client_for
from tests.pdf_fixtures import assert_accessible, flat, pdf_reader, pdf_text, save_pngs
from tests.reflections_fixtures import assign_lesson, end_learning, reflect, set_intentions


@pytest.fixture
def lesson(world: World) -> World:
    """Dana reflected on a lesson with Eli and handed it in; Noa (a classmate) did not start."""
    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, ["We listen to the end before we answer."])
    end_learning(world.session, world.teacher)
    reflect(
        world.session,
        world.student,
        ratings={"listening": 3, "challenging": 1},
        examples={"listening": "I waited for Eli to finish his reading."},
        goal="Ask one question about the text.",
        appreciation="Thank you for rereading the verse with me.",
        kept=["yes"],
        reflection={"partner_helped": "Eli found the word that changed my mind."},
    )
    return world


def _teacher_url(world: World, student_pk: int | None = None) -> str:
    return reverse("reflections:reflection_pdf_for_teacher", args=[world.session.pk, student_pk or world.student.pk])


def _student_url(world: World) -> str:
    return reverse("reflections:reflection_pdf", args=[world.session.pk])


def test_it_prints_a_students_reflection_and_self_assessment_for_a_parent_conference(lesson: World) -> None:
    world = lesson
    response = client_for(world, "teacher").get(_teacher_url(world) + "?paper=a4")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "reflection-dana-" in response["Content-Disposition"]
    text = flat(pdf_text(response.content))
    assert "Dana" in text and world.classroom.name in text
    assert "Eli found the word that changed my mind." in text
    assert "I waited for Eli to finish his reading." in text
    assert "Ask one question about the text." in text
    assert "Thank you for rereading the verse with me." in text
    assert "We listen to the end before we answer." in text  # the Warm Up intention she rated
    # Scales print every point with the chosen one marked.
    assert "(chosen)" in text
    reader = pdf_reader(response.content)
    assert round(float(reader.pages[0].mediabox.height)) == 842
    assert_accessible(response.content, title="Reflection and self-assessment · Dana")
    # The reflection and the self-assessment each under their own heading.
    assert text.index("Reflection Questions") < text.index("Self-Assessment") < text.index("Appreciation")
    save_pngs(response.content, "reflection-parent-conference")


def test_it_lets_a_student_print_their_own_reflection_only(lesson: World) -> None:
    world = lesson
    own = client_for(world, "student").get(_student_url(world))
    assert own.status_code == 200
    assert "Eli found the word that changed my mind." in flat(pdf_text(own.content))
    # The same URL is always one's own: the partner has not reflected, so there is nothing to print.
    assert client_for(world, "partner").get(_student_url(world)).status_code == 404


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_shows_a_reflection_pdf_only_to_the_student_and_the_classes_teachers(lesson: World, persona: str) -> None:
    world = lesson
    expected = 200 if persona in ("teacher", "co_teacher") else 404
    assert client_for(world, persona).get(_teacher_url(world)).status_code == expected
    # A student of another class is never a student of this session, even for its teachers.
    assert client_for(world, "teacher").get(_teacher_url(world, world.outsider.pk)).status_code == 404


def test_it_answers_404_when_the_student_has_not_started(lesson: World) -> None:
    world = lesson
    assert client_for(world, "teacher").get(_teacher_url(world, world.classmate.pk)).status_code == 404


def test_it_links_the_pdf_from_the_reflection_pages(lesson: World) -> None:
    world = lesson
    teacher_page = client_for(world, "teacher").get(
        reverse("reflections:reflection_for_teacher", args=[world.session.pk, world.student.pk])
    )
    assert _teacher_url(world) in teacher_page.content.decode()
    student_page = client_for(world, "student").get(reverse("reflections:reflection", args=[world.session.pk]))
    assert _student_url(world) in student_page.content.decode()
