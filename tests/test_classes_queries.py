"""Class, roster, sign-in and student-home pages answer in a fixed number of queries, however large
the class (30 and 300 students) or long the history.

Counts for signed-in teachers include 2 queries for the session and the user.
"""

from __future__ import annotations

import pytest
from django.test import Client

from classrooms.services import classroom_create
from tests.classes_fixtures import fast_password_hashing, make_assignment, make_session, make_students  # noqa: F401
from tests.conftest import World, client_for
from tests.reflections_fixtures import end_learning, ensure_library, reflect

pytestmark = pytest.mark.django_db

SIZES = [30, 300]

TEACHER_HOME_QUERIES = 3  # session, user, classes with counts
# session, user, class, roster, teachers, invitations; then the pairing section's recent sessions
# and assignments (classrooms.selectors_pairing.pairing_section_data).
DETAIL_QUERIES = 8
SHEET_QUERIES = 4  # session, user, class, roster
JOIN_PICK_QUERIES = 2  # class by code, roster (an anonymous visitor)
ROSTER_PREVIEW_QUERIES = 7  # session, user, class, roster names, then saving the preview in the session
# session, user, enrollment, havrutot, members, assignments, worksheets; then the reflections panel:
# ended havrutot and their members, reflection states, locks, the latest goal, appreciations.
STUDENT_HOME_QUERIES = 13


def _grow(world: World, size: int) -> None:
    make_students(world.classroom, size - 4)  # the world's class already has four students


@pytest.mark.parametrize("size", SIZES)
def test_it_lists_classes_in_fixed_queries(world: World, size: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _grow(world, size)
    for n in range(size // 30):
        classroom_create(teacher=world.teacher, name=f"Extra {n}", grade_band="adult")
    client = client_for(world, "teacher")
    with django_assert_num_queries(TEACHER_HOME_QUERIES):
        response = client.get("/classes/")
    assert f"{size} students" in response.content.decode()


@pytest.mark.parametrize("size", SIZES)
def test_it_shows_the_class_page_in_fixed_queries(world: World, size: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _grow(world, size)
    client = client_for(world, "teacher")
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/classes/{world.classroom.pk}/")
    assert response.content.decode().count('<span class="pin"') == size


@pytest.mark.parametrize("size", SIZES)
def test_it_prints_the_sign_in_sheet_in_fixed_queries(world: World, size: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _grow(world, size)
    client = client_for(world, "teacher")
    with django_assert_num_queries(SHEET_QUERIES):
        response = client.get(f"/classes/{world.classroom.pk}/sign-in-sheet/")
    assert response.content.decode().count('<li class="cut-card">') == size


@pytest.mark.parametrize("size", SIZES)
def test_it_lists_names_to_pick_in_fixed_queries(world: World, size: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _grow(world, size)
    with django_assert_num_queries(JOIN_PICK_QUERIES):
        response = Client().get(f"/join/{world.classroom.join_code}/")
    assert response.content.decode().count('class="name-button"') == size


@pytest.mark.parametrize("size", SIZES)
def test_it_previews_a_roster_in_fixed_queries(world: World, size: int, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _grow(world, size)
    client = client_for(world, "teacher")
    names = "\n".join(f"Newcomer {n}" for n in range(size))
    with django_assert_num_queries(ROSTER_PREVIEW_QUERIES):
        response = client.post(f"/classes/{world.classroom.pk}/roster/add/", {"names": names})
    assert f"{size} students are ready to add." in response.content.decode()


@pytest.mark.parametrize("sessions", [1, 25])
def test_it_shows_the_student_home_in_fixed_queries_however_long_the_history(
    world: World, sessions: int, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    make_assignment(world.session)
    history = [world.session]
    for _ in range(sessions - 1):
        session = make_session(classroom=world.classroom, groups=[[world.student, world.partner]])
        make_assignment(session)
        make_assignment(session, title="Reflection")
        history.append(session)
    # Every session ended and reflected on, each with an appreciation from the partner: the
    # reflections panel on the home page grows with the history too.
    ensure_library()
    for n, session in enumerate(history):
        end_learning(session, world.teacher)
        reflect(session, world.partner, appreciation=f"Thanks {n}", send=True)
        reflect(session, world.student, ratings={"listening": 2}, goal=f"Goal {n}")
    client = client_for(world, "student")
    with django_assert_num_queries(STUDENT_HOME_QUERIES):
        response = client.get("/me/")
    html = response.content.decode()
    assert html.count("/worksheets/") == 1 + 2 * (sessions - 1)
    assert f"Thanks {sessions - 1}" in html and f"Goal {sessions - 1}" in html
