"""Writes for live worksheets: materialised answers and revoking open sockets.

The update log itself is written by `worksheets.persistence` (group commit on its own thread).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import User
from classrooms.models import Havruta
from worksheets.extract import extract_answers, is_filled
from worksheets.models import FieldAnswer, Worksheet
from worksheets.selectors import worksheet_progress

log = logging.getLogger("havruta.ws")

ACCESS_GROUP = "worksheets-access-{worksheet_id}"
# Every live socket of a user joins this group: worksheet documents, worksheet events and the
# teacher's live dashboard (classrooms/consumers_live.py), so one message revokes them all.
USER_GROUP = "worksheets-user-{user_id}"
LIVE_GROUP = "class-{classroom_id}-live"


def _write_answers(
    *, worksheet_id: int, student_id: int | None, answers: Mapping[str, Any], edited_at: datetime.datetime | None
) -> None:
    owner = Q(student__isnull=True) if student_id is None else Q(student_id=student_id)
    existing = {a.field_key: a for a in FieldAnswer.objects.filter(owner, worksheet_id=worksheet_id)}
    for key, value in answers.items():
        answer = existing.get(key)
        if answer is None:
            if is_filled(value):
                FieldAnswer.objects.create(worksheet_id=worksheet_id, student_id=student_id, field_key=key, value=value)
        elif answer.value != value:
            answer.value = value
            answer.save(update_fields=["value", "updated_at"])
    if edited_at is not None:
        Worksheet.objects.filter(Q(last_edit_at__isnull=True) | Q(last_edit_at__lt=edited_at), pk=worksheet_id).update(
            last_edit_at=edited_at
        )


def answers_materialise(
    *,
    worksheet_id: int,
    student_id: int | None,
    update: bytes,
    fields: Iterable[Mapping[str, Any]],
    edited_at: datetime.datetime | None,
) -> dict[str, Any] | None:
    """Store the plain answers of one worksheet document as FieldAnswer rows; return its progress.

    `update` is the whole document (an encoded Yjs update). Only changed answers are written; an
    empty field gets no row until someone writes in it. Returns `worksheet_progress` for the
    dashboard hook, or None when the worksheet is gone.
    """
    answers = {key: _without_nul(value) for key, value in extract_answers(update, fields).items()}
    for attempt in range(2):
        try:
            with transaction.atomic():
                _write_answers(worksheet_id=worksheet_id, student_id=student_id, answers=answers, edited_at=edited_at)
            break
        except IntegrityError:
            # Another process created the same answer row at the same moment (or the worksheet is gone).
            if attempt or not Worksheet.objects.filter(pk=worksheet_id).exists():
                return None
    return worksheet_progress(worksheet_id=worksheet_id)


def _without_nul(value: Any) -> Any:
    """An answer without NUL characters: they mean nothing to a reader, and PostgreSQL refuses them
    in JSON, so one pasted NUL would stop a worksheet's answers from ever being stored again."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):  # list entries: blank ones are left out, also once their NULs are gone
        return [entry for entry in (_without_nul(item) for item in value) if str(entry).strip()]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def live_progress_publish(*, classroom_id: int, progress: Mapping[str, Any]) -> None:
    """Tell the class's live dashboard (group "class-<id>-live") about a worksheet's progress."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            LIVE_GROUP.format(classroom_id=classroom_id), {"type": "worksheet.progress", **progress}
        )


def _send_recheck(groups: list[str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        async_to_sync(layer.group_send)(group, {"type": "access.recheck"})


def worksheet_revoke(
    *,
    user: User | None = None,
    havruta: Havruta | None = None,
    worksheet: Worksheet | None = None,
    user_ids: Iterable[int] = (),
    worksheet_ids: Iterable[int] = (),
) -> None:
    """Make every open worksheet socket of the user / havruta / worksheet re-check its access.

    Call it after a change of membership, enrollment, teaching, assignment status or session end
    (inside the transaction that makes the change: the message goes out on commit). Sockets that
    lost access close with 4403; sockets that became read-only stay open and their updates are
    discarded. With `user`, the user's worksheet events and live dashboard sockets re-check too.
    Works across processes through the channel layer. Call from synchronous code.
    """
    groups = []
    if user is not None:
        groups.append(USER_GROUP.format(user_id=user.pk))
    if havruta is not None:
        ids = Worksheet.objects.filter(havruta=havruta).values_list("pk", flat=True)
        groups.extend(ACCESS_GROUP.format(worksheet_id=pk) for pk in ids)
    if worksheet is not None:
        groups.append(ACCESS_GROUP.format(worksheet_id=worksheet.pk))
    groups.extend(USER_GROUP.format(user_id=pk) for pk in user_ids)
    groups.extend(ACCESS_GROUP.format(worksheet_id=pk) for pk in worksheet_ids)
    if groups:
        transaction.on_commit(lambda: _send_recheck(groups))
