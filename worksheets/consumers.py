"""The live worksheet socket: y-protocols over a Channels websocket (see PROTOCOL.md).

Thin by design: check access before joining anything, then hand every frame to the room. The hot
path stays on the event loop: no thread hop per message (Channels' default `dispatch` runs
`close_old_connections` in a thread for every frame; this consumer never uses the database on the
loop, so it skips that), no database round trip per message (the writer thread commits in groups).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.sessions import InstanceSessionWrapper
from django.db import DatabaseError

from worksheets import rooms
from worksheets.persistence import DatabaseUnavailable, RoomGone, RoomKey
from worksheets.selectors import DocAccess, worksheet_doc_access
from worksheets.services import ACCESS_GROUP, USER_GROUP
from worksheets.yprotocol import (
    SYNC_STEP1,
    AwarenessMessage,
    Message,
    ProtocolError,
    QueryAwarenessMessage,
    SyncMessage,
    decode_message,
)

log = logging.getLogger("havruta.ws")
access_log = logging.getLogger("havruta.access")

CLOSE_FORBIDDEN = 4403
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013
CLOSE_RATE_LIMITED = 4429
CLOSE_SERVER_ERROR = 1011

# Updates of one socket waiting for their commit. The socket goes on reading meanwhile (the writer
# commits in groups, so waiting for each commit in turn would cap a socket at one update per
# commit); past this many it waits, which keeps a flood in the socket's buffers, not in memory.
MAX_IN_FLIGHT = 64
CLOSE_RELOAD = 1012  # "service restart": the document was rewritten; the client reconnects
# daphne (`runserver`, the test suite's server processes) can only send 1000 and 3000-4999: autobahn
# raises for the standard 1009/1011/1012/1013, and the socket stayed open, deaf (closing) and never
# acknowledging again (tests/test_drills.py, PostgreSQL restart). There they go out as 4009/4011/
# 4012/4013, same meaning (PROTOCOL.md); uvicorn, in production, sends the standard codes.
PRIVATE_CODE_OFFSET = 3000


async def close_with(consumer: AsyncWebsocketConsumer, code: int, reason: str = "") -> None:
    """Close with `code`, or with code + 3000 where the server cannot send a standard one (daphne)."""
    try:
        await consumer.close(code=code, reason=reason or None)
    except Exception:
        if not 1000 < code < 3000:
            raise
        await consumer.close(code=code + PRIVATE_CODE_OFFSET, reason=reason or None)


def _frame_send(send: Callable[[dict[str, Any]], Awaitable[None]]) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The server's own send under Channels' session wrapper, for websocket frames.

    The wrapper only saves the session on "http.response.start"; for every frame it still reads
    the lazy session and settings, a few per cent of the event loop at a class's typing rate.
    """
    wrapper = getattr(send, "__self__", None)
    if isinstance(wrapper, InstanceSessionWrapper) and "websocket.send" not in wrapper.save_message_types:
        return wrapper.real_send
    return send


class WorksheetConsumer(AsyncWebsocketConsumer):
    """One socket on the shared doc or on one student's personal doc of a worksheet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room: rooms.Room | None = None
        self.access: DocAccess | None = None
        self.is_teacher = False
        self.can_write = False
        self.client_ids: set[int] = set()
        self.closing = False
        self.groups_joined: list[str] = []
        self.tokens = float(rooms.conf("RATE_BURST"))
        self.tokens_at = time.monotonic()
        self.drops = 0
        self.drops_since = 0.0
        self.rejected = 0
        self.discarded = 0
        # Updates handed to the room to be committed, and how many of them are committed (or
        # refused) so far: commits come back in order, so two counters say what is in flight.
        self.updates_sent = 0
        self.updates_settled = 0
        self._settle_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._closers: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' AsyncConsumer.__call__ with a cheaper way of waiting on two message sources.

        Channels' `await_many_dispatch` makes a task and an `asyncio.wait` for every message, a fifth
        of the event loop's time at a class's typing rate. Here the socket is read in this task and
        the channel layer in one more; a lock hands them turns, so messages are still handled one at
        a time in arrival order, and the socket is not read while a frame is being handled (a flood
        stays in the socket's buffers). A free lock is taken without a task switch.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self._frame_send = _frame_send(send)
        turn = asyncio.Lock()
        layer_reader: asyncio.Task[None] | None = None
        layer_failure: list[BaseException] = []
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            main = asyncio.current_task()
            assert main is not None

            async def from_layer() -> None:
                try:
                    while True:
                        event = await self.channel_receive()
                        async with turn:
                            await self.dispatch(event)
                except Exception as exc:  # ends the consumer, as await_many_dispatch would
                    layer_failure.append(exc)
                    main.cancel()

            layer_reader = asyncio.ensure_future(from_layer())
        try:
            while True:
                message = await receive()
                async with turn:
                    await self.dispatch(message)
        except StopConsumer:
            pass
        except asyncio.CancelledError:
            if not layer_failure:
                raise
            if not isinstance(layer_failure[0], StopConsumer):
                raise layer_failure[0] from None
        finally:
            if layer_reader is not None:
                layer_reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await layer_reader

    # Channels' dispatch closes old DB connections in a worker thread before every handler.
    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def _where(self) -> str:
        user = self.scope.get("user")
        user_id = getattr(user, "pk", None)
        return f"path={self.scope.get('path', '')} user={user_id}"

    async def _close(self, code: int, reason: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        log.info("event=socket.closed by=server code=%s reason=%s %s", code, reason or "-", self._where())
        if code == CLOSE_FORBIDDEN:
            access_log.warning("event=access.denied socket=worksheet reason=%s %s", reason or "-", self._where())
        await self._leave()
        await close_with(self, code, reason)

    async def _leave(self) -> None:
        room, self.room = self.room, None
        try:
            if room is not None:
                await room.remove_peer(self)
        finally:  # whatever happened in the room, stop receiving the groups' events
            if self.channel_layer is not None:
                for group in self.groups_joined:
                    await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined = []

    # --- connect / disconnect -------------------------------------------------------------------

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        worksheet_id = int(kwargs["worksheet_id"])
        student_id = int(kwargs["student_id"]) if kwargs.get("student_id") is not None else None
        try:
            access = await database_sync_to_async(worksheet_doc_access)(
                user=self.scope.get("user"), worksheet_id=worksheet_id, student_id=student_id
            )
        except DatabaseError:
            await self.accept()
            await self._close(CLOSE_TRY_AGAIN, "database unavailable, try again")
            return
        # Accept, then close: browsers do not see the close code of a refused handshake.
        await self.accept()
        if access is None:
            await self._close(CLOSE_FORBIDDEN, "not allowed")
            return
        self.access = access
        self.is_teacher = access.is_teacher
        self.can_write = access.can_write
        if self.channel_layer is not None:
            for group in (
                USER_GROUP.format(user_id=access.user_id),
                ACCESS_GROUP.format(worksheet_id=access.worksheet_id),
            ):
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        try:
            room = await rooms.join(RoomKey(access.worksheet_id, access.student_id), access, self)
        except DatabaseUnavailable:
            await self._close(CLOSE_TRY_AGAIN, "database unavailable, try again")
            return
        if self.closing:  # revoked or closed while the room loaded
            await room.remove_peer(self)
            return
        self.room = room
        await self.send_frame(room.greeting())
        awareness = room.awareness_frame(for_teacher=self.is_teacher)
        if awareness is not None:
            await self.send_frame(awareness)

    async def disconnect(self, code: int) -> None:
        if not self.closing:  # the browser (or the network) closed it; our own closes are logged in _close
            log.info("event=socket.closed by=client code=%s %s", code, self._where())
        self.closing = True
        await self._leave()

    async def send_frame(self, frame: bytes) -> None:
        if not self.closing:
            await self._frame_send({"type": "websocket.send", "bytes": frame})

    # --- frames -----------------------------------------------------------------------------------

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.closing or self.room is None:
            return
        data = message.get("bytes")
        text = message.get("text")
        size = len(data) if data is not None else len(text or "")
        if size > rooms.conf("MAX_MESSAGE_BYTES"):
            limit = rooms.conf("MAX_MESSAGE_BYTES") // 1024
            await self._close(CLOSE_TOO_BIG, f"message too big, limit {limit} KiB")
            return
        if not await self._take_token():
            return
        if data is None:
            self._reject("text frame (binary only)")
            return
        try:
            decoded = decode_message(data)
            await self._handle(decoded)
        except ProtocolError as exc:
            self._reject(str(exc))

    def _reject(self, why: str) -> None:
        # Never log frame content: it is children's writing. Every rejected frame leaves a record
        # (DEBUG, free when disabled), but a stream of garbage is one story: WARNING only now and then.
        self.rejected += 1
        level = logging.WARNING if self.rejected in (1, 10, 100) or self.rejected % 1000 == 0 else logging.DEBUG
        log.log(level, "worksheet frame rejected: %s (%d so far) %s", why, self.rejected, self._where())

    async def _take_token(self) -> bool:
        now = time.monotonic()
        rate = rooms.conf("RATE_PER_SECOND")
        burst = rooms.conf("RATE_BURST")
        self.tokens = min(float(burst), self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        if now - self.drops_since > rooms.conf("ABUSE_WINDOW"):
            self.drops_since = now
            self.drops = 0
        self.drops += 1
        level = logging.WARNING if self.drops == 1 else logging.DEBUG  # one warning per window, a record per frame
        log.log(
            level, "worksheet socket over its rate limit, dropping messages (%d so far) %s", self.drops, self._where()
        )
        if self.drops > rooms.conf("ABUSE_DROPS"):
            await self._close(CLOSE_RATE_LIMITED, "too many messages")
        return False

    async def _handle(self, message: Message) -> None:
        room = self.room
        assert room is not None
        if isinstance(message, SyncMessage):
            if message.subtype == SYNC_STEP1:
                # The state vector in the reply says what is saved: it must cover this socket's earlier updates.
                await self._settle()
                if self.closing or self.room is not room:
                    return
                step2, step1 = room.sync_reply(message.payload)
                await self.send_frame(step2)
                await self.send_frame(step1)
                return
            # Sync step 2 and update carry a Yjs update.
            if not self.can_write:
                self.discarded += 1
                return
            integrated = room.validate(message.payload)
            if integrated is None:
                return
            # Committed, then applied and fanned out by the room (persistence.py); not awaited here.
            room.store(integrated, self.access.user_id if self.access else None, self, self._stored)
            self.updates_sent += 1
            if self.updates_sent - self.updates_settled >= MAX_IN_FLIGHT:
                await self._settled(self.updates_sent - MAX_IN_FLIGHT + 1)
        elif isinstance(message, AwarenessMessage):
            await room.receive_awareness(message.update, peer=self, is_teacher=self.is_teacher)
        elif isinstance(message, QueryAwarenessMessage):
            frame = room.awareness_frame(for_teacher=self.is_teacher)
            if frame is not None:
                await self.send_frame(frame)

    def _stored(self, error: BaseException | None) -> None:
        """An update of this socket was committed (or refused); runs on the loop, in commit order."""
        self.updates_settled += 1
        if self._settle_waiters:
            waiting = []
            for target, future in self._settle_waiters:
                if target > self.updates_settled:
                    waiting.append((target, future))
                elif not future.done():
                    future.set_result(None)
            self._settle_waiters = waiting
        if error is None:
            return
        if isinstance(error, DatabaseUnavailable):
            code, reason = CLOSE_TRY_AGAIN, "database unavailable, try again"
        elif isinstance(error, RoomGone):
            code, reason = CLOSE_FORBIDDEN, "not allowed"
        else:
            log.error("storing an update failed: %r %s", error, self._where())
            code, reason = CLOSE_SERVER_ERROR, "server error"
        task = asyncio.get_running_loop().create_task(self._close(code, reason))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _settled(self, count: int) -> None:
        """Wait until the first `count` updates this socket sent are committed (or refused)."""
        if self.updates_settled >= count:
            return
        future = asyncio.get_running_loop().create_future()
        self._settle_waiters.append((count, future))
        await future

    async def _settle(self) -> None:
        """Wait until every update this socket sent so far is committed (or refused)."""
        await self._settled(self.updates_sent)

    # --- channel layer events ----------------------------------------------------------------------

    async def access_recheck(self, event: dict[str, Any]) -> None:
        """worksheet_revoke(): membership, enrollment or assignment changed; look again."""
        if self.closing or self.access is None:
            return
        try:
            access = await database_sync_to_async(worksheet_doc_access)(
                user=self.scope.get("user"), worksheet_id=self.access.worksheet_id, student_id=self.access.student_id
            )
        except DatabaseError:
            return  # look again on the next change; the socket keeps its current rights meanwhile
        if access is None:
            await self._close(CLOSE_FORBIDDEN, "access revoked")
            return
        self.access = access
        self.can_write = access.can_write

    async def doc_reload(self, event: dict[str, Any]) -> None:
        """worksheets_reload(): the shared document (or this student's own) was rewritten in the
        database because a student was deleted. Drop this process's copy of the room and close with
        1012, so the browser reconnects and syncs with the rewritten document. A partner's personal
        document did not change: those sockets stay open."""
        if self.closing:
            return
        room = self.room
        student = event.get("student")
        if room is not None:
            if room.key.student_id is not None and room.key.student_id != student:
                return
            rooms.drop(room)
        # A socket still joining (room None) closes too: it may be joining the old copy.
        await self._close(CLOSE_RELOAD, "document rewritten, reconnect")
