"""Live co-editing through the whole ASGI app: sync, convergence, durability, read-only sockets."""

from __future__ import annotations

import asyncio
import threading

import pycrdt
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from classrooms.models import Assignment, HavrutaMember, PairingSession
from tests.ws_helpers import YClient, expect_close, make_worksheet, personal_path, shared_path
from worksheets import persistence, rooms
from worksheets.extract import extract_answers
from worksheets.models import DocSnapshot, DocUpdate, FieldAnswer, Worksheet
from worksheets.persistence import RoomKey
from worksheets.services import worksheet_revoke
from worksheets.yprotocol import (
    SYNC_STEP1,
    SYNC_STEP2,
    SYNC_UPDATE,
    SyncMessage,
    decode_message,
    encode_sync_step1,
    rebuild_doc,
)

pytest_plugins = ["tests.ws_fixtures"]  # logins, live_settings and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


def replay(key: RoomKey) -> pycrdt.Doc:
    """The document as the database has it: snapshot + log, rebuilt from scratch."""
    doc, skipped = rebuild_doc(persistence.read_log(key))
    assert skipped == []
    return doc


def text_of(doc: pycrdt.Doc, key: str) -> str:
    copy = pycrdt.Doc()
    copy.apply_update(doc.get_update())
    return str(copy.get(key, type=pycrdt.Text))


async def test_it_converges_after_concurrent_edits_in_the_same_field(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    # Both type before either hears from the other: the same spot, at the same time.
    await dana.type("chosen_question", 0, "Why did Cain ")
    await eli.type("chosen_question", 0, "Where was Abel? ")
    for i in range(5):
        await dana.type("chosen_question", 0, f"d{i}")
        await eli.type("chosen_question", 0, f"e{i}")
    await dana.pump()
    await eli.pump()
    assert dana.text("chosen_question") == eli.text("chosen_question")
    for piece in ["Why did Cain ", "Where was Abel? ", *(f"d{i}" for i in range(5)), *(f"e{i}" for i in range(5))]:
        assert piece in dana.text("chosen_question")
    await dana.close()
    await eli.close()


async def test_it_gives_a_late_joiner_the_full_state(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    await dana.type("what_we_found", 0, "The brothers talk in the field.")
    await dana.edit(lambda doc: doc.get("notices", type=pycrdt.Array).append(pycrdt.Text("verse 8")))
    await dana.pump()
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    assert eli.text("what_we_found") == "The brothers talk in the field."
    assert extract_answers(eli.doc, [{"key": "notices", "kind": "list"}]) == {"notices": ["verse 8"]}
    await dana.close()
    await eli.close()


async def test_it_answers_sync_step1_with_step2_then_its_own_state_vector(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"], sync=False)
    greeting = decode_message((await dana.comm.receive_output())["bytes"])
    assert greeting == SyncMessage(SYNC_STEP1, b"\x00")  # an empty worksheet: nothing known yet
    await dana.type("chosen_question", 0, "Who is my brother's keeper?")
    await dana.pump()
    await dana.send(encode_sync_step1(b"\x00"))  # "I have nothing"
    first = decode_message((await dana.comm.receive_output())["bytes"])
    second = decode_message((await dana.comm.receive_output())["bytes"])
    assert isinstance(first, SyncMessage) and first.subtype == SYNC_STEP2
    fresh = pycrdt.Doc()
    fresh.apply_update(first.payload)
    assert str(fresh.get("chosen_question", type=pycrdt.Text)) == "Who is my brother's keeper?"
    # The server's own state vector covers the committed edit: the client shows "all saved".
    assert isinstance(second, SyncMessage) and second.subtype == SYNC_STEP1
    assert second.payload == dana.doc.get_state()
    await dana.close()


async def test_it_never_echoes_an_update_to_its_sender(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    dana.frames.clear()
    eli.frames.clear()
    await dana.type("chosen_question", 0, "hello")
    await dana.pump()
    await eli.pump()
    assert [decode_message(f) for f in dana.frames] == []
    assert [decode_message(f).subtype for f in eli.frames] == [SYNC_UPDATE]  # type: ignore[union-attr]
    await dana.close()
    await eli.close()


async def test_it_keeps_everything_across_a_server_restart(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    mine = await YClient.open(personal_path(worksheet.pk, world.student.pk), logins["student"])
    await dana.type("what_we_found", 0, "A mark of protection.")
    await mine.type("my_idea", 0, "Cain was afraid.")
    await dana.pump()
    await mine.pump()
    assert await dana.saved() and await mine.saved()
    # A crash: every in-memory room is gone, nothing flushed; the database is all that is left.
    rooms.forget_all()
    await dana.close()
    await mine.close()
    again = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    assert again.text("what_we_found") == "A mark of protection."
    theirs = await YClient.open(personal_path(worksheet.pk, world.student.pk), logins["partner"])
    assert theirs.text("my_idea") == "Cain was afraid."
    # And both clients can go on editing the rebuilt room.
    await again.type("what_we_found", 0, ">> ")
    await again.pump()
    assert await sync_to_async(lambda: text_of(replay(RoomKey(worksheet.pk)), "what_we_found"))() == (
        ">> A mark of protection."
    )
    await again.close()
    await theirs.close()


async def test_it_discards_updates_from_a_teacher(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    await dana.type("chosen_question", 0, "ours")
    await dana.pump()
    teacher = await YClient.open(shared_path(worksheet.pk), logins["teacher"])
    assert teacher.text("chosen_question") == "ours"  # teachers read everything
    await teacher.type("chosen_question", 0, "TEACHER WAS HERE ")
    await teacher.pump()
    await dana.pump()
    assert dana.text("chosen_question") == "ours"
    assert not await teacher.saved()  # the server never took the edit
    rows = await sync_to_async(lambda: DocUpdate.objects.filter(worksheet=worksheet, author__isnull=False).count())()
    authors = await sync_to_async(lambda: set(DocUpdate.objects.values_list("author_id", flat=True)))()
    assert rows >= 1 and authors == {world.student.pk}
    await teacher.close()
    await dana.close()


async def test_it_lets_students_write_their_own_personal_doc_and_only_read_their_partners(  # type: ignore[no-untyped-def]
    logins, world, worksheet
) -> None:
    dana_id = world.student.pk
    dana = await YClient.open(personal_path(worksheet.pk, dana_id), logins["student"])
    eli_reads = await YClient.open(personal_path(worksheet.pk, dana_id), logins["partner"])
    await dana.type("my_idea", 0, "Dana's own idea")
    await dana.pump()
    await eli_reads.pump()
    assert eli_reads.text("my_idea") == "Dana's own idea"  # "listening to my partner"
    await eli_reads.type("my_idea", 0, "Eli overwrites ")
    await eli_reads.pump()
    await dana.pump()
    assert dana.text("my_idea") == "Dana's own idea"
    assert await sync_to_async(lambda: text_of(replay(RoomKey(worksheet.pk, dana_id)), "my_idea"))() == (
        "Dana's own idea"
    )
    await dana.close()
    await eli_reads.close()


@pytest.mark.parametrize("how", ["assignment closed", "session ended"])
async def test_it_makes_everyone_read_only_when_the_work_is_over(logins, worksheet, how) -> None:  # type: ignore[no-untyped-def]
    def end() -> None:
        if how == "assignment closed":
            Assignment.objects.filter(pk=worksheet.assignment_id).update(status=Assignment.Status.CLOSED)
        else:
            PairingSession.objects.filter(pk=worksheet.havruta.session_id).update(ended_at=timezone.now())

    await sync_to_async(end)()
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    await dana.type("chosen_question", 0, "too late")
    await dana.pump()
    assert not await dana.saved()
    assert await sync_to_async(DocUpdate.objects.count)() == 0
    await dana.close()


async def test_it_stops_taking_edits_when_the_assignment_closes_while_connected(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    await dana.type("chosen_question", 0, "in time")
    await dana.pump()

    def close_assignment() -> None:
        Assignment.objects.filter(pk=worksheet.assignment_id).update(status=Assignment.Status.CLOSED)
        worksheet_revoke(worksheet=worksheet)

    await sync_to_async(close_assignment)()
    await dana.pump()
    await dana.type("chosen_question", 0, "too late ")
    await dana.pump()
    assert dana.closed is None  # still connected, still reading
    assert await sync_to_async(lambda: text_of(replay(RoomKey(worksheet.pk)), "chosen_question"))() == "in time"
    await dana.close()


async def test_it_closes_the_socket_of_a_student_moved_out_of_the_havruta(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])

    def move() -> None:
        HavrutaMember.objects.filter(havruta=worksheet.havruta, student=world.partner).delete()
        worksheet_revoke(user=world.partner)

    await sync_to_async(move)()
    closed = await expect_close(eli.comm)
    assert closed.code == 4403
    await eli.close()


async def test_it_compacts_the_log_without_losing_edits_written_meanwhile(logins, worksheet, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WORKSHEETS_LIVE = {"COMPACT_AFTER_ROWS": 40}
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    key = RoomKey(worksheet.pk)
    stop = threading.Event()
    compactions = []

    def compact_in_a_loop() -> None:  # another process compacting the same room all along
        from django.db import connection

        try:
            while not stop.is_set():
                result = persistence.compact_room(key)
                if result is not None:
                    compactions.append(len(result.merged_ids))
        finally:
            connection.close()

    other = threading.Thread(target=compact_in_a_loop)
    other.start()
    try:
        for i in range(150):
            await (dana if i % 2 else eli).type("what_we_found", 0, f"[{i}]")
            if i % 10 == 0:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await sync_to_async(other.join)()
    expected = "".join(f"[{i}]" for i in reversed(range(150)))
    # With another process compacting all along, every write waits for SQLite's write lock, so the
    # server may still be storing the last updates: wait for them (bounded), then compare.
    for _ in range(40):
        await dana.pump()
        await eli.pump()
        if len(dana.text("what_we_found")) == len(eli.text("what_we_found")) == len(expected):
            break
    live = rooms.rooms_in_memory()[key]
    # The other "process" compacted while both partners typed (the live room may or may not have won
    # a race of its own; either way nothing may be lost).
    assert compactions
    assert sorted(dana.text("what_we_found")) == sorted(expected)
    assert dana.text("what_we_found") == eli.text("what_we_found") == text_of(live.doc, "what_we_found")
    assert await sync_to_async(lambda: text_of(replay(key), "what_we_found"))() == dana.text("what_we_found")
    assert await sync_to_async(DocSnapshot.objects.filter(worksheet=worksheet).count)() == 1
    await dana.close()
    await eli.close()


async def test_it_materialises_plain_answers_for_the_teacher(logins, world, worksheet, live_settings) -> None:  # type: ignore[no-untyped-def]
    layer = get_channel_layer()
    dashboard = await layer.new_channel()
    await layer.group_add(f"class-{world.classroom.pk}-live", dashboard)
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    mine = await YClient.open(personal_path(worksheet.pk, world.student.pk), logins["student"])
    await dana.type("chosen_question", 0, "Am I my brother's keeper?", author=world.student.pk)

    def shared(doc: pycrdt.Doc) -> None:
        doc.get("notices", type=pycrdt.Array).extend([pycrdt.Text("verse 9"), pycrdt.Text("  ")])
        doc.get("agree", type=pycrdt.Map)["value"] = "agree"

    await dana.edit(shared)
    await mine.edit(lambda doc: doc.get("habits", type=pycrdt.Map).update({"listen": True, "interrupt": False}))
    await mine.type("my_idea", 0, "He hid.")
    await dana.pump(quiet=0.5)
    message = await asyncio.wait_for(layer.receive(dashboard), 5)
    while message["words"] < 9:  # several documents report; wait for the one that has it all
        message = await asyncio.wait_for(layer.receive(dashboard), 5)
    answers = await sync_to_async(
        lambda: {(a.field_key, a.student_id): a.value for a in FieldAnswer.objects.filter(worksheet=worksheet)}
    )()
    assert answers == {
        ("chosen_question", None): "Am I my brother's keeper?",
        ("notices", None): ["verse 9"],
        ("agree", None): "agree",
        ("my_idea", world.student.pk): "He hid.",
        ("habits", world.student.pk): {"listen": True, "interrupt": False},
    }
    assert await sync_to_async(lambda: Worksheet.objects.get(pk=worksheet.pk).last_edit_at)() is not None
    assert message["type"] == "worksheet.progress"
    assert message["worksheet"] == worksheet.pk and message["havruta"] == worksheet.havruta_id
    assert message["words"] == 5 + 2 + 1 + 2  # question, notice, choice, my idea
    assert message["fields_filled"] == 5 and message["fields_total"] == 5 + 2 * 2
    await dana.close()
    await mine.close()
