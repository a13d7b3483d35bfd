"""A student's reflection and self-assessment for one session as PDF (for parent conferences).

Teachers of the class print any student's (/reflections/session/<pk>/students/<pk>/reflection.pdf);
a student prints their own (/reflections/session/<pk>/reflection.pdf). Everyone else gets 404,
through the same access helpers as the reflection pages. The PDF itself is made by
``worksheets.pdf.answers_pdf`` from ``selectors.reflection_pdf_answers``.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import User
from classrooms.access import reflection_havruta_for_student, reflection_student_for_teacher, session_for_teacher
from classrooms.models import PairingSession
from protocols.pdf import RenderTimeout, paper_or_default
from protocols.views_pdf import pdf_response, render_failed
from reflections import selectors
from worksheets.pdf import answers_pdf


def _reflection_pdf(request: HttpRequest, *, student: User, session: PairingSession) -> HttpResponse:
    answers = selectors.reflection_pdf_answers(student=student, session=session)
    if answers is None:  # not started: nothing to print (the page says so)
        raise Http404
    try:
        document = answers_pdf(
            title=_("Reflection and self-assessment"),
            student=answers["student"],
            fields=answers["fields"],
            values=answers["values"],
            subtitle=answers["subtitle"],
            running_left=session.classroom.name,
            paper=paper_or_default(request.GET.get("paper")),
        )
    except RenderTimeout:
        return render_failed()
    name = slugify(student.name) or "student"
    return pdf_response(document, filename=f"reflection-{name}-{session.date:%Y-%m-%d}.pdf")


@require_GET
def reflection_pdf_for_teacher(request: HttpRequest, session_pk: int, student_pk: int) -> HttpResponse:
    session = session_for_teacher(request.user, session_pk)  # type: ignore[arg-type]
    student = reflection_student_for_teacher(request.user, session, student_pk)  # type: ignore[arg-type]
    return _reflection_pdf(request, student=student, session=session)


@require_GET
def reflection_pdf_for_student(request: HttpRequest, session_pk: int) -> HttpResponse:
    havruta = reflection_havruta_for_student(request.user, session_pk)  # type: ignore[arg-type]
    return _reflection_pdf(request, student=request.user, session=havruta.session)  # type: ignore[arg-type]
