"""Growth over time: a student's timeline and a class's heatmap, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.reflections_fixtures import assign_lesson, ended_sessions, reflect

pytestmark = pytest.mark.django_db

# Whole requests, session and user lookups included; the same for 5 and for 50 sessions.
STUDENT_GROWTH_QUERIES = 7
CLASS_GROWTH_QUERIES = 8


def _history(world, count: int):  # type: ignore[no-untyped-def]
    groups = [[world.student, world.partner], [world.classmate, world.classmate_partner]]
    sessions = ended_sessions(world.classroom, world.teacher, groups, count)
    assign_lesson(sessions[0], world.teacher, warm_up=False)  # loads the library once
    for index, session in enumerate(sessions):
        rating = 1 + index % 3
        reflect(session, world.student, ratings={"listening": rating, "focusing": 3}, goal=f"Goal {index}")
        reflect(session, world.classmate, ratings={"listening": 3}, submit=index % 2 == 0)
    return sessions


@pytest.mark.parametrize("count", [5, 50])
def test_it_shows_a_students_growth_in_the_same_number_of_queries_for_5_and_50_sessions(
    world, django_assert_num_queries, count: int
) -> None:  # type: ignore[no-untyped-def]
    _history(world, count)
    client = client_for(world, "teacher")
    url = reverse("reflections:student_growth", args=[world.student.pk])
    with django_assert_num_queries(STUDENT_GROWTH_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="point"') >= count  # every listening rating is drawn
    assert f"Goal {count - 1}" in html


@pytest.mark.parametrize("count", [5, 50])
def test_it_shows_the_class_heatmap_in_the_same_number_of_queries_for_5_and_50_sessions(
    world, django_assert_num_queries, count: int
) -> None:  # type: ignore[no-untyped-def]
    _history(world, count)
    client = client_for(world, "co_teacher")
    url = reverse("reflections:class_growth", args=[world.classroom.pk])
    with django_assert_num_queries(CLASS_GROWTH_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="cell"') >= count


def test_it_lists_partners_goals_and_whether_the_student_met_them(world) -> None:  # type: ignore[no-untyped-def]
    first, second, third = ended_sessions(
        world.classroom, world.teacher, [[world.student, world.partner], [world.classmate, world.classmate_partner]], 3
    )
    assign_lesson(first, world.teacher, warm_up=False)
    reflect(first, world.student, ratings={"listening": 2}, goal="Ask Eli one question about the text.")
    reflect(second, world.student, ratings={"listening": 3}, goal="Point to the line.", previous_goal_met="yes")
    html = (
        client_for(world, "student")
        .get(reverse("reflections:student_growth", args=[world.student.pk]))
        .content.decode()
    )
    assert "My growth over time" in html
    assert "Ask Eli one question about the text." in html
    assert "Yes, I met it" in html  # reported in the next reflection
    assert "not reported yet" in html  # the latest goal
    assert "Eli" in html
    assert "Not written" in html  # the third session has no reflection
    page = client_for(world, "student").get(reverse("reflections:reflection", args=[third.pk])).content.decode()
    assert "Last time, your goal was:" in page and "Point to the line." in page


def test_it_lists_the_students_who_have_not_reflected_on_ended_sessions(world) -> None:  # type: ignore[no-untyped-def]
    [session] = ended_sessions(
        world.classroom, world.teacher, [[world.student, world.partner], [world.classmate, world.classmate_partner]], 1
    )
    assign_lesson(session, world.teacher, warm_up=False)
    reflect(session, world.student, ratings={"listening": 4 - 1})
    reflect(session, world.classmate, ratings={"listening": 1}, submit=False)
    html = (
        client_for(world, "teacher")
        .get(reverse("reflections:class_growth", args=[world.classroom.pk]))
        .content.decode()
    )
    missing = html.split('id="missing-heading"', 1)[1].split("</section>", 1)[0]
    assert "Eli" in missing and "Yoni" in missing and "Noa" in missing
    assert "draft" in missing  # Noa started one
    assert "Dana" not in missing
    assert 'data-value="2.0"' in html  # (3 + 1) / 2 for listening


def test_it_tells_the_teacher_what_to_do_when_nothing_is_there_yet(world) -> None:  # type: ignore[no-untyped-def]
    html = (
        client_for(world, "teacher")
        .get(reverse("reflections:class_growth", args=[world.classroom.pk]))
        .content.decode()
    )
    assert "No self-assessments yet" in html
    assert "Everyone has handed in a reflection" in html
