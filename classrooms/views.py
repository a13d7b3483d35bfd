"""Classes, rosters, co-teachers, student sign-in and the student home.

Thin views: fetch every object through classrooms/access.py (outsiders get 404, anonymous
visitors of teacher pages are sent to sign in the same way for existing and missing ids), call
one service or selector, render.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import User
from classrooms import access, selectors, services
from classrooms.forms import (
    ClassroomForm,
    CoTeacherInviteForm,
    JoinCodeForm,
    PinForm,
    RosterAddForm,
    StudentEditForm,
    StudentMoveForm,
    file_error_message,
    row_error_message,
    tries_left_message,
)
from classrooms.models import Classroom, Enrollment
from classrooms.qr import qr_svg
from classrooms.ratelimit import minutes
from classrooms.roster_import import parse_csv, parse_pasted
from reflections.selectors import student_reflection_panel

# The pairing part of this app draws its section of the class page through a template tag; the
# slot template loads it. Until that part exists the page shows a placeholder instead.
PAIRING_SECTION_TEMPLATE = "classrooms/_pairing_slot.html"
IMPORT_SESSION_KEY = "roster-import-{pk}"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST (even an empty one, which must still show "required" errors)."""
    return request.POST if request.method == "POST" else None


def _ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _detail_url(classroom: Classroom, anchor: str = "") -> str:
    return reverse("classrooms:detail", args=[classroom.pk]) + (f"#{anchor}" if anchor else "")


def _pairing_section_template() -> str | None:
    """The pairing and assignments section of the class page, once its app part exists."""
    try:
        get_template(PAIRING_SECTION_TEMPLATE)
    except (TemplateDoesNotExist, TemplateSyntaxError):  # no template, or no pairing_tags library yet
        return None
    return PAIRING_SECTION_TEMPLATE


# --- Teacher: classes ------------------------------------------------------------------------------


@login_required
def teacher_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.is_teacher:
        raise Http404
    classes = selectors.teacher_classrooms(user)
    return render(request, "classrooms/teacher_home.html", {"classes": classes})


@login_required
def classroom_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.is_teacher:
        raise Http404
    form = ClassroomForm(_posted(request), initial={"language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        classroom = services.classroom_create(teacher=user, **form.cleaned_data)
        messages.success(request, _("Your class is ready. Add your students next."))
        return redirect("classrooms:roster_add", pk=classroom.pk)
    return render(request, "classrooms/classroom_form.html", {"form": form, "classroom": None})


@login_required
@never_cache
def classroom_detail(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    data = selectors.classroom_detail_data(classroom, _user(request))
    join_url = request.build_absolute_uri(reverse("classrooms:join_class", args=[classroom.join_code]))
    context = {
        "classroom": classroom,
        "data": data,
        "invite_form": CoTeacherInviteForm(),
        "join_url": join_url,
        "class_qr": qr_svg(join_url, title=_("Sign-in code for the class %(name)s") % {"name": classroom.name}),
        "pairing_section_template": _pairing_section_template(),
    }
    return render(request, "classrooms/detail.html", context)


@login_required
def classroom_edit(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    form = ClassroomForm(_posted(request), instance=classroom)
    if request.method == "POST" and form.is_valid():
        services.classroom_update(classroom=classroom, **form.cleaned_data)
        messages.success(request, _("Class details saved."))
        return redirect(_detail_url(classroom))
    return render(request, "classrooms/classroom_form.html", {"form": form, "classroom": classroom})


@login_required
@require_POST
def classroom_archive(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    services.classroom_archive(classroom=classroom)
    messages.success(
        request, _("The class is archived. Its code no longer works; you can still see its roster and work.")
    )
    return redirect(_detail_url(classroom))


@login_required
@require_POST
def classroom_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    services.classroom_unarchive(classroom=classroom)
    messages.success(request, _("The class is active again. Students can sign in with its code."))
    return redirect(_detail_url(classroom))


@login_required
def join_code_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    if request.method == "POST":
        code = services.classroom_regenerate_join_code(classroom=classroom)
        messages.success(
            request,
            _("The new class code is %(code)s. The old code no longer works; print a new sign-in sheet.")
            % {"code": code},
        )
        return redirect(_detail_url(classroom, "join-code"))
    return render(request, "classrooms/join_code_regenerate.html", {"classroom": classroom})


@login_required
@never_cache
def signin_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    join_url = request.build_absolute_uri(reverse("classrooms:join_class", args=[classroom.join_code]))
    cards = []
    for enrollment in selectors.roster(classroom):
        url = request.build_absolute_uri(
            reverse("classrooms:join_pin", args=[classroom.join_code, enrollment.student_id])
        )
        title = _("Sign-in code for %(name)s") % {"name": enrollment.student.display_name}
        cards.append({"enrollment": enrollment, "url": url, "qr": qr_svg(url, title=title, scale=3)})
    context = {
        "classroom": classroom,
        "join_url": join_url,
        "class_qr": qr_svg(join_url, title=_("Sign-in code for the class %(name)s") % {"name": classroom.name}),
        "cards": cards,
    }
    return render(request, "classrooms/signin_sheet.html", context)


# --- Teacher: roster -------------------------------------------------------------------------------


@login_required
@never_cache
def roster_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1: paste names or choose a CSV. Step 2 (the POST answer): a preview of good and bad
    rows; the good rows wait in the session until the teacher confirms them."""
    classroom = access.classroom_for_teacher(_user(request), pk)
    form = RosterAddForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        existing = selectors.roster_names(classroom)
        if form.cleaned_data.get("csv_file") is not None:
            result = parse_csv(form.read_file(), existing_names=existing)
        else:
            result = parse_pasted(form.cleaned_data["names"], existing_names=existing)
        if result.file_error is not None:
            form.add_error(None, file_error_message(result.file_error))
        else:
            token = secrets.token_urlsafe(16)
            request.session[IMPORT_SESSION_KEY.format(pk=classroom.pk)] = {
                "token": token,
                "rows": [[row.name, row.group_label] for row in result.rows],
            }
            errors = [{"error": error, "message": row_error_message(error)} for error in result.errors]
            context = {
                "classroom": classroom,
                "result": result,
                "errors": errors,
                "token": token,
                "pasted_text": "" if form.cleaned_data.get("csv_file") else form.cleaned_data["names"],
            }
            return render(request, "classrooms/roster_preview.html", context)
    return render(request, "classrooms/roster_add.html", {"classroom": classroom, "form": form})


@login_required
@require_POST
def roster_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    pending = request.session.get(IMPORT_SESSION_KEY.format(pk=classroom.pk))
    if not pending or not secrets.compare_digest(str(pending.get("token", "")), request.POST.get("token", "")):
        messages.error(request, _("This preview is no longer current. Please add the names again."))
        return redirect("classrooms:roster_add", pk=classroom.pk)
    del request.session[IMPORT_SESSION_KEY.format(pk=classroom.pk)]
    outcome = services.roster_import(classroom=classroom, rows=[(name, group) for name, group in pending["rows"]])
    count = len(outcome.created)
    messages.success(
        request,
        ngettext("%(count)d student added.", "%(count)d students added.", count) % {"count": count},
    )
    if outcome.skipped:
        messages.warning(
            request,
            _("Skipped because the name is already on the roster: %(names)s") % {"names": ", ".join(outcome.skipped)},
        )
    return redirect(_detail_url(classroom, "roster"))


def _student(request: HttpRequest, pk: int, student_pk: int) -> tuple[Classroom, Enrollment]:
    classroom = access.classroom_for_teacher(_user(request), pk)
    return classroom, access.enrollment_for_teacher(_user(request), classroom, student_pk)


@login_required
def student_edit(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    classroom, enrollment = _student(request, pk, student_pk)
    initial = {"display_name": enrollment.student.display_name, "group_label": enrollment.group_label}
    form = StudentEditForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.student_update(enrollment=enrollment, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("display_name", error)
        else:
            messages.success(request, _("Saved."))
            return redirect(_detail_url(classroom, "roster"))
    context = {"classroom": classroom, "enrollment": enrollment, "form": form}
    return render(request, "classrooms/student_edit.html", context)


@login_required
def student_reset_pin(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    classroom, enrollment = _student(request, pk, student_pk)
    if request.method == "POST":
        pin = services.student_reset_pin(enrollment=enrollment)
        messages.success(
            request,
            _("New PIN for %(name)s: %(pin)s. The old PIN no longer works.")
            % {"name": enrollment.student.display_name, "pin": pin},
        )
        return redirect(_detail_url(classroom, "roster"))
    context = {"classroom": classroom, "enrollment": enrollment}
    return render(request, "classrooms/student_reset_pin.html", context)


@login_required
def student_remove(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    # Deleting a student, with the choice of what happens to shared work, is classrooms/views_privacy.py.
    from classrooms.views_privacy import student_delete

    return student_delete(request, pk, student_pk)


@login_required
def student_move(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    classroom, enrollment = _student(request, pk, student_pk)
    targets = selectors.move_targets(_user(request), classroom)
    form = StudentMoveForm(_posted(request), targets=targets)
    if request.method == "POST":
        # A class the teacher does not teach (or an archived one) is not found, whatever was posted.
        try:
            target_pk = int(request.POST.get("to_classroom", ""))
        except ValueError:
            raise Http404 from None
        target = access.classroom_for_teacher(_user(request), target_pk)
        if form.is_valid():
            try:
                services.student_move(enrollment=enrollment, to_classroom=target)
            except ValidationError as error:
                form.add_error("to_classroom", error)
            else:
                messages.success(
                    request,
                    _("%(name)s moved to %(class)s.") % {"name": enrollment.student.display_name, "class": target.name},
                )
                return redirect(_detail_url(classroom, "roster"))
    context = {"classroom": classroom, "enrollment": enrollment, "form": form, "targets": targets}
    return render(request, "classrooms/student_move.html", context)


# --- Teacher: co-teachers -----------------------------------------------------------------------


@login_required
def coteacher_invite(request: HttpRequest, pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    form = CoTeacherInviteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            services.coteacher_invite(
                classroom=classroom,
                invited_by=_user(request),
                email=email,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            form.add_error("email", error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": email})
            return redirect(_detail_url(classroom, "co-teachers"))
    return render(request, "classrooms/coteacher_invite.html", {"classroom": classroom, "form": form})


@login_required
def coteacher_remove(request: HttpRequest, pk: int, teacher_pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    link = access.coteacher_link_for_teacher(_user(request), classroom, teacher_pk)
    leaving = link.teacher_id == _user(request).pk
    if request.method == "POST":
        services.coteacher_remove(link=link)
        if leaving:
            messages.success(request, _("You no longer teach %(class)s.") % {"class": classroom.name})
            return redirect("classrooms:teacher_home")
        messages.success(request, _("%(name)s no longer teaches this class.") % {"name": link.teacher.name})
        return redirect(_detail_url(classroom, "co-teachers"))
    context = {"classroom": classroom, "link": link, "leaving": leaving}
    return render(request, "classrooms/coteacher_remove.html", context)


@login_required
@require_POST
def invitation_cancel(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    classroom = access.classroom_for_teacher(_user(request), pk)
    invitation = access.invitation_for_teacher(_user(request), classroom, invitation_pk)
    services.invitation_cancel(invitation=invitation)
    messages.success(request, _("Invitation cancelled. Its link no longer works."))
    return redirect(_detail_url(classroom, "co-teachers"))


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation mail. Anonymous visitors are asked to sign in or sign up first;
    a signed-in teacher whose verified address is the invited one can accept. Everyone else (and
    every unknown, used or expired token) sees the same "not valid" page."""
    invalid = render(request, "classrooms/invitation_invalid.html", status=404)
    try:
        invitation = access.invitation_for_token(token)
    except Http404:
        return invalid
    user = _user(request)
    if not user.is_authenticated:
        return render(request, "classrooms/invitation_signin.html", {"invitation": invitation})
    if not user.is_teacher or not services.user_has_verified_email(user, invitation.email):
        return invalid
    if request.method == "POST":
        classroom = services.coteacher_accept(invitation=invitation, user=user)
        messages.success(request, _("You now teach %(class)s.") % {"class": classroom.name})
        return redirect(_detail_url(classroom))
    return render(request, "classrooms/invitation_accept.html", {"invitation": invitation})


# --- Student sign-in -----------------------------------------------------------------------------


def _use_class_language(request: HttpRequest, classroom: Classroom) -> None:
    """Sign-in pages speak the class's language unless the visitor picked one themselves."""
    user = _user(request)
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES or (user.is_authenticated and user.language):
        return
    translation.activate(classroom.language)
    request.LANGUAGE_CODE = classroom.language


def _lockout_message(seconds: int, *, by: str) -> str:
    count = minutes(seconds)
    if by == "student":
        return ngettext(
            "Too many wrong PINs. Wait %(count)d minute and try again, or ask your teacher to reset your PIN.",
            "Too many wrong PINs. Wait %(count)d minutes and try again, or ask your teacher to reset your PIN.",
            count,
        ) % {"count": count}
    return ngettext(
        "Too many wrong PINs were typed on this network. Wait %(count)d minute and try again, "
        "or ask your teacher for help.",
        "Too many wrong PINs were typed on this network. Wait %(count)d minutes and try again, "
        "or ask your teacher for help.",
        count,
    ) % {"count": count}


def _unknown_code(request: HttpRequest, code: str = "") -> HttpResponse:
    form = JoinCodeForm(initial={"code": code})
    context = {"form": form, "unknown_code": True}
    return render(request, "classrooms/join.html", context, status=404)


@never_cache
def join(request: HttpRequest) -> HttpResponse:
    """Step 1: the class code."""
    form = JoinCodeForm(_posted(request))
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        ip = _ip(request)
        wait = services.join_code_locked(ip=ip)
        if wait:
            count = minutes(wait)
            context["locked_message"] = ngettext(
                "Too many wrong class codes. Wait %(count)d minute and try again, or ask your teacher for the code.",
                "Too many wrong class codes. Wait %(count)d minutes and try again, or ask your teacher for the code.",
                count,
            ) % {"count": count}
            return render(request, "classrooms/join.html", context, status=429)
        try:
            classroom = access.classroom_for_join_code(form.cleaned_data["code"])
        except Http404:
            services.join_code_failed(ip=ip)
            form.add_error(
                "code",
                _("There is no class with this code. Check each letter and number, or ask your teacher."),
            )
        else:
            return redirect("classrooms:join_class", code=classroom.join_code)
    return render(request, "classrooms/join.html", context)


@never_cache
def join_class(request: HttpRequest, code: str) -> HttpResponse:
    """Step 2: pick your name (this is where the class QR code leads)."""
    try:
        classroom = access.classroom_for_join_code(code)
    except Http404:
        return _unknown_code(request, code)
    if code != classroom.join_code:  # typed in lower case or with a dash: show the canonical address
        return redirect("classrooms:join_class", code=classroom.join_code)
    _use_class_language(request, classroom)
    context = {"classroom": classroom, "enrollments": selectors.join_roster(classroom)}
    return render(request, "classrooms/join_pick.html", context)


@never_cache
def join_pin(request: HttpRequest, code: str, student_pk: int) -> HttpResponse:
    """Step 3: the PIN (a student's own QR code leads here; it still needs the PIN)."""
    try:
        classroom = access.classroom_for_join_code(code)
    except Http404:
        return _unknown_code(request, code)
    if code != classroom.join_code:
        return redirect("classrooms:join_pin", code=classroom.join_code, student_pk=student_pk)
    enrollment = access.enrollment_for_join(classroom, student_pk)
    _use_class_language(request, classroom)
    form = PinForm(_posted(request))
    context: dict[str, Any] = {"classroom": classroom, "enrollment": enrollment, "form": form}
    if request.method != "POST":
        lockout = services.student_sign_in_lockout(enrollment=enrollment, ip=_ip(request))
        if lockout is not None:
            context["locked_message"] = _lockout_message(lockout.locked_seconds, by=lockout.locked_by)
    elif form.is_valid():
        result = services.student_sign_in_check(enrollment=enrollment, pin=form.cleaned_data["pin"], ip=_ip(request))
        if result.ok:
            login(request, enrollment.student, backend="django.contrib.auth.backends.ModelBackend")
            response = redirect("classrooms:student_home")
            if not enrollment.student.language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                # The class's language follows the student past the sign-in pages (until they pick one).
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    classroom.language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    samesite="Lax",
                    secure=settings.SESSION_COOKIE_SECURE,
                )
            return response
        if result.locked_seconds:
            context["locked_message"] = _lockout_message(result.locked_seconds, by=result.locked_by)
            return render(request, "classrooms/join_pin.html", context, status=429)
        form.add_error("pin", tries_left_message(result.tries_left))
    return render(request, "classrooms/join_pin.html", context)


# --- Student home --------------------------------------------------------------------------------


@never_cache
def student_home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("classrooms:join"))
    enrollment = access.enrollment_for_student(_user(request))
    data = selectors.student_home_data(_user(request), enrollment)
    for entry in [data.current, *data.earlier]:
        if entry is not None:
            entry.partners_html = _names_html(entry.partners)
    # The home page is where a student finds reflections waiting and appreciations their partners sent.
    panel = student_reflection_panel(student=_user(request), enrollment=enrollment)
    return render(request, "classrooms/student_home.html", {"data": data, "reflection_panel": panel})


def _names_html(people: list[User]) -> str:
    """ "Dana", "Dana and Eli", "Dana, Eli and Noa"; each name isolated for mixed-direction text."""
    if not people:
        return ""
    last = format_html('<bdi dir="auto">{}</bdi>', people[-1].name)
    if len(people) == 1:
        return last
    first = format_html_join(", ", '<bdi dir="auto">{}</bdi>', ((person.name,) for person in people[:-1]))
    return format_html(_("{names} and {last}"), names=first, last=last)
