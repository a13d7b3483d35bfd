"""Helpers for the live worksheet socket tests: a worksheet builder and y-protocols test clients.

`YClient` speaks the wire protocol a browser's y-websocket provider speaks, on top of a pycrdt
document, through `channels.testing.WebsocketCommunicator` and the whole ASGI application (origin
check, session auth, routing), so the tests exercise what a browser would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from classrooms.models import Assignment, Havruta
from protocols.models import Protocol, ProtocolVersion
from tests.conftest import World
from worksheets.models import Worksheet
from worksheets.yprotocol import (
    SYNC_STEP1,
    SYNC_STEP2,
    AwarenessEntry,
    AwarenessMessage,
    SyncMessage,
    decode_awareness_update,
    decode_message,
    decode_state_vector,
    encode_awareness,
    encode_awareness_update,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)

FIELDS = [
    {"key": "notices", "kind": "list", "scope": "shared"},
    {"key": "chosen_question", "kind": "short_text", "scope": "shared"},
    {"key": "what_we_found", "kind": "long_text", "scope": "shared"},
    {"key": "agree", "kind": "choice", "scope": "shared"},
    {"key": "confidence", "kind": "scale", "scope": "shared"},
    {"key": "my_idea", "kind": "long_text", "scope": "personal"},
    {"key": "habits", "kind": "checklist", "scope": "personal"},
]

_slugs = itertools.count(1)


def make_worksheet(*, world: World, havruta_number: int = 1, classroom: Any = None, session: Any = None) -> Worksheet:
    """A worksheet of the world's session (havruta 1 = student + partner) with FIELDS."""
    n = next(_slugs)
    protocol = Protocol.objects.create(
        slug=f"live-test-{n}",
        title="Live test protocol",
        category=Protocol.Category.TEXT_LEARNING,
        duration_minutes=20,
        summary="A protocol for socket tests.",
        purpose="Testing.",
    )
    version = ProtocolVersion.objects.create(protocol=protocol, number=1, content_hash=f"h{n}", data={"fields": FIELDS})
    session = session or world.session
    assignment = Assignment.objects.create(
        classroom=classroom or world.classroom, session=session, protocol_version=version
    )
    havruta = Havruta.objects.get(session=session, number=havruta_number)
    return Worksheet.objects.create(assignment=assignment, havruta=havruta)


def cookie_header(client: Client | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver")]
    if client is not None and settings.SESSION_COOKIE_NAME in client.cookies:
        value = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode()))
    return headers


def communicator(path: str, client: Client | None) -> WebsocketCommunicator:
    from pop_site.asgi import application

    return WebsocketCommunicator(application, path, headers=cookie_header(client))


def shared_path(worksheet_id: int) -> str:
    return f"/ws/worksheets/{worksheet_id}/"


def personal_path(worksheet_id: int, student_id: int) -> str:
    return f"/ws/worksheets/{worksheet_id}/students/{student_id}/"


@dataclass
class Closed:
    code: int | None
    reason: str | None


class YPeer:
    """The document side of a y-websocket client: a pycrdt doc, its answers to server frames."""

    def __init__(self) -> None:
        self.doc = pycrdt.Doc()
        self._applying = False
        self._local: list[bytes] = []
        self.doc.observe(self._on_change)
        self.server_state: bytes | None = None  # the last state vector the server sent (sync step 1)
        self.awareness: dict[int, tuple[int, str | None]] = {}
        self.closed: Closed | None = None
        self.frames: list[bytes] = []
        self.got_step2 = 0

    def _on_change(self, event: Any) -> None:
        if not self._applying:
            self._local.append(event.update)

    def handle(self, frame: bytes) -> list[bytes]:
        self.frames.append(frame)
        message = decode_message(frame)
        replies = []
        if isinstance(message, SyncMessage):
            if message.subtype == SYNC_STEP1:
                self.server_state = message.payload
                replies.append(encode_sync_step2(self.doc.get_update(message.payload)))
            else:
                if message.subtype == SYNC_STEP2:
                    self.got_step2 += 1
                self._applying = True
                try:
                    self.doc.apply_update(message.payload)
                finally:
                    self._applying = False
        elif isinstance(message, AwarenessMessage):
            for entry in decode_awareness_update(message.update):
                self.awareness[entry.client_id] = (entry.clock, entry.state)
        return replies

    def local_changes(self, change: Callable[[pycrdt.Doc], None]) -> list[bytes]:
        change(self.doc)
        sent, self._local = self._local, []
        return sent

    def text(self, key: str) -> str:
        return str(self.doc.get(key, type=pycrdt.Text))

    @staticmethod
    def covers_state(ours: bytes, theirs: bytes | None) -> bool:
        """Whether state vector `theirs` (the server's) includes everything in state vector `ours`."""
        if theirs is None:
            return False
        server = decode_state_vector(theirs)
        return all(server.get(client, 0) >= clock for client, clock in decode_state_vector(ours).items())

    @staticmethod
    def insert(key: str, index: int | None, text: str, author: int | None = None) -> Callable[[pycrdt.Doc], None]:
        def change(doc: pycrdt.Doc) -> None:
            field = doc.get(key, type=pycrdt.Text)
            at = len(field) if index is None else min(index, len(field))
            field.insert(at, text, attrs={"a": str(author)} if author else None)

        return change


class YClient(YPeer):
    """A y-websocket-like client through WebsocketCommunicator and the whole ASGI app."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        super().__init__()
        self.comm = comm

    @classmethod
    async def open(cls, path: str, client: Client | None, *, sync: bool = True) -> YClient:
        me = cls(communicator(path, client))
        connected, _ = await me.comm.connect()
        assert connected
        if sync:
            await me.sync()
        return me

    async def send(self, frame: bytes | str) -> None:
        # send_input rather than send_to: it also delivers empty frames.
        key = "text" if isinstance(frame, str) else "bytes"
        await self.comm.send_input({"type": "websocket.receive", key: frame})

    async def sync(self) -> None:
        """What y-websocket does on open: send our state vector, answer the server's."""
        await self.send(encode_sync_step1(self.doc.get_state()))
        await self.pump()

    async def pump(self, quiet: float = 0.15, limit: float = 5.0) -> None:
        """Read and answer frames until the server has been quiet for `quiet` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while loop.time() < deadline:
            if await self.comm.receive_nothing(timeout=quiet, interval=0.01):
                return
            output = await self.comm.receive_output()
            if output["type"] == "websocket.close":
                self.closed = Closed(output.get("code"), output.get("reason"))
                return
            if output["type"] == "websocket.send" and output.get("bytes") is not None:
                for reply in self.handle(output["bytes"]):
                    await self.send(reply)

    async def edit(self, change: Callable[[pycrdt.Doc], None]) -> list[bytes]:
        """Change the local doc and send each resulting update, as the provider does."""
        sent = self.local_changes(change)
        for update in sent:
            await self.send(encode_update(update))
        return sent

    async def type(self, key: str, index: int, text: str, author: int | None = None) -> None:
        await self.edit(self.insert(key, index, text, author))

    async def announce(self, client_id: int, clock: int, state: str | None) -> None:
        await self.send(encode_awareness(encode_awareness_update([AwarenessEntry(client_id, clock, state)])))

    async def saved(self) -> bool:
        """Ask the server (sync step 1, as the provider does every 15 s) whether it has all our edits.

        Compares the server's state vector with ours: the "all saved" / "N unsaved" indicator.
        """
        await self.sync()
        return self.server_state is not None and self.server_state == self.doc.get_state()

    async def close(self) -> None:
        await self.comm.disconnect()


class NetYClient(YPeer):
    """The same client over a real socket (python `websockets`), for real server processes."""

    def __init__(self, ws: Any) -> None:
        super().__init__()
        self.ws = ws
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(
        cls, base_url: str, path: str, cookie: dict[str, str], *, doc_from: YPeer | None = None
    ) -> NetYClient:
        """Connect and start syncing; `doc_from` reconnects with that client's document (and edits)."""
        from websockets.asyncio.client import connect

        ws = await connect(
            base_url.replace("http://", "ws://") + path,
            origin=base_url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"{cookie['name']}={cookie['value']}"},
            compression=None,
            proxy=None,
        )
        me = cls(ws)
        if doc_from is not None:
            me._applying = True
            me.doc.apply_update(doc_from.doc.get_update())
            me._applying = False
        await me.ws.send(encode_sync_step1(me.doc.get_state()))
        return me

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    for reply in self.handle(frame):
                        await self.ws.send(reply)
        except ConnectionClosed:
            pass
        rcvd = getattr(self.ws.protocol, "close_rcvd", None)
        self.closed = Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else None)

    async def edit(self, change: Callable[[pycrdt.Doc], None]) -> None:
        for update in self.local_changes(change):
            await self.ws.send(encode_update(update))

    async def ask_saved(self) -> None:
        await self.ws.send(encode_sync_step1(self.doc.get_state()))

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 15) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.05)
        return predicate()

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, 5)


async def expect_close(comm: WebsocketCommunicator, timeout: float = 2) -> Closed:
    """The next close message (skipping data frames)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await comm.receive_output(timeout=max(0.01, deadline - loop.time()))
        if output["type"] == "websocket.close":
            return Closed(output.get("code"), output.get("reason"))
