"""Class packets (built in the background, with a progress page) and sign-in sheets as PDF.

Teachers of the class only: anonymous visitors are sent to sign in, everyone else gets 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from classrooms import pdf
from classrooms.access import assignment_for_teacher, classroom_for_teacher
from protocols import handouts
from protocols.pdf import RenderTimeout, paper_or_default
from protocols.views_pdf import pdf_response, render_failed


@require_GET
@login_required
def signin_sheet_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = classroom_for_teacher(request.user, pk)  # type: ignore[arg-type]
    paper = paper_or_default(request.GET.get("paper"))
    try:
        document = pdf.signin_sheet_pdf(classroom, site_url=request.build_absolute_uri("/"), paper=paper)
    except RenderTimeout:
        return render_failed()
    return pdf_response(document, filename=f"sign-in-{slugify(classroom.name) or 'class'}.pdf")


def _urls(pk: int, paper: str) -> dict[str, str]:
    query = f"?paper={paper}"
    return {
        "status_url": reverse("classrooms:packet_status", args=[pk]) + query,
        "download_url": reverse("classrooms:packet_pdf", args=[pk]) + query,
        "page_url": reverse("classrooms:packet", args=[pk]) + query,
    }


@require_GET
@login_required
@never_cache
def packet_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Starts the packet (idempotent: an unchanged packet is never rendered twice) and shows progress."""
    assignment = assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    paper = paper_or_default(request.GET.get("paper"))
    _job, status = pdf.packet_start(assignment, paper=paper, retry=request.GET.get("retry") == "1")
    context = {
        "assignment": assignment,
        "classroom": assignment.classroom,
        "protocol": assignment.protocol_version.data,
        "status": status,
        "paper": paper,
        "other_paper": "a4" if paper == "letter" else "letter",
        **_urls(assignment.pk, paper),
    }
    return render(request, "classrooms/packet.html", context)


@require_GET
@login_required
@never_cache
def packet_status(request: HttpRequest, pk: int) -> JsonResponse:
    """{"state": idle|queued|running|ready|failed, "done", "total", "percent", "download_url"}."""
    assignment = assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    paper = paper_or_default(request.GET.get("paper"))
    job = pdf.packet_job(assignment, paper=paper)
    status = pdf.packet_status(job)
    if status["state"] == "idle":  # answers changed since the page opened, or a worker stopped
        job, status = pdf.packet_start(assignment, paper=paper)
    urls = _urls(assignment.pk, paper)
    return JsonResponse({**status, "download_url": urls["download_url"] if status["state"] == "ready" else ""})


@require_GET
@login_required
def packet_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    paper = paper_or_default(request.GET.get("paper"))
    job = pdf.packet_job(assignment, paper=paper)
    if not job.path.exists():
        return redirect(_urls(assignment.pk, paper)["page_url"])
    response = FileResponse(
        job.path.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=pdf.packet_filename(assignment),
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def assignment_handout_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The blank handout exactly as assigned: the frozen protocol version, the assignment's text,
    the class's grade band and the class name in the running header."""
    assignment = assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    version = request.GET.get("version", "student")
    if version not in handouts.VERSIONS:
        raise Http404
    paper = paper_or_default(request.GET.get("paper"))
    protocol_version = assignment.protocol_version
    bands = protocol_version.data.get("age_bands") or []
    age = assignment.classroom.grade_band if assignment.classroom.grade_band in bands else ""
    try:
        document = handouts.handout_pdf_cached(
            protocol_version.data,
            version_hash=protocol_version.content_hash,
            text=handouts.text_data(assignment.text) if assignment.text is not None else None,
            version=version,
            paper=paper,
            age=age,
            running_left=assignment.classroom.name,
        )
    except RenderTimeout:
        return render_failed()
    title = slugify(protocol_version.data.get("title", "")) or "handout"
    return pdf_response(document, filename=f"{title}-{version}-{paper}.pdf")
