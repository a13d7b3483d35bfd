"""The update log in the database, written and read off the event loop.

Two dedicated threads per process, each owning its own database connection:

- the **writer** appends accepted updates with group commit: everything that arrives while the
  previous transaction commits (plus a linger of a couple of milliseconds) goes into one
  transaction with one `bulk_create`, so hundreds of updates per second cost a handful of commits;
- the **maintenance** thread runs room loads, catch-ups, compactions and answer materialisation.

The event loop never touches the database itself and never waits on a thread pool per message.
Results come back to the loop with `call_soon_threadsafe`, once per batch.

The database is the source of truth: a room is rebuilt from its DocSnapshot plus the DocUpdate rows
left after compaction, read from the database, never from plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from worksheets.models import DocSnapshot, DocUpdate
from worksheets.yprotocol import EMPTY_UPDATE, merge_for_snapshot, rebuild_doc

log = logging.getLogger("havruta.ws")

# Written rows per transaction at most (SQLite allows 32766 bound variables; a row binds five).
MAX_BATCH = 500


class DatabaseUnavailable(RuntimeError):
    """The database did not accept the write (or read) in time; nothing was acknowledged."""


class RoomGone(RuntimeError):
    """The worksheet or student of the document no longer exists."""


@dataclass(frozen=True, slots=True)
class RoomKey:
    """One live document: the shared doc of a worksheet (student_id None) or a student's personal doc."""

    worksheet_id: int
    student_id: int | None = None

    @property
    def name(self) -> str:
        if self.student_id is None:
            return f"worksheet:{self.worksheet_id}"
        return f"worksheet:{self.worksheet_id}:student:{self.student_id}"

    @property
    def group(self) -> str:
        # Channels group names allow only letters, digits, "-", "_" and ".".
        if self.student_id is None:
            return f"ws-room-{self.worksheet_id}"
        return f"ws-room-{self.worksheet_id}-s-{self.student_id}"

    def filter(self) -> dict[str, Any]:
        if self.student_id is None:
            return {"worksheet_id": self.worksheet_id, "student__isnull": True}
        return {"worksheet_id": self.worksheet_id, "student_id": self.student_id}


def _bytes(value: bytes | memoryview) -> bytes:
    return value.tobytes() if isinstance(value, memoryview) else bytes(value)


# --- threads --------------------------------------------------------------------------------------


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in results:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class DbThread:
    """A daemon thread with its own database connection that runs jobs in order.

    The connection is closed after `idle_close` seconds without work (and after any database
    error), so an idle process holds no connection and a restarted database is reconnected to.
    """

    def __init__(self, name: str, idle_close: float = 2.0) -> None:
        self.name = name
        self.idle_close = idle_close
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Run fn(*args, **kwargs) on the thread; await the returned future on the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._ensure_started()
        self._queue.put((fn, args, kwargs, future, loop))
        return future

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30, **kwargs: Any) -> Any:
        """Run a job from a synchronous caller (tests, shutdown) and wait for it."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def job() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()

        self._ensure_started()
        self._queue.put((job, (), {}, None, None))
        if not done.wait(timeout):
            raise TimeoutError(f"{self.name} did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.idle_close)
            except queue.Empty:
                connection.close()
                continue
            self._handle(item)

    def _handle(self, item: Any) -> None:
        fn, args, kwargs, future, loop = item
        try:
            value, error = fn(*args, **kwargs), None
        except DatabaseError as exc:
            log.warning("database error in %s: %s", self.name, type(exc).__name__)
            _close_broken_connection()
            value, error = None, DatabaseUnavailable(type(exc).__name__)
        except Exception as exc:
            log.exception("job failed in %s", self.name)
            value, error = None, exc
        if future is not None:
            # RuntimeError: the loop is closed (a test ended); nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, [(future, value, error)])


def _close_broken_connection() -> None:
    try:
        connection.close()
    except Exception:  # the connection may be half dead; a new one is opened on the next query
        log.debug("closing a broken connection failed", exc_info=True)


@dataclass(slots=True)
class PendingWrite:
    key: RoomKey
    data: bytes
    author_id: int | None
    on_done: Callable[[int | None, BaseException | None], None]  # runs on the loop, in commit order
    loop: asyncio.AbstractEventLoop


class UpdateWriter(DbThread):
    """Appends DocUpdate rows with group commit (see the module docstring)."""

    def __init__(self, name: str = "havruta-ws-writer", linger: float = 0.002, retry_for: float = 3.0) -> None:
        super().__init__(name)
        self.linger = linger
        self.retry_for = retry_for
        self.batches = 0
        self.rows = 0
        self._staged: dict[asyncio.AbstractEventLoop, list[PendingWrite]] = {}  # per loop, until its next turn

    def append(
        self,
        key: RoomKey,
        data: bytes,
        author_id: int | None,
        on_done: Callable[[int | None, BaseException | None], None],
    ) -> None:
        """Queue one update; `on_done(row_id, None)` or `on_done(None, error)` runs on this loop.

        Updates are handed to the thread once per turn of the event loop, all together: a hand-over
        per update woke the thread (and made it take the GIL) for every keystroke of every student.
        """
        loop = asyncio.get_running_loop()
        staged = self._staged.get(loop)
        if staged is None:
            staged = self._staged[loop] = []
            loop.call_soon(self._hand_over, loop)
        staged.append(PendingWrite(key, data, author_id, on_done, loop))

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        staged = self._staged.pop(loop, None)
        if staged:
            self._ensure_started()
            self._queue.put(staged)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_close)
            except queue.Empty:
                connection.close()
                continue
            if not isinstance(first, list):  # a plain job (close_connection, tests)
                self._handle(first)
                continue
            batch = list(first)
            # Linger, then take whatever arrived meanwhile: sleeping instead of waiting on the queue
            # spares a wake-up (and a turn with the GIL, taken from the event loop) per hand-over.
            time.sleep(self.linger)
            others = []
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, list):
                    batch.extend(item)
                else:
                    others.append(item)
            for start in range(0, len(batch), MAX_BATCH):
                self._write(batch[start : start + MAX_BATCH])
            for item in others:
                self._handle(item)

    def _write(self, batch: list[PendingWrite]) -> None:
        outcomes: list[tuple[int | None, BaseException | None]]
        deadline = time.monotonic() + self.retry_for
        pause = 0.05
        while True:
            try:
                outcomes = [(row_id, None) for row_id in self._insert(batch)]
                break
            except IntegrityError:
                # One row points at a deleted worksheet or user: write the others one by one.
                _close_broken_connection()
                outcomes = [self._insert_one(item) for item in batch]
                break
            except DatabaseError as exc:
                _close_broken_connection()
                if time.monotonic() >= deadline:
                    log.error("update log unavailable, %d updates refused: %s", len(batch), type(exc).__name__)
                    error = DatabaseUnavailable(type(exc).__name__)
                    outcomes = [(None, error)] * len(batch)
                    break
                log.warning("update log write failed, retrying: %s", type(exc).__name__)
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
        self.batches += 1
        self.rows += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[PendingWrite, int | None, BaseException | None]]] = {}
        for item, (row_id, error) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(item.loop, []).append((item, row_id, error))
        for loop, results in by_loop.items():
            # RuntimeError: the loop is closed; the rows are committed and will be loaded from the log.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, results)

    @staticmethod
    def _row(item: PendingWrite, created_at: Any) -> DocUpdate:
        return DocUpdate(
            worksheet_id=item.key.worksheet_id,
            student_id=item.key.student_id,
            data=item.data,
            author_id=item.author_id,
            created_at=created_at,
        )

    def _insert(self, batch: list[PendingWrite]) -> list[int]:
        now = timezone.now()  # one clock reading per batch: the rows are stored together
        if connection.features.can_return_rows_from_bulk_insert:
            # One statement, so a transaction of its own in autocommit mode: no BEGIN and COMMIT
            # round trips around it (PostgreSQL), all rows or none either way.
            return _insert_returning_ids(batch, now)
        with transaction.atomic():  # bulk_create may split a batch into several statements
            return [row.pk for row in DocUpdate.objects.bulk_create([self._row(item, now) for item in batch])]

    def _insert_one(self, item: PendingWrite) -> tuple[int | None, BaseException | None]:
        try:
            with transaction.atomic():
                row = self._row(item, timezone.now())
                row.save(force_insert=True)
            return row.pk, None
        except IntegrityError:
            return None, RoomGone(item.key.name)
        except DatabaseError as exc:
            _close_broken_connection()
            return None, DatabaseUnavailable(type(exc).__name__)


def _insert_returning_ids(batch: list[PendingWrite], created_at: Any) -> list[int]:
    """One INSERT ... RETURNING id for the whole batch, ids in batch order.

    What bulk_create does, without building a model instance and compiling every field of every row:
    a fifth of the CPU per row, and this thread holds the GIL the event loop needs for all of it.
    """
    ops = connection.ops
    columns = ", ".join(ops.quote_name(DocUpdate._meta.get_field(name).column) for name in _COLUMNS)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
    table, pk = ops.quote_name(DocUpdate._meta.db_table), ops.quote_name(DocUpdate._meta.pk.column)
    sql = f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {pk}"  # noqa: S608 - model names; values bound
    params: list[Any] = []
    created = ops.adapt_datetimefield_value(created_at)
    for item in batch:
        params += (item.key.worksheet_id, item.key.student_id, item.data, item.author_id, created)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # RETURNING promises no order; ids grow in VALUES order (SQLite AUTOINCREMENT, a PostgreSQL
        # identity evaluated row by row), so sorted ids line up with the batch.
        return sorted(row[0] for row in cursor.fetchall())


_COLUMNS = ("worksheet", "student", "data", "author", "created_at")


def _deliver(results: list[tuple[PendingWrite, int | None, BaseException | None]]) -> None:
    for item, row_id, error in results:
        try:
            item.on_done(row_id, error)
        except Exception:
            log.exception("applying a committed update failed")


writer = UpdateWriter()
maintenance = DbThread("havruta-ws-maintenance")


def settle(timeout: float = 30) -> None:
    """Wait until both threads have done everything queued so far, then close their connections.

    For tests (the test database is flushed or dropped right after) and for an orderly shutdown.
    """
    for thread in (writer, maintenance):
        if thread.running:
            # A function, not `connection.close`: the proxy must be resolved on the worker thread,
            # where that thread's own connection lives.
            thread.call(_close_own_connection, timeout=timeout)


def _close_own_connection() -> None:
    connection.close()


# --- jobs (run on the maintenance thread) ----------------------------------------------------------


@dataclass(slots=True)
class LoadedRoom:
    updates: list[bytes]  # the snapshot (if any) first, then the log rows in id order
    ids: set[int]
    snapshot_version: int


def load_room(key: RoomKey) -> LoadedRoom:
    # Rows first, then the snapshot: a compaction committing in between moves rows into the snapshot,
    # so we see them at least once (twice is harmless: Yjs updates are idempotent).
    rows = list(DocUpdate.objects.filter(**key.filter()).order_by("id").values_list("id", "data"))
    snapshot = DocSnapshot.objects.filter(**key.filter()).values_list("version", "state").first()
    updates = [_bytes(data) for _id, data in rows]
    version = 0
    if snapshot is not None:
        version = snapshot[0]
        updates.insert(0, _bytes(snapshot[1]))
    return LoadedRoom(updates=updates, ids={row_id for row_id, _data in rows}, snapshot_version=version)


@dataclass(slots=True)
class CatchUp:
    ids_in_log: list[int]
    rows: list[tuple[int, bytes]]
    snapshot: tuple[int, bytes] | None  # (version, state) when the version differs from ours


def fetch_missing(key: RoomKey, known: frozenset[int], snapshot_version: int) -> CatchUp:
    """The log rows of the room this process has not applied, and the snapshot if it changed."""
    ids = list(DocUpdate.objects.filter(**key.filter()).values_list("id", flat=True))
    missing = [row_id for row_id in ids if row_id not in known]
    rows = []
    if missing:
        rows = [
            (row_id, _bytes(data))
            for row_id, data in DocUpdate.objects.filter(id__in=missing).order_by("id").values_list("id", "data")
        ]
    snapshot = None
    current = DocSnapshot.objects.filter(**key.filter()).values_list("version", flat=True).first()
    if current is not None and current != snapshot_version:
        found = DocSnapshot.objects.filter(**key.filter()).values_list("version", "state").first()
        if found is not None:
            snapshot = (found[0], _bytes(found[1]))
    return CatchUp(ids_in_log=ids, rows=rows, snapshot=snapshot)


@dataclass(slots=True)
class Compaction:
    merged_ids: list[int]
    state: bytes
    version: int
    previous_version: int
    skipped: int = field(default=0)


def _snapshot_row(key: RoomKey) -> None:
    try:
        with transaction.atomic():
            DocSnapshot.objects.get_or_create(
                worksheet_id=key.worksheet_id, student_id=key.student_id, defaults={"state": EMPTY_UPDATE}
            )
    except IntegrityError:  # another process created it at the same moment
        pass


def compact_room(key: RoomKey, min_rows: int = 1) -> Compaction | None:
    """Fold snapshot + ALL log rows of the room, read from the database, into a new snapshot.

    The snapshot row is locked (SELECT ... FOR UPDATE; SQLite's IMMEDIATE transactions lock the
    whole database), so two compactions of one room never interleave; exactly the merged row ids
    are deleted, so rows another process inserts meanwhile stay in the log.
    """
    if not DocUpdate.objects.filter(**key.filter()).exists():
        return None
    _snapshot_row(key)
    with transaction.atomic():
        snapshot = DocSnapshot.objects.select_for_update().get(**key.filter())
        rows = list(DocUpdate.objects.filter(**key.filter()).order_by("id").values_list("id", "data"))
        if len(rows) < min_rows:
            return None
        previous = snapshot.version
        updates = [_bytes(snapshot.state)] + [_bytes(data) for _id, data in rows]
        skipped = 0
        try:
            state = merge_for_snapshot(updates)
        except (ValueError, RuntimeError):  # a row pycrdt refuses (should never have been stored)
            doc, bad = rebuild_doc(updates)
            state, skipped = doc.get_update(), len(bad)
            log.error("compaction of %s skipped %d unreadable rows", key.name, skipped)
        snapshot.state = state
        snapshot.version = previous + 1
        snapshot.save(update_fields=["state", "version", "updated_at"])
        ids = [row_id for row_id, _data in rows]
        DocUpdate.objects.filter(id__in=ids).delete()
    return Compaction(merged_ids=ids, state=state, version=previous + 1, previous_version=previous, skipped=skipped)


def read_log(key: RoomKey) -> list[bytes]:
    """Snapshot + log rows of a room as stored (tests and tools replay them)."""
    loaded = load_room(key)
    return loaded.updates


def doc_update(*, worksheet_id: int, student_id: int | None = None) -> bytes | None:
    """A worksheet document as one Yjs update, read from the database (None if never edited).

    For readers outside the live server (PDFs, exports): the snapshot plus the log, merged.
    """
    updates = load_room(RoomKey(worksheet_id, student_id)).updates
    return merge_for_snapshot(updates) if updates else None


def shared_doc_update(*, worksheet: Any) -> bytes | None:
    """The shared document of `worksheet` as one update (used by worksheets/pdf.py)."""
    return doc_update(worksheet_id=worksheet.pk)
