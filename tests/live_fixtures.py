"""Builders for the live session tests (tests/test_live_*.py, tests/test_browser_live.py, bench/live_dashboard.py).

A lesson is made the way the socket tests make worksheets (tests/ws_helpers.py): a small frozen
protocol with steps and one field of each scope, assigned to a session, one worksheet per havruta.
"""

from __future__ import annotations

import itertools
from typing import Any

from accounts.models import User
from classrooms.models import Assignment, Classroom, Havruta, PairingSession
from protocols.models import Protocol, ProtocolVersion
from tests.factories import make_session, make_student
from worksheets.models import Worksheet

STEPS = [
    {"key": "notice", "title": "Notice the details", "minutes": 5},
    {"key": "wonder", "title": "Wonder together", "minutes": 7},
    {"key": "share", "title": "Prepare to share", "minutes": None},
]
FIELDS = [
    {"key": "notices", "kind": "list", "scope": "shared", "step": "notice", "label": "What we noticed"},
    {"key": "chosen_question", "kind": "short_text", "scope": "shared", "step": "wonder", "label": "Our question"},
    {"key": "what_we_found", "kind": "long_text", "scope": "shared", "step": "share", "label": "What we found"},
    {"key": "my_idea", "kind": "long_text", "scope": "personal", "step": "wonder", "label": "My idea"},
]

_slugs = itertools.count(1)


def make_version() -> ProtocolVersion:
    n = next(_slugs)
    protocol = Protocol.objects.create(
        slug=f"live-lesson-{n}",
        title="Noticing and wondering (test)",
        category=Protocol.Category.TEXT_LEARNING,
        duration_minutes=20,
        summary="A protocol for live session tests.",
        purpose="Testing.",
    )
    data = {"title": "Noticing and wondering", "steps": STEPS, "fields": FIELDS}
    return ProtocolVersion.objects.create(protocol=protocol, number=1, content_hash=f"live{n}", data=data)


def assign_lesson(*, session: PairingSession, classroom: Classroom | None = None) -> dict[int, Worksheet]:
    """One assignment for the session; {havruta number: worksheet}."""
    assignment = Assignment.objects.create(
        classroom=classroom or session.classroom, session=session, protocol_version=make_version()
    )
    havrutot = list(Havruta.objects.filter(session=session).order_by("number"))
    sheets = Worksheet.objects.bulk_create([Worksheet(assignment=assignment, havruta=h) for h in havrutot])
    return {h.number: s for h, s in zip(havrutot, sheets, strict=True)}


def big_class(*, classroom: Classroom, havrutot: int, prefix: str = "S") -> tuple[PairingSession, list[User]]:
    """A session of `havrutot` pairs of new students in the class."""
    students = [make_student(classroom=classroom, name=f"{prefix}{i}", pin="1234") for i in range(2 * havrutot)]
    session = make_session(classroom=classroom, groups=[students[i : i + 2] for i in range(0, len(students), 2)])
    return session, students


def ws_state(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("type") == kind]
