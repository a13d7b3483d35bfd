"""Helpers for the fault drills (tests/test_drills.py): typing clients, private Redis and PostgreSQL.

`Typist` behaves like the browser's provider (frontend/src/provider.js) over a real socket: one Yjs
document for the whole drill, reconnect with backoff after any close, offline edits kept in the
document and sent as the sync step 2 that answers the server's state vector on reconnect. Every
edit inserts a unique token (`<a17>`) and remembers the client's clock after it, so the drill knows
exactly which edits the server acknowledged: those covered by a state vector the server sent
(PROTOCOL.md: the server's sync step 1 only ever covers updates committed to the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pycrdt
import redis

from tests.asgi_server import free_port
from tests.ws_helpers import YPeer
from worksheets.models import DocSnapshot, DocUpdate
from worksheets.yprotocol import SYNC_STEP2, decode_state_vector, encode_sync_step1, encode_update, rebuild_doc

TOKEN = re.compile(r"<[a-z]\d+>")
WELL_FORMED = re.compile(r"(?:<[a-z]\d+>)*")

# The browser's backoff (provider.js: 0.5 s doubling up to 10 s, jittered; reset once a socket opens).
BACKOFF_MIN = 0.5
BACKOFF_MAX = 10.0
# The browser asks "is everything saved?" 0.5 s after an edit and every 15 s; the drills ask every
# half second while typing goes on, so acknowledgements are counted as they happen.
ASK_EVERY = 0.5


@dataclass(slots=True)
class Edit:
    token: str
    clock: int  # the typist's own clock after this edit: acknowledged once the server's state vector reaches it


def at_end(text: str) -> int:
    return len(text)


def at_random_boundary(rng: random.Random) -> Callable[[str], int]:
    """A position between two tokens (never inside one), so a token is only ever split by a bug."""

    def position(text: str) -> int:
        return rng.choice([0, *(i + 1 for i, char in enumerate(text) if char == ">")])

    return position


class Typist(YPeer):
    """A student's worksheet page: types tokens into a field, stays connected as a browser would."""

    def __init__(self, *, letter: str, user_id: int, base_url: str, path: str, cookie: dict[str, str]) -> None:
        super().__init__()
        self.letter = letter
        self.user_id = user_id
        self.base_url = base_url
        self.path = path
        self.cookie = cookie
        self.client_id = self.doc.client_id
        self.edits: list[Edit] = []
        self.acked = 0  # edits[:acked] are acknowledged (own clocks only grow, so a prefix)
        self.ws: Any = None
        self.synced = False  # got the server's sync step 2 on the current socket
        self.saw: Counter[str] = Counter()  # how sockets ended: close codes, refused, failed handshakes
        self.connects = 0
        self._online = asyncio.Event()
        self._online.set()
        self._dropping = False
        self._attempts = 0
        self._tasks: list[asyncio.Task[None]] = []

    # --- connection ---------------------------------------------------------------------------

    def start(self) -> Typist:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run()), loop.create_task(self._ask())]
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)

    async def _run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

        while True:
            await self._online.wait()
            try:
                ws = await connect(
                    self.base_url.replace("http://", "ws://") + self.path,
                    origin=self.base_url,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"{self.cookie['name']}={self.cookie['value']}"},
                    compression=None,
                    proxy=None,
                    open_timeout=5,
                )
            except InvalidStatus as exc:
                self.saw[f"HTTP {exc.response.status_code}"] += 1
                await self._backoff()
                continue
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                self.saw["refused" if isinstance(exc, ConnectionRefusedError) else type(exc).__name__] += 1
                await self._backoff()
                continue
            self.ws, self.synced, self._attempts = ws, False, 0
            self.connects += 1
            try:
                await ws.send(encode_sync_step1(self.doc.get_state()))
                async for frame in ws:
                    if isinstance(frame, bytes):
                        for reply in self.handle(frame):
                            await ws.send(reply)
            except ConnectionClosed:
                pass
            self.ws, self.synced = None, False
            if self._dropping:
                self._dropping = False
            else:
                self.saw[str(ws.close_code)] += 1
            await self._backoff()

    async def _backoff(self) -> None:
        base = min(BACKOFF_MAX, BACKOFF_MIN * 2**self._attempts)
        self._attempts += 1
        await asyncio.sleep(base / 2 + random.random() * base / 2)

    async def _ask(self) -> None:
        while True:
            await asyncio.sleep(ASK_EVERY)
            ws = self.ws
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.send(encode_sync_step1(self.doc.get_state()))

    def drop(self) -> None:
        """The network drops mid-typing: the TCP connection dies without a closing handshake."""
        if self.ws is not None:
            self._dropping = True
            self.ws.transport.abort()

    def go_offline(self) -> None:
        """No network at all: drop the socket and do not try again until `go_online`."""
        self._online.clear()
        self.drop()

    def go_online(self) -> None:
        self._attempts = 0
        self._online.set()

    # --- document -----------------------------------------------------------------------------

    def handle(self, frame: bytes) -> list[bytes]:
        replies = super().handle(frame)
        if frame[:2] == bytes([0, SYNC_STEP2]):
            self.synced = True
        if self.server_state is not None:
            saved = decode_state_vector(self.server_state).get(self.client_id, 0)
            while self.acked < len(self.edits) and self.edits[self.acked].clock <= saved:
                self.acked += 1
        return replies

    async def type(self, field_key: str, position: Callable[[str], int] = at_end) -> None:
        token = f"<{self.letter}{len(self.edits)}>"

        def change(doc: pycrdt.Doc) -> None:
            text = doc.get(field_key, type=pycrdt.Text)
            text.insert(position(str(text)), token, attrs={"a": str(self.user_id)})

        updates = self.local_changes(change)
        self.edits.append(Edit(token, decode_state_vector(self.doc.get_state())[self.client_id]))
        ws = self.ws
        if ws is None:
            return  # offline: the edit waits in the document for the next sync
        for update in updates:
            try:
                await ws.send(encode_update(update))
            except Exception:  # closing under us: the next connection's sync sends it
                return

    @property
    def sent(self) -> set[str]:
        return {edit.token for edit in self.edits}

    @property
    def acknowledged(self) -> set[str]:
        return {edit.token for edit in self.edits[: self.acked]}

    @property
    def all_saved(self) -> bool:
        return self.ws is not None and self.synced and self.acked == len(self.edits)

    def texts(self, fields: list[str]) -> dict[str, str]:
        return {key: self.text(key) for key in fields}


async def type_for(
    typists: list[Typist],
    seconds: float,
    *,
    rate: float,
    fields: dict[Typist, str],
    position: Callable[[Typist], Callable[[str], int]] = lambda _t: at_end,
) -> None:
    """Everyone types `rate` edits a second on the same clock ticks (edits of one tick are concurrent)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while loop.time() - start < seconds:
        for typist in typists:
            await typist.type(fields[typist], position(typist))
        tick += 1
        await asyncio.sleep(max(0.0, start + tick / rate - loop.time()))


async def settle(typists: list[Typist], fields: list[str], timeout: float = 45) -> bool:
    """Wait until every typist is connected, has all its edits acknowledged, and all documents agree."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if all(t.all_saved for t in typists) and len({tuple(t.texts(fields).items()) for t in typists}) == 1:
            return True
        await asyncio.sleep(0.1)
    return False


def tokens_in(texts: dict[str, str]) -> list[str]:
    return [token for text in texts.values() for token in TOKEN.findall(text)]


# --- the database's copy ------------------------------------------------------------------------


def stored_texts(dsn: str, worksheet_id: int, fields: list[str]) -> dict[str, str]:
    """The shared document as the database holds it (snapshot + log), read without the server.

    What a server process would load after a restart; read in one repeatable-read transaction so a
    compaction committing meanwhile cannot hide rows.
    """
    snapshots, updates = DocSnapshot._meta.db_table, DocUpdate._meta.db_table
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        where = "worksheet_id = %s AND student_id IS NULL"
        rows = conn.execute(f"SELECT data FROM {updates} WHERE {where} ORDER BY id", [worksheet_id]).fetchall()  # noqa: S608
        snapshot = conn.execute(f"SELECT state FROM {snapshots} WHERE {where}", [worksheet_id]).fetchone()  # noqa: S608
    data = ([bytes(snapshot[0])] if snapshot else []) + [bytes(row[0]) for row in rows]
    doc, skipped = rebuild_doc(data)
    assert skipped == [], f"unreadable log rows: {skipped}"
    return {key: str(doc.get(key, type=pycrdt.Text)) for key in fields}


# --- private services a drill may restart ------------------------------------------------------


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up")


@dataclass
class PrivateRedis:
    """A throwaway redis-server on a free port (never the machine's shared one), no persistence."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(self._up, "redis-server")
        return self

    def _up(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl live: $PG_BINDIR, else Debian's newest /usr/lib/postgresql/<version>/bin."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError("no initdb found: install the PostgreSQL server package or set PG_BINDIR")
    return found[-1].parent


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temp dir on a free port, so a drill can restart it.

    initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user (runuser).
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="havruta-drill-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, user="postgres", group="postgres")

    @property
    def dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)
        subprocess.run(command, check=True, capture_output=True, cwd=self.dir)

    def init(self) -> PrivatePostgres:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self.start()

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start"
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def copy_database(self, source_dsn: str, name: str) -> str:
        """A copy of the test database (schema, the test's rows, sessions) in this cluster; its URL."""
        subprocess.run(
            ["psql", f"{self.dsn}/postgres", "-q", "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True
        )
        dump = subprocess.run(["pg_dump", "--no-owner", source_dsn], check=True, capture_output=True)
        subprocess.run(
            ["psql", f"{self.dsn}/{name}", "-q", "-v", "ON_ERROR_STOP=1"],
            input=dump.stdout,
            check=True,
            capture_output=True,
        )
        return f"{self.dsn}/{name}"
