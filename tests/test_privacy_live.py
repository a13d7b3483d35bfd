"""Deleting a student while their havruta is writing: open sockets reload, nothing brings the words back."""

from __future__ import annotations

import pycrdt
import pytest
from asgiref.sync import sync_to_async

from classrooms.models import Enrollment
from classrooms.services_privacy import DeletionMode, student_delete
from tests.ws_helpers import YClient, communicator, expect_close, make_worksheet, personal_path, shared_path
from worksheets import persistence
from worksheets.models import DocSnapshot, DocUpdate

pytest_plugins = ["tests.ws_fixtures"]  # logins, live_settings and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SECRET = "the violet ladder of smoke"
PARTNER = "Abel kept the flock. "


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


def _delete(student_id: int, mode: str) -> None:
    student_delete(enrollment=Enrollment.objects.select_related("student").get(student_id=student_id), mode=mode)


def _stored() -> list[bytes]:
    return [bytes(d) for d in DocUpdate.objects.values_list("data", flat=True)] + [
        bytes(s) for s in DocSnapshot.objects.values_list("state", flat=True)
    ]


def _text(doc: pycrdt.Doc, key: str) -> str:
    copy = pycrdt.Doc()
    copy.apply_update(doc.get_update())
    return str(copy.get(key, type=pycrdt.Text))


async def test_it_reloads_open_worksheets_without_the_deleted_students_words(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    dana_own = await YClient.open(personal_path(worksheet.pk, world.student.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    eli_reads_dana = await YClient.open(personal_path(worksheet.pk, world.student.pk), logins["partner"])
    eli_own = await YClient.open(personal_path(worksheet.pk, world.partner.pk), logins["partner"])
    await eli.type("what_we_found", 0, PARTNER, author=world.partner.pk)
    await eli.pump()
    await dana.pump()
    await dana.type("what_we_found", len(PARTNER), SECRET, author=world.student.pk)
    await dana_own.type("my_idea", 0, "my own idea", author=world.student.pk)
    await dana.pump()
    await eli.pump()
    assert await dana.saved() and await eli.saved() and await dana_own.saved()
    assert SECRET in _text(eli.doc, "what_we_found")

    await sync_to_async(_delete)(world.student.pk, DeletionMode.DELETE_ALL)

    # Every socket of the shared doc and of the deleted student's own doc is closed; the partner's own stays.
    assert (await expect_close(eli.comm)).code == 1012
    assert (await expect_close(eli_reads_dana.comm)).code == 1012
    assert (await expect_close(dana.comm)).code in (1012, 4403)
    assert (await expect_close(dana_own.comm)).code in (1012, 4403)
    assert await eli_own.comm.receive_nothing(timeout=0.2)

    # The partner's browser reconnects with the document it had (IndexedDB keeps it) and syncs.
    back = YClient(communicator(shared_path(worksheet.pk), logins["partner"]))
    back._applying = True
    back.doc.apply_update(eli.doc.get_update())
    back._applying = False
    connected, _ = await back.comm.connect()
    assert connected
    await back.sync()
    await back.pump()
    assert _text(back.doc, "what_we_found") == PARTNER
    assert await back.saved()
    # Nothing the old copy sent brought the words back.
    await sync_to_async(persistence.settle)()
    stored = await sync_to_async(_stored)()
    assert stored and not any(SECRET.encode() in data or b"my own idea" in data for data in stored)
    update = await sync_to_async(persistence.doc_update)(worksheet_id=worksheet.pk)
    doc = pycrdt.Doc()
    doc.apply_update(update)
    assert str(doc.get("what_we_found", type=pycrdt.Text)) == PARTNER

    # The deleted student cannot come back: their session is gone.
    again = communicator(shared_path(worksheet.pk), logins["student"])
    await again.connect()
    assert (await expect_close(again)).code == 4403
    for client in (back, eli_own):
        await client.close()
    await again.disconnect()


async def test_it_keeps_the_words_without_their_author_in_open_worksheets(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    await dana.type("what_we_found", 0, SECRET, author=world.student.pk)
    await dana.pump()
    await eli.pump()
    assert await dana.saved()

    await sync_to_async(_delete)(world.student.pk, DeletionMode.KEEP_SHARED)

    assert (await expect_close(eli.comm)).code == 1012
    back = YClient(communicator(shared_path(worksheet.pk), logins["partner"]))
    back._applying = True
    back.doc.apply_update(eli.doc.get_update())
    back._applying = False
    await back.comm.connect()
    await back.sync()
    await back.pump()
    copy = pycrdt.Doc()
    copy.apply_update(back.doc.get_update())
    assert copy.get("what_we_found", type=pycrdt.Text).diff() == [(SECRET, None)]
    await sync_to_async(persistence.settle)()
    stored = await sync_to_async(_stored)()
    assert not any(f'"{world.student.pk}"'.encode() in data for data in stored)
    await back.close()
    await dana.comm.disconnect()
