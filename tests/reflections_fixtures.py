"""Builders for the reflections and growth tests (tests/test_reflections_*.py, test_growth_*.py).

Lessons are made the way teachers make them: the shipped library is loaded, a Havruta Warm Up
and a text protocol are assigned through ``assignment_create``, the havruta's intentions are
materialised as the worksheet's shared ``FieldAnswer`` (what the live worksheet server stores),
and the learning is ended. Reflections are written through the reflections services.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User
from classrooms.models import Assignment, GradeBand, Havruta, PairingSession
from classrooms.services_pairing import assignment_create
from protocols.models import Protocol, Text
from protocols.services import library_load
from reflections.models import Reflection
from reflections.services import ReflectionInput, reflection_save, reflection_start, session_end_learning
from tests.factories import make_session
from worksheets.models import FieldAnswer, Worksheet

YOUNGER = (GradeBand.UPPER_ELEMENTARY, GradeBand.MIDDLE_SCHOOL)
PRACTICES = ("listening", "articulating", "wondering", "focusing", "supporting", "challenging")


def ensure_library() -> None:
    if not Protocol.objects.filter(slug="reflection-questions").exists():
        library_load()


def warm_up_slug(session: PairingSession) -> str:
    return "havruta-warm-up-younger" if session.classroom.grade_band in YOUNGER else "havruta-warm-up"


def assign_lesson(session: PairingSession, teacher: User, *, warm_up: bool = True) -> list[Assignment]:
    """A Warm Up (optional) and Listening to the Text with Genesis 4, for every havruta of the session."""
    ensure_library()
    return assignment_create(
        session=session,
        by=teacher,
        protocol=Protocol.objects.get(slug="listening-to-the-text"),
        text=Text.objects.get(slug="genesis-4-1-16"),
        warm_up=Protocol.objects.get(slug=warm_up_slug(session)) if warm_up else None,
        date=session.date,
    )


def set_intentions(assignment: Assignment, student: User, items: Any) -> FieldAnswer:
    """Store the havruta's shared intentions answer, as the worksheet server materialises it."""
    worksheet = Worksheet.objects.get(assignment=assignment, havruta__memberships__student=student)
    answer, _created = FieldAnswer.objects.update_or_create(
        worksheet=worksheet, field_key="our_intentions", student=None, defaults={"value": items}
    )
    return answer


def end_learning(session: PairingSession, teacher: User) -> PairingSession:
    return session_end_learning(session=session, by=teacher)


def havruta_of(session: PairingSession, student: User) -> Havruta:
    return Havruta.objects.select_related("session__classroom").get(session=session, memberships__student=student)


def start(session: PairingSession, student: User) -> Reflection:
    return reflection_start(student=student, havruta=havruta_of(session, student))


def reflect(
    session: PairingSession,
    student: User,
    *,
    ratings: dict[str, int] | None = None,
    examples: dict[str, str] | None = None,
    goal: str = "",
    appreciation: str = "",
    send: bool = False,
    submit: bool = True,
    kept: list[str] | None = None,
    previous_goal_met: str = "",
    reflection: dict[str, Any] | None = None,
) -> Reflection:
    """Write (and by default hand in) a student's reflection through the services."""
    item = start(session, student)
    assessment: dict[str, Any] = {f"rate_{key}": value for key, value in (ratings or {}).items()}
    assessment.update({f"example_{key}": value for key, value in (examples or {}).items()})
    if goal:
        assessment["goal"] = goal
    rows = [{"kept": k, "evidence": "", "next_time": ""} for k in (kept or [])]
    item, _changed = reflection_save(
        reflection=item,
        by=student,
        data=ReflectionInput(
            reflection=reflection or {},
            assessment=assessment,
            intentions=rows,
            previous_goal_met=previous_goal_met,
            appreciation=appreciation,
            send_appreciation=send,
        ),
        submit=submit,
    )
    return item


def ended_sessions(classroom: Any, teacher: User, groups: list[list[User]], count: int) -> list[PairingSession]:
    """``count`` sessions of the same groups on consecutive days, each ended."""
    first = timezone.localdate() - datetime.timedelta(days=count)
    sessions = []
    for day in range(count):
        session = make_session(classroom=classroom, groups=groups)
        PairingSession.objects.filter(pk=session.pk).update(date=first + datetime.timedelta(days=day))
        session.refresh_from_db()
        end_learning(session, teacher)
        sessions.append(session)
    return sessions
