"""A havruta's completed worksheet as PDF: /worksheets/<pk>/worksheet.pdf?paper=letter|a4.

Members of the havruta (still enrolled in the class) and the class's teachers may print it;
everyone else gets 404 (classrooms.access.worksheet_for_user).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from classrooms.access import worksheet_for_user
from protocols.pdf import RenderTimeout, paper_or_default
from protocols.views_pdf import pdf_response, render_failed
from worksheets.pdf import worksheet_pdf


@require_GET
@login_required
def worksheet_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    worksheet = worksheet_for_user(request.user, pk)  # type: ignore[arg-type]
    try:
        pdf = worksheet_pdf(worksheet, paper=paper_or_default(request.GET.get("paper")))
    except RenderTimeout:
        return render_failed()
    title = slugify(worksheet.assignment.protocol_version.data.get("title", "")) or "worksheet"
    return pdf_response(pdf, filename=f"{title}-havruta-{worksheet.havruta.number}.pdf")
