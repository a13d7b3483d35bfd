"""Pages for reflections, growth over time, portraits and exports. Thin: access, one call, render.

Every object comes through classrooms.access: a partner, a classmate or an outsider gets 404
for anything that is not theirs, exactly as for something that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from classrooms.access import (
    classroom_for_teacher,
    enrollment_for_growth,
    enrollment_for_student,
    reflection_havruta_for_student,
    reflection_student_for_teacher,
    session_for_teacher,
)
from reflections import selectors, services
from reflections.exports import csv_text, json_text
from reflections.forms import class_portrait_items, portrait_answers, reflection_input
from reflections.models import Reflection


def _is_student(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and request.user.is_student)  # type: ignore[union-attr]


def index(request: HttpRequest) -> HttpResponse:
    """Students: their reflections, appreciations and portrait. Teachers: their classes' reflections."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={request.path}")
    if _is_student(request):
        enrollment = enrollment_for_student(request.user)  # type: ignore[arg-type]
        return render(
            request,
            "reflections/index_student.html",
            {
                "reflection_panel": selectors.student_reflection_panel(student=request.user, enrollment=enrollment),  # type: ignore[arg-type]
                "class_portrait": selectors.class_portrait_view(classroom=enrollment.classroom),
                "classroom": enrollment.classroom,
            },
        )
    if not request.user.is_teacher:  # type: ignore[union-attr]
        raise Http404
    return render(
        request,
        "reflections/index_teacher.html",
        {"entries": selectors.teacher_reflection_index(teacher=request.user)},  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# The student's reflection
# --------------------------------------------------------------------------------------------


def _open_reflection(request: HttpRequest, session_pk: int) -> tuple[object, Reflection | None]:
    havruta = reflection_havruta_for_student(request.user, session_pk)  # type: ignore[arg-type]
    try:
        reflection = services.reflection_start(student=request.user, havruta=havruta)  # type: ignore[arg-type]
    except (services.ReflectionNotOpen, services.LibraryMissing):
        reflection = None
    return havruta, reflection


@require_http_methods(["GET", "POST"])
def reflection(request: HttpRequest, session_pk: int) -> HttpResponse:
    """The student's own reflection on a session: a plain form that autosaves when JS runs."""
    havruta, item = _open_reflection(request, session_pk)
    if item is None:
        return render(
            request,
            "reflections/reflection_closed.html",
            {
                "session": havruta.session,  # type: ignore[attr-defined]
                "locked": services.session_is_locked(havruta.session),  # type: ignore[attr-defined]
                "received": selectors.appreciations_for(student=request.user, session=havruta.session),  # type: ignore[arg-type, attr-defined]
            },
        )
    editable = services.reflection_is_editable(item)
    data = None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not editable:
            messages.error(request, _("Your teacher has locked these reflections, so they can no longer be changed."))
            return redirect("reflections:reflection", session_pk=session_pk)
        data = reflection_input(request.POST, item)
        submit = request.POST.get("action") == "submit"
        try:
            item, _changed = services.reflection_save(reflection=item, by=request.user, data=data, submit=submit)  # type: ignore[arg-type]
        except services.ReflectionLocked:
            messages.error(request, _("Your teacher has locked these reflections, so they can no longer be changed."))
            return redirect("reflections:reflection", session_pk=session_pk)
        except ValidationError as error:
            errors = error.message_dict
        else:
            if submit:
                messages.success(
                    request, _("Your reflection is handed in. You can still change it until your teacher locks it.")
                )
            else:
                messages.success(request, _("Saved."))
            return redirect("reflections:reflection", session_pk=session_pk)
    page = selectors.reflection_page(
        reflection=item,
        havruta=havruta,  # type: ignore[arg-type]
        student=request.user,  # type: ignore[arg-type]
        data=data,
        errors=errors,
        editable=editable,
    )
    return render(request, "reflections/reflection_form.html", {"page": page}, status=400 if errors else 200)


@require_POST
def reflection_autosave(request: HttpRequest, session_pk: int) -> JsonResponse:
    """Save the whole form as it is now. Idempotent: the same form twice leaves the same state."""
    _havruta, item = _open_reflection(request, session_pk)
    if item is None:
        return JsonResponse(
            {"status": "closed", "message": _("Reflections for this session are not open.")}, status=409
        )
    data = reflection_input(request.POST, item)
    try:
        item, changed = services.reflection_save(
            reflection=item,
            by=request.user,  # type: ignore[arg-type]
            data=data,
            submit=request.POST.get("action") == "submit",
        )
    except services.ReflectionLocked:
        return JsonResponse(
            {
                "status": "locked",
                "message": _("Your teacher has locked these reflections, so they can no longer be changed."),
            },
            status=409,
        )
    except ValidationError as error:
        return JsonResponse({"status": "invalid", "errors": error.message_dict}, status=400)
    return JsonResponse(
        {
            "status": "saved",
            "changed": changed,
            "saved_at": timezone.localtime(item.updated_at).strftime("%H:%M"),
            "submitted": item.submitted_at is not None,
            "appreciation_sent": item.appreciation_is_sent,
        }
    )


# --------------------------------------------------------------------------------------------
# Teachers: a session's reflections
# --------------------------------------------------------------------------------------------


def session_overview(request: HttpRequest, session_pk: int) -> HttpResponse:
    session = session_for_teacher(request.user, session_pk)  # type: ignore[arg-type]
    return render(
        request, "reflections/session_overview.html", {"overview": selectors.session_overview(session=session)}
    )


def reflection_for_teacher(request: HttpRequest, session_pk: int, student_pk: int) -> HttpResponse:
    session = session_for_teacher(request.user, session_pk)  # type: ignore[arg-type]
    student = reflection_student_for_teacher(request.user, session, student_pk)  # type: ignore[arg-type]
    document = selectors.reflection_for_pdf(student=student, session=session)
    return render(
        request,
        "reflections/reflection_detail.html",
        {"session": session, "student": student, "doc": document},
    )


@require_POST
def session_lock(request: HttpRequest, session_pk: int) -> HttpResponse:
    session = session_for_teacher(request.user, session_pk)  # type: ignore[arg-type]
    if request.POST.get("action") == "unlock":
        services.reflections_unlock(session=session, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Reflections are open again: students can change them."))
    else:
        services.reflections_lock(session=session, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Reflections are locked: students can read them but no longer change them."))
    return redirect("reflections:session_overview", session_pk=session.pk)


@require_POST
def session_end(request: HttpRequest, session_pk: int) -> HttpResponse:
    session = session_for_teacher(request.user, session_pk)  # type: ignore[arg-type]
    services.session_end_learning(session=session, by=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Learning has ended for this session. Students can now write their reflections."))
    return redirect("reflections:session_overview", session_pk=session.pk)


# --------------------------------------------------------------------------------------------
# Growth over time
# --------------------------------------------------------------------------------------------


def student_growth(request: HttpRequest, student_pk: int) -> HttpResponse:
    enrollment = enrollment_for_growth(request.user, student_pk)  # type: ignore[arg-type]
    growth = selectors.student_growth(enrollment=enrollment)
    charts = [(series, mark_safe(series.svg)) for series in growth.series]  # noqa: S308 - charts.py escapes all text
    return render(
        request,
        "reflections/student_growth.html",
        {"growth": growth, "charts": charts, "is_self": request.user.pk == student_pk},
    )


def class_growth(request: HttpRequest, class_pk: int) -> HttpResponse:
    classroom = classroom_for_teacher(request.user, class_pk)  # type: ignore[arg-type]
    growth = selectors.class_growth(classroom=classroom)
    return render(
        request,
        "reflections/class_growth.html",
        {"growth": growth, "heatmap": mark_safe(growth.svg)},  # noqa: S308 - charts.py escapes all text
    )


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------


def class_export_csv(request: HttpRequest, class_pk: int) -> HttpResponse:
    classroom = classroom_for_teacher(request.user, class_pk)  # type: ignore[arg-type]
    columns, records = selectors.class_export_records(classroom=classroom)
    response = HttpResponse("\ufeff" + csv_text(columns, records), content_type="text/csv; charset=utf-8")
    filename = f"reflections-{slugify(classroom.name) or classroom.pk}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def student_export_json(request: HttpRequest, student_pk: int) -> HttpResponse:
    enrollment = enrollment_for_growth(request.user, student_pk)  # type: ignore[arg-type]
    if not request.user.is_teacher:  # type: ignore[union-attr]
        raise Http404
    response = HttpResponse(
        json_text(selectors.student_history(enrollment=enrollment)), content_type="application/json; charset=utf-8"
    )
    filename = f"reflections-{slugify(enrollment.student.name) or student_pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --------------------------------------------------------------------------------------------
# Portraits
# --------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def portrait(request: HttpRequest) -> HttpResponse:
    """The student's Portrait of a Learning Partner: edit the latest or start a new one."""
    enrollment = enrollment_for_student(request.user)  # type: ignore[arg-type]
    student = enrollment.student
    current = selectors.portrait_latest(student=student)
    errors: dict[str, list[str]] = {}
    answers = None
    start_new = request.method == "POST" and request.POST.get("action") == "new"
    try:
        version = services.portrait_version(portrait=current, start_new=start_new)
    except services.LibraryMissing:
        raise Http404 from None
    if request.method == "POST":
        answers = portrait_answers(request.POST, version.data)
        try:
            services.portrait_save(student=student, answers=answers, portrait=current, start_new=start_new)
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, _("Your portrait is saved."))
            return redirect("reflections:portrait")
    if answers is None:
        answers = current.answers if current is not None else selectors.portrait_prefill(student=student)
    steps = selectors.steps_view(version.data, answers, prefix="p", errors=errors, skip_tags=())
    return render(
        request,
        "reflections/portrait.html",
        {
            "steps": steps,
            "current": current,
            "history": selectors.portrait_history(student=student)[1:],
            "errors": errors,
            "title": version.data.get("title", ""),
            "summary": (version.data.get("student") or {}).get("summary", ""),
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def class_portrait(request: HttpRequest, class_pk: int) -> HttpResponse:
    """The teacher builds the class portrait from lines students wrote in their portraits."""
    classroom = classroom_for_teacher(request.user, class_pk)  # type: ignore[arg-type]
    if request.method == "POST":
        try:
            services.class_portrait_save(
                classroom=classroom,
                by=request.user,  # type: ignore[arg-type]
                items=class_portrait_items(request.POST, services.CLASS_PORTRAIT_CORNERS),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The class portrait is saved. Students see it on their reflections page."))
        return redirect("reflections:class_portrait", class_pk=classroom.pk)
    view = selectors.class_portrait_view(classroom=classroom, with_candidates=True)
    picked = {(c.corner, c.text) for c in view.candidates}
    own = {
        corner: "\n".join(line for line in lines if (corner, line) not in picked)
        for corner, _heading, lines in view.by_corner
    }
    return render(request, "reflections/class_portrait.html", {"view": view, "own": own})
