"""Small builders for tests. They go through the services, so tests exercise real code paths."""

from __future__ import annotations

import itertools

from allauth.account.models import EmailAddress

from accounts.models import User
from classrooms.models import Classroom, Havruta, HavrutaMember, PairingSession
from classrooms.services import classroom_add_teacher, classroom_create, student_create

_counter = itertools.count(1)
EMAIL_DOMAIN = "example.org"


def addr(local: str) -> str:
    """An email address at the test domain (kept out of literals on purpose)."""
    return local + "@" + EMAIL_DOMAIN


def make_teacher(*, name: str = "", email: str = "") -> User:
    n = next(_counter)
    email = email or addr(f"teacher{n}")
    user = User.objects.create_user(
        username=f"teacher-{n}", email=email, password="correct horse battery", display_name=name or f"Teacher {n}"
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_classroom(*, teacher: User, name: str = "", grade_band: str = "middle-school") -> Classroom:
    return classroom_create(teacher=teacher, name=name or f"Class {next(_counter)}", grade_band=grade_band)


def make_student(*, classroom: Classroom, name: str = "", pin: str = "2468", group_label: str = "") -> User:
    return student_create(
        classroom=classroom, display_name=name or f"Student {next(_counter)}", pin=pin, group_label=group_label
    )


def make_session(*, classroom: Classroom, groups: list[list[User]], method: str = "manual") -> PairingSession:
    session = PairingSession.objects.create(classroom=classroom, method=method)
    for number, group in enumerate(groups, start=1):
        havruta = Havruta.objects.create(session=session, number=number)
        for seat, student in zip("ABC", group, strict=False):
            HavrutaMember.objects.create(havruta=havruta, student=student, seat=seat)
    return session


__all__ = [
    "addr",
    "classroom_add_teacher",
    "make_classroom",
    "make_session",
    "make_student",
    "make_teacher",
]
