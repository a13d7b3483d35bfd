"""Sockets of the live session: the teachers' dashboard and each worksheet page's class events.

`LiveDashboardConsumer` (/ws/classes/<id>/live/) is for the class's teachers only. It listens on
the group `class-<id>-live`, where worksheet rooms announce progress after every materialisation
and the live services announce help requests, comments, connections and timer changes. Those
can arrive hundreds of times a second in a big class, so the consumer only notes *which*
havrutot changed and sends at most one update per FLUSH_SECONDS, with their rows read afresh:
the teacher's traffic is bounded by the clock, not by how fast students type.

`WorksheetEventsConsumer` (/ws/worksheets/<id>/events/) is the JSON side channel of a worksheet
page (the Yjs sockets stay binary and untouched): broadcasts, the timer, comments, help state and
the end of the session reach the page through it, and a member may send a few small commands.

Both accept and then close with 4403 before joining any group when the user may not be there,
so a browser can read the close code and an outsider learns nothing. Both also listen on the
user's own group (worksheets.services.USER_GROUP): when access is taken away (a student moved or
deleted, a co-teacher removed), `worksheet_revoke(user=...)` makes them look again, and a socket
that lost its access closes with 4403 at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import Http404
from django.utils import translation

from accounts.models import User
from classrooms import access, selectors_live, services_live
from worksheets.consumers import close_with
from worksheets.services import LIVE_GROUP, USER_GROUP

log = logging.getLogger("havruta.live")

CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN = 1013

MAX_FRAME_CHARS = 2048  # the largest command (a 300-character note) fits many times over
RATE_PER_SECOND = 2.0
RATE_BURST = 10


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def socket_language(scope: dict[str, Any]) -> str:
    """The language the pages of this person are in (accounts.middleware.UserLanguageMiddleware):
    their saved choice, else the language cookie, else the site's default. Text the sockets send
    (step labels, error messages) is translated in it."""
    user = scope.get("user")
    chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME, "")
    known = {code for code, _name in settings.LANGUAGES}
    for language in (chosen, cookie):
        if language in known:
            return str(language)
    return str(settings.LANGUAGE_CODE)


def _in_language(language: str, function: Any, /, **kwargs: Any) -> Any:
    with translation.override(language):
        return function(**kwargs)


class _LiveConsumer(AsyncWebsocketConsumer):
    """What the two JSON sockets share: a cheaper dispatch, and closing once after leaving.

    Channels' dispatch closes old DB connections in a worker thread before every handler. These
    consumers never touch the database on the event loop (only via database_sync_to_async, which
    manages connections itself), so that hop per message is pure cost: a dashboard can get
    hundreds of progress messages a second.
    """

    closing: bool

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _leave(self) -> None:
        raise NotImplementedError

    async def _close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        await self._leave()
        await close_with(self, code)


# --------------------------------------------------------------------------------------------
# The teacher's dashboard
# --------------------------------------------------------------------------------------------


def _dashboard_open(*, user: User | None, classroom_id: int) -> dict[str, Any] | None:
    classroom = access.live_dashboard_access(user, classroom_id)
    if classroom is None:
        return None
    session = selectors_live.session_current(classroom=classroom)
    if session is None:
        return {"classroom": classroom.pk, "session": None, "havrutot": set(), "snapshot": None}
    snapshot = selectors_live.dashboard_snapshot(session_id=session.pk)
    return {
        "classroom": classroom.pk,
        "session": session.pk,
        "havrutot": {row["havruta"] for row in snapshot["rows"]},
        "snapshot": {**snapshot, "type": "snapshot"},
    }


def _havrutot_of(session_id: int) -> set[int]:
    from classrooms.models import Havruta

    return set(Havruta.objects.filter(session_id=session_id).values_list("pk", flat=True))


class LiveDashboardConsumer(_LiveConsumer):
    """The live grid of one class's current session, for its teachers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.classroom_id = 0
        self.session_id: int | None = None
        self.havrutot: set[int] = set()
        self.group: str | None = None
        self.user_group: str | None = None
        self.closing = False
        self.dirty: set[int] = set()
        self.session_dirty = False
        self.last_flush = 0.0
        self.flush_handle: asyncio.TimerHandle | None = None
        self.flush_task: asyncio.Task[None] | None = None
        self.language = settings.LANGUAGE_CODE

    async def connect(self) -> None:
        self.classroom_id = int(self.scope["url_route"]["kwargs"]["classroom_id"])
        self.language = socket_language(self.scope)
        await self.accept()  # then close: browsers do not see the close code of a refused handshake
        try:
            opened = await database_sync_to_async(_in_language)(
                self.language, _dashboard_open, user=self.scope.get("user"), classroom_id=self.classroom_id
            )
        except DatabaseError:
            await self._close(CLOSE_TRY_AGAIN)
            return
        if opened is None:
            await self._close(CLOSE_FORBIDDEN)
            return
        self.session_id = opened["session"]
        self.havrutot = opened["havrutot"]
        if self.channel_layer is not None:
            self.group = LIVE_GROUP.format(classroom_id=self.classroom_id)
            await self.channel_layer.group_add(self.group, self.channel_name)
            self.user_group = USER_GROUP.format(user_id=self.scope["user"].pk)
            await self.channel_layer.group_add(self.user_group, self.channel_name)
        self.last_flush = time.monotonic()
        await self._send(opened["snapshot"] or {"type": "snapshot", "rows": [], "session": None})

    async def _leave(self) -> None:
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        if self.channel_layer is not None:
            for group in (self.group, self.user_group):
                if group is not None:
                    await self.channel_layer.group_discard(group, self.channel_name)
        self.group = self.user_group = None

    async def disconnect(self, code: int) -> None:
        self.closing = True
        await self._leave()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Nothing to ask: every change goes through the page's forms. Answer pings, ignore the rest.
        if text_data and len(text_data) <= MAX_FRAME_CHARS and '"ping"' in text_data:
            await self._send({"type": "pong"})

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.closing:
            await self.send(text_data=_dumps(message))

    # --- coalescing ----------------------------------------------------------------------------

    def _mark(self, havruta_id: int | None = None, *, session: bool = False) -> None:
        if self.closing or self.session_id is None:
            return
        if havruta_id is not None:
            self.dirty.add(havruta_id)
        self.session_dirty = self.session_dirty or session
        if self.flush_handle is not None or (self.flush_task is not None and not self.flush_task.done()):
            return  # a flush is due; it (or the one after it) takes this change along
        delay = max(0.0, self.last_flush + selectors_live.conf("FLUSH_SECONDS") - time.monotonic())
        self.flush_handle = asyncio.get_running_loop().call_later(delay, self._start_flush)

    def _start_flush(self) -> None:
        self.flush_handle = None
        if not self.closing:
            self.flush_task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        ids, self.dirty = self.dirty, set()
        with_session, self.session_dirty = self.session_dirty, False
        self.last_flush = time.monotonic()
        assert self.session_id is not None
        if not ids and not with_session:  # only havrutot of another session changed
            self.flush_task = None
            return
        try:
            if with_session:
                self.havrutot = await database_sync_to_async(_havrutot_of)(self.session_id)
                ids &= self.havrutot
            message = await database_sync_to_async(_in_language)(
                self.language,
                selectors_live.dashboard_snapshot,
                session_id=self.session_id,
                havruta_ids=ids,
                with_session=with_session,
            )
        except DatabaseError:
            log.warning("live dashboard: reading the rows failed; trying again", exc_info=True)
            self.dirty |= ids
            self.session_dirty = self.session_dirty or with_session
        else:
            if message.get("rows") or with_session:
                await self._send(message)
        self.flush_task = None
        if (self.dirty or self.session_dirty) and not self.closing:
            self._mark()

    # --- channel layer messages -------------------------------------------------------------------

    async def worksheet_progress(self, event: dict[str, Any]) -> None:
        """From a worksheet room after it materialised answers (worksheets/PROTOCOL.md)."""
        havruta = event.get("havruta")
        if isinstance(havruta, int) and havruta in self.havrutot:
            self._mark(havruta)

    async def live_havruta(self, event: dict[str, Any]) -> None:
        havruta = event.get("havruta")
        if isinstance(havruta, int) and havruta in self.havrutot:
            self._mark(havruta)

    async def live_session(self, event: dict[str, Any]) -> None:
        if event.get("session") == self.session_id:
            self._mark(session=True)

    async def access_recheck(self, event: dict[str, Any]) -> None:
        """worksheet_revoke(user=...): this teacher's classes changed (removed as co-teacher); look again."""
        if self.closing:
            return
        try:
            classroom = await database_sync_to_async(access.live_dashboard_access)(
                self.scope.get("user"), self.classroom_id
            )
        except DatabaseError:
            return  # look again on the next change; the socket keeps its access meanwhile
        if classroom is None:
            log.info("event=socket.closed by=server code=%s reason=access-revoked socket=dashboard", CLOSE_FORBIDDEN)
            await self._close(CLOSE_FORBIDDEN)

    async def live_regrouped(self, event: dict[str, Any]) -> None:
        """services_live.dashboard_regrouped(): a new session, new havrutot or new assignments.
        The page reloads (static/js/live.js), which also follows a session started meanwhile."""
        await self._send({"type": "regrouped"})


# --------------------------------------------------------------------------------------------
# A worksheet page's class events
# --------------------------------------------------------------------------------------------


def _events_open(*, user: User | None, worksheet_id: int, channel_name: str) -> dict[str, Any] | None:
    found = access.worksheet_events_access(user, worksheet_id)
    if found is None:
        return None
    worksheet, is_member = found
    assert user is not None
    session = worksheet.havruta.session
    names = dict(worksheet.havruta.memberships.values_list("student_id", "student__display_name"))
    live = selectors_live.worksheet_live(worksheet=worksheet, is_member=is_member, member_names=names)
    if is_member:
        services_live.live_connection_open(
            channel_name=channel_name, user=user, worksheet=worksheet, classroom_id=session.classroom_id
        )
    return {
        "worksheet": worksheet.pk,
        "havruta": worksheet.havruta_id,
        "session": session.pk,
        "classroom": session.classroom_id,
        "is_member": is_member,
        "state": live.as_json(),
    }


def _ask_help(*, user: User, worksheet_id: int, note: str) -> None:
    worksheet = access.live_worksheet_for_member(user, worksheet_id)
    services_live.help_request_create(worksheet=worksheet, student=user, note=note)


def _cancel_help(*, user: User, worksheet_id: int) -> None:
    worksheet = access.live_worksheet_for_member(user, worksheet_id)
    found = services_live.help_request_open(havruta_id=worksheet.havruta_id)
    if found is not None:
        services_live.help_request_resolve(help_request=found, by=user)


def _comment_done(*, user: User, worksheet_id: int, comment_id: int) -> None:
    worksheet = access.live_worksheet_for_member(user, worksheet_id)
    comment = access.field_comment_for_user(user, worksheet, comment_id)
    services_live.comment_mark_done(comment=comment, by=user)


class WorksheetEventsConsumer(_LiveConsumer):
    """Class events for one open worksheet page (its havruta's members and the class's teachers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.info: dict[str, Any] | None = None
        self.groups_joined: list[str] = []
        self.closing = False
        self.heartbeat: asyncio.Task[None] | None = None
        self.tokens = float(RATE_BURST)
        self.tokens_at = time.monotonic()
        self.language = settings.LANGUAGE_CODE

    async def connect(self) -> None:
        worksheet_id = int(self.scope["url_route"]["kwargs"]["worksheet_id"])
        self.language = socket_language(self.scope)
        await self.accept()
        try:
            info = await database_sync_to_async(_in_language)(
                self.language,
                _events_open,
                user=self.scope.get("user"),
                worksheet_id=worksheet_id,
                channel_name=self.channel_name,
            )
        except DatabaseError:
            await self._close(CLOSE_TRY_AGAIN)
            return
        if info is None:
            await self._close(CLOSE_FORBIDDEN)
            return
        self.info = info
        if self.channel_layer is not None:
            for group in (
                services_live.SESSION_GROUP.format(session_id=info["session"]),
                services_live.HAVRUTA_GROUP.format(havruta_id=info["havruta"]),
                USER_GROUP.format(user_id=self.scope["user"].pk),
            ):
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        if info["is_member"]:
            self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        # The state now, for a page that reconnects after missing events.
        await self._send({"type": "state", "state": info["state"]})

    async def _heartbeat(self) -> None:
        while not self.closing:
            await asyncio.sleep(selectors_live.conf("HEARTBEAT_SECONDS"))
            try:
                await database_sync_to_async(services_live.live_connection_touch)(channel_name=self.channel_name)
            except DatabaseError:
                log.warning("live events: renewing a connection failed", exc_info=True)

    async def _leave(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            self.heartbeat = None
        if self.channel_layer is not None:
            for group in self.groups_joined:
                await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []
        info, self.info = self.info, None
        if info is not None and info["is_member"]:
            try:
                group, message = await database_sync_to_async(services_live.live_connection_close)(
                    channel_name=self.channel_name, havruta_id=info["havruta"], classroom_id=info["classroom"]
                )
            except DatabaseError:
                log.warning("live events: forgetting a connection failed", exc_info=True)
                return
            if self.channel_layer is not None:
                await self.channel_layer.group_send(group, message)

    async def disconnect(self, code: int) -> None:
        self.closing = True
        await self._leave()

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.closing:
            await self.send(text_data=_dumps(message))

    async def _error(self, code: str, message: str = "", **extra: Any) -> None:
        await self._send({"type": "error", "error": code, "message": message, **extra})

    def _take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(RATE_BURST), self.tokens + (now - self.tokens_at) * RATE_PER_SECOND)
        self.tokens_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    # --- commands from the page ----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Small JSON commands: ask_help {note}, cancel_help, comment_done {id}, ping.

        Anything else gets an error message back and changes nothing; the socket stays open.
        """
        if self.closing or self.info is None:
            return
        if text_data is None:
            await self._error("text_only", "Send JSON text frames.")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self._error("too_big", f"A command is at most {MAX_FRAME_CHARS} characters.")
            return
        if not self._take_token():
            await self._error("slow_down", "Too many commands; wait a moment.")
            return
        try:
            command = json.loads(text_data)
        except ValueError:
            await self._error("bad_json", "That was not JSON.")
            return
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            await self._error("bad_command", 'A command is a JSON object with a "type".')
            return
        kind = command["type"]
        ref = command.get("ref")
        ref = ref if isinstance(ref, str | int) and len(str(ref)) <= 40 else None
        if kind == "ping":
            await self._send({"type": "pong"})
            return
        if kind not in ("ask_help", "cancel_help", "comment_done"):
            await self._error("unknown_type", "Unknown command.", ref=ref)
            return
        if not self.info["is_member"]:
            await self._error("not_allowed", "Only the havruta can do that.", ref=ref)
            return
        user = self.scope["user"]
        worksheet_id = self.info["worksheet"]
        try:
            if kind == "ask_help":
                note = command.get("note", "")
                if not isinstance(note, str):
                    await self._error("invalid", "The note must be text.", ref=ref)
                    return
                await database_sync_to_async(_in_language)(
                    self.language, _ask_help, user=user, worksheet_id=worksheet_id, note=note
                )
            elif kind == "cancel_help":
                await database_sync_to_async(_cancel_help)(user=user, worksheet_id=worksheet_id)
            else:
                comment_id = command.get("id")
                if not isinstance(comment_id, int) or isinstance(comment_id, bool) or not 0 < comment_id < 2**63:
                    await self._error("invalid", "A comment id is a positive whole number.", ref=ref)
                    return
                await database_sync_to_async(_comment_done)(user=user, worksheet_id=worksheet_id, comment_id=comment_id)
        except ValidationError as error:
            await self._error("invalid", " ".join(error.messages), ref=ref)
            return
        except Http404:
            await self._error("not_found", "Not found.", ref=ref)
            return
        except DatabaseError:
            await self._error("try_again", "The server is busy; try again.", ref=ref)
            return
        await self._send({"type": "ok", "ref": ref})

    # --- events from the services ---------------------------------------------------------------

    async def access_recheck(self, event: dict[str, Any]) -> None:
        """worksheet_revoke(user=...): membership, enrollment or teaching changed; look again."""
        if self.closing or self.info is None:
            return
        try:
            found = await database_sync_to_async(access.worksheet_events_access)(
                self.scope.get("user"), self.info["worksheet"]
            )
        except DatabaseError:
            return  # look again on the next change; the socket keeps its access meanwhile
        if found is None:
            log.info("event=socket.closed by=server code=%s reason=access-revoked socket=events", CLOSE_FORBIDDEN)
            await self._close(CLOSE_FORBIDDEN)

    async def live_event(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if not isinstance(event, dict) or self.info is None:
            return
        for_worksheet = event.get("worksheet")
        if for_worksheet is not None and for_worksheet != self.info["worksheet"]:
            return  # a comment on the havruta's other worksheet
        await self._send(event)
