"""Builders for the classes, roster and sign-in tests (kept out of the shared factories)."""

from __future__ import annotations

import itertools

import pytest

from accounts.models import User
from classrooms.models import Assignment, Classroom, Havruta, PairingSession
from protocols.models import Protocol, ProtocolVersion, Text
from tests.factories import make_session, make_student
from worksheets.models import Worksheet

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """The personas' teacher passwords are hashed with PBKDF2 (a second per `world`); these tests
    never check a teacher password, so a cheap hasher keeps the 404 matrix fast. Import this
    fixture into a test module to use it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_students(classroom: Classroom, count: int, *, prefix: str = "Student") -> list[User]:
    return [make_student(classroom=classroom, name=f"{prefix} {n:03d}", pin=f"{n % 10000:04d}") for n in range(count)]


def make_protocol_version(title: str = "Listening to the Text") -> ProtocolVersion:
    n = next(_counter)
    protocol = Protocol.objects.create(
        slug=f"protocol-{n}",
        title=title,
        category=Protocol.Category.TEXT_LEARNING,
        duration_minutes=30,
        summary="Notice the details of the text.",
        purpose="Close reading with evidence.",
    )
    return ProtocolVersion.objects.create(protocol=protocol, number=1, content_hash=f"hash-{n}", data={"title": title})


def make_text(reference: str = "Genesis 4:1-16") -> Text:
    n = next(_counter)
    return Text.objects.create(slug=f"text-{n}", title=f"Cain and Abel {n}", reference=reference)


def make_assignment(
    session: PairingSession,
    *,
    title: str = "Listening to the Text",
    reference: str = "Genesis 4:1-16",
    status: str = Assignment.Status.OPEN,
) -> Assignment:
    """An assignment with one worksheet per havruta of the session, as the assignment service makes."""
    assignment = Assignment.objects.create(
        classroom=session.classroom,
        session=session,
        protocol_version=make_protocol_version(title),
        text=make_text(reference),
        status=status,
    )
    for havruta in Havruta.objects.filter(session=session):
        Worksheet.objects.create(assignment=assignment, havruta=havruta)
    return assignment


__all__ = ["fast_password_hashing", "make_assignment", "make_session", "make_students"]
