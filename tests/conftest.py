"""Fixed personas, the same in every test file (healthchecks-style).

One class taught by `teacher` and `co_teacher`, with `student` and `partner` in one havruta and
`classmate` (with `classmate_partner`) in another. `other_teacher` teaches `other_class`, where
`outsider` is a student. `staff` is a site admin who teaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import User
from classrooms.models import Classroom, PairingSession
from tests.asgi_server import asgi_server, asgi_server_factory  # noqa: F401  (fixtures)
from tests.browser import browser, page  # noqa: F401  (fixtures)
from tests.factories import (
    addr,
    classroom_add_teacher,
    make_classroom,
    make_session,
    make_student,
    make_teacher,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """A request in Hebrew leaves Hebrew active in this thread (LocaleMiddleware never resets it):
    each test starts in the default language, whichever test ran before it on this worker."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate limits (allauth, PIN sign-in) live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@dataclass
class World:
    teacher: User
    co_teacher: User
    other_teacher: User
    staff: User
    classroom: Classroom
    other_class: Classroom
    student: User
    partner: User
    classmate: User
    classmate_partner: User
    outsider: User
    session: PairingSession


@pytest.fixture
def world(db: None) -> World:
    teacher = make_teacher(name="Rivka Teacher", email=addr("rivka"))
    co_teacher = make_teacher(name="Co Teacher", email=addr("coteacher"))
    other_teacher = make_teacher(name="Other Teacher", email=addr("other"))
    staff = make_teacher(name="Site Staff", email=addr("staff"))
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    classroom = make_classroom(teacher=teacher, name="Grade 7 Chumash")
    classroom_add_teacher(classroom=classroom, teacher=co_teacher)
    other_class = make_classroom(teacher=other_teacher, name="Other Class")
    student = make_student(classroom=classroom, name="Dana", pin="1111")
    partner = make_student(classroom=classroom, name="Eli", pin="2222")
    classmate = make_student(classroom=classroom, name="Noa", pin="3333")
    classmate_partner = make_student(classroom=classroom, name="Yoni", pin="4444")
    outsider = make_student(classroom=other_class, name="Outsider", pin="5555")
    session = make_session(classroom=classroom, groups=[[student, partner], [classmate, classmate_partner]])
    return World(
        teacher=teacher,
        co_teacher=co_teacher,
        other_teacher=other_teacher,
        staff=staff,
        classroom=classroom,
        other_class=other_class,
        student=student,
        partner=partner,
        classmate=classmate,
        classmate_partner=classmate_partner,
        outsider=outsider,
        session=session,
    )


PERSONAS = (
    "anonymous",
    "student",
    "partner",
    "classmate",
    "outsider",
    "teacher",
    "co_teacher",
    "other_teacher",
    "staff",
)


def client_for(world: World, persona: str) -> Client:
    """A test client signed in as the persona (anonymous: not signed in)."""
    client = Client()
    if persona != "anonymous":
        client.force_login(getattr(world, persona))
    return client
