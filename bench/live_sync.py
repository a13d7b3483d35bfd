"""Benchmark: live worksheet sync under a class-sized load, beside a bare relay and a Channels relay.

Run from the project root:  .venv/bin/python bench/live_sync.py [--seconds 30] [--havrutot 50,100,250]

N havrutot, two sockets each (one per student, on the havruta's shared worksheet document); every
student sends 5 Yjs updates per second for the measured window. Each update inserts a marker
`~<student>.<seq>.<send time>~` into a text field, so the partner's client finds it in whatever
frame delivers it (update or sync step 2) and computes the partner-visible latency (send to
receive, on the same machine's monotonic clock). lost = updates sent but never seen by the partner
by the end of the window plus a grace period.

Systems, each served by real server processes and driven by separate load-generator processes
(asyncio + `websockets` clients that speak y-protocols over pycrdt documents, as a browser does):

- bare relay: a tiny `websockets` server that forwards each frame to the partner socket. No auth, no
  CRDT, no database: the ceiling for this client load on this machine.
- channels relay: a plain Channels consumer that `group_send`s every frame to a group per havruta,
  daphne + in-memory channel layer (bench/channels_relay.py).
- ours: the product (`uvicorn pop_site.asgi:application`, DEBUG=0; `--server` picks another) on a
  throwaway database (a temp SQLite file, migrated; or --database-url): session auth, access checks,
  every update validated on pycrdt and committed to the update log before fan-out, answers
  materialised, log compaction. A class of 2N students is made with the project's services.
- ours daphne: the same, served by daphne (the server `runserver` uses), for comparison.
- ours x2: two product processes sharing Redis (pub/sub layer, --redis-url); the two students of
  every havruta are on different processes, so every update crosses Redis.

Server CPU is read from /proc/<pid>/stat over the measured window (percent of one core, summed over
processes); RSS/conn is (VmRSS at the end of the window - VmRSS before any client connected) per socket.
Capacity (havrutot): the load a system carries at 100% of one core per process, extrapolated from its
CPU per havruta at the largest N where it met the targets (p99 <= 100 ms, nothing lost). It is an
estimate on a shared machine: the load generator and other work compete for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARKER = re.compile(rb"~(\d+)\.(\d+)\.(\d+)~")
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_P99_MS = 100.0
RESYNC_SECONDS = 15.0  # y-websocket clients send sync step 1 about every 15 s (PROTOCOL.md)


# --- load generator (a separate process: `live_sync.py loadgen <config.json>`) ---------------------


class Student:
    """One browser tab: a pycrdt document, one socket, a y-protocols client loop."""

    def __init__(self, sid: int, url: str, cookie: str | None, field_key: str, handshake: bool) -> None:
        import pycrdt

        self.sid = sid
        self.partner = sid ^ 1
        self.url = url
        self.cookie = cookie
        self.handshake = handshake
        self.doc = pycrdt.Doc()
        self.text = self.doc.get(field_key, type=pycrdt.Text)
        self._applying = False
        self._outgoing: list[bytes] = []
        self.doc.observe(self._on_change)
        self.ws: Any = None
        self.ready = asyncio.Event()
        self.seq = 0
        self.sent_at: list[float] = []  # lag behind schedule, seconds
        self.seen: set[int] = set()
        self.latencies_us: list[int] = []
        self.sent_us: list[int] = []  # send time of each latency above (for --timeline)
        self.closed_code: int | None = None
        self.reader: asyncio.Task[None] | None = None

    def _on_change(self, event: Any) -> None:
        if not self._applying:
            self._outgoing.append(event.update)

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        from worksheets.yprotocol import encode_sync_step1

        origin = self.url.split("/ws/")[0].replace("ws://", "http://")
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.ws = await connect(
            self.url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,
            proxy=None,
            ping_interval=None,
            max_size=None,
            open_timeout=120,
        )
        self.reader = asyncio.get_running_loop().create_task(self._read())
        await self.ws.send(encode_sync_step1(self.doc.get_state()))
        if not self.handshake:
            self.ready.set()

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        from worksheets.yprotocol import encode_sync_step2, read_var_bytes

        try:
            async for frame in self.ws:
                if not isinstance(frame, bytes) or len(frame) < 2 or frame[0] != 0:
                    continue  # awareness and anything else: not measured
                now_us = time.monotonic_ns() // 1000
                payload, _ = read_var_bytes(frame, 2)
                if frame[1] == 0:  # sync step 1: answer with what the other side lacks
                    await self.ws.send(encode_sync_step2(self.doc.get_update(payload)))
                    continue
                for sid, seq, sent_us in MARKER.findall(payload):
                    if int(sid) == self.partner and int(seq) not in self.seen:
                        self.seen.add(int(seq))
                        self.latencies_us.append(now_us - int(sent_us))
                        self.sent_us.append(int(sent_us))
                self._applying = True
                try:
                    self.doc.apply_update(payload)
                except Exception:  # noqa: S110 - a relay may deliver a step 2 built on updates we lack: harmless
                    pass
                finally:
                    self._applying = False
                if frame[1] == 1:
                    self.ready.set()
        except ConnectionClosed:
            pass
        except Exception as exc:  # the run goes on; the missing updates show up as lost
            print(f"student {self.sid}: reader failed: {exc!r}", file=sys.stderr)
        rcvd = getattr(self.ws.protocol, "close_rcvd", None)
        self.closed_code = rcvd.code if rcvd else -1

    async def _send_pending(self) -> None:
        from worksheets.yprotocol import encode_update

        pending, self._outgoing = self._outgoing, []
        for update in pending:
            await self.ws.send(encode_update(update))

    async def type_for(self, start: float, seconds: float, rate: float) -> None:
        """Send `rate` updates per second from `start` (loop time) for `seconds`, on a fixed schedule."""
        from websockets.exceptions import ConnectionClosed

        from worksheets.yprotocol import encode_sync_step1

        loop = asyncio.get_running_loop()
        period = 1.0 / rate
        due = start + random.uniform(0, period)
        resync = start + random.uniform(0, RESYNC_SECONDS)
        end = start + seconds
        try:
            while due < end:
                await asyncio.sleep(max(0.0, due - loop.time()))
                self.sent_at.append(loop.time() - due)
                self.seq += 1
                marker = f"~{self.sid}.{self.seq}.{time.monotonic_ns() // 1000}~"
                self.text.insert(len(self.text), marker)
                await self._send_pending()
                if loop.time() >= resync:
                    resync += RESYNC_SECONDS
                    await self.ws.send(encode_sync_step1(self.doc.get_state()))
                due += period
        except ConnectionClosed:
            pass

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), 10)
            if self.reader is not None:
                await asyncio.wait_for(self.reader, 10)
        except Exception:  # noqa: S110 - the numbers are taken already
            pass


async def loadgen(config: dict[str, Any]) -> None:
    """Connect, report ready, wait for `go <loop start>` on stdin, type, wait for delivery, report."""
    loop = asyncio.get_running_loop()
    students = [
        Student(sid, url, cookie, config["field"], config["handshake"]) for sid, url, cookie in config["students"]
    ]
    gate = asyncio.Semaphore(32)
    failed = 0

    async def open_one(student: Student) -> None:
        nonlocal failed
        async with gate:
            try:
                await student.connect()
            except Exception as exc:
                failed += 1
                print(f"student {student.sid}: connect failed: {exc!r}", file=sys.stderr)

    await asyncio.gather(*(open_one(s) for s in students))
    live = [s for s in students if s.ws is not None]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in live)), 120)
    except TimeoutError:
        print("not every socket finished its handshake", file=sys.stderr)
    _emit({"event": "ready", "connected": len(live), "failed": failed})
    line = await loop.run_in_executor(None, sys.stdin.readline)
    start_monotonic = float(line.split()[1])
    start = loop.time() + (start_monotonic - time.monotonic())
    cpu0 = time.process_time()
    await asyncio.gather(*(s.type_for(start, config["seconds"], config["rate"]) for s in live))
    sent = {s.sid: s.seq for s in students}
    deadline = start + config["seconds"] + config["grace"]

    def delivered() -> bool:
        return all(len(s.seen) >= sent.get(s.partner, 0) for s in live)

    while not delivered() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    cpu = time.process_time() - cpu0
    wall = max(1e-9, loop.time() - start)
    received = sum(len(s.seen) for s in students)
    lags = sorted(lag for s in students for lag in s.sent_at)
    closed = sorted({s.closed_code for s in students if s.closed_code not in (None, -1)})
    await asyncio.gather(*(s.close() for s in live))
    _emit(
        {
            "event": "result",
            "sent": sum(sent.values()),
            "received": received,
            "latencies_ms": [round(lat / 1000, 2) for s in students for lat in s.latencies_us],
            "sent_s": [round(t / 1e6 - start_monotonic, 2) for s in students for t in s.sent_us],
            "lag_p99_ms": round(_pct(lags, 0.99) * 1000, 1) if lags else 0.0,
            "cpu_percent": round(cpu / wall * 100, 1),
            "closed_by_server": closed,
            "failed": failed,
        }
    )


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


# --- the bare relay (a separate process: `live_sync.py relay <port>`) -------------------------------


async def relay(port: int) -> None:
    """Forward every frame to the other sockets on the same path. Nothing else."""
    from websockets.asyncio.server import serve
    from websockets.exceptions import ConnectionClosed

    rooms: dict[str, set[Any]] = {}

    async def handler(ws: Any) -> None:
        path = ws.request.path
        peers = rooms.setdefault(path, set())
        peers.add(ws)
        try:
            async for frame in ws:
                for other in list(peers):
                    if other is not ws:
                        with contextlib.suppress(ConnectionClosed):
                            await other.send(frame)
        except ConnectionClosed:
            pass
        finally:
            peers.discard(ws)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=None, ping_interval=None):
        await stop


# --- the driver ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def main_thread_ticks(pid: int) -> int:
    """CPU ticks of the event-loop thread alone (the main thread's task id is the pid)."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    health: str | None = None  # an HTTP path that answers 200 once the app is up
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if self.health:
                    url = f"http://127.0.0.1:{self.port}{self.health}"
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            return
                else:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Row:
    system: str  # the label printed
    havrutot: int
    sockets: int = 0
    sent: int = 0
    received: int = 0
    lost: int = 0
    p50: float = float("nan")
    p99: float = float("nan")
    cpu: float = float("nan")
    rss_per_conn: float = float("nan")
    processes: int = 1
    loop_cpu: float = float("nan")
    loadgen_cpu: float = 0.0
    loadgen_lag_p99: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return self.sent > 0 and self.lost == 0 and self.p99 <= TARGET_P99_MS

    @property
    def capacity(self) -> float:
        """Havrutot at 100% of one core per server process, extrapolated from CPU per havruta."""
        if not self.cpu or self.cpu != self.cpu:
            return float("nan")
        return self.havrutot * 100.0 * self.processes / self.cpu


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    env: dict[str, str]
    field_key: str = ""
    _class_no: int = 0

    # --- database --------------------------------------------------------------------------------

    def prepare_database(self) -> None:
        """Migrate the throwaway database and load the protocol library (in this process)."""
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        from protocols.services import library_load

        call_command("migrate", verbosity=0, interactive=False)
        library_load()
        self._close_db()

    @staticmethod
    def _close_db() -> None:
        from django.db import connections

        connections.close_all()

    def make_class(self, havrutot: int) -> list[tuple[int, str, str]]:
        """A class of 2N students paired into N havrutot, one protocol assigned: (worksheet, cookie A, cookie B)."""
        from django.conf import settings
        from django.test import Client
        from django.utils import timezone

        from accounts.models import User
        from classrooms.models import HavrutaMember
        from classrooms.services import classroom_create, student_create
        from classrooms.services_pairing import assignment_create, pairing_session_create
        from protocols.models import Protocol
        from worksheets.models import Worksheet

        self._class_no += 1
        n = self._class_no
        teacher = User.objects.create_user(
            username=f"bench-teacher-{n}-{secrets.token_hex(3)}", display_name=f"Bench Teacher {n}"
        )
        classroom = classroom_create(teacher=teacher, name=f"Bench class {n}", grade_band="middle-school")
        students = [student_create(classroom=classroom, display_name=f"Student {i}") for i in range(2 * havrutot)]
        session = pairing_session_create(classroom=classroom, by=teacher, method="manual", present=students)
        protocol = Protocol.objects.get(slug="noticing-and-wondering")
        (assignment,) = assignment_create(session=session, by=teacher, protocol=protocol, date=timezone.localdate())
        fields = assignment.protocol_version.data["fields"]
        self.field_key = next(
            f["key"] for f in fields if f["scope"] == "shared" and f["kind"] in ("long_text", "short_text")
        )
        cookies: dict[int, str] = {}
        for student in students:
            client = Client()
            client.force_login(student)
            cookies[student.pk] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        out = []
        for worksheet in Worksheet.objects.filter(assignment=assignment).order_by("havruta__number"):
            members = list(
                HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id)
                .order_by("seat")
                .values_list("student_id", flat=True)
            )
            assert len(members) == 2, "the bench pairs an even class: two students per havruta"
            out.append((worksheet.pk, cookies[members[0]], cookies[members[1]]))
        self._close_db()
        return out

    # --- servers ---------------------------------------------------------------------------------

    def our_server(self, index: int, *, redis: bool, kind: str) -> Server:
        port = free_port()
        env = {**os.environ, **self.env, "LOG_LEVEL": "WARNING"}
        if redis:
            env["REDIS_URL"] = self.args.redis_url
        else:
            env.pop("REDIS_URL", None)
        bin_dir = Path(sys.executable).parent
        if kind == "daphne":
            command = [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port), "pop_site.asgi:application"]
        elif kind == "uvicorn" and self.args.uvicorn_ws == "read-ahead":  # production's command (README)
            command = [sys.executable, "-m", "pop_site.serve", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--loop", self.args.uvicorn_loop]
        elif kind == "uvicorn":
            command = [
                str(bin_dir / "uvicorn"),
                "pop_site.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            command += ["--ws", self.args.uvicorn_ws, "--loop", self.args.uvicorn_loop, "--lifespan", "off"]
            command += ["--log-level", "warning", "--no-access-log"]
        else:
            command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        name = f"ours-{kind}-{index}"
        return Server(name, command, env, port, self.tmp / f"{name}.log", health="/healthz")

    def channels_relay(self) -> Server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        daphne = str(Path(sys.executable).parent / "daphne")
        command = [daphne, "-b", "127.0.0.1", "-p", str(port), "bench.channels_relay:application"]
        return Server("channels-relay", command, env, port, self.tmp / "channels-relay.log")

    def bare_relay(self) -> Server:
        port = free_port()
        command = [sys.executable, str(Path(__file__).resolve()), "relay", str(port)]
        return Server("bare-relay", command, dict(os.environ), port, self.tmp / "bare-relay.log")

    # --- one measured run ------------------------------------------------------------------------

    def run(self, system: str, havrutot: int) -> Row:
        """One measured run; system is one of SYSTEMS."""
        ours = system in ("ours", "daphne", "ours2", "ours2s")
        worksheets = self.make_class(havrutot) if ours else [(100000 + h, "", "") for h in range(havrutot)]
        if system in ("ours2", "ours2s"):
            servers = [self.our_server(i, redis=True, kind=self.args.server) for i in (0, 1)]
        elif system in ("ours", "daphne"):
            servers = [self.our_server(0, redis=False, kind="daphne" if system == "daphne" else self.args.server)]
        elif system == "channels":
            servers = [self.channels_relay()]
        else:
            servers = [self.bare_relay()]
        label = SYSTEMS[system].format(server=self.args.server)
        row = Row(system=label, havrutot=havrutot, sockets=2 * havrutot, processes=len(servers))
        procs: list[subprocess.Popen[str]] = []
        try:
            for server in servers:
                server.start()
            time.sleep(1.0)  # let start-up work settle before the idle memory sample
            pids = [s.process.pid for s in servers if s.process]
            rss_idle = sum(proc_rss_kib(pid) for pid in pids)
            students = []
            for h, (worksheet_id, cookie_a, cookie_b) in enumerate(worksheets):
                for seat, cookie in ((0, cookie_a), (1, cookie_b)):
                    # ours2: partners on different processes; ours2s: a havruta on one process, as a
                    # load balancer routing /ws/worksheets/<id>/ by id would place it (README).
                    server = servers[(h if system == "ours2s" else seat) % len(servers)]
                    url = f"ws://127.0.0.1:{server.port}/ws/worksheets/{worksheet_id}/"
                    students.append((2 * h + seat, url, cookie or None))
            shards = max(1, min(self.args.loadgen_procs, havrutot))
            for k in range(shards):
                mine = [s for s in students if (s[0] // 2) % shards == k]
                config = {
                    "students": mine,
                    "field": self.field_key or "what_we_found",
                    "handshake": ours,
                    "seconds": self.args.seconds,
                    "rate": self.args.rate,
                    "grace": self.args.grace,
                }
                path = self.tmp / f"loadgen-{k}.json"
                path.write_text(json.dumps(config))
                with (self.tmp / f"loadgen-{k}.log").open("ab") as log:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, str(Path(__file__).resolve()), "loadgen", str(path)],
                            cwd=ROOT,
                            env={**os.environ, **self.env},
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            stderr=log,
                            text=True,
                        )
                    )
            connected = failed = 0
            for proc in procs:
                ready = self._next_event(proc, "ready")
                connected += ready["connected"]
                failed += ready["failed"]
            if failed:
                row.notes.append(f"{failed} sockets failed to connect")
            start = time.monotonic() + 0.5
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(f"go {start}\n")
                proc.stdin.flush()
            time.sleep(max(0.0, start - time.monotonic()))
            ticks0 = sum(proc_ticks(pid) for pid in pids)
            loop0 = sum(main_thread_ticks(pid) for pid in pids)
            t0 = time.monotonic()
            time.sleep(self.args.seconds)
            ticks1 = sum(proc_ticks(pid) for pid in pids)
            loop1 = sum(main_thread_ticks(pid) for pid in pids)
            t1 = time.monotonic()
            rss_loaded = sum(proc_rss_kib(pid) for pid in pids)
            row.cpu = (ticks1 - ticks0) / CLK_TCK / (t1 - t0) * 100
            if ours:
                row.loop_cpu = (loop1 - loop0) / CLK_TCK / (t1 - t0) * 100
                row.notes.append(f"event loop {row.loop_cpu:.0f}% + database threads {row.cpu - row.loop_cpu:.0f}%")
            row.rss_per_conn = (rss_loaded - rss_idle) / max(1, connected)
            latencies: list[float] = []
            timeline: list[tuple[float, float]] = []
            closed: set[int] = set()
            for proc in procs:
                result = self._next_event(proc, "result", timeout=self.args.grace + 120)
                row.sent += result["sent"]
                row.received += result["received"]
                latencies += result["latencies_ms"]
                timeline += zip(result["sent_s"], result["latencies_ms"], strict=True)
                row.loadgen_cpu += result["cpu_percent"]
                row.loadgen_lag_p99 = max(row.loadgen_lag_p99, result["lag_p99_ms"])
                closed.update(result["closed_by_server"])
                proc.wait(timeout=60)
            latencies.sort()
            if self.args.timeline:
                print_timeline(row, timeline)
            row.lost = row.sent - row.received
            row.p50 = _pct(latencies, 0.50)
            row.p99 = _pct(latencies, 0.99)
            if closed:
                row.notes.append(f"server closed sockets with {sorted(closed)}")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
            for server in servers:
                server.stop()
        return row

    @staticmethod
    def _next_event(proc: subprocess.Popen[str], name: str, timeout: float = 300) -> dict[str, Any]:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the load generator exited before '{name}' (see its log)")
            event = json.loads(line)
            if event.get("event") == name:
                return event
        raise RuntimeError(f"no '{name}' from the load generator in {timeout} s")


# --- output ---------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def print_timeline(row: Row, timeline: list[tuple[float, float]]) -> None:
    """Latency by second of sending: shows whether slow deliveries come in bursts (and when)."""
    by_second: dict[int, list[float]] = {}
    for sent, latency in timeline:
        by_second.setdefault(int(sent), []).append(latency)
    print(f"{row.system}, {row.havrutot} havrutot: second  p50  p99  max (ms)", file=sys.stderr)
    for second in sorted(by_second):
        values = sorted(by_second[second])
        p50, p99 = _pct(values, 0.5), _pct(values, 0.99)
        print(f"  {second:>4} {p50:>7.1f} {p99:>7.1f} {values[-1]:>7.1f}", file=sys.stderr)


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'system':<15} {'havrutot':>8} {'sockets':>7} {'sent':>7} {'received':>8} {'lost':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'server CPU %':>12} {'RSS/conn KiB':>12}  {'loadgen CPU % / lag p99 ms':>26}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.system:<15} {r.havrutot:>8} {r.sockets:>7} {r.sent:>7} {r.received:>8} {r.lost:>6} "
            f"{_fmt(r.p50, 1):>7} {_fmt(r.p99, 1):>7} {_fmt(r.cpu):>12} {_fmt(r.rss_per_conn, 1):>12}  "
            f"{f'{r.loadgen_cpu:.0f} / {r.loadgen_lag_p99:.0f}':>26}" + (f"   {'; '.join(r.notes)}" if r.notes else "")
        )


def print_capacity(rows: list[Row], server: str) -> None:
    """Where each system met the targets, its estimated capacity, and the ratios the issue asks for.

    The estimate comes from the largest run that met the targets; a system that met them nowhere is
    estimated from its smallest run and marked "*" (an overloaded run leaves work for after the
    measured window, so its CPU per havruta is too low and the estimate too high).
    """
    print(f"\nTargets: p99 <= {TARGET_P99_MS:.0f} ms and nothing lost.")
    reference: dict[str, tuple[Row, bool]] = {}
    for system in dict.fromkeys(r.system for r in rows):
        runs = [r for r in rows if r.system == system]
        met = [r for r in runs if r.met]
        ref = max(met, key=lambda r: r.havrutot) if met else min(runs, key=lambda r: r.havrutot)
        reference[system] = (ref, bool(met))
        line = f"  {system:<15} met at {[r.havrutot for r in met] or 'none'}"
        missed = [r.havrutot for r in runs if not r.met]
        line += f", missed at {missed}" if missed else ""
        star = "" if met else "*"
        line += (
            f"; capacity ~{ref.capacity:.0f}{star} havrutot at 100% of a core per process"
            f" (from {ref.havrutot} at {ref.cpu:.0f}% CPU, {ref.processes} proc)"
        )
        print(line)

    def ratio(a: str, b: str, label: str) -> None:
        if a in reference and b in reference:
            (ra, ma), (rb, mb) = reference[a], reference[b]
            star = "" if ma and mb else "*"
            print(f"  {label}: {ra.capacity / rb.capacity:.2f}{star}")

    ours, two = SYSTEMS["ours"].format(server=server), SYSTEMS["ours2"].format(server=server)
    print("Capacity ratios (from CPU per havruta):")
    ratio(ours, SYSTEMS["bare"], f"{ours} / bare relay (target >= 0.5)")
    ratio(ours, SYSTEMS["channels"], f"{ours} / channels relay")
    if server != "daphne":
        ratio(ours, SYSTEMS["daphne"], f"{ours} / ours daphne")
    # Two ways to set two processes beside one, from runs of the same total load N (each process has
    # a core of its own in production, so the ratio is 2 x CPU(one, N) / CPU(two, N)), and from runs of
    # the same load per process (two at N each carry N/2, as one process at N/2 does: 4 x CPU(one,
    # N/2) / CPU(two, N), where 2.0 means Redis costs nothing). The first compares each of the two
    # processes at half the load of the single one, where a process spends more per havruta (fewer
    # updates per wake-up and per commit), so it is the lower of the two.
    comparisons = (
        ("same total load", 1, 2, "CPU at {n2} havrutot: {c1:.0f}% for one process, {c2:.0f}% for two"),
        ("same load per process", 2, 4, "one process at {n1} havrutot: {c1:.0f}%; two at {n2}: {c2:.0f}%"),
    )
    for two_label, what in ((two, "partners apart"), (SYSTEMS["ours2s"].format(server=server), "each havruta on one")):
        for how, load_factor, cpu_factor, detail in comparisons:
            pairs = [
                (r2, r1)
                for r2 in rows
                if r2.system == two_label
                for r1 in rows
                if r1.system == ours and load_factor * r1.havrutot == r2.havrutot
            ]
            if not pairs:
                continue
            r2, r1 = max(pairs, key=lambda pair: pair[0].havrutot)
            star = "" if r1.met and r2.met else "*"
            print(
                f"  two processes + Redis, {what} / one process, {how} (target >= 1.7): "
                f"{cpu_factor * r1.cpu / r2.cpu:.2f}{star} "
                f"({detail.format(n1=r1.havrutot, n2=r2.havrutot, c1=r1.cpu, c2=r2.cpu)})"
            )
    if any(not met for _ref, met in reference.values()):
        print("  * from runs that missed the targets: a lower bound on cost, so an upper bound on capacity")


# --- entry point ----------------------------------------------------------------------------------

SYSTEMS = {  # --systems key: label in the table
    "bare": "bare relay",
    "channels": "channels relay",
    "ours": "ours {server}",
    "daphne": "ours daphne",
    "ours2": "ours x2 {server}",
    "ours2s": "ours x2 {server} sticky",
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "loadgen":
        asyncio.run(loadgen(json.loads(Path(sys.argv[2]).read_text())))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "relay":
        asyncio.run(relay(int(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per run (default 30)")
    parser.add_argument("--havrutot", default="50,100,250", help="comma-separated N (default 50,100,250)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 s, 10 havrutot, a 3 s grace")
    parser.add_argument("--rate", type=float, default=5.0, help="updates per second per student (default 5)")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to wait for late deliveries")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="any of bare,channels,ours,daphne,ours2,ours2s (default all; daphne = ours served by daphne, for "
        "comparison; ours2s = two processes with each havruta on one of them)",
    )
    parser.add_argument("--two-process-at", default="", help="N for the two-process runs (default: the largest N)")
    parser.add_argument(
        "--server", choices=("uvicorn", "daphne", "runserver"), default="uvicorn", help="serves ours (default uvicorn)"
    )
    parser.add_argument(
        "--uvicorn-ws",
        default="read-ahead",
        help="read-ahead (default: `python -m pop_site.serve`, as in production) or one of uvicorn's own "
        "websocket implementations (websockets-sansio, websockets, wsproto) under the stock `uvicorn` command",
    )
    parser.add_argument("--uvicorn-loop", default="asyncio", help="uvicorn's event loop (asyncio, uvloop)")
    parser.add_argument("--database-url", default="", help="a throwaway database (default: a temp SQLite file)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3", help="for the two-process runs")
    parser.add_argument("--loadgen-procs", type=int, default=1, help="load-generator processes (default 1)")
    parser.add_argument("--timeline", action="store_true", help="print latency per second of each run (stderr)")
    parser.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.grace = 5.0, 3.0
        if args.havrutot == parser.get_default("havrutot"):
            args.havrutot = "10"
    sizes = [int(n) for n in args.havrutot.split(",") if n.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    two_at = [int(n) for n in args.two_process_at.split(",") if n.strip()] or [max(sizes)]

    tmp = Path(tempfile.mkdtemp(prefix="live-sync-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "pop_site.settings",
        "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
    }
    if args.server == "runserver":
        env["DEBUG"] = "1"
    bench = Bench(args=args, tmp=tmp, env=env)
    print((__doc__ or "").split("\n\n")[0])
    print(
        f"{args.seconds:.0f} s per run, {args.rate:g} updates/s per student, grace {args.grace:.0f} s; "
        f"our server: {args.server}; database: {'given URL' if args.database_url else 'temp SQLite'}; "
        f"load average at start: {loadavg()} ({os.cpu_count()} cores)\n",
        flush=True,
    )
    rows: list[Row] = []
    try:
        if {"ours", "daphne", "ours2", "ours2s"} & set(systems):
            bench.prepare_database()
        plan = [
            (system, n) for n in sizes for system in SYSTEMS if system in systems and system not in ("ours2", "ours2s")
        ]
        plan += [(system, n) for system in ("ours2", "ours2s") if system in systems for n in two_at]
        for system, n in plan:
            label = SYSTEMS[system].format(server=args.server)
            print(f"  running {label} with {n} havrutot ...", file=sys.stderr, flush=True)
            rows.append(bench.run(system, n))
        print_table(rows)
        print_capacity(rows, args.server)
        print(f"\nload average at the end: {loadavg()}")
        if args.json:
            Path(args.json).write_text(json.dumps([r.__dict__ | {"capacity": r.capacity} for r in rows], indent=1))
    except BaseException:
        print(f"failed; logs and the database are kept in {tmp}", file=sys.stderr)
        raise
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
