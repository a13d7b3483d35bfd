"""Writes that take a deleted student out of worksheet documents (called by classrooms/services_privacy.py).

- The student's **personal documents** (DocUpdate / DocSnapshot rows of room "worksheet:<pk>:student:<id>")
  are deleted.
- Each **shared document** of the student's havrutot is rewritten in the database, like a
  compaction: the snapshot row is locked, snapshot + every log row are folded into one document, the
  student's authorship (or text) is taken out of it (worksheets/scrub.py), and the result replaces
  the snapshot while exactly the folded log rows are deleted, all in the caller's transaction. The
  plain answers (FieldAnswer) are materialised again from the result.
- After commit every open socket of those worksheets is told to reload (`doc.reload`): each
  process drops its copy of the room without writing anything and closes the socket with 1012, so
  browsers reconnect and receive the rewritten document (PROTOCOL.md, "Close codes").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction

from worksheets.models import DocSnapshot, DocUpdate, Worksheet
from worksheets.persistence import RoomKey
from worksheets.scrub import ScrubResult, mentions_author, scrub_author
from worksheets.selectors import protocol_fields
from worksheets.services import ACCESS_GROUP, answers_materialise, live_progress_publish
from worksheets.yprotocol import EMPTY_UPDATE, rebuild_doc

log = logging.getLogger("havruta.privacy")

RELOAD_EVENT = "doc.reload"


def _bytes(value: bytes | memoryview) -> bytes:
    return value.tobytes() if isinstance(value, memoryview) else bytes(value)


def _locked_snapshot(key: RoomKey) -> DocSnapshot:
    try:
        with transaction.atomic():
            DocSnapshot.objects.get_or_create(
                worksheet_id=key.worksheet_id, student_id=key.student_id, defaults={"state": EMPTY_UPDATE}
            )
    except IntegrityError:  # a compaction in another process created it at the same moment
        pass
    return DocSnapshot.objects.select_for_update().get(**key.filter())


def shared_doc_scrub(*, worksheet: Worksheet, student_id: int, delete: bool) -> ScrubResult | None:
    """Rewrite `worksheet`'s shared document without the student's authorship (or, with delete, text).

    Call inside the transaction that deletes the student. Returns None when the worksheet has no
    shared document yet. Refuses (RuntimeError, so the whole deletion rolls back) to store a
    document that still names the student.
    """
    key = RoomKey(worksheet.pk)
    if not (DocUpdate.objects.filter(**key.filter()).exists() or DocSnapshot.objects.filter(**key.filter()).exists()):
        return None
    snapshot = _locked_snapshot(key)
    rows = list(DocUpdate.objects.filter(**key.filter()).order_by("id").values_list("id", "data"))
    doc, skipped = rebuild_doc([_bytes(snapshot.state)] + [_bytes(data) for _id, data in rows])
    if skipped:
        log.error("event=scrub.unreadable_rows worksheet=%s rows=%d", worksheet.pk, len(skipped))
    fields = protocol_fields(worksheet, scope="shared")
    result = scrub_author(doc.get_update(), fields, student_id, delete=delete)
    if mentions_author(result.update, fields, student_id):
        raise RuntimeError(f"the shared document of worksheet {worksheet.pk} still names the student")
    snapshot.state = result.update
    snapshot.version += 1  # other processes see the snapshot changed and reload it
    snapshot.save(update_fields=["state", "version", "updated_at"])
    DocUpdate.objects.filter(id__in=[row_id for row_id, _data in rows]).delete()
    progress = answers_materialise(
        worksheet_id=worksheet.pk, student_id=None, update=result.update, fields=fields, edited_at=None
    )
    if progress is not None:  # the teacher's live dashboard counts words from the answers
        classroom_id = worksheet.assignment.classroom_id
        transaction.on_commit(lambda: live_progress_publish(classroom_id=classroom_id, progress=progress))
    return result


def personal_docs_delete(*, student_ids: Iterable[int]) -> int:
    """Delete the personal documents of these students (log rows and snapshots); returns rows deleted."""
    ids = list(student_ids)
    updates, _ = DocUpdate.objects.filter(student_id__in=ids).delete()
    snapshots, _ = DocSnapshot.objects.filter(student_id__in=ids).delete()
    return updates + snapshots


def worksheets_reload(*, worksheet_ids: Iterable[int], student_id: int) -> None:
    """After commit, make every open socket of these worksheets drop its room and reconnect.

    Sockets on the shared document and on the deleted student's personal document close with 1012;
    sockets on a partner's personal document are left alone (it did not change).
    """
    groups = [ACCESS_GROUP.format(worksheet_id=pk) for pk in worksheet_ids]
    if not groups:
        return

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in groups:
            async_to_sync(layer.group_send)(group, {"type": RELOAD_EVENT, "student": student_id})

    transaction.on_commit(send)
