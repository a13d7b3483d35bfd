"""Fuzzing the live worksheet socket with hypothesis: more than 10,000 hostile frames per run.

Each hypothesis example is a batch of frames (random bytes, truncated or padded y-protocol
messages, unknown message types, garbage and out-of-order Yjs updates, updates of the wrong root
types, bogus awareness, huge varints and lengths, empty and text frames, now and then one frame
over the size limit) sent on an open socket of worksheet A: a writer on the shared document, a
read-only teacher on it, or a writer on a personal document. Sockets stay open from one example to
the next; one is reopened only when the server closed it. After every batch:

- the socket still works (it answers a presence query) or it was closed with a documented code;
- every frame the server must refuse left a record from the consumer's logger, and no record came
  from an unhandled-exception path (nothing logged with a traceback or at ERROR, nothing reached
  the event loop's exception handler, no consumer task died);
- a second havruta (worksheet B) kept syncing: a word typed by one partner reached the other.

Every few batches, and at the end, a replay of the update log from the database equals the live
document, and the partner watching worksheet A holds the same document too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.ws_helpers import FIELDS, YClient, communicator, make_worksheet, personal_path, shared_path
from worksheets import persistence, rooms
from worksheets.extract import extract_answers
from worksheets.models import FieldAnswer
from worksheets.persistence import RoomKey
from worksheets.yprotocol import (
    EMPTY_UPDATE,
    AwarenessEntry,
    AwarenessMessage,
    ProtocolError,
    QueryAwarenessMessage,
    SyncMessage,
    decode_awareness_update,
    decode_message,
    decode_state_vector,
    encode_awareness,
    encode_awareness_update,
    encode_query_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
    rebuild_doc,
    update_is_plausible,
    write_var_bytes,
    write_var_string,
    write_var_uint,
)

pytest_plugins = ["tests.ws_fixtures"]  # logins and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FRAMES_REQUIRED = 10_000
MAX_FRAME = 512 * 1024  # PROTOCOL.md: frames over 512 KiB close the socket with 1009
DOCUMENTED_CLOSES = {1009, 4429}  # what garbage and floods may earn; 1011 (server error) never
BARRIER_BASE = 2**50  # presence clientIDs the test uses to know a batch was handled (fuzz ids stay below)
FUZZ_ID_LIMIT = 2**40

ALL_KEYS = [f["key"] for f in FIELDS] + ["not_a_field", ""]
SHARED_FIELDS = [f for f in FIELDS if f["scope"] == "shared"]
PERSONAL_FIELDS = [f for f in FIELDS if f["scope"] == "personal"]


# --- the oracle: what the server must do with a frame ----------------------------------------------

BAD, GOOD, UNSURE, OVERSIZE = "bad", "good", "unsure", "oversize"


def verdict(frame: bytes | str, *, can_write: bool) -> str:
    """BAD: must be refused (and logged); GOOD: must be taken silently; UNSURE: pycrdt decides."""
    size = len(frame)
    if size > MAX_FRAME:
        return OVERSIZE
    if isinstance(frame, str):
        return BAD
    try:
        message = decode_message(frame)
    except ProtocolError:
        return BAD
    if isinstance(message, QueryAwarenessMessage):
        return GOOD
    if isinstance(message, AwarenessMessage):
        try:
            decode_awareness_update(message.update)
        except ProtocolError:
            return BAD
        return GOOD
    assert isinstance(message, SyncMessage)
    if message.subtype == 0:
        try:
            decode_state_vector(message.payload)
        except ProtocolError:
            return BAD
        return UNSURE  # pycrdt may still refuse a state vector lib0 reads (a clock past 32 bits)
    if not can_write:
        return GOOD  # read-only: updates are discarded unread (PROTOCOL.md)
    if message.payload == EMPTY_UPDATE:
        return GOOD
    if not update_is_plausible(message.payload):
        return BAD
    return UNSURE


# --- strategies ------------------------------------------------------------------------------------


def var_uint_any(value: int) -> bytes:
    """lib0's varUint without its 2**53 limit: how a hostile client writes huge numbers."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


small_bytes = st.binary(max_size=48)
huge_numbers = st.integers(min_value=2**53, max_value=2**70)
# Flat JSON values, plus a few nested ones (hypothesis's recursive strategies cost more to draw
# than the server spends on the frame).
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from([[], {}, [1, "a", None], {"a": {"b": [True]}}, {"value": ["x"]}, {"": None}]),
)
fuzz_client_ids = st.integers(min_value=0, max_value=FUZZ_ID_LIMIT)
clocks = st.integers(min_value=0, max_value=2**53 - 1)
awareness_states = st.one_of(
    st.just("null"),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(json.dumps),
    st.builds(
        lambda name, visible: json.dumps({"user": {"name": name}, "visible": visible}),
        st.text(max_size=20),
        st.booleans(),
    ),
    st.text(max_size=20),  # not JSON, or JSON that is not an object
    json_values.map(json.dumps),
    st.sampled_from(
        [
            '{"a": ' * 200 + "1" + "}" * 200,  # deep nesting
            "[" * 5000 + "]" * 5000,  # deeper than the JSON parser's recursion limit
            json.dumps({"big": "x" * (8 * 1024)}),  # over the 8 KiB state limit
            '{"visible": true, "visible": false}',
            "{}",
            "NaN",
        ]
    ),
)


@st.composite
def awareness_payloads(draw: st.DrawFn) -> bytes:
    """Awareness updates: some well-formed, many with bogus JSON, counts, clocks or encodings."""
    entries = bytearray()
    count = draw(st.integers(0, 3))
    for _ in range(count):
        entries += write_var_uint(draw(fuzz_client_ids)) + write_var_uint(draw(clocks))
        entries += write_var_string(draw(awareness_states))
    declared = draw(st.sampled_from([count, count, count, count + 1, max(0, count - 1), 2**53 - 1, 2**60]))
    tail = draw(st.sampled_from([b"", b"", b"", b"\xff\xfe", b"\x00", b"\x01\x01\x01\x02\xc3\x28"]))
    return var_uint_any(declared) + bytes(entries) + tail


state_vectors = st.one_of(
    st.dictionaries(fuzz_client_ids, st.integers(0, 2**32 + 5), max_size=4).map(
        lambda sv: write_var_uint(len(sv)) + b"".join(write_var_uint(c) + write_var_uint(k) for c, k in sv.items())
    ),
    small_bytes,
    st.builds(lambda n, tail: var_uint_any(n) + tail, huge_numbers | st.integers(0, 300), small_bytes),
)


def sync(subtype: int, payload: bytes) -> bytes:
    return b"\x00" + write_var_uint(subtype) + write_var_bytes(payload)


well_formed = st.one_of(
    state_vectors.map(encode_sync_step1),
    small_bytes.map(encode_sync_step2),
    small_bytes.map(encode_update),
    awareness_payloads().map(encode_awareness),
    st.just(encode_query_awareness()),
)


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    message = draw(well_formed)
    return message[: draw(st.integers(0, max(0, len(message) - 1)))]


garbage_frames = st.one_of(
    small_bytes,  # random bytes
    st.just(b""),  # empty frame
    st.text(max_size=30),  # a text frame
    st.text(max_size=10).map(lambda t: json.dumps({"type": "update", "data": t})),
    well_formed,
    truncated(),
    st.builds(lambda m, tail: m + tail, well_formed, st.binary(min_size=1, max_size=8)),  # trailing bytes
    # unknown message types (2 = auth, which only servers send), unknown sync subtypes
    st.builds(lambda t, rest: var_uint_any(t) + rest, st.integers(2, 2**53 - 1) | huge_numbers, small_bytes),
    st.builds(lambda s, rest: b"\x00" + var_uint_any(s) + write_var_bytes(rest), st.integers(3, 2**60), small_bytes),
    # huge varints and lengths
    st.builds(lambda n, tail: b"\xff" * n + tail, st.integers(1, 20), small_bytes),
    st.builds(
        lambda prefix, n, tail: prefix + var_uint_any(n) + tail,
        st.sampled_from([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01"]),
        st.integers(49, 2**53 - 1) | huge_numbers,
        small_bytes,
    ),
    # sync step 2 / update whose update is garbage, or claims millions of clients
    st.builds(lambda sub, body: sync(sub, body), st.sampled_from([1, 2]), small_bytes),
    st.builds(
        lambda sub, n, body: sync(sub, var_uint_any(n) + body),
        st.sampled_from([1, 2]),
        st.integers(2**20, 2**53) | huge_numbers,
        small_bytes,
    ),
    # a delete-set-only update deleting items nobody has seen
    st.builds(
        lambda client, clock, length: encode_update(
            b"\x00\x01" + write_var_uint(client) + b"\x01" + write_var_uint(clock) + write_var_uint(length)
        ),
        fuzz_client_ids,
        st.integers(0, 2**32),
        st.integers(0, 2**32),
    ),
)


@dataclass(frozen=True)
class Edit:
    """A real edit, made by the test on one of the fuzzer's own documents when the batch runs."""

    doc: int  # which of the fuzzer's documents for the shared doc (0 or 1; the personal doc has its own)
    kind: str
    key: str
    position: int
    text: str
    value: Any
    delivery: str  # "now", "hold" (sent later: its dependants wait), "mutate" (bytes changed), "again"
    flips: tuple[tuple[int, int], ...]


edit_texts = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["\x00", "a\x00b", "שָׁלוֹם", "🙂", "\n", "\u202e", "\ufeff"]),
)
edits = st.builds(
    Edit,
    doc=st.integers(0, 1),
    kind=st.sampled_from(["insert", "insert", "delete", "format", "embed", "map", "array", "wrong_type", "subdoc"]),
    key=st.sampled_from(ALL_KEYS),
    position=st.integers(0, 40),
    text=edit_texts,
    value=json_values,
    delivery=st.sampled_from(["now", "now", "now", "hold", "mutate", "again"]),
    flips=st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), min_size=1, max_size=3).map(tuple),
)


@st.composite
def batch_items(draw: st.DrawFn) -> bytes | str | Edit:
    """One edit in three items (st.one_of would flatten garbage_frames' branches in beside it)."""
    return draw(edits) if draw(st.integers(0, 2)) == 0 else draw(garbage_frames)


@dataclass(frozen=True)
class Batch:
    target: int  # which fuzzing socket
    items: list[Any]  # bytes / str frames and Edit
    oversize: bool  # end with one frame over the limit (the server closes with 1009)
    type_in_b: str


batches = st.builds(
    Batch,
    target=st.sampled_from([0, 0, 0, 1, 2]),
    items=st.lists(batch_items(), min_size=80, max_size=110),
    oversize=st.integers(0, 24).map(lambda n: n == 0),
    type_in_b=st.text(alphabet="abcdefghij", min_size=1, max_size=4),
)


# --- the run -----------------------------------------------------------------------------------------


class Records(logging.Handler):
    """Counts the consumer's records per socket, and keeps every record no bad frame may cause."""

    OWN = ("worksheet frame rejected", "worksheet socket over its rate limit")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.rejected: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.unhandled: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = str(record.msg)
        own = record.name == "havruta.ws" and message.startswith(self.OWN)
        if own:
            where = str(record.args[-1]) if isinstance(record.args, tuple) and record.args else ""
            counter = self.rejected if message.startswith(self.OWN[0]) else self.dropped
            counter[where] = counter.get(where, 0) + 1
        # Tracebacks, errors, and warnings other than the consumer's own come from a path no frame
        # may reach.
        if record.exc_info or record.levelno >= logging.ERROR or (record.levelno >= logging.WARNING and not own):
            self.unhandled.append(f"{record.name} {record.levelname}: {record.getMessage()}")

    def rejections(self, where: str) -> int:
        return self.rejected.get(where, 0)


@dataclass
class FuzzSocket:
    path: str
    login: Client
    user_id: int
    can_write: bool
    barrier_id: int
    comm: WebsocketCommunicator | None = None
    barrier_clock: int = 0
    closes: list[int] = field(default_factory=list)
    presence_frames: int = 0
    connects: int = 0

    @property
    def where(self) -> str:
        return f"path={self.path} user={self.user_id}"

    async def connect(self) -> None:
        self.connects += 1
        self.comm = communicator(self.path, self.login)
        connected, _ = await self.comm.connect()
        assert connected

    async def send(self, frame: bytes | str) -> None:
        assert self.comm is not None
        key = "text" if isinstance(frame, str) else "bytes"
        await self.comm.send_input({"type": "websocket.receive", key: frame})

    async def next_output(self, timeout: float) -> dict[str, Any] | None:
        assert self.comm is not None
        try:
            return await asyncio.wait_for(self.comm.output_queue.get(), timeout)
        except TimeoutError:
            return None
        finally:
            died(self.comm)

    async def barrier(self, timeout: float = 20) -> int | None:
        """Wait until every frame sent so far was handled: None, or the code the server closed with.

        Announces a presence state for this socket's own clientID and asks for everyone's: the
        answer carries it only once the frames before have been handled (one at a time, in order).
        `self.presence_frames` counts the presence messages that came before that answer.
        """
        self.presence_frames = 0
        self.barrier_clock += 2  # a removal bumps the clock by one; stay above it after a reconnect
        mark = AwarenessEntry(self.barrier_id, self.barrier_clock, json.dumps({"barrier": self.barrier_clock}))
        await self.send(encode_awareness(encode_awareness_update([mark])))
        await self.send(encode_query_awareness())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            output = await self.next_output(left)
            if output is None:
                break
            if output["type"] == "websocket.close":
                return await self.closed(output.get("code"))
            if output.get("bytes") and output["bytes"][0] == 1:
                message = decode_message(output["bytes"])
                assert isinstance(message, AwarenessMessage)
                if any(
                    e.client_id == self.barrier_id and e.clock == self.barrier_clock
                    for e in decode_awareness_update(message.update)
                ):
                    return None
                self.presence_frames += 1
        raise AssertionError(f"the socket {self.where} stopped answering")

    async def wait_close(self, timeout: float = 10) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            output = await self.next_output(left)
            if output is not None and output["type"] == "websocket.close":
                return await self.closed(output.get("code"))
        raise AssertionError(f"the socket {self.where} was not closed")

    async def closed(self, code: int | None) -> int | None:
        assert self.comm is not None
        self.closes.append(code or 0)
        await self.comm.disconnect(code or 1000)  # raises if the consumer died
        self.comm = None
        return code

    async def close(self) -> None:
        if self.comm is not None:
            await self.comm.disconnect()
            self.comm = None


def died(comm: WebsocketCommunicator) -> None:
    """Raise the consumer's exception if its task ended with one (an unhandled exception)."""
    future = comm.future
    if future.done() and not future.cancelled() and future.exception() is not None:
        raise AssertionError("the consumer died") from future.exception()


async def wait_for(client: YClient, predicate: Callable[[], bool], timeout: float = 10) -> bool:
    """Read and answer the client's frames until predicate() holds (no quiet period to sit out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        left = deadline - loop.time()
        if left <= 0:
            return False
        try:
            output = await asyncio.wait_for(client.comm.output_queue.get(), min(left, 0.05))
        except TimeoutError:
            continue  # the predicate may look at the server's side, which changes without a frame
        if output["type"] == "websocket.close":
            raise AssertionError(f"a bystander's socket was closed with {output.get('code')}")
        if output.get("bytes") is not None:
            for reply in client.handle(output["bytes"]):
                await client.send(reply)
    return True


def drain(client: YClient) -> list[bytes]:
    """Handle what the client has received so far; return its replies."""
    replies = []
    while not client.comm.output_queue.empty():
        output = client.comm.output_queue.get_nowait()
        if output["type"] == "websocket.close":
            raise AssertionError(f"a bystander's socket was closed with {output.get('code')}")
        if output.get("bytes") is not None:
            replies += client.handle(output["bytes"])
    return replies


def plain(chunk: Any) -> Any:
    """A piece of a text's diff, comparable between documents (nested types compare by identity)."""
    if isinstance(chunk, pycrdt.Text):
        return ("Text", str(chunk))
    if isinstance(chunk, pycrdt.Map):
        return ("Map", chunk.to_py())
    if isinstance(chunk, pycrdt.Array | pycrdt.Doc):
        return (type(chunk).__name__,)  # (an array's entries are not walked: see extract.list_entries)
    return chunk


def doc_view(doc_or_update: pycrdt.Doc | bytes, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What a reader of the document sees: the state vector, the answers and the texts' formatting."""
    copy = pycrdt.Doc()
    copy.apply_update(doc_or_update if isinstance(doc_or_update, bytes) else doc_or_update.get_update())
    view: dict[str, Any] = {"state": decode_state_vector(copy.get_state())}
    view["answers"] = extract_answers(copy, fields)
    formatted = {}
    for f in fields:
        if f["kind"] in ("short_text", "long_text"):
            reader = pycrdt.Doc()
            reader.apply_update(copy.get_update())
            try:
                formatted[f["key"]] = [
                    (plain(chunk), attrs) for chunk, attrs in reader.get(f["key"], type=pycrdt.Text).diff()
                ]
            except Exception:  # a root written as another type: extract_answers shows it empty
                formatted[f["key"]] = "(not a text)"
    view["formatted"] = formatted
    return view


class FuzzRun:
    """Sockets, documents and counters shared by every hypothesis example of one test."""

    def __init__(self, world: Any, logins: dict[str, Client], records: Records) -> None:
        self.world = world
        self.records = records
        self.sheet_a = make_worksheet(world=world)
        self.sheet_b = make_worksheet(world=world, havruta_number=2)
        partner = world.partner
        self.sockets = [
            FuzzSocket(shared_path(self.sheet_a.pk), logins["partner"], partner.pk, True, BARRIER_BASE + 1),
            FuzzSocket(shared_path(self.sheet_a.pk), logins["teacher"], world.teacher.pk, False, BARRIER_BASE + 2),
            FuzzSocket(
                personal_path(self.sheet_a.pk, partner.pk), logins["partner"], partner.pk, True, BARRIER_BASE + 3
            ),
        ]
        self.logins = {**logins, "classmate_partner": client_for_b2(world)}
        self.loop = asyncio.new_event_loop()
        self.loop_errors: list[str] = []
        self.loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(str(context.get("message"))))
        # The fuzzer's own documents (fixed client ids so their edits build one history across examples).
        self.docs = [pycrdt.Doc(client_id=7_000_001 + i) for i in range(3)]
        self.held: list[tuple[int, bytes]] = []
        self.sent_updates: list[tuple[int, bytes]] = []
        self.frames = 0
        self.counts = {BAD: 0, GOOD: 0, UNSURE: 0, OVERSIZE: 0, "edits": 0}
        self.examples = 0
        self.b_words = 0
        self.drops_at_connect: int | None = None  # (floods) drops recorded before the socket opened
        self.flood_outcomes: list[tuple[int | None, int]] = []  # (close code or None, frames dropped)
        self.watcher: YClient | None = None
        self.b1: YClient | None = None
        self.b2: YClient | None = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def open(self) -> None:
        self.watcher = await YClient.open(shared_path(self.sheet_a.pk), self.logins["student"])
        self.b1 = await YClient.open(shared_path(self.sheet_b.pk), self.logins["classmate"])
        self.b2 = await YClient.open(shared_path(self.sheet_b.pk), self.logins["classmate_partner"])
        for sock in self.sockets:
            await sock.connect()
            assert await sock.barrier() is None

    async def close(self) -> None:
        for sock in self.sockets:
            await sock.close()
        for client in (self.watcher, self.b1, self.b2):
            if client is not None:
                await client.close()
        await rooms.unload_all()

    # -- one example --

    def edit_frames(self, edit: Edit, sock: FuzzSocket) -> list[tuple[bytes, str]]:
        """Make the edit on the fuzzer's document for that socket's room; the frames that carry it."""
        index = edit.doc if sock is not self.sockets[2] else 2
        doc = self.docs[index]
        updates: list[bytes] = []
        sub = doc.observe(lambda event: updates.append(event.update))
        try:
            apply_edit(doc, edit)
        finally:
            doc.unobserve(sub)
        if edit.kind == "wrong_type":  # a root of the wrong type, from a client of its own
            other = pycrdt.Doc()
            other.get(edit.key or "x", type=pycrdt.Map)["value"] = edit.value
            updates = [other.get_update()]
        frames: list[tuple[bytes, str]] = []
        for update in updates:
            if edit.delivery == "hold":
                self.held.append((index, update))
                continue
            if edit.delivery == "mutate":
                mutated = bytearray(update)
                for at, byte in edit.flips:
                    mutated[at % len(mutated)] = byte
                frames.append((encode_update(bytes(mutated)), UNSURE if sock.can_write else GOOD))
                continue
            frames.append((encode_update(update), GOOD))
            self.sent_updates.append((index, update))
        if edit.delivery == "again" and self.sent_updates:
            frames.append((encode_update(self.sent_updates[edit.position % len(self.sent_updates)][1]), GOOD))
        if edit.delivery == "now" and self.held and edit.position % 3 == 0:
            # Release what was held back: the updates that depended on it can integrate now.
            for _index, update in self.held:
                frames.append((encode_sync_step2(update), GOOD))
            self.held = []
        return frames

    async def example(self, batch: Batch) -> None:
        self.examples += 1
        sock = self.sockets[batch.target]
        if sock.comm is None:
            await sock.connect()
            assert await sock.barrier() is None
        before = self.records.rejections(sock.where)
        expected = {BAD: 0, GOOD: 0, UNSURE: 0}
        sent: list[Any] = []
        for item in batch.items:
            if isinstance(item, Edit):
                self.counts["edits"] += 1
                pairs = self.edit_frames(item, sock)
                pairs = [(frame, v if sock.can_write else GOOD) for frame, v in pairs]
            else:
                pairs = [(item, verdict(item, can_write=sock.can_write))]
            for frame, v in pairs:
                await sock.send(frame)
                sent.append(frame)
                self.frames += 1
                expected[v] += 1
                self.counts[v] += 1
        # The bystanders write too: a partner in worksheet A, and one of worksheet B.
        assert self.watcher is not None and self.b1 is not None and self.b2 is not None
        await self.watcher.type("what_we_found", None, batch.type_in_b[:1])  # type: ignore[arg-type]
        self.b_words += 1
        word = f"{batch.type_in_b}{self.b_words} "
        await self.b1.type("chosen_question", None, word)  # type: ignore[arg-type]
        code = await sock.barrier()
        assert code is None, f"closed with {code} by frames {sent!r}"
        logged = self.records.rejections(sock.where) - before
        assert expected[BAD] <= logged <= expected[BAD] + expected[UNSURE], (
            f"{logged} rejections logged for {expected} in {sent!r}"
        )
        if batch.oversize:
            await sock.send(b"\x00\x02" + b"\x00" * MAX_FRAME)
            self.frames += 1
            self.counts[OVERSIZE] += 1
            assert await sock.wait_close() == 1009
        # Worksheet B kept syncing while A was fuzzed.
        b2 = self.b2
        assert await wait_for(b2, lambda: b2.text("chosen_question").endswith(word)), "worksheet B stopped syncing"
        for reply in drain(self.watcher):
            await self.watcher.send(reply)
        assert not self.loop_errors, self.loop_errors
        assert not self.records.unhandled, self.records.unhandled

    # -- the log and the live documents --

    async def settled(self) -> None:
        """Every accepted update is committed and applied: ask each writer's socket what is saved."""
        for sock in self.sockets:
            if sock.comm is not None:
                await sock.send(encode_sync_step1(b"\x00"))
                assert await sock.barrier() is None
        await asyncio.sleep(0.05)

    async def check_log(self) -> None:
        await self.settled()
        keys = [
            (RoomKey(self.sheet_a.pk), SHARED_FIELDS),
            (RoomKey(self.sheet_a.pk, self.world.partner.pk), PERSONAL_FIELDS),
        ]
        assert RoomKey(self.sheet_a.pk) in rooms.rooms_in_memory()
        for key, fields in keys:
            room = rooms.rooms_in_memory().get(key)
            if room is None:  # (the flood test opens no socket on the personal document)
                continue
            updates = await database_sync_to_async(persistence.read_log)(key)
            replayed, skipped = rebuild_doc(updates)
            assert skipped == [], f"unreadable rows in the log of {key.name}"
            assert doc_view(replayed, fields) == doc_view(room.doc, fields), (
                f"the log of {key.name} replays differently"
            )
            # Presence kept for the room is bounded by the sockets, whatever clientIDs they claimed.
            sockets = sum(sock.connects for sock in self.sockets if sock.path == key_path(key)) + 1
            assert len(room.awareness) <= rooms.conf("AWARENESS_CLIENTS_PER_SOCKET") * sockets
        # The partner watching A holds what the server holds.
        assert self.watcher is not None
        room = rooms.rooms_in_memory()[RoomKey(self.sheet_a.pk)]
        watcher = self.watcher
        assert await wait_for(watcher, lambda: same_state(watcher.doc, room.doc)), (
            f"the watcher missed updates: {decode_state_vector(watcher.doc.get_state())} "
            f"{decode_state_vector(room.doc.get_state())} {room.stats}"
        )
        assert doc_view(self.watcher.doc, SHARED_FIELDS) == doc_view(room.doc, SHARED_FIELDS)

    async def newcomer_sees_the_log(self) -> None:
        """The server is up, and a newcomer gets exactly what the log holds."""
        newcomer = await YClient.open(shared_path(self.sheet_a.pk), self.logins["co_teacher"], sync=False)
        try:
            await newcomer.send(encode_sync_step1(b"\x00"))
            updates = await database_sync_to_async(persistence.read_log)(RoomKey(self.sheet_a.pk))
            replayed, _ = rebuild_doc(updates)
            assert await wait_for(newcomer, lambda: newcomer.got_step2 > 0)
            assert doc_view(newcomer.doc, SHARED_FIELDS) == doc_view(replayed, SHARED_FIELDS)
        finally:
            await newcomer.close()


def key_path(key: RoomKey) -> str:
    if key.student_id is None:
        return shared_path(key.worksheet_id)
    return personal_path(key.worksheet_id, key.student_id)


def same_state(one: pycrdt.Doc, other: pycrdt.Doc) -> bool:
    return decode_state_vector(one.get_state()) == decode_state_vector(other.get_state())


def apply_edit(doc: pycrdt.Doc, edit: Edit) -> None:
    key = edit.key or "x"
    try:
        if edit.kind in ("insert", "delete", "format", "embed"):
            text = doc.get(key, type=pycrdt.Text)
            at = min(edit.position, len(text))
            if edit.kind == "insert":
                text.insert(at, edit.text or "?", attrs={"a": str(edit.value)[:20]} if edit.position % 2 else None)
            elif edit.kind == "delete" and len(text):
                del text[at : min(len(text), at + 1 + edit.position % 5)]
            elif edit.kind == "format" and len(text):
                text.format(0, at or len(text), {"a": edit.value, "b": True})
            elif edit.kind == "embed":
                text.insert_embed(at, {"image": edit.text, "value": edit.value})
        elif edit.kind == "map":
            doc.get(key, type=pycrdt.Map)[edit.text or "value"] = edit.value
        elif edit.kind == "array":
            array = doc.get(key, type=pycrdt.Array)
            array.append(pycrdt.Text(edit.text) if edit.position % 2 else edit.value)
        elif edit.kind == "subdoc":
            doc.get(key, type=pycrdt.Map)["sub"] = pycrdt.Doc()
    except BaseException as exc:  # pyo3's PanicException (a range pycrdt cannot delete) is a BaseException
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        # The fuzzer's document holds that root as another type, or refused the range: write elsewhere.
        doc.get(f"{key}-{edit.kind}", type=pycrdt.Map)["v"] = edit.text


def client_for_b2(world: Any) -> Client:
    client = Client()
    client.force_login(world.classmate_partner)
    return client


@pytest.fixture
def records() -> Iterator[Records]:
    # Loading the ASGI application runs django.setup(), which configures logging afresh: load it first.
    import pop_site.asgi  # noqa: F401

    handler = Records()
    root = logging.getLogger()
    ws = logging.getLogger("havruta.ws")
    level = ws.level
    root.addHandler(handler)
    ws.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        ws.setLevel(level)


@pytest.fixture
def fuzz(world, logins, records, settings) -> Iterator[FuzzRun]:  # type: ignore[no-untyped-def]
    settings.WORKSHEETS_LIVE = {
        # Floods have their own test; here every frame must reach the parser.
        "RATE_PER_SECOND": 1e9,
        "RATE_BURST": 10**9,
        # Materialise and compact often, so hostile documents go through both again and again.
        "MATERIALISE_DELAY_SECONDS": 0.02,
        "MATERIALISE_MAX_DELAY_SECONDS": 0.1,
        "COMPACT_AFTER_ROWS": 40,
    }
    run = FuzzRun(world, logins, records)
    asyncio.set_event_loop(run.loop)
    try:
        run.run(run.open())
        yield run
        run.run(run.close())
    finally:
        run.loop.run_until_complete(asyncio.sleep(0))
        run.loop.close()
        asyncio.set_event_loop(None)


def test_it_survives_ten_thousand_hostile_frames_with_rooms_and_log_intact(fuzz: FuzzRun) -> None:
    @settings(
        max_examples=140,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # one example builds on the last: shrinking would not replay
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(batch=batches)
    def one_batch(batch: Batch) -> None:
        fuzz.run(fuzz.example(batch))
        if fuzz.examples % 25 == 0:
            fuzz.run(fuzz.check_log())

    one_batch()
    fuzz.run(fuzz.check_log())
    assert fuzz.frames >= FRAMES_REQUIRED, f"only {fuzz.frames} frames: {fuzz.counts}"
    assert fuzz.counts[BAD] > 1000 and fuzz.counts[GOOD] > 1000 and fuzz.counts["edits"] > 500, fuzz.counts
    assert all(set(sock.closes) <= DOCUMENTED_CLOSES for sock in fuzz.sockets)
    fuzz.run(fuzz.newcomer_sees_the_log())
    closes = [sock.closes for sock in fuzz.sockets]
    print(f"fuzz: {fuzz.frames} frames in {fuzz.examples} batches, {fuzz.counts}, closes {closes}")


# --- floods ------------------------------------------------------------------------------------------

# Frames whose handling can be seen from outside: each one refused leaves a record, each presence
# query gets one answer. A flood of them accounts for every frame: handled, or dropped (a record each).
flood_frames = st.one_of(
    st.just(encode_query_awareness()),
    garbage_frames.filter(lambda frame: verdict(frame, can_write=True) == BAD),
)


@dataclass(frozen=True)
class Flood:
    bursts: list[tuple[int, float]]  # (frames sent at once, seconds of quiet after)
    frames: list[bytes | str]


floods = st.builds(
    Flood,
    bursts=st.lists(st.tuples(st.integers(1, 900), st.sampled_from([0.0, 0.0, 0.05, 0.3])), min_size=1, max_size=3),
    frames=st.lists(flood_frames, min_size=8, max_size=8),
)


@pytest.fixture
def flood_run(world, logins, records, settings) -> Iterator[FuzzRun]:  # type: ignore[no-untyped-def]
    settings.WORKSHEETS_LIVE = {}  # the documented limits: 60 messages/s, burst 300, 4429 past 300 drops
    run = FuzzRun(world, logins, records)
    run.sockets = run.sockets[:1]
    asyncio.set_event_loop(run.loop)
    try:
        run.run(run.open())
        yield run
        run.run(run.close())
    finally:
        run.loop.run_until_complete(asyncio.sleep(0))
        run.loop.close()
        asyncio.set_event_loop(None)


async def flood_once(run: FuzzRun, flood: Flood) -> None:
    sock = run.sockets[0]
    if sock.comm is None or run.drops_at_connect is None:
        if sock.comm is None:
            await sock.connect()
        run.drops_at_connect = run.records.dropped.get(sock.where, 0)
        assert await sock.barrier() is None
    rate, burst, abuse = rooms.conf("RATE_PER_SECOND"), rooms.conf("RATE_BURST"), rooms.conf("ABUSE_DROPS")
    await asyncio.sleep(2.5 / rate)  # room in the bucket for the barrier of the last flood
    rejected, dropped = run.records.rejections(sock.where), run.records.dropped.get(sock.where, 0)
    sent = queries = 0
    for size, pause in flood.bursts:
        for i in range(size):
            frame = flood.frames[i % len(flood.frames)]
            await sock.send(frame)
            sent += 1
            queries += frame == encode_query_awareness()
        run.frames += size
        if pause:
            await asyncio.sleep(pause)
    # Once the consumer has read the flood (at most its small inbox is left), let the bucket refill
    # for the barrier's two frames: they must not be dropped themselves.
    assert sock.comm is not None
    while not sock.comm.input_queue.empty():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05 + 2.5 / rate)
    code = await sock.barrier()
    rejected = run.records.rejections(sock.where) - rejected
    dropped = run.records.dropped.get(sock.where, 0) - dropped
    run.flood_outcomes.append((code, dropped))
    if code is None:
        # Every frame was either handled (a record for garbage, an answer for a query) or dropped.
        assert rejected + sock.presence_frames + dropped == sent, (rejected, sock.presence_frames, dropped, sent)
        assert sent <= burst + abuse + rate * (sum(p for _s, p in flood.bursts) + 1) or dropped > 0
    else:
        # Closed only for flooding, once more than ABUSE_DROPS frames were dropped in the window.
        assert code == 4429, f"closed with {code}"
        assert run.records.dropped.get(sock.where, 0) - run.drops_at_connect > abuse
        run.drops_at_connect = None
    # The other havruta kept syncing meanwhile.
    assert run.b1 is not None and run.b2 is not None
    run.b_words += 1
    word = f"w{run.b_words} "
    await run.b1.type("chosen_question", None, word)  # type: ignore[arg-type]
    b2 = run.b2
    assert await wait_for(b2, lambda: b2.text("chosen_question").endswith(word)), "worksheet B stopped syncing"
    assert not run.loop_errors, run.loop_errors
    assert not run.records.unhandled, run.records.unhandled


def test_it_drops_floods_and_closes_persistent_flooders_with_4429(flood_run: FuzzRun) -> None:
    @settings(
        max_examples=12,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    # Both outcomes every run: a burst the bucket absorbs, and one past burst + ABUSE_DROPS.
    @example(flood=Flood(bursts=[(450, 0.0)], frames=[encode_query_awareness(), b"\xff"]))
    @example(flood=Flood(bursts=[(700, 0.0)], frames=[encode_query_awareness(), b"\xff"]))
    @given(flood=floods)
    def one_flood(flood: Flood) -> None:
        flood_run.run(flood_once(flood_run, flood))

    one_flood()
    flood_run.run(flood_run.check_log())
    outcomes = flood_run.flood_outcomes
    assert any(code is None and dropped > 0 for code, dropped in outcomes), outcomes  # dropped, kept open
    assert any(code == 4429 for code, _dropped in outcomes), outcomes
    print(f"floods: {flood_run.frames} frames, closes {flood_run.sockets[0].closes}")


# --- what the fuzzing found, pinned ---------------------------------------------------------------


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


@pytest.mark.asyncio
async def test_it_keeps_a_writers_next_edit_when_a_refused_update_comes_while_the_last_is_saved(  # type: ignore[no-untyped-def]
    logins, worksheet
) -> None:
    """A refused update rebuilt the server's trial copy without the edits still on their way to the
    database, so the writer's next edit waited there for its predecessor and was dropped as "nothing
    new": the partner never saw it (until the writer's resync, up to 15 s later)."""
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    first = dana.local_changes(YClient.insert("chosen_question", 0, "one "))
    second = dana.local_changes(YClient.insert("chosen_question", None, "two"))
    # Handled one after the other before the first commit is back from the writer thread.
    await dana.send(encode_update(first[0]))
    await dana.send(encode_update(b"\x01\x01\x00\x00"))  # plausible, refused by pycrdt
    await dana.send(encode_update(second[0]))
    assert await wait_for(eli, lambda: eli.text("chosen_question") == "one two", timeout=5), eli.text("chosen_question")
    await dana.close()
    await eli.close()


@pytest.mark.asyncio
async def test_it_removes_presence_announced_at_the_largest_clock(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    """Leaving bumped the clock past 2**53 - 1, which lib0 cannot write: the consumer crashed."""
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    await eli.announce(77, 2**53 - 1, json.dumps({"user": {"name": "Eli"}}))
    assert await wait_for(dana, lambda: 77 in dana.awareness)
    await eli.close()  # raises if the consumer died on the way out
    assert await wait_for(dana, lambda: dana.awareness[77] == (2**53 - 1, None))
    await dana.close()


@pytest.mark.asyncio
async def test_it_keeps_presence_for_at_most_eight_client_ids_per_socket(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    """One socket claiming thousands of clientIDs (8 KiB of state each) made the room keep them all."""
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    big = json.dumps({"user": {"name": "x" * 8000}})
    for start in range(0, 200, 50):
        entries = [AwarenessEntry(client_id, 0, big) for client_id in range(start, start + 50)]
        await eli.send(encode_awareness(encode_awareness_update(entries)))
    await eli.announce(5, 1, None)  # a removal does not free a place for yet another clientID
    await eli.announce(500, 0, json.dumps({"user": {"name": "Eli"}}))
    await eli.pump()
    await dana.pump()
    room = rooms.rooms_in_memory()[RoomKey(worksheet.pk)]
    assert sorted(room.awareness) == list(range(8))
    assert sorted(dana.awareness) == list(range(8)) and dana.awareness[5] == (1, None)
    await eli.close()
    await dana.close()


@pytest.mark.asyncio
async def test_it_stores_answers_with_nul_characters_left_out(logins, world, worksheet, live_settings, records) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refuses NUL in JSON: one pasted NUL stopped the worksheet's answers for good."""
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    await dana.type("chosen_question", 0, "Am I\x00 my brother's keeper?")
    await dana.edit(
        lambda doc: doc.get("notices", type=pycrdt.Array).extend([pycrdt.Text("\x00"), pycrdt.Text("v\x009")])
    )

    def answers() -> dict[str, Any]:
        return {a.field_key: a.value for a in FieldAnswer.objects.filter(worksheet=worksheet)}

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline and len(await database_sync_to_async(answers)()) < 2:
        await asyncio.sleep(0.05)
    assert await database_sync_to_async(answers)() == {
        "chosen_question": "Am I my brother's keeper?",
        "notices": ["v9"],
    }
    assert not records.unhandled, records.unhandled
    await dana.close()


def test_it_reads_a_list_field_someone_typed_characters_into_as_empty_without_hanging() -> None:
    """pycrdt walks such a root past its last character forever (its length counts UTF-16 units):
    the maintenance thread, a PDF or a privacy deletion would spin at full CPU. In a child process,
    so a regression fails here instead of hanging the test run."""
    code = """
import json, django, pycrdt
django.setup()
from worksheets.extract import extract_answers
from worksheets.models import FieldAnswer
from worksheets.pdf import text_authorship
from worksheets.scrub import authored_parts, scrub_author
doc = pycrdt.Doc()
doc.get("notices", type=pycrdt.Text).insert(0, "a🙂b", attrs={"a": "5"})
update = doc.get_update()
fields = [{"key": "notices", "kind": "list", "scope": "shared"}]
print(json.dumps([
    extract_answers(update, fields),
    text_authorship(update, fields),
    authored_parts(update, fields, 5),
    scrub_author(update, fields, 5, delete=True).changed,
]))
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pop_site.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [{"notices": []}, {}, {}, 0]
