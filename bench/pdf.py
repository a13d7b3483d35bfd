"""Benchmark: how long the product's PDFs take, beside WeasyPrint rendering a plain page of the same text.

Run from the project root:  .venv/bin/python bench/pdf.py [--reps 5] [--packet-reps 2] [--cold-reps 1]
                                 [--sizes 5,15,30] [--rows "handout,packet of 15"] [--clock wall|cpu]
                                 [--profile "packet of 15"]   (cProfile of warm renders of one row)

Sets Django up on a throwaway SQLite database in a temp folder, migrates it, loads the library
(protocols.services.library_load) and, through the project's services, builds one class per packet
size with N havrutot paired at random, assigns "Listening to My Peer Partner" on Genesis 4:1-16 and
fills every worksheet the way the live server does: a Yjs document per student and one shared per
havruta, every insert signed with its author, stored in the update log and materialised into
answers (worksheets.services.answers_materialise). Then it times the real render functions:

- student handout / teacher guide: protocols.handouts.handout_pdf (Listening to the Text with
  Genesis 4:1-16, US Letter); "cached" is handout_pdf_cached, which the handout URL uses;
- completed worksheet: worksheets.pdf.worksheet_pdf (reads the database, renders, writes the PDF);
- class packet of N: classrooms.pdf.packet_start + packet_wait (what the packet page starts: read,
  lay out each havruta in the background worker, merge, write the file), the packet file and its
  status removed before every repetition.

warm = repeated in one process (WeasyPrint set up, templates loaded); cold = the first render in a
fresh process (a child process per repetition: engine setup, font loading and template parsing
included, Python and Django start-up not). The baseline renders, for each row, a plain HTML page
with the same text (the row's document with its markup stripped, in paragraphs) with WeasyPrint's
defaults: HTML(string=...).write_pdf(), no stylesheet, no tagging, a new font configuration per call.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROTOCOL = "listening-to-my-peer-partner"
HANDOUT_PROTOCOL = "listening-to-the-text"
TEXT = "genesis-4-1-16"
TARGETS = {"student handout": 0.4, "packet of 15": 4.0}  # seconds, median warm

# Answers students might write, by field kind (a Hebrew line among them: students quote the text).
LONG = (
    "Cain brought fruit of the ground, but Abel brought the firstlings of his flock and of the fat. "
    "Maybe the text is telling us that the way you give matters more than what you give."
)
SHORT = "Line 7: sin couches at the door"
LIST = ["the ground (line 3)", "firstlings of his flock (line 4)", "וַיִּחַר לְקַיִן מְאֹד (line 5)"]


def setup_django(db_dir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_dir / 'bench.sqlite3'}"
    os.environ.pop("REDIS_URL", None)  # the local in-memory cache, as in development
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pop_site.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.PDF_CACHE_DIR = db_dir / "pdf-cache"
    settings.PDF_RENDER_TIME_LIMIT = 600.0  # measure, never stop


# --------------------------------------------------------------------------------------------
# The data: a class per packet size, every worksheet filled by both partners
# --------------------------------------------------------------------------------------------


def _doc_for(fields: list[dict[str, Any]], authors: list[int]) -> bytes:
    """A worksheet document (worksheets/PROTOCOL.md layout) with every field answered."""
    from pycrdt import Array, Doc, Map, Text

    doc = Doc()
    for n, item in enumerate(fields):
        key, kind = item["key"], item["kind"]
        author = {"a": str(authors[n % len(authors)])}
        other = {"a": str(authors[(n + 1) % len(authors)])}
        if kind in ("long_text", "short_text"):
            text = doc.get(key, type=Text)
            body = LONG if kind == "long_text" else SHORT
            half = len(body) // 2
            text.insert(0, body[:half], attrs=author)
            text.insert(half, body[half:], attrs=other)
        elif kind == "list":
            entries = doc.get(key, type=Array)
            for entry_text in LIST:
                entry = Text()
                entries.append(entry)
                entry.insert(0, entry_text, attrs=author)
        elif kind in ("choice", "scale"):
            points = item.get("options") or item.get("scale") or [{"value": "1"}]
            doc.get(key, type=Map)["value"] = str(points[len(points) // 2]["value"])
        elif kind == "checklist":
            options = doc.get(key, type=Map)
            for option in (item.get("options") or [])[:2]:
                options[str(option["value"])] = True
    return doc.get_update()


def build_classes(sizes: list[int]) -> dict[int, int]:
    """One class per size with that many havrutot and a filled assignment; {size: assignment pk}."""
    from django.utils import timezone

    from accounts.models import User
    from classrooms.models import HavrutaMember
    from classrooms.services import classroom_create, student_create
    from classrooms.services_pairing import assignment_create, pairing_session_create
    from protocols.models import Protocol, Text
    from worksheets.models import DocUpdate, Worksheet
    from worksheets.services import answers_materialise

    teacher = User.objects.create_user(
        username="bench-teacher", email="bench" + "@" + "example.org", password=None, display_name="Ms. Bench"
    )
    protocol = Protocol.objects.get(slug=PROTOCOL)
    text = Text.objects.get(slug=TEXT)
    assignments = {}
    for size in sizes:
        classroom = classroom_create(
            teacher=teacher, name=f"Grade 7 Chumash ({size} havrutot)", grade_band="middle-school"
        )
        students = [
            student_create(classroom=classroom, display_name=f"Student {n:02d}", pin=f"{n:04d}")
            for n in range(2 * size)
        ]
        session = pairing_session_create(classroom=classroom, by=teacher, method="random", present=students, seed=size)
        (assignment,) = assignment_create(session=session, by=teacher, protocol=protocol, text=text, date=session.date)
        fields = assignment.protocol_version.data["fields"]
        shared = [f for f in fields if f.get("scope") != "personal"]
        personal = [f for f in fields if f.get("scope") == "personal"]
        now = timezone.now()
        for worksheet in Worksheet.objects.filter(assignment=assignment):
            members = list(
                HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id).values_list("student_id", flat=True)
            )
            docs: list[tuple[int | None, bytes, list[dict[str, Any]]]] = [(None, _doc_for(shared, members), shared)]
            docs += [(student, _doc_for(personal, [student]), personal) for student in members]
            for student, update, doc_fields in docs:
                DocUpdate.objects.create(
                    worksheet=worksheet,
                    student_id=student,
                    data=update,
                    author_id=student or members[0],
                    created_at=now,
                )
                answers_materialise(
                    worksheet_id=worksheet.pk, student_id=student, update=update, fields=doc_fields, edited_at=now
                )
        assignments[size] = assignment.pk
    return assignments


# --------------------------------------------------------------------------------------------
# What is timed
# --------------------------------------------------------------------------------------------


def _handout_inputs() -> tuple[dict[str, Any], Any, str]:
    from protocols.handouts import text_data
    from protocols.models import Protocol, Text
    from protocols.services import protocol_version_current

    version = protocol_version_current(protocol=Protocol.objects.get(slug=HANDOUT_PROTOCOL))
    return version.data, text_data(Text.objects.get(slug=TEXT)), version.content_hash


def _worksheet() -> Any:
    from worksheets.models import Worksheet

    return (
        Worksheet.objects.filter(assignment__protocol_version__protocol__slug=PROTOCOL)
        .select_related("assignment__protocol_version", "assignment__classroom", "assignment__text", "havruta")
        .order_by("pk")
        .first()
    )


def _assignment(pk: int) -> Any:
    from classrooms.models import Assignment

    return Assignment.objects.select_related("classroom", "protocol_version", "text").get(pk=pk)


def task(kind: str, assignments: dict[int, int]) -> tuple[Callable[[], bytes], Callable[[], str]]:
    """(render, html): the timed render (returns the PDF) and the HTML the baseline takes its text from."""
    from protocols import handouts

    if kind in ("student handout", "teacher guide", "student handout (cached)"):
        data, text, version_hash = _handout_inputs()
        version = "teacher" if kind == "teacher guide" else "student"
        if kind.endswith("(cached)"):

            def render() -> bytes:
                return handouts.handout_pdf_cached(data, version_hash=version_hash, text=text, version=version)

        else:

            def render() -> bytes:
                return handouts.handout_pdf(data, text=text, version=version)

        return render, lambda: handouts.handout_html(data, text=text, version=version)

    if kind == "completed worksheet":
        from worksheets.pdf import worksheet_html, worksheet_pdf, worksheets_data

        def render_worksheet() -> bytes:
            return worksheet_pdf(_worksheet())

        return render_worksheet, lambda: worksheet_html(worksheets_data([_worksheet()])[0])

    size = int(kind.removeprefix("packet of "))
    from django.core.cache import cache

    from classrooms.pdf import packet_html, packet_start, packet_wait

    def render_packet() -> bytes:
        assignment = _assignment(assignments[size])
        # Nothing left from an earlier repetition: the packet is rendered again from scratch.
        shutil.rmtree(Path(os.environ["BENCH_DIR"]) / "pdf-cache", ignore_errors=True)
        cache.clear()
        job, _status = packet_start(assignment)
        status = packet_wait(job, timeout=600)
        assert status["state"] == "ready", status
        return job.path.read_bytes()

    def packet_text() -> str:
        cover, sections = packet_html(_assignment(assignments[size]))
        return cover + "".join(sections)

    return render_packet, packet_text


def plain_html(html: str) -> str:
    """The document's visible text as plain paragraphs: the baseline page "of the same length"."""
    body = re.sub(r"(?s)<(head|style|script)\b.*?</\1>", " ", html)
    text = unescape(re.sub(r"<[^>]+>", "\n", body))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs, current = [], ""
    for line in filter(None, lines):
        current = f"{current} {line}".strip()
        if len(current) > 300:
            paragraphs.append(current)
            current = ""
    paragraphs.append(current)
    return "<!doctype html><html><body>" + "".join(f"<p>{p}</p>" for p in paragraphs if p) + "</body></html>"


def baseline(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def page_count(pdf: bytes) -> int:
    import io

    import pypdf  # a test dependency, installed with the dev tools

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


# Wall-clock time by default; --clock cpu counts this process's CPU time instead (all threads),
# steadier on a machine other work is using.
CLOCK = time.perf_counter


def timed(function: Callable[[], bytes]) -> tuple[float, bytes]:
    started = CLOCK()
    result = function()
    return CLOCK() - started, result


# --------------------------------------------------------------------------------------------
# Cold runs: one child process per repetition
# --------------------------------------------------------------------------------------------


def child(kind: str, which: str, assignments: dict[int, int]) -> None:
    """Print the time of the first render of ``kind`` in this fresh process (JSON on stdout)."""
    render, html = task(kind, assignments)
    if which == "ours":
        if kind.endswith("(cached)"):
            render()  # fill the cache first: this row measures a hit
        seconds, _pdf = timed(render)
    else:
        page = plain_html(html())
        seconds, _pdf = timed(lambda: baseline(page))
    print(json.dumps({"seconds": seconds}))


def cold(kind: str, which: str, assignments: dict[int, int], reps: int, db_dir: Path) -> list[float]:
    times = []
    for _ in range(reps):
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                *("--child", kind, "--which", which, "--clock", "cpu" if CLOCK is time.process_time else "wall"),
                *("--assignments", json.dumps(assignments)),
            ],
            env={**os.environ, "BENCH_DIR": str(db_dir)},
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
        times.append(json.loads(output.strip().splitlines()[-1])["seconds"])
    return times


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def fmt(times: list[float]) -> str:
    if not times:
        return f"{'-':>8} {'-':>8}"
    return f"{statistics.median(times):8.3f} {max(times):8.3f}"


def profile(kind: str, assignments: dict[int, int], reps: int) -> None:
    import cProfile
    import pstats

    render, _html = task(kind, assignments)
    render()
    if kind.startswith("packet of "):
        # The packet renders in a worker thread, which cProfile does not see: run its body here.
        from classrooms import pdf

        assignment = _assignment(assignments[int(kind.removeprefix("packet of "))])
        job = pdf.packet_job(assignment)
        cover, sections = pdf.packet_html(assignment)

        def render() -> bytes:
            pdf._run(job, cover, sections)
            return b""

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(reps):
        render()
    profiler.disable()
    pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="warm repetitions of handouts and the worksheet")
    parser.add_argument("--packet-reps", type=int, default=2, help="warm repetitions of each packet")
    parser.add_argument("--cold-reps", type=int, default=1, help="cold repetitions (a fresh process each)")
    parser.add_argument("--sizes", default="5,15,30", help="packet sizes in havrutot")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="what a time is (default wall)")
    parser.add_argument("--rows", help='only the rows whose name contains one of these ("handout,packet of 15")')
    parser.add_argument("--profile", metavar="DOCUMENT", help='profile warm renders of one row ("packet of 5")')
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--which", default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--assignments", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    if args.child:
        setup_django(Path(os.environ["BENCH_DIR"]))
        child(args.child, args.which, {int(k): v for k, v in json.loads(args.assignments).items()})
        return

    started = time.perf_counter()
    db_dir = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    os.environ["BENCH_DIR"] = str(db_dir)
    try:
        sizes = [int(size) for size in args.sizes.split(",") if size]
        setup_django(db_dir)
        from django.core.management import call_command

        from protocols.services import library_load

        call_command("migrate", verbosity=0)
        library_load(ROOT / "fixtures")
        assignments = build_classes(sizes)
        if args.profile:
            profile(args.profile, assignments, args.reps)
            return
        print((__doc__ or "").split("\n\n")[0])
        print(
            f"warm: median/max of {args.reps} renders in one process ({args.packet_reps} for packets); "
            f"cold: first render in a fresh process ({args.cold_reps}x). "
            f"Setup (migrate, library, {sum(sizes)} havrutot filled) took {time.perf_counter() - started:.1f} s."
        )
        clock = "CPU seconds of this process" if args.clock == "cpu" else "wall-clock seconds"
        print(f"Times in {clock}. {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start.\n")
        kinds = ["student handout", "student handout (cached)", "teacher guide", "completed worksheet"]
        kinds += [f"packet of {size}" for size in sizes]
        header = (
            f"{'document':<25} {'pages':>5} {'ours warm':>17} {'ours cold':>17} "
            f"{'plain warm':>17} {'plain cold':>17}  {'x plain':>7}"
        )
        print(header)
        if args.rows:
            kinds = [kind for kind in kinds if any(row.strip() in kind for row in args.rows.split(","))]
        print(f"{'':<25} {'':>5}" + f" {'median      max':>17}" * 4)
        print("-" * len(header))
        results = {}
        for kind in kinds:
            render, html = task(kind, assignments)
            reps = args.packet_reps if kind.startswith("packet") else args.reps
            pdf = render()  # not timed: warms this kind (and fills the cache for the cached row)
            ours_warm = [timed(render)[0] for _ in range(reps)]
            page = plain_html(html())
            plain_pdf = baseline(page)
            plain_warm = [timed(lambda page=page: baseline(page))[0] for _ in range(reps)]
            ours_cold = cold(kind, "ours", assignments, args.cold_reps, db_dir)
            plain_cold = cold(kind, "plain", assignments, args.cold_reps, db_dir) if "cached" not in kind else []
            ratio = statistics.median(ours_warm) / statistics.median(plain_warm)  # both warm: like for like
            pages = f"{page_count(pdf)}/{page_count(plain_pdf)}"
            print(
                f"{kind:<25} {pages:>5} {fmt(ours_warm)} {fmt(ours_cold)} {fmt(plain_warm)} {fmt(plain_cold)}  "
                f"{ratio:6.2f}x",
                flush=True,
            )
            results[kind] = statistics.median(ours_warm)
        print("\npages: ours/plain. x plain: our median warm time over the plain page's.")
        for kind, target in TARGETS.items():
            if kind in results:
                verdict = "met" if results[kind] <= target else "MISSED"
                print(f"target {kind} <= {target:g} s median warm: {results[kind]:.3f} s, {verdict}")
        print(f"total {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
