"""Live rooms: one server-side Yjs document per open worksheet document, per process.

A room holds
- `doc`, the server's copy, which only ever contains updates committed to the log (so its state
  vector tells clients what is saved), and
- `twin`, a second copy every incoming update is tried on first: pycrdt either refuses it (the
  update is rejected, the room never sees it, the log is never corrupted) or accepts it, which also
  tells whether it carries anything new. The twin runs a few milliseconds ahead of `doc` (by the
  updates being committed) and is rebuilt from `doc` whenever it might hold something `doc` will not.

Fan-out: to sockets of this process directly; to other processes through the channel layer, one
subscription per room per process, every message stamped with (process id, sequence number). A gap
in a sender's sequence, or the periodic check, makes the room read what it lacks from the log.
Awareness (presence) is relayed the same way and kept per clientID for late joiners.

Only rooms loaded in more than one process publish: each room says "hello" on its group when it
loads and every PRESENCE_SECONDS, and "bye" when it unloads. A process that learns of a new peer
process answers with a "welcome" hello and, from then on, publishes; whoever receives a welcome
reads the log once, which covers what was committed before the other side started publishing. With
a load balancer that sends a worksheet's sockets to one process, Redis carries only these hellos.

Rooms live in a registry per event loop (one loop in production; a fresh one per async test).
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import logging
import os
import random
import secrets
import socket
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import pycrdt
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.signals import setting_changed

from worksheets import persistence
from worksheets.persistence import RoomKey
from worksheets.selectors import DocAccess
from worksheets.services import LIVE_GROUP, answers_materialise
from worksheets.yprotocol import (
    EMPTY_UPDATE,
    MAX_SAFE_INTEGER,
    AwarenessEntry,
    ProtocolError,
    decode_awareness_update,
    decode_state_vector,
    encode_awareness,
    encode_awareness_update,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
    rebuild_doc,
    update_is_known,
    update_is_plausible,
)

log = logging.getLogger("havruta.ws")

# Unique per process start: a restarted process with the same pid starts a new sequence.
PROCESS_ID = f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"

DEFAULTS: dict[str, Any] = {
    "MAX_MESSAGE_BYTES": 512 * 1024,
    "RATE_PER_SECOND": 60.0,
    "RATE_BURST": 300,
    "ABUSE_DROPS": 300,  # dropped messages within ABUSE_WINDOW seconds that close the socket (4429)
    "ABUSE_WINDOW": 10.0,
    "COMPACT_AFTER_ROWS": 300,
    "IDLE_UNLOAD_SECONDS": 30.0,
    "MATERIALISE_DELAY_SECONDS": 0.5,  # + the dashboard flush (0.5 s): a teacher sees an edit within a second
    "MATERIALISE_MAX_DELAY_SECONDS": 3.0,
    # Share of the time one process spends materialising answers, all rooms together, one room at a
    # time. Answers are derived data and their database work competes with live sync for the GIL:
    # when many rooms are busy they take turns (answers arrive later) instead of sync slowing down.
    "MATERIALISE_TIME_SHARE": 0.25,
    "CATCHUP_SECONDS": 5.0,  # periodic log check while another process has the same room loaded
    "CATCHUP_SECONDS_SINGLE": 30.0,  # ... and while no other process has it
    # A room tells the other processes it is loaded here (room.hello) this often; one not heard of
    # for PRESENCE_EXPIRY is taken to be gone, and nothing more is published for it.
    "PRESENCE_SECONDS": 5.0,
    "PRESENCE_EXPIRY_SECONDS": 16.0,
    "AWARENESS_TIMEOUT_SECONDS": 30.0,
    "AWARENESS_TOMBSTONE_SECONDS": 600.0,
    # A browser tab speaks for one clientID per document (two if Yjs renews it). Without a cap one
    # socket could make the room keep a presence state (up to 8 KiB each) for millions of them.
    "AWARENESS_CLIENTS_PER_SOCKET": 8,
}


def conf(name: str) -> Any:
    return _live_settings().get(name, DEFAULTS[name])


@functools.cache
def _live_settings() -> dict[str, Any]:
    # Read on every frame: a settings lookup of a missing name costs an AttributeError each time.
    return dict(getattr(settings, "WORKSHEETS_LIVE", {}))


def _forget_live_settings(*, setting: str, **_kwargs: Any) -> None:
    if setting == "WORKSHEETS_LIVE":  # override_settings / pytest-django's `settings` fixture
        _live_settings.cache_clear()


setting_changed.connect(_forget_live_settings)


class Peer(Protocol):
    """What a room needs from a socket (the consumer implements it)."""

    is_teacher: bool
    client_ids: set[int]

    async def send_frame(self, frame: bytes) -> None: ...


@dataclass(slots=True)
class AwarenessRecord:
    clock: int
    state: str | None  # JSON text; None once the client is gone (kept as a tombstone for its clock)
    is_teacher: bool
    visible: bool  # a teacher's state with "visible": true
    owner: Peer | None  # the local socket that announced it; None for remote ones
    seen_at: float


def _teacher_visible(state: str | None) -> bool:
    if state is None:
        return False
    try:
        value = json.loads(state)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("visible") is True


class Room:
    def __init__(self, key: RoomKey, access: DocAccess, registry: Registry) -> None:
        self.key = key
        self.worksheet_id = access.worksheet_id
        self.classroom_id = access.classroom_id
        self.fields = access.fields
        self.registry = registry
        self.loop = asyncio.get_running_loop()
        # Neither document is observed all the time: an observer makes pycrdt encode every
        # transaction's update, which triples the cost of applying one.
        self.doc = pycrdt.Doc()
        self._doc_changed = False
        self.twin = pycrdt.Doc()
        self._integrated: list[bytes] = []
        # Updates validated on the twin and waiting for their commit, in order: a rebuilt twin must
        # hold them too, or the next update of the same client would wait there for its predecessor
        # forever and be taken for "nothing new" (lost until the client's next resync).
        self._unsaved: dict[int, bytes] = {}
        self._unsaved_seq = 0
        self.peers: set[Peer] = set()
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.closed = False
        # Log bookkeeping: ids of rows applied to `doc` that may still be in the log.
        self.known_ids: set[int] = set()
        self.snapshot_version = 0
        # Cross-process fan-out.
        self.layer = get_channel_layer()
        self.cross_process = self.layer is not None and not isinstance(self.layer, InMemoryChannelLayer)
        self.channel: str | None = None
        self.seq = 0
        self.remote_seq: dict[str, int] = {}
        self.last_remote_at = 0.0
        self.remotes: dict[str, float] = {}  # other processes with this room loaded: origin -> last heard (monotonic)
        self._outbox: list[tuple[bytes, Peer | None]] = []
        self._outbox_remote: list[tuple[int, bytes]] = []
        self._flush_scheduled = False
        # Presence.
        self.awareness: dict[int, AwarenessRecord] = {}
        self.teacher_shown: set[int] = set()
        # Background work.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._catching_up = False
        self._catch_up_again = False
        self._compacting = False
        self.dirty_since: float | None = None  # monotonic time of the first change not materialised yet
        self.dirty_at = 0.0  # ... and of the latest
        self.last_edit_at: float | None = None  # wall clock (time.time()) of the latest edit
        self._materialising = False  # waiting for its turn (Registry) or running
        self.stats = {"stored": 0, "duplicates": 0, "rejected": 0, "remote": 0, "catch_ups": 0, "compactions": 0}

    # --- lifecycle ---------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _timer(self, name: str, delay: float, callback: Any) -> None:
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        self._timers[name] = self.loop.call_later(delay, callback)

    async def start(self) -> None:
        try:
            if self.cross_process:
                assert self.layer is not None
                # Subscribe before reading the log: whatever is committed later arrives as a message.
                self.channel = await self.layer.new_channel()
                await self.layer.group_add(self.key.group, self.channel)
                self._spawn(self._listen())
                # Before reading the log: a process that starts publishing now is read from the log too.
                await self._hello(welcome=False)
            loaded = await persistence.maintenance.submit(persistence.load_room, self.key)
            doc, skipped = rebuild_doc(loaded.updates)
            self.doc = doc
            if skipped:
                log.error("room %s: %d unreadable log rows skipped", self.key.name, len(skipped))
            self._reset_twin()
            self.known_ids = set(loaded.ids)
            self.snapshot_version = loaded.snapshot_version
            self._schedule_periodic()
            if self.cross_process:
                self._schedule_presence()
            if loaded.ids:
                # Log rows left over (a crash, or another process is active): refresh the answers.
                self._mark_dirty(edited=False)
            self.ready.set_result(None)
        except BaseException as exc:
            self.ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError("room start cancelled"))
            self.ready.exception()  # retrieved here so an unawaited failure is not reported twice
            await self._stop()
            if self.registry.rooms.get(self.key) is self:
                del self.registry.rooms[self.key]
            if not isinstance(exc, Exception):
                raise

    async def _stop(self) -> None:
        self.closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self.channel is not None and self.layer is not None:
            try:
                if self.remotes:
                    await self.layer.group_send(self.key.group, {"type": "room.bye", "origin": PROCESS_ID})
                await self.layer.group_discard(self.key.group, self.channel)
            except Exception:
                log.warning("room %s: leaving the channel group failed", self.key.name, exc_info=True)
            self.channel = None

    def forget(self) -> None:
        """Drop from memory at once, writing nothing (what a crash does)."""
        self.closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self.channel is not None and self.layer is not None:
            channel, self.channel = self.channel, None
            self.loop.create_task(self.layer.group_discard(self.key.group, channel))

    async def unload(self) -> None:
        """Leave memory cleanly: materialise answers if needed, compact the log, unsubscribe."""
        if self.registry.rooms.get(self.key) is self:
            del self.registry.rooms[self.key]
        dirty = self.dirty_since is not None
        await self._stop()
        try:
            if dirty:
                await self._materialise()
            if self.known_ids:
                await persistence.maintenance.submit(persistence.compact_room, self.key)
        except Exception:
            log.warning("room %s: unload housekeeping failed", self.key.name, exc_info=True)

    def add_peer(self, peer: Peer) -> None:
        self.peers.add(peer)
        idle = self._timers.pop("idle", None)
        if idle is not None:
            idle.cancel()

    async def remove_peer(self, peer: Peer) -> None:
        self.peers.discard(peer)
        removals = []
        for client_id in peer.client_ids:
            record = self.awareness.get(client_id)
            if record is not None and record.owner is peer and record.state is not None:
                # lib0 writes at most 2**53 - 1: a client that announced that clock is removed at it
                # (y-protocols takes a removal at an equal clock), not with a number nobody can encode.
                record.clock = min(record.clock + 1, MAX_SAFE_INTEGER)
                record.state = None
                record.owner = None
                record.seen_at = time.monotonic()
                removals.append(AwarenessEntry(client_id, record.clock, None))
        if removals and not self.closed:
            await self._relay_awareness(removals, is_teacher=peer.is_teacher, exclude=None)
            await self._publish(
                {"type": "room.awareness", "teacher": peer.is_teacher, "update": encode_awareness_update(removals)}
            )
        if not self.peers and not self.closed:
            self._timer("idle", conf("IDLE_UNLOAD_SECONDS"), self._idle)

    def _idle(self) -> None:
        self._timers.pop("idle", None)
        if not self.peers and not self.closed:
            self._spawn(self.unload())

    # --- document -----------------------------------------------------------------------------

    def _on_doc_change(self, _event: Any) -> None:
        self._doc_changed = True

    def _on_twin_change(self, event: Any) -> None:
        self._integrated.append(event.update)

    def _reset_twin(self) -> None:
        """Rebuild the twin from `doc` and the updates on their way to the log: it may then lack
        something still pending (safe: the client's resync sends it again), never hold extra."""
        self.twin = pycrdt.Doc()
        self.twin.apply_update(self.doc.get_update())
        for update in self._unsaved.values():
            self.twin.apply_update(update)

    def validate(self, update: bytes) -> bytes | None:
        """Try a client's update on the twin; return what it integrated, None if nothing; or raise.

        What is stored, applied and fanned out is the update *as integrated* (the transaction's own
        update), not the client's bytes: a duplicate integrates nothing and is dropped; parts still
        waiting for a missing dependency stay pending in the twin and are stored with the update
        that completes them; and a hostile update reusing ids with other content cannot make a
        replay of the log differ from the live document, because the log only ever holds one
        consistent history. ProtocolError when pycrdt refuses the bytes.
        """
        if update == EMPTY_UPDATE:
            return None
        if not update_is_plausible(update):
            raise ProtocolError("implausible update header")
        self._integrated = []
        twin = self.twin
        subscription = twin.observe(self._on_twin_change)
        try:
            twin.apply_update(update)
        except Exception:
            self._reset_twin()
            raise ProtocolError("update refused by pycrdt") from None
        except BaseException as exc:  # pyo3's PanicException derives from BaseException
            if type(exc).__name__ != "PanicException":
                raise
            self._reset_twin()
            raise ProtocolError("update made pycrdt panic") from None
        finally:
            twin.unobserve(subscription)
        integrated = [u for u in self._integrated if u != EMPTY_UPDATE]
        if not integrated:
            return None
        return integrated[0] if len(integrated) == 1 else pycrdt.merge_updates(*integrated)

    def store(
        self,
        update: bytes,
        author_id: int | None,
        sender: Peer | None,
        on_stored: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        """Append to the log; once committed apply to `doc` and fan out (even if the sender left).

        `on_stored(None)` (or `on_stored(error)` when the log refused it) runs on the loop after
        that, in commit order. A plain callback, not a future: this runs for every keystroke.
        """
        self._unsaved_seq += 1
        token = self._unsaved_seq
        self._unsaved[token] = update

        def on_done(row_id: int | None, error: BaseException | None) -> None:
            self._unsaved.pop(token, None)
            if error is not None or row_id is None:
                self._reset_twin()
                if on_stored is not None:
                    on_stored(error or persistence.DatabaseUnavailable("no row id"))
                return
            self._committed(update, row_id, sender)
            if on_stored is not None:
                on_stored(None)

        persistence.writer.append(self.key, update, author_id, on_done)

    def _committed(self, update: bytes, row_id: int, sender: Peer | None) -> None:
        try:
            self.doc.apply_update(update)
        except Exception:  # validated on an identical twin, so this should not happen
            log.exception("room %s: a committed update failed to apply", self.key.name)
            return
        self.known_ids.add(row_id)
        self.stats["stored"] += 1
        self._outbox.append((encode_update(update), sender))
        self._outbox_remote.append((row_id, update))
        self._schedule_flush()
        self._mark_dirty(edited=True)
        if len(self.known_ids) > conf("COMPACT_AFTER_ROWS") and not self._compacting:
            self._compacting = True
            self._spawn(self._compact())

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and not self.closed:
            self._flush_scheduled = True
            self.registry.flush_soon(self)

    async def _flush(self) -> dict[str, Any] | None:
        """Send committed updates to this process's sockets; return the message for other processes."""
        self._flush_scheduled = False
        if self.closed:
            return None
        frames, self._outbox = self._outbox, []
        remote, self._outbox_remote = self._outbox_remote, []
        for frame, sender in frames:
            for peer in list(self.peers):
                if peer is not sender:
                    await peer.send_frame(frame)
        if not remote:
            return None
        return {"type": "room.updates", "ids": [row_id for row_id, _ in remote], "updates": [u for _, u in remote]}

    def _apply_known(self, updates: Iterable[bytes], ids: Iterable[int]) -> bytes | None:
        """Apply updates that are already in the log (from another process or a catch-up)."""
        batch = [u for u in updates if u]
        self.known_ids.update(ids)
        if not batch:
            return None
        try:
            merged = pycrdt.merge_updates(*batch) if len(batch) > 1 else batch[0]
            before = self.doc.get_state()
            self._doc_changed = False
            subscription = self.doc.observe(self._on_doc_change)
            try:
                self.doc.apply_update(merged)
            finally:
                self.doc.unobserve(subscription)
        except Exception:
            log.exception("room %s: a logged update failed to apply", self.key.name)
            return None
        try:
            self.twin.apply_update(merged)
        except Exception:
            self._reset_twin()
        if self._doc_changed or not update_is_known(merged, before):
            return merged  # new to us (or waiting for a dependency): local sockets need it too
        return None

    def sync_reply(self, state_vector: bytes) -> tuple[bytes, bytes]:
        """Answer a client's sync step 1: our diff (step 2) and our own state vector (step 1)."""
        decode_state_vector(state_vector)  # ProtocolError for garbage, before pycrdt sees it
        try:
            diff = self.doc.get_update(state_vector)
        except Exception:
            raise ProtocolError("state vector refused by pycrdt") from None
        return encode_sync_step2(diff), encode_sync_step1(self.doc.get_state())

    def greeting(self) -> bytes:
        return encode_sync_step1(self.doc.get_state())

    # --- cross-process ------------------------------------------------------------------------

    def has_remotes(self) -> bool:
        """Whether another process has this room loaded (heard of within PRESENCE_EXPIRY_SECONDS)."""
        if not self.remotes:
            return False
        oldest = time.monotonic() - conf("PRESENCE_EXPIRY_SECONDS")
        for origin, heard in list(self.remotes.items()):
            if heard < oldest:
                del self.remotes[origin]
                self.remote_seq.pop(origin, None)
        return bool(self.remotes)

    async def _hello(self, *, welcome: bool) -> None:
        if not self.cross_process or self.layer is None or self.closed:
            return
        try:
            message = {"type": "room.hello", "origin": PROCESS_ID, "welcome": welcome}
            await self.layer.group_send(self.key.group, message)
        except Exception:
            log.warning("room %s: channel layer send failed", self.key.name, exc_info=True)

    def _schedule_presence(self) -> None:
        self._timer("presence", conf("PRESENCE_SECONDS") * random.uniform(0.9, 1.1), self._on_presence_timer)  # noqa: S311

    def _on_presence_timer(self) -> None:
        if self.closed:
            return
        self._spawn(self._hello(welcome=False))
        self._schedule_presence()

    async def _publish(self, message: dict[str, Any]) -> None:
        if not self.cross_process or self.layer is None or self.closed:
            return
        if not self.has_remotes():
            return  # nobody else listens; the log has it for whoever loads the room later
        if message["type"] == "room.updates":
            self.seq += 1  # only updates are sequenced: a gap means a missed update
        message = {**message, "origin": PROCESS_ID, "seq": self.seq}
        try:
            await self.layer.group_send(self.key.group, message)
        except Exception:
            # Peers in other processes will catch up from the log.
            log.warning("room %s: channel layer send failed", self.key.name, exc_info=True)

    async def _listen(self) -> None:
        assert self.layer is not None
        # Messages wait in the channel until the room is loaded: applied to the empty document of a
        # room still loading, they would be thrown away with it.
        try:
            await asyncio.shield(self.ready)
        except Exception:
            return
        while not self.closed and self.channel is not None:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("room %s: channel layer receive failed", self.key.name, exc_info=True)
                await asyncio.sleep(1)
                self.request_catch_up()
                continue
            try:
                await self._on_remote(message)
            except Exception:
                log.exception("room %s: a message from another process failed", self.key.name)

    async def _on_remote(self, message: dict[str, Any]) -> None:
        origin = message.get("origin")
        if origin == PROCESS_ID or not isinstance(origin, str):
            return
        self.last_remote_at = time.monotonic()
        kind = message.get("type")
        if kind == "room.bye":
            self.remotes.pop(origin, None)
            self.remote_seq.pop(origin, None)
            self._schedule_periodic()
            return
        known = self.has_remotes() and origin in self.remotes
        self.remotes[origin] = self.last_remote_at
        if not known:
            # A process we did not know has this room: publish from now on, tell it so (a welcome
            # makes it read the log for what we committed before), show it who is here, and check
            # the log more often.
            await self._hello(welcome=True)
            await self._publish_local_awareness()
            self._schedule_periodic()
        if kind == "room.hello":
            if message.get("welcome"):
                self.request_catch_up()
            return
        if kind == "room.updates":
            seq = int(message.get("seq", 0))
            last = self.remote_seq.get(origin)
            if last is not None and seq > last + 1:
                self.request_catch_up()
            self.remote_seq[origin] = max(seq, last or 0)
            ids = [int(i) for i in message.get("ids", [])]
            updates = [
                bytes(u) for u, i in zip(message.get("updates", []), ids, strict=False) if i not in self.known_ids
            ]
            self.stats["remote"] += len(updates)
            merged = self._apply_known(updates, ids)
            if merged is not None:
                frame = encode_update(merged)
                for peer in list(self.peers):
                    await peer.send_frame(frame)
        elif kind == "room.awareness":
            await self.receive_awareness(
                bytes(message.get("update", b"")), peer=None, is_teacher=bool(message.get("teacher"))
            )

    def request_catch_up(self) -> None:
        if self.closed:
            return
        if self._catching_up:
            self._catch_up_again = True
            return
        self._catching_up = True
        self._spawn(self._catch_up())

    async def _catch_up(self) -> None:
        try:
            while True:
                self._catch_up_again = False
                self.stats["catch_ups"] += 1
                result = await persistence.maintenance.submit(
                    persistence.fetch_missing, self.key, frozenset(self.known_ids), self.snapshot_version
                )
                updates = [data for row_id, data in result.rows if row_id not in self.known_ids]
                ids = [row_id for row_id, _ in result.rows]
                if result.snapshot is not None and result.snapshot[0] != self.snapshot_version:
                    self.snapshot_version = result.snapshot[0]
                    updates.insert(0, result.snapshot[1])
                merged = self._apply_known(updates, ids)
                if merged is not None:
                    frame = encode_update(merged)
                    for peer in list(self.peers):
                        await peer.send_frame(frame)
                # Forget ids compacted away (a wrongly forgotten id only means one harmless re-apply).
                in_log = set(result.ids_in_log)
                top = max(in_log, default=0)
                self.known_ids = {i for i in self.known_ids if i in in_log or i > top}
                if not self._catch_up_again or self.closed:
                    break
        except persistence.DatabaseUnavailable:
            log.warning("room %s: catch-up postponed, database unavailable", self.key.name)
        finally:
            self._catching_up = False

    def _schedule_periodic(self) -> None:
        interval = conf("CATCHUP_SECONDS") if self.has_remotes() else conf("CATCHUP_SECONDS_SINGLE")
        # Rooms of a class load within seconds of each other; spread their checks over the interval
        # so they do not all hit the maintenance thread at once.
        self._timer("periodic", interval * random.uniform(0.75, 1.25), self._periodic)  # noqa: S311 - not security

    def _periodic(self) -> None:
        if self.closed:
            return
        self._expire_awareness()
        if self.peers:
            self.request_catch_up()
        self._schedule_periodic()

    async def _compact(self) -> None:
        try:
            result = await persistence.maintenance.submit(persistence.compact_room, self.key)
            if result is None:
                return
            self.stats["compactions"] += 1
            unseen = any(row_id not in self.known_ids for row_id in result.merged_ids)
            self.known_ids.difference_update(result.merged_ids)
            if unseen or result.previous_version != self.snapshot_version:
                merged = self._apply_known([result.state], [])
                if merged is not None:
                    frame = encode_update(merged)
                    for peer in list(self.peers):
                        await peer.send_frame(frame)
            self.snapshot_version = result.version
        except persistence.DatabaseUnavailable:
            log.warning("room %s: compaction postponed, database unavailable", self.key.name)
        finally:
            self._compacting = False

    # --- answers --------------------------------------------------------------------------------

    def _mark_dirty(self, *, edited: bool) -> None:
        """Materialise about MATERIALISE_DELAY after the last change, at most MATERIALISE_MAX_DELAY after the first.

        Runs for every committed update, so it only notes the times; the one pending timer re-arms
        itself when it fires early (a timer per update would cost more than the update itself).
        """
        now = time.monotonic()
        if edited:
            self.last_edit_at = time.time()
        self.dirty_at = now
        if self.dirty_since is None:
            self.dirty_since = now
        if "materialise" not in self._timers and not self._materialising and not self.closed:
            self._arm_materialise(now)

    def _materialise_due(self) -> float:
        assert self.dirty_since is not None
        return min(
            self.dirty_at + conf("MATERIALISE_DELAY_SECONDS"), self.dirty_since + conf("MATERIALISE_MAX_DELAY_SECONDS")
        )

    def _arm_materialise(self, now: float) -> None:
        self._timer("materialise", max(0.0, self._materialise_due() - now), self._on_materialise_timer)

    def _on_materialise_timer(self) -> None:
        self._timers.pop("materialise", None)
        if self.closed or self.dirty_since is None or self._materialising:
            return
        now = time.monotonic()
        if self._materialise_due() > now + 0.001:  # changed again since the timer was set
            self._arm_materialise(now)
            return
        self._materialising = True
        self.registry.materialise_soon(self)

    async def _materialise(self) -> None:
        """Store the answers (maintenance thread) and announce the progress.

        One at a time per room: changes made meanwhile are folded into the next run instead of
        queueing a run per timer.
        """
        timer = self._timers.pop("materialise", None)
        if timer is not None:
            timer.cancel()
        self._materialising = True
        self.dirty_since = None
        update = self.doc.get_update()
        edited_at = (
            None if self.last_edit_at is None else datetime.datetime.fromtimestamp(self.last_edit_at, datetime.UTC)
        )
        try:
            progress = await persistence.maintenance.submit(
                answers_materialise,
                worksheet_id=self.key.worksheet_id,
                student_id=self.key.student_id,
                update=update,
                fields=self.fields,
                edited_at=edited_at,
            )
        except persistence.DatabaseUnavailable:
            self._materialising = False
            self._mark_dirty(edited=False)
            return
        finally:
            if self._materialising:
                self._materialising = False
                if self.dirty_since is not None and not self.closed:
                    self._arm_materialise(time.monotonic())
        if progress is not None and self.layer is not None:
            try:
                await self.layer.group_send(
                    LIVE_GROUP.format(classroom_id=self.classroom_id), {"type": "worksheet.progress", **progress}
                )
            except Exception:
                log.warning("room %s: progress hook failed", self.key.name, exc_info=True)

    # --- awareness ------------------------------------------------------------------------------

    async def receive_awareness(self, data: bytes, *, peer: Peer | None, is_teacher: bool) -> None:
        """Apply an awareness update from a local socket (peer) or another process (peer None)."""
        entries = decode_awareness_update(data)
        now = time.monotonic()
        accepted = []
        for entry in entries:
            record = self.awareness.get(entry.client_id)
            if peer is not None and record is not None and record.owner is not None and record.owner is not peer:
                continue  # another local socket owns this clientID
            if (
                peer is not None
                and entry.client_id not in peer.client_ids
                and len(peer.client_ids) >= conf("AWARENESS_CLIENTS_PER_SOCKET")
            ):
                continue  # more clientIDs than a browser uses: dropped like someone else's
            if record is not None:
                newer = entry.clock > record.clock or (
                    entry.clock == record.clock and entry.state is None and record.state is not None
                )
                if not newer:
                    if peer is not None and record.state is None and entry.state is not None:
                        # A client back after we removed it: show it the removal, it bumps its clock
                        # past it and announces itself again (y-protocols awareness.js does this).
                        await peer.send_frame(
                            encode_awareness(
                                encode_awareness_update([AwarenessEntry(entry.client_id, record.clock, None)])
                            )
                        )
                    continue
            visible = is_teacher and _teacher_visible(entry.state)
            owner = peer if entry.state is not None else None
            self.awareness[entry.client_id] = AwarenessRecord(entry.clock, entry.state, is_teacher, visible, owner, now)
            if peer is not None:
                # Kept after a removal too: the cap counts every clientID the socket ever spoke for.
                peer.client_ids.add(entry.client_id)
            accepted.append(entry)
        if not accepted:
            return
        await self._relay_awareness(accepted, is_teacher=is_teacher, exclude=peer)
        if peer is not None:
            await self._publish(
                {"type": "room.awareness", "teacher": is_teacher, "update": encode_awareness_update(accepted)}
            )

    async def _publish_local_awareness(self) -> None:
        """Send the states of this process's sockets to the other processes (one message per kind
        of sender, as the receiving side shows quiet teachers to teachers only)."""
        for is_teacher in (False, True):
            entries = [
                AwarenessEntry(client_id, record.clock, record.state)
                for client_id, record in self.awareness.items()
                if record.owner is not None and record.state is not None and record.is_teacher == is_teacher
            ]
            if entries:
                await self._publish(
                    {"type": "room.awareness", "teacher": is_teacher, "update": encode_awareness_update(entries)}
                )

    def _for_students(self, entries: list[AwarenessEntry], *, is_teacher: bool) -> list[AwarenessEntry]:
        if not is_teacher:
            return entries
        shown = []
        for entry in entries:
            if _teacher_visible(entry.state):
                self.teacher_shown.add(entry.client_id)
                shown.append(entry)
            elif entry.client_id in self.teacher_shown:
                self.teacher_shown.discard(entry.client_id)
                shown.append(AwarenessEntry(entry.client_id, entry.clock, None))
        return shown

    async def _relay_awareness(self, entries: list[AwarenessEntry], *, is_teacher: bool, exclude: Peer | None) -> None:
        full = encode_awareness(encode_awareness_update(entries))
        student_entries = self._for_students(entries, is_teacher=is_teacher)
        for_students = full if student_entries is entries else None
        if for_students is None and student_entries:
            for_students = encode_awareness(encode_awareness_update(student_entries))
        for peer in list(self.peers):
            if peer is exclude:
                continue
            frame = full if peer.is_teacher else for_students
            if frame is not None:
                await peer.send_frame(frame)

    def awareness_frame(self, *, for_teacher: bool) -> bytes | None:
        """The current states for a late joiner (quiet teachers left out for students)."""
        self._expire_awareness()
        entries = [
            AwarenessEntry(client_id, record.clock, record.state)
            for client_id, record in self.awareness.items()
            if record.state is not None and (for_teacher or not record.is_teacher or record.visible)
        ]
        if not entries:
            return None
        return encode_awareness(encode_awareness_update(entries))

    def _expire_awareness(self) -> None:
        now = time.monotonic()
        timeout = conf("AWARENESS_TIMEOUT_SECONDS")
        tombstone = conf("AWARENESS_TOMBSTONE_SECONDS")
        for client_id, record in list(self.awareness.items()):
            if record.state is None:
                if now - record.seen_at > tombstone:
                    del self.awareness[client_id]
            elif record.owner is None and now - record.seen_at > timeout:
                # A remote client not renewed (its process may have died): clients drop it too.
                record.state = None
                record.seen_at = now
                self.teacher_shown.discard(client_id)


class Registry:
    def __init__(self) -> None:
        self.rooms: dict[RoomKey, Room] = {}
        self.loop = asyncio.get_running_loop()
        # Rooms due for materialisation, in order; one runs at a time, within MATERIALISE_TIME_SHARE:
        # `_budget` is the time it may still use (at most one second's share), refilled as time passes.
        self._to_materialise: dict[Room, None] = {}
        self._materialising = False
        self._budget = float(conf("MATERIALISE_TIME_SHARE"))
        self._budget_at = time.monotonic()
        self._pump_timer: asyncio.TimerHandle | None = None
        # Rooms with committed updates to fan out (flush_soon).
        self._to_flush: list[Room] = []
        self._flush_pending = False
        self._flush_tasks: set[asyncio.Task[None]] = set()

    def flush_soon(self, room: Room) -> None:
        """Fan out `room`'s committed updates soon, in one task with every other room committed meanwhile.

        A commit of the writer thread delivers updates of many rooms at once; a task per room per
        commit was a twentieth of the event loop's time.
        """
        self._to_flush.append(room)
        if not self._flush_pending:
            self._flush_pending = True
            task = self.loop.create_task(self._flush_rooms())
            self._flush_tasks.add(task)
            task.add_done_callback(self._flush_tasks.discard)

    async def _flush_rooms(self) -> None:
        self._flush_pending = False
        due, self._to_flush = self._to_flush, []
        # Sockets of this process first: Redis takes one publish at a time, and partners here
        # should not wait for it.
        remote = []
        for room in due:
            try:
                message = await room._flush()
            except Exception:
                log.exception("room %s: fan-out failed", room.key.name)
                continue
            if message is not None:
                remote.append((room, message))
        for room, message in remote:
            await room._publish(message)

    def materialise_soon(self, room: Room) -> None:
        self._to_materialise[room] = None
        self._pump()

    def _materialised(self, started: float, _task: asyncio.Task[None]) -> None:
        """The materialisation `_pump` started has ended (or was cancelled with its room)."""
        self._materialising = False
        self._refill()
        self._budget -= time.monotonic() - started  # waiting for the maintenance thread included
        self._pump()

    def _refill(self) -> None:
        share = float(conf("MATERIALISE_TIME_SHARE"))
        now = time.monotonic()
        self._budget = min(share, self._budget + (now - self._budget_at) * share)
        self._budget_at = now

    def _pump(self) -> None:
        if self._pump_timer is not None or self._materialising:
            return
        self._refill()
        if self._budget <= 0:
            wait = -self._budget / float(conf("MATERIALISE_TIME_SHARE"))
            self._pump_timer = self.loop.call_later(wait + 0.001, self._on_pump_timer)
            return
        while self._to_materialise:
            room = next(iter(self._to_materialise))
            del self._to_materialise[room]
            if room.closed:  # an unloading room materialises by itself
                room._materialising = False
                continue
            self._materialising = True
            started = time.monotonic()
            task = room._spawn(room._materialise())
            task.add_done_callback(functools.partial(self._materialised, started))
            return

    def _on_pump_timer(self) -> None:
        self._pump_timer = None
        self._pump()


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Registry] = weakref.WeakKeyDictionary()


def registry() -> Registry:
    loop = asyncio.get_running_loop()
    found = _registries.get(loop)
    if found is None:
        found = _registries[loop] = Registry()
    return found


async def join(key: RoomKey, access: DocAccess, peer: Peer) -> Room:
    """The live room of `key` with `peer` in it, loaded from the database if needed.

    Raises persistence.DatabaseUnavailable when the room cannot be loaded.
    """
    reg = registry()
    room = reg.rooms.get(key)
    if room is None or room.closed:
        room = Room(key, access, reg)
        reg.rooms[key] = room
        room._spawn(room.start())
    await asyncio.shield(room.ready)
    room.add_peer(peer)
    return room


def rooms_in_memory() -> dict[RoomKey, Room]:
    return dict(registry().rooms)


async def unload_all() -> None:
    """Unload every room of this loop cleanly (materialise, compact); used at shutdown and in tests."""
    reg = registry()
    for room in list(reg.rooms.values()):
        await room.unload()


def forget_all() -> None:
    """Drop every room of this loop without writing anything, as a crash would."""
    reg = registry()
    for room in list(reg.rooms.values()):
        room.forget()
    reg.rooms.clear()


def drop(room: Room) -> None:
    """Forget one room without writing anything, so the next socket loads it from the database again.

    For a document rewritten in the database (a deleted student, worksheets/services_privacy.py): this
    process's copy must not materialise or compact its older state.
    """
    if room.registry.rooms.get(room.key) is room:
        del room.registry.rooms[room.key]
    room.forget()
