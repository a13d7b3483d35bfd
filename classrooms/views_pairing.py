"""Pages for pairing sessions, the pairing history and assignments (teachers only).

Thin views: fetch every object through ``classrooms.access`` (outsiders get 404), call one
service or selector, render or redirect. Every change is a plain POST form, so the pages work
without JavaScript; ``static/js/pairing.js`` only adds drag and drop on top of the same forms.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from classrooms import access
from classrooms import selectors_pairing as selectors
from classrooms import services_pairing as services
from classrooms.forms_pairing import AssignmentForm, ConstraintForm, MoveForm, PairingNewForm, StudentForm
from classrooms.models import PairingSession


def _errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _detail(session: PairingSession) -> HttpResponse:
    return redirect("classrooms:pairing_detail", pk=session.pk)


def _report_moves(request: HttpRequest, moves: services.Moves, *, lead: str = "") -> None:
    """Tell the teacher who moved where (mark absent, mark present, move, reshuffle)."""
    names = dict(User.objects.filter(pk__in=[s for s, _a, _b in moves.moved]).values_list("pk", "display_name"))
    parts = [lead] if lead else []
    for student_id, before, after in moves.moved:
        name = names.get(student_id, "")
        if before is None:
            parts.append(_("%(name)s joined havruta %(to)d.") % {"name": name, "to": after})
        else:
            parts.append(
                _("%(name)s moved from havruta %(from)d to havruta %(to)d.")
                % {"name": name, "from": before, "to": after}
            )
    if not moves.moved and lead:
        parts.append(_("No one else had to move."))
    if moves.removed_havrutot:
        parts.append(
            _("Havruta %(numbers)s is no longer needed.")
            % {"numbers": ", ".join(str(n) for n in moves.removed_havrutot)}
        )
    if parts:
        messages.success(request, " ".join(parts))


# ---------------------------------------------------------------------------
# Sessions of a class
# ---------------------------------------------------------------------------


@require_GET
def pairing_list(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(request.user, pk)  # type: ignore[arg-type]
    return render(
        request,
        "classrooms/pairing_list.html",
        {
            "classroom": classroom,
            "sessions": selectors.pairing_sessions_for_classroom(classroom=classroom),
        },
    )


@require_http_methods(["GET", "POST"])
def pairing_new(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(request.user, pk)  # type: ignore[arg-type]
    roster = selectors.roster_for_pairing(classroom=classroom)
    sessions = list(selectors.pairing_sessions_for_classroom(classroom=classroom)[:50])
    initial = {}
    reuse = request.GET.get("reuse", "")
    if reuse.isdigit() and any(s.pk == int(reuse) for s in sessions):
        initial = {"method": PairingSession.Method.REUSE, "from_session": int(reuse)}
    form = PairingNewForm(request.POST or None, roster=roster, sessions=sessions, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["method"] == PairingSession.Method.REUSE:
                from_session = next(s for s in sessions if s.pk == data["from_session"])
                session = services.pairing_session_reuse(
                    classroom=classroom,
                    from_session=from_session,
                    by=request.user,  # type: ignore[arg-type]
                    present=data["present"],
                    date=data["date"],
                )
            else:
                session = services.pairing_session_create(
                    classroom=classroom,
                    by=request.user,  # type: ignore[arg-type]
                    method=data["method"],
                    present=data["present"],
                    date=data["date"],
                    label_mode=data.get("label_mode") or "mix",
                )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("The havrutot are ready."))
            return _detail(session)
    present_values = {int(v) for v in form["present"].value() or [] if str(v).isdigit()}
    return render(
        request,
        "classrooms/pairing_new.html",
        {
            "classroom": classroom,
            "form": form,
            "roster": roster,
            "sessions": sessions,
            "has_labels": any(e.group_label for e in roster),
            "present_values": present_values,
        },
    )


@require_GET
def pairing_history(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(request.user, pk)  # type: ignore[arg-type]
    return render(
        request,
        "classrooms/pairing_history.html",
        {"classroom": classroom, "history": selectors.pairing_history(classroom=classroom)},
    )


# ---------------------------------------------------------------------------
# One session
# ---------------------------------------------------------------------------


def _move_options(choices: Iterable[tuple[str, str]]) -> str:
    """The "Move to…" options, rendered once and shared by every student's form on the page."""
    return format_html_join("", '<option value="{}">{}</option>', choices)


@require_GET
def pairing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    detail = selectors.pairing_session_detail(session=session)
    return render(
        request,
        "classrooms/pairing_detail.html",
        {
            "session": session,
            "classroom": session.classroom,
            "detail": detail,
            "move_options": _move_options(detail.move_choices),
            "constraint_form": ConstraintForm(roster=detail.roster),
        },
    )


@require_POST
def pairing_reshuffle(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    try:
        moves = services.pairing_session_reshuffle(session=session)
    except ValidationError as error:
        _errors(request, error)
    else:
        if moves.changed_havrutot or moves.created_havrutot:
            messages.success(request, _("The unlocked havrutot were reshuffled; locked ones stayed as they were."))
        elif session.havrutot.filter(locked=False).exists():
            # Rotate is deterministic about repeats: the best grouping may be the one already there.
            messages.info(
                request,
                _("No better grouping exists for the unlocked havrutot; locked ones stayed as they were."),
            )
        else:
            messages.info(request, _("Nothing to reshuffle: every havruta is locked."))
    return _detail(session)


@require_POST
def pairing_move(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose where to move the student."))
        return _detail(session)
    student = access.enrollment_for_teacher(request.user, session.classroom, form.cleaned_data["student"]).student  # type: ignore[arg-type]
    to = form.cleaned_data["to"]
    try:
        if to.startswith("swap:"):
            other = access.enrollment_for_teacher(request.user, session.classroom, int(to[5:])).student  # type: ignore[arg-type]
            moves = services.havruta_swap_students(session=session, student=student, other=other)
        else:
            target = None if to == "new" else access.havruta_for_teacher(request.user, session, int(to))  # type: ignore[arg-type]
            moves = services.havruta_move_student(session=session, student=student, to_havruta=target)
    except ValidationError as error:
        _errors(request, error)
    else:
        _report_moves(request, moves)
    return _detail(session)


@require_POST
def pairing_absent(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    form = StudentForm(request.POST)
    if not form.is_valid():
        return _detail(session)
    student = access.enrollment_for_teacher(request.user, session.classroom, form.cleaned_data["student"]).student  # type: ignore[arg-type]
    try:
        moves = services.session_mark_absent(session=session, student=student)
    except ValidationError as error:
        _errors(request, error)
    else:
        _report_moves(request, moves, lead=_("%(name)s is marked absent.") % {"name": student.name})
    return _detail(session)


@require_POST
def pairing_present(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    form = StudentForm(request.POST)
    if not form.is_valid():
        return _detail(session)
    student = access.enrollment_for_teacher(request.user, session.classroom, form.cleaned_data["student"]).student  # type: ignore[arg-type]
    try:
        moves = services.session_mark_present(session=session, student=student)
    except ValidationError as error:
        _errors(request, error)
    else:
        _report_moves(request, moves, lead=_("%(name)s is here.") % {"name": student.name})
    return _detail(session)


@require_POST
def havruta_lock(request: HttpRequest, pk: int, havruta_pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    havruta = access.havruta_for_teacher(request.user, session, havruta_pk)  # type: ignore[arg-type]
    locked = request.POST.get("locked") == "1"
    try:
        services.havruta_set_locked(havruta=havruta, locked=locked)
    except ValidationError as error:
        _errors(request, error)
    else:
        message = _("Havruta %(number)d is locked.") if locked else _("Havruta %(number)d is unlocked.")
        messages.success(request, message % {"number": havruta.number})
    return _detail(session)


@require_POST
def constraint_new(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    roster = selectors.roster_for_pairing(classroom=session.classroom)
    form = ConstraintForm(request.POST, roster=roster)
    if not form.is_valid():
        messages.error(request, _("Choose two different students and a rule."))
        return _detail(session)
    students = {e.student_id: e.student for e in roster}
    try:
        services.constraint_add(
            classroom=session.classroom,
            student_a=students[form.cleaned_data["student_a"]],
            student_b=students[form.cleaned_data["student_b"]],
            kind=form.cleaned_data["kind"],
        )
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("The rule is saved. It applies to the next pairing and to reshuffles."))
    return _detail(session)


@require_POST
def constraint_delete(request: HttpRequest, pk: int, constraint_pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    constraint = access.constraint_for_teacher(request.user, session.classroom, constraint_pk)  # type: ignore[arg-type]
    services.constraint_remove(constraint=constraint)
    messages.success(request, _("The rule is removed."))
    return _detail(session)


# ---------------------------------------------------------------------------
# Assignments
# ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def assignment_new(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(request.user, pk)  # type: ignore[arg-type]
    grouped = selectors.protocols_by_category()
    warm_ups = selectors.warm_up_choices()
    default_warm_up = selectors.warm_up_for_grade_band(warm_ups, session.classroom.grade_band)
    texts = selectors.text_choices(user=request.user)  # type: ignore[arg-type]
    form = AssignmentForm(
        request.POST or None,
        grouped=grouped,
        texts=texts,
        warm_ups=warm_ups,
        default_warm_up=default_warm_up,
        initial={"date": session.date},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assignments = services.assignment_create(
                session=session,
                by=request.user,  # type: ignore[arg-type]
                protocol=data["protocol_obj"],
                text=data["text_obj"],
                warm_up=data["warm_up_obj"],
                date=data["date"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Assigned. Every havruta has its worksheet."))
            return redirect("classrooms:assignment_detail", pk=assignments[-1].pk)
    problems = services.size_problems(services.session_groups(session).values())
    return render(
        request,
        "classrooms/assignment_new.html",
        {
            "session": session,
            "classroom": session.classroom,
            "form": form,
            "problems": problems,
            "has_protocols": bool(grouped),
        },
    )


@require_GET
def assignment_list(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(request.user, pk)  # type: ignore[arg-type]
    assignments = [
        (a, selectors.protocol_version_summary(a.protocol_version))
        for a in selectors.assignments_for_classroom(classroom=classroom)
    ]
    return render(request, "classrooms/assignment_list.html", {"classroom": classroom, "assignments": assignments})


@require_GET
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = access.assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    detail = selectors.assignment_detail(assignment=assignment)
    return render(
        request,
        "classrooms/assignment_detail.html",
        {"assignment": assignment, "classroom": assignment.classroom, "session": assignment.session, "detail": detail},
    )


@require_POST
def assignment_close(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = access.assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    services.assignment_close(assignment=assignment)
    messages.success(request, _("The assignment is closed. Its worksheets stay readable."))
    return redirect("classrooms:assignment_detail", pk=assignment.pk)


@require_POST
def assignment_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = access.assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    services.assignment_reopen(assignment=assignment)
    messages.success(request, _("The assignment is open again."))
    return redirect("classrooms:assignment_detail", pk=assignment.pk)


@require_http_methods(["GET", "POST"])
def assignment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = access.assignment_for_teacher(request.user, pk)  # type: ignore[arg-type]
    summary = selectors.protocol_version_summary(assignment.protocol_version)
    if request.method == "POST":
        session = assignment.session
        services.assignment_delete(assignment=assignment)
        messages.success(request, _("“%(title)s” is deleted with its worksheets.") % {"title": summary["title"]})
        return _detail(session)
    return render(
        request,
        "classrooms/assignment_delete.html",
        {
            "assignment": assignment,
            "classroom": assignment.classroom,
            "protocol": summary,
            "worksheet_count": assignment.worksheets.count(),
            "cancel_url": reverse("classrooms:assignment_detail", args=[assignment.pk]),
        },
    )
