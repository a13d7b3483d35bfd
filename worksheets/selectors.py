"""Reads for live worksheets: who may open which document, and a worksheet's progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404

from accounts.models import User
from classrooms.access import worksheet_for_user
from classrooms.models import Assignment
from worksheets.extract import count_words, is_filled
from worksheets.models import FieldAnswer, Worksheet

MAX_ID = 2**63


@dataclass(frozen=True, slots=True)
class DocAccess:
    """What one signed-in user may do with one worksheet document (see PROTOCOL.md)."""

    worksheet_id: int
    student_id: int | None  # owner of the personal document; None for the shared one
    user_id: int
    is_teacher: bool
    can_write: bool
    classroom_id: int
    havruta_id: int
    assignment_id: int
    fields: tuple[dict[str, Any], ...]  # the protocol fields stored in this document


def protocol_fields(worksheet: Worksheet, *, scope: str) -> tuple[dict[str, Any], ...]:
    data = worksheet.assignment.protocol_version.data or {}
    fields = data.get("fields", []) if isinstance(data, dict) else []
    return tuple(f for f in fields if isinstance(f, dict) and f.get("scope", "shared") == scope and f.get("key"))


def worksheet_doc_access(*, user: User | None, worksheet_id: int, student_id: int | None = None) -> DocAccess | None:
    """The access `user` has to the shared doc (student_id None) or a member's personal doc.

    None for everybody who may not see it at all; outsiders cannot tell a missing worksheet from
    one they may not see. Members write the shared doc and their own personal doc and read a
    partner's; teachers of the class read everything; nobody writes once the assignment is closed
    or the session has ended.
    """
    if not 0 < worksheet_id < MAX_ID or (student_id is not None and not 0 < student_id < MAX_ID):
        return None  # guessed ids beyond a bigint would make the database raise, not answer
    try:
        worksheet = worksheet_for_user(user, worksheet_id)
    except Http404:
        return None
    assert user is not None
    members = set(worksheet.havruta.memberships.values_list("student_id", flat=True))
    if student_id is not None and student_id not in members:
        return None
    is_teacher = bool(user.is_teacher)
    if is_teacher:
        can_write = False
    else:
        if user.pk not in members:  # worksheet_for_user checks this already; stay explicit
            return None
        can_write = student_id is None or student_id == user.pk
    assignment = worksheet.assignment
    session = worksheet.havruta.session
    if assignment.status == Assignment.Status.CLOSED or session.ended_at is not None:
        can_write = False
    return DocAccess(
        worksheet_id=worksheet.pk,
        student_id=student_id,
        user_id=user.pk,
        is_teacher=is_teacher,
        can_write=can_write,
        classroom_id=session.classroom_id,
        havruta_id=worksheet.havruta_id,
        assignment_id=assignment.pk,
        fields=protocol_fields(worksheet, scope="shared" if student_id is None else "personal"),
    )


def worksheet_progress(*, worksheet_id: int) -> dict[str, Any] | None:
    """Words written, fields filled and last edit of a worksheet, from its materialised answers.

    This is the payload of the live dashboard hook (group "class-<classroom_id>-live").
    """
    # Runs after every burst of typing in every open worksheet (on the live sync's maintenance
    # thread): plain rows, no ordering to compile, no model instances for the answers.
    try:
        worksheet = Worksheet.objects.select_related("assignment__protocol_version", "havruta").get(pk=worksheet_id)
    except Worksheet.DoesNotExist:
        return None
    members = set(worksheet.havruta.memberships.order_by().values_list("student_id", flat=True))
    shared = protocol_fields(worksheet, scope="shared")
    personal = protocol_fields(worksheet, scope="personal")
    shared_keys = {f["key"] for f in shared}
    personal_keys = {f["key"] for f in personal}
    words = filled = 0
    answers = FieldAnswer.objects.filter(worksheet_id=worksheet.pk).order_by()
    for field_key, student_id, value in answers.values_list("field_key", "student_id", "value"):
        counted = (student_id is None and field_key in shared_keys) or (
            student_id in members and field_key in personal_keys
        )
        if not counted:
            continue
        words += count_words(value)
        filled += int(is_filled(value))
    return {
        "worksheet": worksheet.pk,
        "havruta": worksheet.havruta_id,
        "assignment": worksheet.assignment_id,
        "words": words,
        "fields_filled": filled,
        "fields_total": len(shared) + len(personal) * len(members),
        "last_edit_at": worksheet.last_edit_at.isoformat() if worksheet.last_edit_at else None,
    }
