"""Children's privacy pages of a class: export a student's data, delete a student.

Teachers of the class only (owner or co-teacher): anonymous visitors are sent to sign in, everyone
else gets 404 through classrooms/access.py, as on every other roster page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import User
from classrooms import access, selectors_privacy, services_privacy
from reflections.exports import json_text


def _roster(request: HttpRequest, pk: int, student_pk: int):  # type: ignore[no-untyped-def]
    user: User = request.user  # type: ignore[assignment]
    classroom = access.classroom_for_teacher(user, pk)
    return classroom, access.enrollment_for_teacher(user, classroom, student_pk)


@require_GET
@login_required
@never_cache
def student_export(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    """Everything stored about the student, as one JSON file (with links to their PDFs)."""
    _classroom, enrollment = _roster(request, pk, student_pk)
    data = selectors_privacy.student_export(enrollment=enrollment, absolute=request.build_absolute_uri)
    response = HttpResponse(json_text(data), content_type="application/json; charset=utf-8")
    filename = f"student-{slugify(enrollment.student.display_name) or enrollment.student_id}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@never_cache
def student_delete(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    """Confirm, choose what happens to shared work, delete (the roster's "Remove")."""
    classroom, enrollment = _roster(request, pk, student_pk)
    modes = services_privacy.DeletionMode
    # No choice posted (an older form, a test): keep shared work, which is what "Remove" always did.
    chosen = request.POST.get("mode") or modes.KEEP_SHARED
    error = ""
    if request.method == "POST":
        if chosen in modes.values:
            name = enrollment.student.display_name
            services_privacy.student_delete(enrollment=enrollment, mode=chosen, by=request.user)  # type: ignore[arg-type]
            messages.success(request, _("%(name)s was removed from the class.") % {"name": name})
            return redirect(reverse("classrooms:detail", args=[classroom.pk]) + "#roster")
        error = _("Choose what happens to the worksheets they wrote with their partners.")
    context = {
        "classroom": classroom,
        "enrollment": enrollment,
        "chosen": chosen,
        "keep": modes.KEEP_SHARED,
        "error": error,
    }
    return render(request, "classrooms/student_remove.html", context, status=400 if error else 200)
