"""Pages and forms of the teacher's live session, and the two things a havruta does in it.

Thin views: fetch every object through ``classrooms.access`` (outsiders get 404), call one
service or selector, respond. Every action is a plain POST form that redirects, so the page
works without JavaScript; ``static/js/live.js`` and ``static/js/worksheet_events.js`` send the
same forms with fetch (``Accept: application/json``) and get JSON back instead of a redirect.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from classrooms import access, selectors_live, services_live
from classrooms.models import Havruta, PairingSession


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _done(request: HttpRequest, url: str, message: str, **data: Any) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": message, **data})
    messages.success(request, message)
    return redirect(url)


def _failed(request: HttpRequest, url: str, error: ValidationError) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": False, "errors": error.messages}, status=400)
    for text in error.messages:
        messages.error(request, text)
    return redirect(url)


def _live_url(session: PairingSession, pop: int | None = None, listen: str = "") -> str:
    url = reverse("classrooms:live", args=[session.classroom_id])
    if pop:
        url += f"?pop={pop}" + (f"&listen={listen}" if listen in ("quiet", "visible") else "")
    return url


def _page_config(page: selectors_live.LivePage) -> dict[str, Any]:
    session = page.session
    return {
        "socket": f"/ws/classes/{page.classroom.pk}/live/",
        "session": session.pk if session else None,
        "ended": bool(session and session.ended_at),
        "idleSeconds": selectors_live.conf("IDLE_SECONDS"),
        "panelUrl": reverse("classrooms:live_panel", args=[session.pk, 0]) if session else "",
        "resolveUrl": reverse("classrooms:live_help_resolve", args=[session.pk, 0]) if session else "",
        "timer": page.timer,
        "steps": [{"index": s.index, "label": s.label, "title": s.title, "minutes": s.minutes} for s in page.steps],
        "strings": {
            "nextStep": _("Next step: %(title)s"),
            "lastStep": _("Next step"),
            "startStep": _("Start the timer for this step"),
            "needsHelp": _("Asked for help"),
            "helpSince": _("asked %(time)s"),
            "idle": _("No writing for %(time)s"),
            "notStarted": _("Not started"),
            "working": _("Working"),
            "online": _("online"),
            "offline": _("not here"),
            "words": _("%(count)s words"),
            "fields": _("%(filled)s of %(total)s answers"),
            "lastEdit": _("last edit %(time)s ago"),
            "noEdit": _("no edits yet"),
            "popIn": _("Pop in"),
            "resolve": _("Resolve"),
            "comment": _("1 open comment"),
            "comments": _("%(count)s open comments"),
            "justNow": _("just now"),
            "seconds": _("%(count)s s"),
            "minutes": _("%(count)s min"),
            "hours": _("%(count)s h"),
            "havruta": _("Havruta %(number)s"),
            "timeUp": _("Time is up"),
            "paused": _("Paused"),
            "remaining": _("%(time)s left"),
            "newHelp": _("Havruta %(number)s asked for help"),
            "ended": _("The learning time has ended."),
            "summary": _("See the summary"),
            "reconnecting": _("Reconnecting…"),
            "live": _("Live"),
            "error": _("That did not work. Please try again."),
            "noteLabel": _("Note:"),
            "panelHelp": _("This havruta asked for help."),
            "commentDone": _("Done"),
            "commentOpen": _("Open"),
            "commentMarkedDone": _("Havruta %(number)s marked your comment done."),
            "regrouped": _("The havrutot or the assignments of this class changed."),
            "reload": _("Show the new grid"),
        },
    }


@require_GET
@never_cache
def live(request: HttpRequest, pk: int) -> HttpResponse:
    """The live grid of the class's current session, with one havruta popped in (?pop=<worksheet>)."""
    classroom = access.classroom_for_teacher(_user(request), pk)
    page = selectors_live.live_page(classroom=classroom)
    panel = None
    pop = request.GET.get("pop", "")
    if page.session is not None and pop.isdigit():
        try:
            worksheet = access.live_worksheet_for_teacher(_user(request), page.session, int(pop))
        except Http404:
            worksheet = None
        if worksheet is not None:
            panel = selectors_live.live_panel(worksheet=worksheet, listen=request.GET.get("listen", "visible"))
    return render(
        request,
        "classrooms/live.html",
        {"classroom": classroom, "page": page, "panel": panel, "config": _page_config(page)},
    )


@require_GET
@never_cache
def live_panel(request: HttpRequest, pk: int, worksheet_pk: int) -> HttpResponse:
    """The pop-in alone (live.js swaps it in beside the grid without reloading the page)."""
    session = access.session_for_teacher(_user(request), pk)
    worksheet = access.live_worksheet_for_teacher(_user(request), session, worksheet_pk)
    panel = selectors_live.live_panel(worksheet=worksheet, listen=request.GET.get("listen", "visible"))
    return render(request, "classrooms/_live_panel.html", {"panel": panel, "session": session})


@require_POST
def live_broadcast(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(_user(request), pk)
    url = _live_url(session)
    havrutot = None
    if request.POST.get("to") == "some":
        ids = [int(v) for v in request.POST.getlist("havrutot") if v.isdigit()]
        havrutot = list(Havruta.objects.filter(session=session, pk__in=ids))
    try:
        services_live.broadcast_send(
            session=session,
            by=_user(request),
            message=request.POST.get("message", ""),
            link=request.POST.get("link", ""),
            havrutot=havrutot,
        )
    except ValidationError as error:
        return _failed(request, url, error)
    return _done(request, url, _("Sent."))


def _timer_action(session: PairingSession, user: User, post: Any) -> None:
    action = post.get("action", "")
    if action == "start":
        services_live.timer_start(session=session, by=user, minutes=post.get("minutes"))
    elif action == "pause":
        services_live.timer_pause(session=session, by=user)
    elif action == "resume":
        services_live.timer_resume(session=session, by=user)
    elif action == "extend":
        services_live.timer_extend(session=session, by=user, minutes=post.get("extend") or "1")
    elif action == "next":
        services_live.timer_next_step(session=session, by=user, minutes=post.get("next_minutes") or None)
    elif action == "stop":
        services_live.timer_stop(session=session, by=user)
    else:
        raise ValidationError(_("Choose what to do with the timer."))


@require_POST
def live_timer(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(_user(request), pk)
    url = _live_url(session)
    try:
        _timer_action(session, _user(request), request.POST)
    except ValidationError as error:
        return _failed(request, url, error)
    return _done(request, url, _("The timer is updated."))


@require_POST
def live_comment(request: HttpRequest, pk: int, worksheet_pk: int) -> HttpResponse:
    session = access.session_for_teacher(_user(request), pk)
    worksheet = access.live_worksheet_for_teacher(_user(request), session, worksheet_pk)
    url = _live_url(session, pop=worksheet.pk, listen=request.POST.get("listen", ""))
    try:
        comment = services_live.comment_create(
            worksheet=worksheet,
            by=_user(request),
            field_id=request.POST.get("field", ""),
            text=request.POST.get("text", ""),
        )
    except ValidationError as error:
        return _failed(request, url, error)
    return _done(request, url, _("Your comment is pinned to the worksheet."), id=comment.pk)


@require_POST
def live_help_resolve(request: HttpRequest, pk: int, help_pk: int) -> HttpResponse:
    session = access.session_for_teacher(_user(request), pk)
    help_request = access.help_request_for_teacher(_user(request), session, help_pk)
    services_live.help_request_resolve(help_request=help_request, by=_user(request))
    return _done(request, _live_url(session), _("Marked as resolved."))


@require_POST
def live_end(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(_user(request), pk)
    services_live.live_session_end(session=session, by=_user(request))
    return _done(
        request,
        reverse("classrooms:live_summary", args=[session.pk]),
        _("Learning has ended for this session. Students can now write their reflections."),
    )


@require_GET
def live_summary(request: HttpRequest, pk: int) -> HttpResponse:
    session = access.session_for_teacher(_user(request), pk)
    return render(
        request,
        "classrooms/live_summary.html",
        {"classroom": session.classroom, "summary": selectors_live.live_summary(session=session)},
    )


# --------------------------------------------------------------------------------------------
# The havruta (students)
# --------------------------------------------------------------------------------------------


def _worksheet_url(worksheet_pk: int) -> str:
    return reverse("worksheets:detail", args=[worksheet_pk])


@require_POST
def live_help(request: HttpRequest, worksheet_pk: int) -> HttpResponse:
    """A student asks for help (action=ask, with an optional note) or withdraws the request."""
    worksheet = access.live_worksheet_for_member(_user(request), worksheet_pk)
    url = _worksheet_url(worksheet.pk)
    if request.POST.get("action") == "cancel":
        found = services_live.help_request_open(havruta_id=worksheet.havruta_id)
        if found is not None:
            services_live.help_request_resolve(help_request=found, by=_user(request))
        return _done(request, url, _("Your request for help is withdrawn."))
    try:
        services_live.help_request_create(
            worksheet=worksheet, student=_user(request), note=request.POST.get("note", "")
        )
    except ValidationError as error:
        return _failed(request, url, error)
    return _done(request, url, _("Your teacher can see that you asked for help."))


@require_POST
def live_comment_done(request: HttpRequest, worksheet_pk: int, comment_pk: int) -> HttpResponse:
    worksheet = access.live_worksheet_for_member(_user(request), worksheet_pk)
    comment = access.field_comment_for_user(_user(request), worksheet, comment_pk)
    services_live.comment_mark_done(comment=comment, by=_user(request))
    return _done(request, _worksheet_url(worksheet.pk), _("Marked as done."))
