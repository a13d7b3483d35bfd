"""The student home (/me/): today's havruta and assignment, earlier work, and the empty state."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from classrooms.models import Assignment, PairingSession
from tests.classes_fixtures import fast_password_hashing, make_assignment, make_session  # noqa: F401
from tests.conftest import World, client_for
from tests.factories import make_classroom, make_student, make_teacher
from worksheets.models import Worksheet

pytestmark = pytest.mark.django_db


def _home(world: World, persona: str = "student") -> str:
    response = client_for(world, persona).get("/me/")
    assert response.status_code == 200
    return response.content.decode()


def _worksheet(assignment: Assignment, student) -> Worksheet:  # type: ignore[no-untyped-def]
    return Worksheet.objects.get(assignment=assignment, havruta__memberships__student=student)


def test_it_tells_the_student_who_they_learn_with_today_and_what(world: World) -> None:
    assignment = make_assignment(world.session)
    body = _home(world)
    assert 'Today you learn with <bdi dir="auto">Eli</bdi>' in body
    assert 'Listening to the Text, <bdi dir="auto">Genesis 4:1-16</bdi>' in body
    assert f'href="/worksheets/{_worksheet(assignment, world.student).pk}/"' in body
    # Never the other havruta's worksheet.
    assert f'href="/worksheets/{_worksheet(assignment, world.classmate).pk}/"' not in body
    assert "Grade 7 Chumash" in body


def test_it_names_both_partners_in_a_triad(world: World) -> None:
    third = make_student(classroom=world.classroom, name="Tamar")
    make_session(classroom=world.classroom, groups=[[world.student, world.partner, third]])
    body = _home(world)
    assert 'Today you learn with <bdi dir="auto">Eli</bdi> and <bdi dir="auto">Tamar</bdi>' in body


def test_it_shows_only_open_assignments_for_the_current_havruta(world: World) -> None:
    make_assignment(world.session, title="Noticing and Wondering", status=Assignment.Status.CLOSED)
    make_assignment(world.session, title="Listening to the Text")
    body = _home(world)
    assert "Listening to the Text" in body
    assert "Noticing and Wondering" not in body


def test_it_says_when_the_havruta_has_nothing_to_do_yet(world: World) -> None:
    body = _home(world)
    assert "Eli" in body
    assert "has not given your havruta anything to work on yet" in body


def test_it_shows_an_empty_state_before_the_first_pairing(world: World) -> None:
    newcomer = make_student(classroom=world.classroom, name="Newcomer")
    client = client_for(world, "student")
    client.force_login(newcomer)
    body = client.get("/me/").content.decode()
    assert "You don't have a havruta yet" in body
    assert "When your teacher pairs the class" in body


def test_it_lists_earlier_work_from_previous_sessions(world: World) -> None:
    world.session.date = timezone.localdate() - datetime.timedelta(days=7)
    world.session.save(update_fields=["date"])
    earlier = make_assignment(world.session, title="Agree Disagree", reference="Genesis 11:1-9")
    today = make_session(classroom=world.classroom, groups=[[world.student, world.classmate]])
    make_assignment(today, title="Listening to the Text")
    body = _home(world)
    assert 'Today you learn with <bdi dir="auto">Noa</bdi>' in body
    assert "Earlier work" in body
    assert 'With <bdi dir="auto">Eli</bdi>' in body
    assert f'href="/worksheets/{_worksheet(earlier, world.student).pk}/"' in body
    assert 'Agree Disagree, <bdi dir="auto">Genesis 11:1-9</bdi>' in body


def test_it_shows_the_date_when_the_latest_havruta_is_not_today(world: World) -> None:
    world.session.date = timezone.localdate() - datetime.timedelta(days=3)
    world.session.save(update_fields=["date"])
    body = _home(world)
    assert "Today you learn with" not in body
    assert 'You learn with <bdi dir="auto">Eli</bdi>' in body
    assert "Your havruta from" in body


def test_it_skips_sessions_where_the_student_was_absent(world: World) -> None:
    later = PairingSession.objects.create(classroom=world.classroom, method="manual")
    later.absent.add(world.student)
    body = _home(world)
    assert 'Today you learn with <bdi dir="auto">Eli</bdi>' in body


def test_it_leaves_the_old_class_work_behind_after_a_move(world: World) -> None:
    make_assignment(world.session)
    second = make_classroom(teacher=world.teacher, name="Grade 8")
    enrollment = world.student.enrollment
    enrollment.classroom = second
    enrollment.save(update_fields=["classroom"])
    body = _home(world)
    assert "Grade 8" in body
    assert "Listening to the Text" not in body
    assert "You don't have a havruta yet" in body


def test_it_does_not_mix_in_other_classes(world: World) -> None:
    other_teacher = make_teacher()
    other = make_classroom(teacher=other_teacher)
    stranger = make_student(classroom=other, name="Stranger")
    session = make_session(classroom=other, groups=[[stranger, make_student(classroom=other, name="Pal")]])
    make_assignment(session, title="Secret Protocol")
    assert "Secret Protocol" not in _home(world)
