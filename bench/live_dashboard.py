"""Benchmark: the teacher's live dashboard while a whole class types.

Run from the project root:  .venv/bin/python bench/live_dashboard.py [--seconds 10] [--sizes 15,100]

For each class size, N havrutot each write in their shared worksheet; every student sends 5 Yjs
updates a second (each appends one word) through the real worksheet consumer, while one teacher
watches the live dashboard socket (/ws/classes/<id>/live/). Everything runs in this process
through the whole ASGI app (session auth, access checks, the update log on a throwaway SQLite
file, answers materialised with the production delays), so the numbers include the work the
server does for the students, on the same cores.

Printed per size:
- teacher msg/s: messages the teacher's socket received per second while the class typed (and the
  most in any one second). The dashboard coalesces: at most one update per 0.5 s per teacher.
- progress/s: `worksheet.progress` events on the class's channel-layer group, i.e. what a socket
  forwarding every event would send (the baseline, measured in the same run).
- hook delay: from a student's update being sent to the first progress event that counts it
  (the worksheet rooms materialise answers 0.5 s after the last edit, at most 3 s after the first,
  so under continuous typing this is mostly the 3 s bound).
- teacher delay: from the update being sent to the first dashboard message showing it.
- unseen: updates the teacher had not seen when the run ended (after a drain of --drain seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UPDATES_PER_SECOND = 5.0
FIELD = "what_we_found"  # a long text of the shared document


def setup(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.pop("REDIS_URL", None)  # one process: the in-memory channel layer
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pop_site.settings")
    os.environ["DEBUG"] = "1"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["HAVRUTA_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_class(size: int) -> dict[str, Any]:
    """A class of `size` havrutot with one worksheet each; signed-in cookies for everyone."""
    from django.conf import settings
    from django.test import Client

    from tests.factories import addr, make_classroom, make_teacher
    from tests.live_fixtures import assign_lesson, big_class

    teacher = make_teacher(name="Bench Teacher", email=addr(f"bench{size}"))
    classroom = make_classroom(teacher=teacher, name=f"Bench {size}")
    session, _students = big_class(classroom=classroom, havrutot=size, prefix=f"B{size}-")
    sheets = assign_lesson(session=session)

    def cookie(user: Any) -> bytes:
        client = Client()
        client.force_login(user)
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()

    by_havruta = {sheet.havruta_id: sheet for sheet in sheets.values()}
    members: list[tuple[int, int, bytes]] = []  # (worksheet, havruta, cookie)
    for sheet in sheets.values():
        for membership in sheet.havruta.memberships.all():
            members.append((sheet.pk, sheet.havruta_id, cookie(membership.student)))
    return {
        "size": size,
        "classroom": classroom.pk,
        "teacher": cookie(teacher),
        "members": members,
        "havrutot": list(by_havruta),
    }


def communicator(path: str, cookie: bytes) -> Any:
    from channels.testing import WebsocketCommunicator

    from pop_site.asgi import application

    return WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def delays(edits: dict[int, list[float]], seen: dict[int, list[tuple[float, int]]]) -> tuple[list[float], int]:
    """For every edit (the k-th word of its havruta, sent at t): when a count of k or more was first seen.

    Returns the delays and how many edits were never seen.
    """
    found: list[float] = []
    unseen = 0
    for havruta, times in edits.items():
        shown_at: dict[int, float] = {}
        best = 0
        for at, words in sorted(seen.get(havruta, [])):
            while best < min(words, len(times)):
                best += 1
                shown_at[best] = at
        for k, sent in enumerate(times, start=1):
            if k in shown_at:
                found.append(max(0.0, shown_at[k] - sent))
            else:
                unseen += 1
    return found, unseen


async def run_size(plan: dict[str, Any], seconds: float, drain: float) -> dict[str, Any]:
    import pycrdt
    from channels.layers import get_channel_layer

    from worksheets.services import LIVE_GROUP
    from worksheets.yprotocol import encode_update

    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    raw_channel = await layer.new_channel()
    await layer.group_add(LIVE_GROUP.format(classroom_id=plan["classroom"]), raw_channel)

    teacher = communicator(f"/ws/classes/{plan['classroom']}/live/", plan["teacher"])
    assert (await teacher.connect())[0]
    snapshot = json.loads((await teacher.receive_output(timeout=30))["text"])
    assert snapshot["type"] == "snapshot", snapshot

    students = []
    for worksheet, havruta, cookie in plan["members"]:
        comm = communicator(f"/ws/worksheets/{worksheet}/", cookie)
        assert (await comm.connect())[0]
        students.append((comm, havruta))

    teacher_seen: dict[int, list[tuple[float, int]]] = defaultdict(list)
    teacher_times: list[float] = []
    raw_seen: dict[int, list[tuple[float, int]]] = defaultdict(list)
    raw_times: list[float] = []
    edits: dict[int, list[float]] = defaultdict(list)

    async def read_teacher() -> None:
        while True:
            output = await teacher.receive_output(timeout=3600)
            if output["type"] != "websocket.send" or not output.get("text"):
                continue
            now = time.monotonic()
            message = json.loads(output["text"])
            teacher_times.append(now)
            for row in message.get("rows", []):
                teacher_seen[row["havruta"]].append((now, row["words"]))

    async def read_raw() -> None:
        while True:
            message = await layer.receive(raw_channel)
            if message.get("type") == "worksheet.progress":
                now = time.monotonic()
                raw_times.append(now)
                raw_seen[message["havruta"]].append((now, message["words"]))

    async def type_words(comm: Any, havruta: int, stop_at: float) -> None:
        doc = pycrdt.Doc()
        captured: list[bytes] = []
        doc.observe(lambda event: captured.append(event.update))
        text = doc.get(FIELD, type=pycrdt.Text)
        await asyncio.sleep(random.random() / UPDATES_PER_SECOND)  # students do not type in step
        due = loop.time()
        while loop.time() < stop_at:
            text.insert(len(text), " w")  # always one more word, whatever the partner writes
            frames = [encode_update(u) for u in captured]
            captured.clear()
            edits[havruta].append(time.monotonic())
            for frame in frames:
                await comm.send_input({"type": "websocket.receive", "bytes": frame})
            due += 1 / UPDATES_PER_SECOND
            await asyncio.sleep(max(0.0, due - loop.time()))

    readers = [asyncio.create_task(read_teacher()), asyncio.create_task(read_raw())]
    await asyncio.sleep(1.0)  # the connects settle
    teacher_times.clear()
    started = time.monotonic()
    stop_at = loop.time() + seconds
    await asyncio.gather(*(type_words(comm, havruta, stop_at) for comm, havruta in students))
    typed = time.monotonic() - started
    await asyncio.sleep(drain)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    window = [t for t in teacher_times if started <= t <= started + typed]
    per_second: dict[int, int] = defaultdict(int)
    for t in window:
        per_second[int(t - started)] += 1
    raw_window = [t for t in raw_times if started <= t <= started + typed]
    teacher_delays, unseen = delays(edits, teacher_seen)
    hook_delays, _ = delays(edits, raw_seen)
    sent = sum(len(v) for v in edits.values())

    await asyncio.gather(teacher.disconnect(), *(comm.disconnect() for comm, _ in students), return_exceptions=True)
    await layer.group_discard(LIVE_GROUP.format(classroom_id=plan["classroom"]), raw_channel)
    from worksheets import rooms

    await rooms.unload_all()
    return {
        "size": plan["size"],
        "students": len(students),
        "edits_per_s": sent / typed,
        "teacher_per_s": len(window) / typed,
        "teacher_max": max(per_second.values(), default=0),
        "raw_per_s": len(raw_window) / typed,
        "hook_p50": percentile(hook_delays, 0.5),
        "hook_p99": percentile(hook_delays, 0.99),
        "p50": percentile(teacher_delays, 0.5),
        "p99": percentile(teacher_delays, 0.99),
        "unseen": unseen,
        "sent": sent,
    }


async def run_all(plans: list[dict[str, Any]], seconds: float, drain: float) -> list[dict[str, Any]]:
    return [await run_size(plan, seconds, drain) for plan in plans]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the class types, per size")
    parser.add_argument("--drain", type=float, default=7.0, help="how long to wait for the last words")
    parser.add_argument("--sizes", default="15,100", help="havrutot per class, comma separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    random.seed(1)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        setup(Path(tmp) / "bench.sqlite3")
        plans = [make_class(size) for size in sizes]
        results = asyncio.run(run_all(plans, args.seconds, args.drain))
        from worksheets import persistence

        persistence.settle()
    from classrooms.selectors_live import conf as live_conf
    from worksheets.rooms import conf as room_conf

    print("Benchmark: the teacher's live dashboard while every student types 5 updates/s (one word each).")
    print(
        f"{args.seconds:g} s of typing per size, then {args.drain:g} s to drain; in one process on SQLite; "
        f"answers materialised {room_conf('MATERIALISE_DELAY_SECONDS'):g} s after the last edit "
        f"(at most {room_conf('MATERIALISE_MAX_DELAY_SECONDS'):g} s after the first); "
        f"dashboard flush every {live_conf('FLUSH_SECONDS'):g} s."
    )
    print(
        "progress/s = events a forward-everything socket would send (baseline); "
        "delays from a student's update to the teacher seeing it."
    )
    print()
    header = (
        f"{'havrutot':>8} {'students':>8} {'updates/s':>9} {'teacher msg/s':>13} {'max in 1 s':>10} "
        f"{'progress/s':>10} {'hook p50/p99 s':>15} {'teacher p50/p99 s':>18} {'unseen':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['size']:>8} {r['students']:>8} {r['edits_per_s']:>9.0f} {r['teacher_per_s']:>13.2f} "
            f"{r['teacher_max']:>10} {r['raw_per_s']:>10.1f} {r['hook_p50']:>7.2f}/{r['hook_p99']:<7.2f} "
            f"{r['p50']:>9.2f}/{r['p99']:<8.2f} {r['unseen']:>6}"
        )
    print(f"\n(run took {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    main()
