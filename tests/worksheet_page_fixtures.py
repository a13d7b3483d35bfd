"""Builders for the worksheet page tests (tests/test_worksheet_page*.py, tests/test_browser_worksheet*.py).

Worksheets are made the way teachers make them: the shipped library is loaded and a protocol is
assigned to `world.session` through `classrooms.services_pairing.assignment_create`, which freezes
the protocol with `protocols.services.protocol_version_current`.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from classrooms.services_pairing import assignment_create
from protocols.models import Protocol, Text
from protocols.services import library_load
from worksheets.models import Worksheet

# One protocol per field kind the page must render.
PROTOCOL_FOR_KIND = {
    "short_text": "listening-to-the-text",
    "long_text": "listening-to-the-text",
    "list": "listening-to-the-text",
    "choice": "agree-disagree-because",
    "scale": "self-assessment",
    "checklist": "havruta-warm-up-younger",
}


def ensure_library() -> None:
    if not Protocol.objects.filter(slug="listening-to-the-text").exists():
        library_load()


def assign_worksheet(
    world: object,
    *,
    protocol: str = "listening-to-the-text",
    text: str | None = "genesis-4-1-16",
    student: User | None = None,
) -> Worksheet:
    """Assign `protocol` (with `text`) to the world's session; the worksheet of `student`'s havruta."""
    ensure_library()
    teacher = world.teacher  # type: ignore[attr-defined]
    session = world.session  # type: ignore[attr-defined]
    student = student or world.student  # type: ignore[attr-defined]
    assignments = assignment_create(
        session=session,
        by=teacher,
        protocol=Protocol.objects.get(slug=protocol),
        text=Text.objects.get(slug=text) if text else None,
        date=timezone.localdate(),
    )
    return Worksheet.objects.get(assignment=assignments[-1], havruta__memberships__student=student)
