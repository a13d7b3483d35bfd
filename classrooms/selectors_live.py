"""Reads for the teacher's live session: the grid of havrutot, the step timer, a worksheet's live notes.

Every list here costs a fixed number of queries whatever the size of the class (pinned in
tests/test_live_pages.py): the grid is built from one query per kind of row (havrutot, members,
assignments, worksheets, answers, help requests, comments, connections), joined in Python.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import CharField, DateTimeField, F, IntegerField, Prefetch, Q, Value
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.models import (
    Assignment,
    Broadcast,
    Classroom,
    FieldComment,
    Havruta,
    HavrutaMember,
    HelpRequest,
    LiveConnection,
    PairingSession,
    SessionStep,
)
from worksheets.extract import count_words, is_filled
from worksheets.models import FieldAnswer, Worksheet

DEFAULTS: dict[str, Any] = {
    "FLUSH_SECONDS": 0.5,  # the dashboard socket sends at most one update per this many seconds
    "IDLE_SECONDS": 180,  # a havruta that started and wrote nothing for this long needs attention
    "ONLINE_SECONDS": 70,  # a student counts as online while their events socket renewed this recently
    "HEARTBEAT_SECONDS": 25,  # how often an open events socket renews its LiveConnection row
}

PREVIEW_CHARS = 140
BROADCASTS_SHOWN = 20

# Attention ranks: the grid sorts by these, most urgent first.
RANK_HELP, RANK_IDLE, RANK_NOT_STARTED, RANK_WORKING = 0, 1, 2, 3


def conf(name: str) -> Any:
    return getattr(settings, "CLASSROOMS_LIVE", {}).get(name, DEFAULTS[name])


def iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --------------------------------------------------------------------------------------------
# The current session and its steps
# --------------------------------------------------------------------------------------------


def session_current(*, classroom: Classroom) -> PairingSession | None:
    """The session the live page follows: the latest one not ended yet, else the latest one."""
    latest = (
        PairingSession.objects.filter(classroom=classroom)
        .order_by(F("ended_at").asc(nulls_first=True), "-date", "-created_at", "-pk")
        .first()
    )
    if latest is None or latest.ended_at is None:
        return latest
    # Every session has ended: follow the newest.
    return PairingSession.objects.filter(classroom=classroom).order_by("-date", "-created_at", "-pk").first()


@dataclass(frozen=True)
class StepInfo:
    """One step of the session's sequence (the steps of its assignments in order)."""

    index: int
    assignment_id: int
    key: str
    title: str
    minutes: int | None
    number: int  # within its protocol, from 1
    count: int  # steps in its protocol
    protocol_title: str

    @property
    def label(self) -> str:
        return _("Step %(number)s of %(count)s: %(title)s") % {
            "number": self.number,
            "count": self.count,
            "title": isolate(self.title),
        }


def isolate(text: str) -> str:
    """In a right-to-left interface, wrap text of its own direction (an English protocol title in a
    Hebrew sentence) in Unicode isolates, so its punctuation stays with it in plain-text labels."""
    return f"\u2068{text}\u2069" if text and translation.get_language_bidi() else text


def session_assignments(*, session_id: int) -> list[Assignment]:
    return list(
        Assignment.objects.filter(session_id=session_id)
        .select_related("protocol_version")
        .order_by("position", "created_at", "pk")
    )


def session_steps(*, assignments: Iterable[Assignment]) -> list[StepInfo]:
    steps: list[StepInfo] = []
    for assignment in assignments:
        data = assignment.protocol_version.data or {}
        raw_steps = [s for s in data.get("steps") or [] if isinstance(s, dict)]
        title = data.get("title") or str(assignment.protocol_version)
        for number, raw in enumerate(raw_steps, start=1):
            minutes = raw.get("minutes")
            steps.append(
                StepInfo(
                    index=len(steps),
                    assignment_id=assignment.pk,
                    key=str(raw.get("key") or ""),
                    title=str(raw.get("title") or raw.get("key") or ""),
                    minutes=minutes if isinstance(minutes, int) and minutes > 0 else None,
                    number=number,
                    count=len(raw_steps),
                    protocol_title=title,
                )
            )
    return steps


def step_current(*, session_id: int) -> SessionStep | None:
    return SessionStep.objects.filter(session_id=session_id, ended_at__isnull=True).first()


def timer_state(step: SessionStep | None, *, now: datetime.datetime | None = None) -> dict[str, Any] | None:
    """The class's current step and countdown as sent to every worksheet and the dashboard.

    `remaining` is computed here, at send time, so browsers count down from it with their own
    clock and a wrong clock on a pupil's laptop does not matter.
    """
    if step is None:
        return None
    now = now or timezone.now()
    if step.timer_ends_at is not None:
        state = "running"
        remaining = max(0, round((step.timer_ends_at - now).total_seconds()))
    elif step.timer_remaining is not None:
        state = "paused"
        remaining = step.timer_remaining
    else:
        state = "stopped"
        remaining = 0
    return {
        "step": {
            "id": step.pk,
            "index": step.index,
            "title": step.title,
            "key": step.step_key,
            "assignment": step.assignment_id,
        },
        "state": state,
        "remaining": remaining,
        "duration": step.timer_duration,
        "ends_at": iso(step.timer_ends_at),
    }


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------


def _preview_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = next((str(v) for v in reversed(value) if str(v).strip()), "")
    else:
        return ""  # choices and checklists are not writing
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"


def _fields(assignment: Assignment) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The protocol's fields and, per field key, the index of its step within the protocol."""
    data = assignment.protocol_version.data or {}
    fields = [f for f in data.get("fields") or [] if isinstance(f, dict) and f.get("key")]
    order = {str(s.get("key")): i for i, s in enumerate(data.get("steps") or []) if isinstance(s, dict)}
    return fields, {str(f["key"]): order.get(str(f.get("step") or ""), -1) for f in fields}


def live_rows(
    *,
    session_id: int,
    havruta_ids: Iterable[int] | None = None,
    assignments: list[Assignment] | None = None,
    now: datetime.datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per havruta of the session (or of `havruta_ids`): what the teacher's grid shows.

    Eight queries whatever the number of havrutot. Rows come sorted by attention: help asked
    first (oldest first), then havrutot idle for long, then those not started, then the rest.
    """
    now = now or timezone.now()
    ids = None if havruta_ids is None else sorted(set(havruta_ids))
    havrutot_qs = Havruta.objects.filter(session_id=session_id).prefetch_related(
        Prefetch("memberships", queryset=HavrutaMember.objects.select_related("student").order_by("seat"))
    )
    scope = Q(havruta__session_id=session_id)
    if ids is not None:
        havrutot_qs = havrutot_qs.filter(pk__in=ids)
        scope &= Q(havruta_id__in=ids)
    havrutot = [h for h in havrutot_qs.order_by("number") if h.memberships.all()]
    if not havrutot:
        return []
    if assignments is None:
        assignments = session_assignments(session_id=session_id)
    by_assignment = {a.pk: a for a in assignments}
    position = {a.pk: i for i, a in enumerate(assignments)}
    fields_of = {a.pk: _fields(a) for a in assignments}
    titles = {a.pk: (a.protocol_version.data or {}).get("title") or str(a.protocol_version) for a in assignments}

    worksheets = list(
        Worksheet.objects.filter(scope).values("pk", "havruta_id", "assignment_id", "last_edit_at").order_by("pk")
    )
    worksheet_scope = Q(worksheet__havruta__session_id=session_id)
    if ids is not None:
        worksheet_scope &= Q(worksheet__havruta_id__in=ids)
    answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in FieldAnswer.objects.filter(worksheet_scope).values(
        "worksheet_id", "field_key", "student_id", "value", "updated_at"
    ):
        answers[row["worksheet_id"]].append(dict(row))
    help_open = {
        h["havruta_id"]: h
        for h in HelpRequest.objects.filter(scope, resolved_at__isnull=True).values(
            "pk", "havruta_id", "note", "created_at", "student__display_name"
        )
    }
    # Ids, not only a count: the pop-in marks a comment done the moment the havruta does.
    comments_open: dict[int, list[int]] = defaultdict(list)
    for havruta_id, comment_id in FieldComment.objects.filter(worksheet_scope, done_at__isnull=True).values_list(
        "worksheet__havruta_id", "pk"
    ):
        comments_open[havruta_id].append(comment_id)
    online_since = now - datetime.timedelta(seconds=conf("ONLINE_SECONDS"))
    online: set[tuple[int, int]] = set(
        LiveConnection.objects.filter(scope, seen_at__gte=online_since).values_list("havruta_id", "user_id")
    )

    sheets_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for found in worksheets:
        if found["assignment_id"] in by_assignment:
            sheets_of[found["havruta_id"]].append(dict(found))

    rows = []
    for havruta in havrutot:
        members = list(havruta.memberships.all())
        member_ids = {m.student_id for m in members}
        sheets = sorted(sheets_of.get(havruta.pk, []), key=lambda s: position[s["assignment_id"]])
        filled = total = words = 0
        last_edit: datetime.datetime | None = None
        latest_answer: dict[str, Any] | None = None
        furthest: tuple[int, int] | None = None  # (assignment position, step index within it)
        for sheet in sheets:
            fields, step_of = fields_of[sheet["assignment_id"]]
            shared = {str(f["key"]) for f in fields if f.get("scope", "shared") != "personal"}
            personal = {str(f["key"]) for f in fields if f.get("scope") == "personal"}
            total += len(shared) + len(personal) * len(member_ids)
            if sheet["last_edit_at"] is not None and (last_edit is None or sheet["last_edit_at"] > last_edit):
                last_edit = sheet["last_edit_at"]
            for answer in answers.get(sheet["pk"], []):
                key = answer["field_key"]
                counted = (answer["student_id"] is None and key in shared) or (
                    answer["student_id"] in member_ids and key in personal
                )
                if not counted or not is_filled(answer["value"]):
                    continue
                filled += 1
                words += count_words(answer["value"])
                at = (position[sheet["assignment_id"]], step_of.get(key, -1))
                if furthest is None or at > furthest:
                    furthest = at
                if _preview_text(answer["value"]) and (
                    latest_answer is None or answer["updated_at"] > latest_answer["updated_at"]
                ):
                    latest_answer = answer
        current_sheet = sheets[0] if sheets else None
        step_label = ""
        if furthest is not None:
            current_sheet = next(s for s in sheets if position[s["assignment_id"]] == furthest[0])
            data = by_assignment[current_sheet["assignment_id"]].protocol_version.data or {}
            raw_steps = [s for s in data.get("steps") or [] if isinstance(s, dict)]
            if 0 <= furthest[1] < len(raw_steps):
                step_label = _("Step %(number)s of %(count)s: %(title)s") % {
                    "number": furthest[1] + 1,
                    "count": len(raw_steps),
                    "title": isolate(raw_steps[furthest[1]].get("title") or ""),
                }
        started = filled > 0 or last_edit is not None
        idle = round((now - last_edit).total_seconds()) if last_edit is not None else None
        help_row = help_open.get(havruta.pk)
        if help_row is not None:
            rank = RANK_HELP
        elif started and idle is not None and idle >= conf("IDLE_SECONDS"):
            rank = RANK_IDLE
        elif not started:
            rank = RANK_NOT_STARTED
        else:
            rank = RANK_WORKING
        rows.append(
            {
                "havruta": havruta.pk,
                "number": havruta.number,
                "members": [
                    {"id": m.student_id, "name": m.student.name, "online": (havruta.pk, m.student_id) in online}
                    for m in members
                ],
                "worksheets": [
                    {"id": s["pk"], "title": titles[s["assignment_id"]], "url": _worksheet_url(s["pk"])} for s in sheets
                ],
                "worksheet": current_sheet["pk"] if current_sheet else None,
                "step": step_label,
                "filled": filled,
                "total": total,
                "percent": round(100 * filled / total) if total else 0,
                "words": words,
                "last_edit_at": iso(last_edit),
                "idle": idle,
                "started": started,
                "help": None
                if help_row is None
                else {
                    "id": help_row["pk"],
                    "note": help_row["note"],
                    "since": iso(help_row["created_at"]),
                    "student": help_row["student__display_name"] or "",
                },
                "comments_open": len(comments_open.get(havruta.pk, [])),
                "comments_open_ids": sorted(comments_open.get(havruta.pk, [])),
                "preview": _preview_text(latest_answer["value"]) if latest_answer else "",
                "rank": rank,
            }
        )
    rows.sort(key=row_sort_key)
    return rows


def row_sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    if row["rank"] == RANK_HELP:
        return (RANK_HELP, (row["help"] or {}).get("since") or "", row["number"])
    if row["rank"] == RANK_IDLE:
        return (RANK_IDLE, -(row["idle"] or 0), row["number"])
    return (row["rank"], "", row["number"])


def _worksheet_url(pk: int) -> str:
    return reverse("worksheets:detail", args=[pk])


def session_state(*, session: PairingSession, step: SessionStep | None, now: datetime.datetime | None = None) -> dict:
    """The session part of a dashboard update: the timer and whether learning has ended."""
    return {
        "session": session.pk,
        "ended": session.ended_at is not None,
        "timer": timer_state(step, now=now),
        "summary_url": reverse("classrooms:live_summary", args=[session.pk]),
    }


def dashboard_snapshot(*, session_id: int, havruta_ids: Iterable[int] | None = None, with_session: bool = True) -> dict:
    """What the dashboard socket sends: rows (all, or the havrutot that changed) and the session state."""
    now = timezone.now()
    message: dict[str, Any] = {"type": "update", "now": iso(now)}
    session = PairingSession.objects.filter(pk=session_id).first()
    if session is None:
        message["rows"] = []
        return message
    message["rows"] = live_rows(session_id=session_id, havruta_ids=havruta_ids, now=now)
    if with_session:
        message["session"] = session_state(session=session, step=step_current(session_id=session_id), now=now)
    return message


# --------------------------------------------------------------------------------------------
# The live page
# --------------------------------------------------------------------------------------------


@dataclass
class BroadcastRow:
    id: int
    message: str
    link: str
    created_at: datetime.datetime
    to_all: bool
    numbers: list[int]


@dataclass
class LivePage:
    classroom: Classroom
    session: PairingSession | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    steps: list[StepInfo] = field(default_factory=list)
    step: SessionStep | None = None
    timer: dict[str, Any] | None = None
    next_step: StepInfo | None = None
    broadcasts: list[BroadcastRow] = field(default_factory=list)
    havruta_choices: list[tuple[int, int]] = field(default_factory=list)  # (id, number)
    help_count: int = 0

    @property
    def default_minutes(self) -> int:
        if self.step is not None:
            info = next((s for s in self.steps if s.index == self.step.index), None)
        else:
            info = self.steps[0] if self.steps else None
        return (info.minutes if info and info.minutes else None) or 5

    @property
    def step_label(self) -> str:
        if self.step is None:
            return ""
        info = next((s for s in self.steps if s.index == self.step.index), None)
        return info.label if info is not None else self.step.title


def live_page(*, classroom: Classroom) -> LivePage:
    """The teacher's live page of a class: its current session's grid, timer and broadcasts."""
    session = session_current(classroom=classroom)
    if session is None:
        return LivePage(classroom=classroom, session=None)
    now = timezone.now()
    assignments = session_assignments(session_id=session.pk)
    steps = session_steps(assignments=assignments)
    step = step_current(session_id=session.pk)
    rows = live_rows(session_id=session.pk, assignments=assignments, now=now)
    broadcasts = [
        BroadcastRow(
            id=b.pk,
            message=b.message,
            link=b.link,
            created_at=b.created_at,
            to_all=b.to_all,
            numbers=sorted(h.number for h in b.havrutot.all()),
        )
        for b in Broadcast.objects.filter(session=session).prefetch_related("havrutot")[:BROADCASTS_SHOWN]
    ]
    next_index = step.index + 1 if step is not None else 0
    return LivePage(
        classroom=classroom,
        session=session,
        rows=rows,
        steps=steps,
        step=step,
        timer=timer_state(step, now=now),
        next_step=steps[next_index] if next_index < len(steps) else None,
        broadcasts=broadcasts,
        havruta_choices=sorted((r["havruta"], r["number"]) for r in rows),
        help_count=sum(1 for r in rows if r["help"]),
    )


@dataclass
class FieldChoice:
    field_id: str
    label: str


@dataclass
class Panel:
    """The pop-in beside the grid: one havruta's worksheet, read-only, and the comments on it."""

    worksheet: Worksheet
    members: list[HavrutaMember]
    fields: list[FieldChoice]
    comments: list[FieldComment]
    help: HelpRequest | None
    listen: str  # "quiet" or "visible"

    @property
    def comment_rows(self) -> list[tuple[FieldComment, str]]:
        labels = {c.field_id: c.label for c in self.fields}
        return [(c, labels.get(c.field_id, c.field_id)) for c in self.comments]

    @property
    def frame_url(self) -> str:
        return f"{_worksheet_url(self.worksheet.pk)}?embed=1&listen={self.listen}"


def worksheet_field_choices(*, worksheet: Worksheet, members: list[HavrutaMember]) -> list[FieldChoice]:
    """Every box of the worksheet a comment can be pinned to, named as presence names it."""
    labels = field_labels(worksheet, {m.student_id: m.student.name for m in members})
    return [FieldChoice(field_id, label) for field_id, label in labels.items()]


def live_panel(*, worksheet: Worksheet, listen: str = "visible") -> Panel:
    members = list(
        HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id).select_related("student").order_by("seat")
    )
    return Panel(
        worksheet=worksheet,
        members=members,
        fields=worksheet_field_choices(worksheet=worksheet, members=members),
        comments=list(FieldComment.objects.filter(worksheet=worksheet).order_by("-created_at", "-pk")[:30]),
        help=HelpRequest.objects.filter(havruta_id=worksheet.havruta_id, resolved_at__isnull=True).first(),
        listen="quiet" if listen == "quiet" else "visible",
    )


# --------------------------------------------------------------------------------------------
# A worksheet's live notes (the student's page)
# --------------------------------------------------------------------------------------------


@dataclass
class LiveNote:
    id: int
    text: str
    created_at: datetime.datetime
    extra: str = ""  # a broadcast's link, a comment's field id
    done_at: datetime.datetime | None = None
    author: str = ""
    field_label: str = ""


@dataclass
class WorksheetLive:
    """Broadcasts, the step timer, pinned comments and the havruta's help request for one worksheet."""

    worksheet_id: int
    assignment_id: int
    session_id: int
    is_member: bool
    ended: bool
    broadcasts: list[LiveNote]
    comments: list[LiveNote]
    help: LiveNote | None
    timer: dict[str, Any] | None
    step_label: str

    @property
    def open_comments(self) -> list[LiveNote]:
        return [c for c in self.comments if c.done_at is None]

    def as_json(self) -> dict[str, Any]:
        return {
            "broadcasts": [broadcast_json(n) for n in self.broadcasts],
            "comments": [comment_json(n, worksheet_id=self.worksheet_id) for n in self.open_comments],
            "help": help_json(self.help),
            "timer": self.timer,
            "stepLabel": self.step_label,
            "ended": self.ended,
        }


def broadcast_json(note: LiveNote) -> dict[str, Any]:
    return {"id": note.id, "message": note.text, "link": note.extra, "sent_at": iso(note.created_at)}


def comment_json(note: LiveNote, *, worksheet_id: int) -> dict[str, Any]:
    return {
        "id": note.id,
        "worksheet": worksheet_id,
        "field": note.extra,
        "field_label": note.field_label,
        "text": note.text,
        "created_at": iso(note.created_at),
        "done": note.done_at is not None,
    }


def help_json(note: LiveNote | None) -> dict[str, Any]:
    if note is None:
        return {"open": False}
    return {"open": True, "id": note.id, "note": note.text, "since": iso(note.created_at), "student": note.author}


def field_labels(worksheet: Worksheet, member_names: dict[int, str]) -> dict[str, str]:
    """{field id: label} of a worksheet's boxes, without a query (names come from the caller)."""
    labels = {}
    for raw in (worksheet.assignment.protocol_version.data or {}).get("fields") or []:
        if not isinstance(raw, dict) or not raw.get("key"):
            continue
        label = str(raw.get("label") or raw["key"])
        if raw.get("scope") == "personal":
            for member_id, name in member_names.items():
                labels[f"student-{member_id}:{raw['key']}"] = _("%(label)s (%(name)s)") % {"label": label, "name": name}
        else:
            labels[f"shared:{raw['key']}"] = label
    return labels


def step_label_for(worksheet: Worksheet, timer: dict[str, Any] | None) -> str:
    """ "Step 2 of 5: …" when the class's step is in this worksheet's protocol, else its title."""
    if timer is None:
        return ""
    step = timer["step"]
    if step["assignment"] == worksheet.assignment_id:
        raw_steps = [
            s for s in (worksheet.assignment.protocol_version.data or {}).get("steps") or [] if isinstance(s, dict)
        ]
        for number, raw in enumerate(raw_steps, start=1):
            if raw.get("key") == step["key"]:
                return _("Step %(number)s of %(count)s: %(title)s") % {
                    "number": number,
                    "count": len(raw_steps),
                    "title": isolate(step["title"]),
                }
    return str(step["title"])


def worksheet_live(*, worksheet: Worksheet, is_member: bool, member_names: dict[int, str]) -> WorksheetLive:
    """The live notes of a worksheet in ONE query, so the worksheet page stays cheap.

    The four kinds (the current step, broadcasts to this havruta, comments on this worksheet, the
    havruta's open help request) come back as one UNION ALL of rows with the same columns; each
    list is small (a lesson's worth), so it is cut and sorted here rather than in SQL (SQLite
    allows no LIMIT inside a compound select). `worksheet` must come with its havruta's session
    and its protocol version (classrooms.access.worksheet_for_user selects them).
    """
    session = worksheet.havruta.session
    no_time = Value(None, output_field=DateTimeField())
    no_int = Value(None, output_field=IntegerField())
    columns = ("kind", "pk", "t1", "t2", "s1", "s2", "s3", "n1", "n2", "n3")

    def kind(name: str) -> Value:
        return Value(name, output_field=CharField())

    steps = (
        SessionStep.objects.filter(session_id=session.pk, ended_at__isnull=True)
        .annotate(
            kind=kind("step"),
            t1=F("started_at"),
            t2=F("timer_ends_at"),
            s1=F("title"),
            s2=F("step_key"),
            s3=Value("", output_field=CharField()),
            n1=F("timer_remaining"),
            n2=F("timer_duration"),
            n3=F("assignment_id"),
        )
        .order_by()
        .values_list(*columns)
    )
    broadcasts = (
        Broadcast.objects.filter(Q(to_all=True) | Q(havrutot=worksheet.havruta_id), session_id=session.pk)
        .annotate(
            kind=kind("broadcast"),
            t1=F("created_at"),
            t2=no_time,
            s1=F("message"),
            s2=F("link"),
            s3=Value("", output_field=CharField()),
            n1=no_int,
            n2=no_int,
            n3=no_int,
        )
        .order_by()
        .values_list(*columns)
    )
    comments = (
        FieldComment.objects.filter(worksheet_id=worksheet.pk)
        .annotate(
            kind=kind("comment"),
            t1=F("created_at"),
            t2=F("done_at"),
            s1=F("text"),
            s2=F("field_id"),
            s3=Value("", output_field=CharField()),
            n1=no_int,
            n2=no_int,
            n3=no_int,
        )
        .order_by()
        .values_list(*columns)
    )
    helps = (
        HelpRequest.objects.filter(havruta_id=worksheet.havruta_id, resolved_at__isnull=True)
        .annotate(
            kind=kind("help"),
            t1=F("created_at"),
            t2=no_time,
            s1=F("note"),
            s2=Value("", output_field=CharField()),
            s3=F("student__display_name"),
            n1=no_int,
            n2=no_int,
            n3=no_int,
        )
        .order_by()
        .values_list(*columns)
    )
    step: SessionStep | None = None
    notes: dict[str, list[LiveNote]] = defaultdict(list)
    labels = field_labels(worksheet, member_names)
    for kind_name, pk, t1, t2, s1, s2, s3, n1, n2, n3 in steps.union(broadcasts, comments, helps, all=True):
        if kind_name == "step":
            step = SessionStep(
                pk=pk,
                session_id=session.pk,
                index=0,
                assignment_id=n3,
                step_key=s2 or "",
                title=s1 or "",
                started_at=t1,
                timer_ends_at=t2,
                timer_remaining=n1,
                timer_duration=n2 or 0,
            )
            continue
        notes[kind_name].append(
            LiveNote(
                id=pk,
                text=s1 or "",
                created_at=t1,
                extra=s2 or "",
                done_at=t2,
                author=s3 or "",
                field_label=labels.get(s2 or "", "") if kind_name == "comment" else "",
            )
        )
    broadcast_notes = sorted(notes["broadcast"], key=lambda n: (n.created_at, n.id), reverse=True)[:BROADCASTS_SHOWN]
    comment_notes = sorted(notes["comment"], key=lambda n: (n.done_at is not None, n.created_at, n.id))
    timer = timer_state(step)
    return WorksheetLive(
        worksheet_id=worksheet.pk,
        assignment_id=worksheet.assignment_id,
        session_id=session.pk,
        is_member=is_member,
        ended=session.ended_at is not None,
        broadcasts=broadcast_notes,
        comments=comment_notes,
        help=notes["help"][0] if notes["help"] else None,
        timer=timer,
        step_label=step_label_for(worksheet, timer),
    )


def worksheet_live_config(*, live: WorksheetLive, user: User) -> dict[str, Any]:
    """What static/js/worksheet_events.js needs: its socket, where to go when learning ends, strings."""
    return {
        "socket": f"/ws/worksheets/{live.worksheet_id}/events/",
        "worksheet": live.worksheet_id,
        "assignment": live.assignment_id,
        "role": "student" if live.is_member else "teacher",
        "commentDoneUrl": reverse("classrooms:live_comment_done", args=[live.worksheet_id, 0]),
        "reflectionUrl": reverse("reflections:reflection", args=[live.session_id]) if live.is_member else "",
        "state": live.as_json(),
        "strings": {
            "fromTeacher": _("From your teacher:"),
            "teacherSays": _("Your teacher:"),
            "stepOf": _("Step %(number)s of %(count)s: %(title)s"),
            "timeUp": _("Time is up"),
            "paused": _("Paused"),
            "remaining": _("%(time)s left"),
            "helpAsked": _("You asked your teacher for help. They will come to you."),
            "helpNote": _("Your note: %(note)s"),
            "helpResolved": _("Your teacher has seen your request."),
            "markDone": _("Mark as done"),
            "done": _("Done"),
            "newBroadcast": _("Message from your teacher: %(message)s"),
            "newComment": _("Your teacher commented on ‘%(field)s’: %(text)s"),
            "ended": _("The learning time has ended. Taking you to your reflection…"),
            "endedTeacher": _("The learning time has ended."),
            "openLink": _("Open the link"),
            "commentOn": _("Your teacher on ‘%(field)s’:"),
            "error": _("That did not work. Please try again."),
            "reconnecting": _("Reconnecting to your class…"),
        },
    }


# --------------------------------------------------------------------------------------------
# The summary after the session
# --------------------------------------------------------------------------------------------


@dataclass
class StepTime:
    title: str
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    seconds: int


@dataclass
class Summary:
    session: PairingSession
    rows: list[dict[str, Any]]
    finished: list[dict[str, Any]]
    help_requests: list[HelpRequest]
    steps: list[StepTime]

    @property
    def help_open(self) -> int:
        return sum(1 for h in self.help_requests if h.resolved_at is None)


def live_summary(*, session: PairingSession) -> Summary:
    """After the learning phase: havrutot that finished, help requests, and time per step."""
    now = timezone.now()
    rows = sorted(live_rows(session_id=session.pk, now=now), key=lambda r: r["number"])
    steps = [
        StepTime(
            title=s.title,
            started_at=s.started_at,
            ended_at=s.ended_at,
            seconds=round(((s.ended_at or session.ended_at or now) - s.started_at).total_seconds()),
        )
        for s in SessionStep.objects.filter(session=session).order_by("started_at", "pk")
    ]
    helps = list(
        HelpRequest.objects.filter(havruta__session=session)
        .select_related("havruta", "student")
        .order_by("created_at", "pk")
    )
    return Summary(
        session=session,
        rows=rows,
        finished=[r for r in rows if r["total"] and r["filled"] >= r["total"]],
        help_requests=helps,
        steps=steps,
    )
