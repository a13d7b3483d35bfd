"""Handout PDFs: /protocols/<slug>/handout.pdf?version=student|teacher&text=<slug>&paper=letter|a4&age=<band>.

Anyone may print the student version of a library protocol (it is what the protocol page shows
them). The teacher version is for signed-in teachers only: everyone else gets 404, like any
object they may not see. A text is looked up among the texts the user may read (a teacher's own
text is 404 to everyone else).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from protocols import handouts, selectors
from protocols.pdf import RenderTimeout, paper_or_default
from protocols.services import protocol_version_current


def _is_teacher(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and getattr(request.user, "is_teacher", False))


def pdf_response(pdf: bytes, *, filename: str, attachment: bool = False) -> HttpResponse:
    """A PDF the browser shows (or downloads); private because it follows the user's language."""
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def render_failed() -> HttpResponse:
    message = _("This PDF took too long to make. Try a shorter text, or try again in a minute.")
    return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")


@require_GET
def handout_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    version = request.GET.get("version", "student")
    if version not in handouts.VERSIONS:
        raise Http404
    if version == "teacher" and not _is_teacher(request):
        raise Http404
    age = request.GET.get("age", "")
    protocol = handouts.protocol_for_age(selectors.protocol_detail(slug=slug), age)
    if age and not protocol.age_bands.filter(slug=age).exists():
        age = ""  # an unknown band, or one this protocol family has no variant for
    text_slug = request.GET.get("text", "")
    text = selectors.text_for_user(request.user, text_slug) if text_slug else None  # type: ignore[arg-type]
    paper = paper_or_default(request.GET.get("paper"))
    protocol_version = protocol_version_current(protocol=protocol)
    try:
        pdf = handouts.handout_pdf_cached(
            protocol_version.data,
            version_hash=protocol_version.content_hash,
            text=handouts.text_data(text) if text is not None else None,
            version=version,
            paper=paper,
            age=age,
        )
    except RenderTimeout:
        return render_failed()
    parts = [protocol.slug, text.slug if text is not None else "", version, paper]
    filename = "-".join(part for part in parts if part) + ".pdf"
    return pdf_response(pdf, filename=filename)
