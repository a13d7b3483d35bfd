"""Writes for the teacher's live session: help requests, broadcasts, comments, the step timer, the end.

Each service validates, writes, and sends its live events once the transaction commits
(`transaction.on_commit`), so nobody hears of a change that was rolled back:
- to the havrutot's worksheet pages, on channel-layer groups `live-session-<id>` (the whole
  session) and `live-havruta-<id>` (one havruta): `{"type": "live.event", "event": {...}}`, which
  `consumers_live.WorksheetEventsConsumer` passes on as JSON;
- to the teachers' dashboards, on the group `class-<id>-live` the worksheet rooms already use for
  progress: `{"type": "live.havruta", "havruta": id}` or `{"type": "live.session", "session": id}`,
  which `consumers_live.LiveDashboardConsumer` coalesces before reading the rows again.
Access is the caller's job (classrooms/access.py); services trust the objects they are given.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.models import (
    Broadcast,
    FieldComment,
    Havruta,
    HavrutaMember,
    HelpRequest,
    LiveConnection,
    PairingSession,
    SessionStep,
)
from classrooms.selectors_live import (
    LiveNote,
    StepInfo,
    broadcast_json,
    comment_json,
    help_json,
    session_assignments,
    session_steps,
    timer_state,
    worksheet_field_choices,
)
from worksheets.models import Worksheet
from worksheets.services import LIVE_GROUP, worksheet_revoke

log = logging.getLogger("havruta.live")

SESSION_GROUP = "live-session-{session_id}"
HAVRUTA_GROUP = "live-havruta-{havruta_id}"

NOTE_MAX = 300
COMMENT_MAX = 300
BROADCAST_MAX = 500
LINK_MAX = 500
MINUTES_MAX = 120


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


def _send_now(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in messages:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            # The change is committed; a page that missed the event shows it on its next load.
            log.warning("live event to %s failed", group, exc_info=True)


def _publish(messages: list[tuple[str, dict[str, Any]]]) -> None:
    transaction.on_commit(lambda: _send_now(messages))


def _event(group: str, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return group, {"type": "live.event", "event": event}


def _dashboard_havruta(classroom_id: int, havruta_id: int) -> tuple[str, dict[str, Any]]:
    return LIVE_GROUP.format(classroom_id=classroom_id), {"type": "live.havruta", "havruta": havruta_id}


def _dashboard_session(session: PairingSession) -> tuple[str, dict[str, Any]]:
    return LIVE_GROUP.format(classroom_id=session.classroom_id), {"type": "live.session", "session": session.pk}


def dashboard_regrouped(*, classroom_id: int) -> None:
    """The class's havrutot or assignments changed: open live pages reload their grid (on commit).

    A whole reload, not a patch: the grid, the broadcast's havruta choices, the steps and the
    pop-in all depend on the grouping, and regrouping mid-lesson is rare.
    """
    _publish([(LIVE_GROUP.format(classroom_id=classroom_id), {"type": "live.regrouped"})])


def _session_of(havruta: Havruta) -> PairingSession:
    return havruta.session


def _check_open(session: PairingSession) -> None:
    if session.ended_at is not None:
        raise ValidationError(_("The learning time of this lesson has ended."))


def _clean_text(value: str, *, limit: int, empty: str | None, too_long: str) -> str:
    """Stripped text; `empty` is the error when it is required and missing."""
    text = (value or "").strip()
    if empty is not None and not text:
        raise ValidationError(empty)
    if len(text) > limit:
        raise ValidationError(too_long % {"limit": limit, "count": len(text)})
    return text


# --------------------------------------------------------------------------------------------
# Help requests
# --------------------------------------------------------------------------------------------


def _help_event(help_request: HelpRequest | None, havruta_id: int) -> dict[str, Any]:
    note = (
        None
        if help_request is None or help_request.resolved_at is not None
        else LiveNote(
            id=help_request.pk,
            text=help_request.note,
            created_at=help_request.created_at,
            author=help_request.student.name if help_request.student else "",
        )
    )
    return {"type": "help_state", "havruta": havruta_id, **help_json(note)}


def help_request_create(*, worksheet: Worksheet, student: User, note: str = "") -> HelpRequest:
    """A student of the worksheet's havruta asks for help (an optional note of up to 300 characters).

    A havruta has at most one open request: asking again updates its note.
    """
    note = _clean_text(
        note,
        limit=NOTE_MAX,
        empty=None,
        too_long=_("Keep the note to %(limit)s characters (it has %(count)s)."),
    )
    havruta = worksheet.havruta
    session = _session_of(havruta)
    _check_open(session)
    with transaction.atomic():
        existing = HelpRequest.objects.select_for_update().filter(havruta=havruta, resolved_at__isnull=True).first()
        if existing is None:
            try:
                with transaction.atomic():
                    help_request = HelpRequest.objects.create(
                        havruta=havruta, worksheet=worksheet, student=student, note=note
                    )
            except IntegrityError:  # the partner asked at the same moment
                help_request = HelpRequest.objects.get(havruta=havruta, resolved_at__isnull=True)
        else:
            help_request = existing
            if note and note != existing.note:
                existing.note = note
                existing.student = student
                existing.save(update_fields=["note", "student"])
        _publish(
            [
                _event(HAVRUTA_GROUP.format(havruta_id=havruta.pk), _help_event(help_request, havruta.pk)),
                _dashboard_havruta(session.classroom_id, havruta.pk),
            ]
        )
    return help_request


def help_request_resolve(*, help_request: HelpRequest, by: User) -> HelpRequest:
    """The teacher resolves a request (or the havruta withdraws it). Resolving twice keeps the first."""
    if help_request.resolved_at is None:
        help_request.resolved_at = timezone.now()
        help_request.resolved_by = by
        help_request.save(update_fields=["resolved_at", "resolved_by"])
        havruta = Havruta.objects.select_related("session").get(pk=help_request.havruta_id)
        _publish(
            [
                _event(HAVRUTA_GROUP.format(havruta_id=havruta.pk), _help_event(None, havruta.pk)),
                _dashboard_havruta(havruta.session.classroom_id, havruta.pk),
            ]
        )
    return help_request


def help_request_open(*, havruta_id: int) -> HelpRequest | None:
    return HelpRequest.objects.filter(havruta_id=havruta_id, resolved_at__isnull=True).first()


# --------------------------------------------------------------------------------------------
# Broadcasts
# --------------------------------------------------------------------------------------------


def _clean_link(link: str) -> str:
    link = (link or "").strip()
    if not link:
        return ""
    if len(link) > LINK_MAX:
        raise ValidationError(_("That link is too long."))
    parts = urlsplit(link)
    # Browsers read "/\\host" as "//host" (another site) and drop tabs and line breaks inside a URL.
    odd = "\\" in link or any(ch.isspace() or ord(ch) < 32 for ch in link)
    on_this_site = (
        not odd and not parts.scheme and not parts.netloc and link.startswith("/") and not link.startswith("//")
    )
    if not on_this_site and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ValidationError(_("A link must start with https:// (or / for a page of this site)."))
    return link


def broadcast_send(
    *,
    session: PairingSession,
    by: User,
    message: str,
    link: str = "",
    havrutot: Iterable[Havruta] | None = None,
) -> Broadcast:
    """Show a message (and a link) as a banner in every open worksheet of the session, or of the
    chosen havrutot, at once. Kept, so worksheets opened later show it in their history."""
    message = _clean_text(
        message,
        limit=BROADCAST_MAX,
        empty=_("Write a message first."),
        too_long=_("Keep the message to %(limit)s characters (it has %(count)s)."),
    )
    link = _clean_link(link)
    _check_open(session)
    targets = None if havrutot is None else list(havrutot)
    if targets is not None:
        if not targets:
            raise ValidationError(_("Choose at least one havruta, or send to all."))
        if any(h.session_id != session.pk for h in targets):
            raise ValidationError(_("Choose havrutot of this lesson."))
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            session=session, author=by, message=message, link=link, to_all=targets is None
        )
        if targets is not None:
            broadcast.havrutot.set(targets)
        event = {
            "type": "broadcast",
            **broadcast_json(
                LiveNote(id=broadcast.pk, text=broadcast.message, created_at=broadcast.created_at, extra=broadcast.link)
            ),
        }
        groups = (
            [SESSION_GROUP.format(session_id=session.pk)]
            if targets is None
            else [HAVRUTA_GROUP.format(havruta_id=h.pk) for h in targets]
        )
        _publish([*(_event(group, event) for group in groups), _dashboard_session(session)])
    return broadcast


# --------------------------------------------------------------------------------------------
# Comments pinned to a field
# --------------------------------------------------------------------------------------------


def comment_create(*, worksheet: Worksheet, by: User, field_id: str, text: str) -> FieldComment:
    """Pin a short comment to one box of a havruta's worksheet; the havruta sees it at once."""
    text = _clean_text(
        text,
        limit=COMMENT_MAX,
        empty=_("Write a comment first."),
        too_long=_("Keep the comment to %(limit)s characters (it has %(count)s)."),
    )
    members = list(HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id).select_related("student"))
    choices = {c.field_id: c.label for c in worksheet_field_choices(worksheet=worksheet, members=members)}
    if field_id not in choices:
        raise ValidationError(_("Choose a question of this worksheet."))
    with transaction.atomic():
        comment = FieldComment.objects.create(worksheet=worksheet, field_id=field_id, text=text, author=by)
        note = LiveNote(
            id=comment.pk,
            text=comment.text,
            created_at=comment.created_at,
            extra=field_id,
            field_label=choices[field_id],
        )
        _publish(
            [
                _event(
                    HAVRUTA_GROUP.format(havruta_id=worksheet.havruta_id),
                    {
                        "type": "comment",
                        "worksheet": worksheet.pk,
                        "comment": comment_json(note, worksheet_id=worksheet.pk),
                    },
                ),
                _dashboard_havruta(worksheet.havruta.session.classroom_id, worksheet.havruta_id),
            ]
        )
    return comment


def comment_mark_done(*, comment: FieldComment, by: User) -> FieldComment:
    """The havruta marks a comment done (marking twice keeps the first time)."""
    if comment.done_at is None:
        comment.done_at = timezone.now()
        comment.done_by = by
        comment.save(update_fields=["done_at", "done_by"])
        worksheet = Worksheet.objects.select_related("havruta__session").get(pk=comment.worksheet_id)
        _publish(
            [
                _event(
                    HAVRUTA_GROUP.format(havruta_id=worksheet.havruta_id),
                    {"type": "comment_done", "id": comment.pk, "worksheet": worksheet.pk},
                ),
                _dashboard_havruta(worksheet.havruta.session.classroom_id, worksheet.havruta_id),
            ]
        )
    return comment


# --------------------------------------------------------------------------------------------
# The step timer
# --------------------------------------------------------------------------------------------


def _minutes(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise ValidationError(_("Give the time in whole minutes.")) from None
    if not 1 <= minutes <= MINUTES_MAX:
        raise ValidationError(_("Choose between 1 and %(max)s minutes.") % {"max": MINUTES_MAX})
    return minutes


def _timer_publish(session: PairingSession, step: SessionStep | None) -> None:
    # The remaining time is computed when the event is sent, not when it was queued.
    def send() -> None:
        _send_now(
            [
                _event(SESSION_GROUP.format(session_id=session.pk), {"type": "timer", "timer": timer_state(step)}),
                _dashboard_session(session),
            ]
        )

    transaction.on_commit(send)


def _current(session: PairingSession) -> SessionStep | None:
    return SessionStep.objects.select_for_update().filter(session=session, ended_at__isnull=True).first()


def _open_step(session: PairingSession, info: StepInfo, now: datetime.datetime) -> SessionStep:
    return SessionStep.objects.create(
        session=session,
        index=info.index,
        assignment_id=info.assignment_id,
        step_key=info.key,
        title=info.title,
        started_at=now,
    )


def _steps(session: PairingSession) -> list[StepInfo]:
    steps = session_steps(assignments=session_assignments(session_id=session.pk))
    if not steps:
        raise ValidationError(_("Assign a protocol to this lesson first: the timer follows its steps."))
    return steps


def _run(step: SessionStep, seconds: int, now: datetime.datetime) -> None:
    step.timer_ends_at = now + datetime.timedelta(seconds=seconds)
    step.timer_remaining = None
    step.timer_duration = seconds


@transaction.atomic
def timer_start(*, session: PairingSession, by: User, minutes: Any) -> SessionStep:
    """Start (or restart) the countdown of the class's current step; the first step if none yet."""
    seconds = _minutes(minutes) * 60
    _check_open(session)
    now = timezone.now()
    step = _current(session)
    if step is None:
        step = _open_step(session, _steps(session)[0], now)
    _run(step, seconds, now)
    step.save(update_fields=["timer_ends_at", "timer_remaining", "timer_duration"])
    _timer_publish(session, step)
    return step


@transaction.atomic
def timer_pause(*, session: PairingSession, by: User) -> SessionStep | None:
    now = timezone.now()
    step = _current(session)
    if step is not None and step.timer_ends_at is not None:
        step.timer_remaining = max(0, round((step.timer_ends_at - now).total_seconds()))
        step.timer_ends_at = None
        step.save(update_fields=["timer_ends_at", "timer_remaining"])
        _timer_publish(session, step)
    return step


@transaction.atomic
def timer_resume(*, session: PairingSession, by: User) -> SessionStep | None:
    _check_open(session)
    now = timezone.now()
    step = _current(session)
    if step is not None and step.timer_remaining is not None:
        step.timer_ends_at = now + datetime.timedelta(seconds=step.timer_remaining)
        step.timer_remaining = None
        step.save(update_fields=["timer_ends_at", "timer_remaining"])
        _timer_publish(session, step)
    return step


@transaction.atomic
def timer_extend(*, session: PairingSession, by: User, minutes: Any = 1) -> SessionStep:
    """Add minutes to the countdown (running or paused); starts one when there is none."""
    seconds = _minutes(minutes) * 60
    _check_open(session)
    now = timezone.now()
    step = _current(session)
    if step is None:
        step = _open_step(session, _steps(session)[0], now)
    if step.timer_ends_at is not None:
        step.timer_ends_at = max(step.timer_ends_at, now) + datetime.timedelta(seconds=seconds)
        step.timer_duration += seconds
    elif step.timer_remaining is not None:
        step.timer_remaining += seconds
        step.timer_duration += seconds
    else:
        _run(step, seconds, now)
    step.save(update_fields=["timer_ends_at", "timer_remaining", "timer_duration"])
    _timer_publish(session, step)
    return step


@transaction.atomic
def timer_next_step(*, session: PairingSession, by: User, minutes: Any = None) -> SessionStep:
    """Move the whole class to the next step, with a countdown of `minutes` (or the step's own)."""
    _check_open(session)
    steps = _steps(session)
    now = timezone.now()
    step = _current(session)
    index = 0 if step is None else step.index + 1
    if index >= len(steps):
        raise ValidationError(_("This is the last step."))
    if step is not None:
        step.ended_at = now
        step.timer_ends_at = None
        step.timer_remaining = None
        step.save(update_fields=["ended_at", "timer_ends_at", "timer_remaining"])
    following = _open_step(session, steps[index], now)
    chosen = _minutes(minutes) if minutes not in (None, "") else steps[index].minutes
    if chosen:
        _run(following, chosen * 60, now)
        following.save(update_fields=["timer_ends_at", "timer_remaining", "timer_duration"])
    _timer_publish(session, following)
    return following


@transaction.atomic
def timer_stop(*, session: PairingSession, by: User) -> SessionStep | None:
    """Take the countdown away; the class stays on its step."""
    step = _current(session)
    if step is not None and (step.timer_ends_at is not None or step.timer_remaining is not None):
        step.timer_ends_at = None
        step.timer_remaining = None
        step.save(update_fields=["timer_ends_at", "timer_remaining"])
        _timer_publish(session, step)
    return step


# --------------------------------------------------------------------------------------------
# The end of the learning phase
# --------------------------------------------------------------------------------------------


@transaction.atomic
def live_session_end(*, session: PairingSession, by: User) -> PairingSession:
    """End the learning phase from the live page (the same as the reflections page's button)."""
    from reflections.services import session_end_learning  # reflections owns the learning phase

    return session_end_learning(session=session, by=by)


def live_session_ended(*, session: PairingSession) -> None:
    """What ending the learning phase does live; `reflections.services.session_end_learning` calls it.

    The current step stops; every open worksheet socket re-checks its access and finds itself
    read-only (PairingSession.ended_at); every open worksheet page of a student is sent to the
    student's reflection; the dashboards show the summary link.
    """
    now = timezone.now()
    SessionStep.objects.filter(session=session, ended_at__isnull=True).update(
        ended_at=now, timer_ends_at=None, timer_remaining=None
    )
    for worksheet in Worksheet.objects.filter(havruta__session=session).only("pk"):
        worksheet_revoke(worksheet=worksheet)
    _publish(
        [
            _event(
                SESSION_GROUP.format(session_id=session.pk),
                {"type": "session_ended", "url": reverse("reflections:reflection", args=[session.pk])},
            ),
            _dashboard_session(session),
        ]
    )


# --------------------------------------------------------------------------------------------
# Who is online (the events sockets of students' worksheet pages)
# --------------------------------------------------------------------------------------------


def live_connection_open(*, channel_name: str, user: User, worksheet: Worksheet, classroom_id: int) -> None:
    LiveConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"user": user, "havruta_id": worksheet.havruta_id, "worksheet": worksheet, "seen_at": timezone.now()},
    )
    _publish([_dashboard_havruta(classroom_id, worksheet.havruta_id)])


def live_connection_touch(*, channel_name: str) -> None:
    LiveConnection.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def live_connection_close(*, channel_name: str, havruta_id: int, classroom_id: int) -> tuple[str, dict[str, Any]]:
    """Forget a closed events socket; returns the dashboard message for the caller to send.

    The caller is the consumer, in a worker thread: sending from here with async_to_sync would wait
    for the event loop that is waiting for us, which deadlocks when the server shuts down.
    """
    LiveConnection.objects.filter(channel_name=channel_name).delete()
    return _dashboard_havruta(classroom_id, havruta_id)
