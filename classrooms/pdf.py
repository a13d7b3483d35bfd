"""Class packets and sign-in sheets as PDF.

A class packet is every havruta's completed worksheet of one assignment in one PDF: a cover page
listing the havrutot (and the text, once), then each havruta starting on a new page. A packet of
30 havrutot takes seconds, so it is rendered in the background:

* the request thread reads everything from the database and renders the HTML of each section
  (fast, and the worker never touches the database or the active language);
* one worker thread per process (``concurrent.futures``, one worker) lays out one havruta at a
  time, records progress in Django's cache (shared by all processes when REDIS_URL is set), merges
  the pages and writes the file under ``PDF_CACHE_DIR`` (default ``media/cache/pdf``);
* the packet page polls ``packet_status`` and offers the download when the file exists.

Packets are keyed by a fingerprint of everything they show (answers, members, protocol version,
text, language, paper, print templates), so a finished packet is served again until someone
writes another answer, and a stale one is never served.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache as memoize
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _

from classrooms.models import Assignment, Classroom, Enrollment, HavrutaMember
from classrooms.qr import qr_svg
from protocols.handouts import assets_fingerprint, document_language, text_data
from protocols.pdf import documents_to_pdf, paper_or_default, render_document, render_pdf
from worksheets.models import FieldAnswer, Worksheet
from worksheets.pdf import WorksheetData, comment_model, worksheet_html, worksheets_data

logger = logging.getLogger(__name__)

STATUS_SECONDS = 24 * 3600
# A job whose status has not moved for this long is taken for dead (its process stopped).
STALE_SECONDS = 120


def pdf_cache_dir() -> Path:
    return Path(getattr(settings, "PDF_CACHE_DIR", Path(settings.BASE_DIR) / "media" / "cache" / "pdf"))


def _packets_dir() -> Path:
    return pdf_cache_dir() / "packets"


# --------------------------------------------------------------------------------------------
# What a packet shows, and its fingerprint
# --------------------------------------------------------------------------------------------


def _packet_worksheets(assignment: Assignment) -> list[Worksheet]:
    return list(
        Worksheet.objects.filter(assignment=assignment)
        .select_related("assignment__protocol_version", "assignment__classroom", "assignment__text", "havruta")
        .order_by("havruta__number")
    )


@memoize
def packet_assets_fingerprint() -> str:
    """The handouts' fingerprint plus the packet's own templates and code (a packet on disk
    outlives a deploy)."""
    digest = hashlib.sha256(assets_fingerprint().encode())
    root = Path(settings.BASE_DIR)
    paths = [
        *sorted((root / "worksheets" / "templates" / "worksheets" / "pdf").glob("*.html")),
        *sorted((root / "classrooms" / "templates" / "classrooms" / "pdf").glob("*.html")),
        root / "worksheets" / "pdf.py",
        Path(__file__),
    ]
    for path in paths:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def packet_fingerprint(assignment: Assignment, *, paper: str, lang: str) -> str:
    """Changes whenever anything printed in the packet changes (four queries)."""
    answers = FieldAnswer.objects.filter(worksheet__assignment=assignment).aggregate(
        count=Count("id"), last=Max("updated_at")
    )
    worksheets = list(
        Worksheet.objects.filter(assignment=assignment).order_by("pk").values_list("pk", "havruta_id", "last_edit_at")
    )
    members = list(
        HavrutaMember.objects.filter(havruta__worksheets__assignment=assignment)
        .order_by("havruta_id", "seat")
        .values_list("havruta_id", "seat", "student__display_name")
    )
    comments_model = comment_model()
    comments = (
        comments_model.objects.filter(worksheet__assignment=assignment).aggregate(
            count=Count("id"), last=Max("created_at"), done=Max("done_at")
        )
        if comments_model is not None
        else None
    )
    payload = repr(
        (
            assignment.pk,
            assignment.protocol_version.content_hash,
            assignment.text_id,
            assignment.date,
            assignment.classroom.name,
            answers,
            worksheets,
            members,
            comments,
            paper,
            lang,
            packet_assets_fingerprint(),
        )
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass
class PacketJob:
    key: str
    path: Path
    title: str
    lang: str
    paper: str


def packet_job(assignment: Assignment, *, paper: str = "letter") -> PacketJob:
    paper = paper_or_default(paper)
    lang, _direction = document_language()
    key = f"a{assignment.pk}-{paper}-{packet_fingerprint(assignment, paper=paper, lang=lang)}"
    title = _("Class packet · %(protocol)s · %(classroom)s") % {
        "protocol": assignment.protocol_version.data.get("title", ""),
        "classroom": assignment.classroom.name,
    }
    return PacketJob(key=key, path=_packets_dir() / f"packet-{key}.pdf", title=title, lang=lang, paper=paper)


def packet_html(assignment: Assignment) -> tuple[str, list[str]]:
    """The cover (with the text, once) and one HTML document per havruta, read in the request thread."""
    worksheets = _packet_worksheets(assignment)
    items = worksheets_data(worksheets, with_text=False)
    text = text_data(assignment.text) if assignment.text is not None else None
    lang, direction = document_language()
    data = assignment.protocol_version.data
    field_count = len(data.get("fields") or [])
    cover = render_to_string(
        "classrooms/pdf/packet_cover.html",
        {
            "assignment": assignment,
            "protocol": data,
            "classroom_name": assignment.classroom.name,
            "rows": [(item, _fields_filled(item)) for item in items],
            "field_count": field_count,
            "text": text,
            "lang": lang,
            "dir": direction,
            "doc_title": _("Class packet"),
            "running_left": assignment.classroom.name,
        },
    )
    return cover, [worksheet_html(item, in_packet=True) for item in items]


def _fields_filled(item: WorksheetData) -> int:
    """Fields with at least one answer (for a personal field, any partner's)."""
    filled = 0
    for step in item.steps:
        for entry in step.fields:
            values = [entry.shared] if entry.shared is not None else [p.value for p in entry.personal]
            filled += any(not value.empty for value in values)
    return filled


# --------------------------------------------------------------------------------------------
# The background worker and its status
# --------------------------------------------------------------------------------------------

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-packet")
_futures: dict[str, Future[None]] = {}
_futures_lock = threading.Lock()


def _status_key(key: str) -> str:
    return f"pdf-packet:{key}"


def _set_status(key: str, **values: Any) -> dict[str, Any]:
    status = {"state": "queued", "done": 0, "total": 0, "error": "", **values, "updated": time.time()}
    cache.set(_status_key(key), status, STATUS_SECONDS)
    return status


def _public(status: dict[str, Any]) -> dict[str, Any]:
    total = int(status.get("total") or 0)
    done = int(status.get("done") or 0)
    # One more step than havrutot: merging the pages and writing the file.
    percent = 100 if status["state"] == "ready" else round(100 * done / (total + 1))
    return {
        "state": status["state"],
        "done": done,
        "total": total,
        "percent": min(percent, 100),
        "error": status.get("error", ""),
    }


def packet_status(job: PacketJob) -> dict[str, Any]:
    """idle | queued | running | ready | failed, with done/total havrutot and a percentage."""
    if job.path.exists():
        status = cache.get(_status_key(job.key)) or {}
        total = int(status.get("total") or 0)
        return _public({"state": "ready", "done": total, "total": total})
    status = cache.get(_status_key(job.key))
    if status is None:
        return _public({"state": "idle"})
    if status["state"] in ("queued", "running") and time.time() - status.get("updated", 0) > STALE_SECONDS:
        return _public({"state": "idle"})
    if status["state"] == "ready":  # the file was removed (cache folder cleaned): build it again
        return _public({"state": "idle"})
    return _public(status)


def packet_start(assignment: Assignment, *, paper: str = "letter", retry: bool = False) -> tuple[PacketJob, dict]:
    """Start rendering the packet in the background unless it is ready or already on its way."""
    job = packet_job(assignment, paper=paper)
    status = packet_status(job)
    if status["state"] in ("ready", "queued", "running") or (status["state"] == "failed" and not retry):
        return job, status
    # One process starts it; the others see "queued" through the shared cache.
    if not cache.add(f"{_status_key(job.key)}:lock", 1, STALE_SECONDS) and not retry:
        return job, packet_status(job)
    cover, sections = packet_html(assignment)
    status = _public(_set_status(job.key, state="queued", done=0, total=len(sections)))
    with _futures_lock:
        _futures[job.key] = _executor.submit(_run, job, cover, sections)
    return job, status


def packet_wait(job: PacketJob, timeout: float) -> dict[str, Any]:
    """Block until this process's render of the packet ends (tests, management commands)."""
    with _futures_lock:
        future = _futures.get(job.key)
    if future is not None:
        future.result(timeout=timeout)
    return packet_status(job)


def _run(job: PacketJob, cover: str, sections: list[str]) -> None:
    total = len(sections)
    try:
        _set_status(job.key, state="running", done=0, total=total)
        documents = [render_document(cover, title=job.title, lang=job.lang, paper=job.paper, stylesheets=_SHEETS)]
        for done, html in enumerate(sections, start=1):
            documents.append(
                render_document(html, title=job.title, lang=job.lang, paper=job.paper, stylesheets=_SHEETS)
            )
            _set_status(job.key, state="running", done=done, total=total)
        pdf = documents_to_pdf(documents, title=job.title, lang=job.lang)
        job.path.parent.mkdir(parents=True, exist_ok=True)
        partial = job.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(pdf)
        os.replace(partial, job.path)
        _remove_older_packets(job)
        _set_status(job.key, state="ready", done=total, total=total)
    except Exception as error:
        logger.exception("The class packet %s failed", job.key)
        _set_status(job.key, state="failed", done=0, total=total, error=str(error)[:200])
    finally:
        cache.delete(f"{_status_key(job.key)}:lock")


def _remove_older_packets(job: PacketJob) -> None:
    """Keep one packet per assignment and paper on disk: the newest."""
    prefix = job.key.rsplit("-", 1)[0]
    for path in job.path.parent.glob(f"packet-{prefix}-*.pdf"):
        if path != job.path:
            path.unlink(missing_ok=True)


_SHEETS = ("handout", "worksheet")


def packet_filename(assignment: Assignment) -> str:
    title = slugify(assignment.protocol_version.data.get("title", "")) or "packet"
    return f"{slugify(assignment.classroom.name) or 'class'}-{title}-{assignment.date:%Y-%m-%d}.pdf"


# --------------------------------------------------------------------------------------------
# Sign-in sheets
# --------------------------------------------------------------------------------------------


def signin_sheet_pdf(classroom: Classroom, *, site_url: str, paper: str = "letter") -> bytes:
    """One page with the class QR code and join code, then a cut-out card per student (QR + PIN).

    ``site_url`` is the absolute root of the site ("https://havruta.example.org/"), from the request.
    """
    base = site_url.rstrip("/")
    join_url = base + reverse("classrooms:join_class", args=[classroom.join_code])
    enrollments = list(
        Enrollment.objects.filter(classroom=classroom).select_related("student").order_by("student__display_name")
    )
    cards = []
    for enrollment in enrollments:
        url = base + reverse("classrooms:join_pin", args=[classroom.join_code, enrollment.student_id])
        title = _("Sign-in code for %(name)s") % {"name": enrollment.student.name}
        cards.append(
            {"name": enrollment.student.name, "pin": enrollment.pin, "url": url, "qr": qr_svg(url, title=title)}
        )
    lang, direction = document_language()
    doc_title = _("Sign-in sheet · %(name)s") % {"name": classroom.name}
    html = render_to_string(
        "classrooms/pdf/signin_sheet.html",
        {
            "classroom": classroom,
            "join_url": join_url,
            "join_page": base + reverse("classrooms:join"),
            "class_qr": qr_svg(join_url, title=_("Sign-in code for the class %(name)s") % {"name": classroom.name}),
            "cards": cards,
            "lang": lang,
            "dir": direction,
            "doc_title": doc_title,
            "running_left": classroom.name,
        },
    )
    return render_pdf(html, title=doc_title, lang=lang, paper=paper_or_default(paper), stylesheets=("signin",))
