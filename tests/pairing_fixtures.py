"""Builders for the pairing and assignment tests (tests/test_pairing_web_*.py, tests/test_assignments_*.py).

Classes and students go through the real services. Protocols here are small hand-made library
rows so most tests do not depend on the fixture files; the browser test and one assignment test
load the real library with ``protocols.services.library_load``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from accounts.models import User
from classrooms.models import Classroom, Havruta, HavrutaMember, PairingSession
from protocols.models import AgeBand, Protocol, ProtocolField, ProtocolStep, Text, TextSegment
from tests.factories import make_classroom, make_student, make_teacher


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """Teachers' passwords are hashed with a cheap hasher in these tests (the personas create four).

    Importing this fixture into a test module switches it on there; nothing here signs in with a
    password except the browser test, which works with any hasher.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_class(
    n: int, *, teacher: User | None = None, name: str = "", labels: Iterable[str] | None = None
) -> tuple[Classroom, User, list[User]]:
    """A class with ``n`` students named S01, S02, ... (optionally with group labels)."""
    teacher = teacher or make_teacher()
    classroom = make_classroom(teacher=teacher, name=name)
    label_list = list(labels) if labels is not None else [""] * n
    students = [
        make_student(classroom=classroom, name=f"S{i + 1:02d}", group_label=label_list[i % len(label_list)])
        for i in range(n)
    ]
    return classroom, teacher, students


def layout(session: PairingSession) -> list[tuple[int, ...]]:
    """The session's havrutot as sorted member-id tuples, in havruta number order."""
    groups: dict[int, list[int]] = {}
    for havruta_id, student_id in (
        HavrutaMember.objects.filter(havruta__session=session)
        .order_by("havruta__number", "student_id")
        .values_list("havruta_id", "student_id")
    ):
        groups.setdefault(havruta_id, []).append(student_id)
    return [tuple(g) for g in groups.values()]


def rows(session: PairingSession) -> dict[int, tuple[int, int, bool, frozenset[tuple[int, int, str]]]]:
    """Every stored row of the session's havrutot.

    {havruta id: (number, session id, locked, {(member row id, student id, seat)})}
    """
    members: dict[int, set[tuple[int, int, str]]] = {}
    for pk, havruta_id, student_id, seat in HavrutaMember.objects.filter(havruta__session=session).values_list(
        "pk", "havruta_id", "student_id", "seat"
    ):
        members.setdefault(havruta_id, set()).add((pk, student_id, seat))
    return {
        h.pk: (h.number, h.session_id, h.locked, frozenset(members.get(h.pk, set())))
        for h in Havruta.objects.filter(session=session)
    }


def assert_valid_sizes(groups: list[tuple[int, ...]], present: int) -> None:
    sizes = sorted(len(g) for g in groups)
    assert sum(sizes) == present
    assert set(sizes) <= {2, 3}
    assert sizes.count(3) == present % 2


def make_protocol(
    *,
    slug: str = "listening-to-the-text",
    title: str = "Listening to the Text",
    category: str = Protocol.Category.TEXT_LEARNING,
    variant_label: str = "",
    family: str = "",
    age_bands: Iterable[str] = (),
    steps: Iterable[str] = ("Read the text aloud", "Notice details", "Back a reading with evidence"),
    uses_text: bool = True,
) -> Protocol:
    protocol = Protocol.objects.create(
        slug=slug,
        title=title,
        category=category,
        family=family,
        variant_label=variant_label,
        duration_minutes=30,
        uses_text=uses_text,
        summary="We listen closely to the text.",
        purpose="Close reading backed by evidence.",
    )
    for position, slug_band in enumerate(age_bands):
        band, _created = AgeBand.objects.get_or_create(
            slug=slug_band, defaults={"name": slug_band, "position": position}
        )
        protocol.age_bands.add(band)
    for position, step_title in enumerate(steps):
        step = ProtocolStep.objects.create(
            protocol=protocol,
            key=f"step-{position}",
            position=position,
            title=step_title,
            who=ProtocolStep.Who.TOGETHER,
            minutes=5,
            instructions="Do it together.",
        )
        ProtocolField.objects.create(
            protocol=protocol,
            step=step,
            key=f"field-{position}",
            position=position,
            label=f"Answer {position}",
            kind=ProtocolField.Kind.LONG_TEXT,
            scope=ProtocolField.Scope.SHARED if position % 2 == 0 else ProtocolField.Scope.PERSONAL,
        )
    return protocol


def make_warm_ups() -> tuple[Protocol, Protocol]:
    """The two Havruta Warm Up variants: (high school and adults, upper elementary and middle school)."""
    older = make_protocol(
        slug="havruta-warm-up",
        title="Havruta Warm Up",
        category=Protocol.Category.WARM_UP,
        family="havruta-warm-up",
        variant_label="High school and adults",
        age_bands=("high-school", "adult"),
        steps=("How I learn best", "Our intentions"),
        uses_text=False,
    )
    younger = make_protocol(
        slug="havruta-warm-up-younger",
        title="Havruta Warm Up",
        category=Protocol.Category.WARM_UP,
        family="havruta-warm-up",
        variant_label="Upper elementary and middle school",
        age_bands=("upper-elementary", "middle-school"),
        steps=("I learn best when", "Our promise"),
        uses_text=False,
    )
    return older, younger


def make_text(*, title: str = "Cain and Abel", reference: str = "Genesis 4:1-16", owner: User | None = None) -> Text:
    text = Text.objects.create(
        slug=f"text-{Text.objects.count() + 1}-{title.lower().replace(' ', '-')}",
        title=title,
        reference=reference,
        owner=owner,
    )
    TextSegment.objects.create(text=text, position=1, label="1", he="וְהָאָדָם יָדַע", en="And the man knew")
    return text
