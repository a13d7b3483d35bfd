"""The live worksheet page: the text on one side, the protocol's student steps and fields on the other.

The page is rendered complete on the server (labels, help, every input by kind); the bundle in
static/js/worksheet.bundle.js binds those inputs to the Yjs documents (see worksheets/PROTOCOL.md).
Only the student version of the frozen protocol is ever rendered here, for teachers too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin

from accounts.models import User
from classrooms import access
from classrooms.models import Assignment, HavrutaMember
from classrooms.selectors_live import worksheet_live, worksheet_live_config
from protocols.models import TextSegment
from protocols.selectors import text_segments
from reflections.selectors import WarmupReminder, warmup_reminder
from worksheets.models import Worksheet

TEXT_KINDS = frozenset({"short_text", "long_text"})
KNOWN_KINDS = frozenset({"short_text", "long_text", "list", "choice", "scale", "checklist"})

# One colour per seat. Each has a contrast of at least 4.5:1 on white (WCAG AA for text), so a
# partner's name and the text they wrote stay readable when coloured (tests/test_worksheet_page.py).
SEAT_COLORS = {"A": "#1d4ed8", "B": "#a21caf", "C": "#047857"}
OTHER_COLOR = "#b45309"
TEACHER_COLOR = "#4b5563"


@dataclass
class Member:
    id: int
    name: str
    seat: str
    color: str
    is_me: bool


@dataclass
class FieldInstance:
    """One box for one field: the shared one, or one student's personal one."""

    doc: str
    key: str
    writable: bool
    owner: Member | None = None
    help_id: str = ""

    @property
    def field_id(self) -> str:
        """How presence names this box: "<doc>:<key>" (see PROTOCOL.md, awareness)."""
        return f"{self.doc}:{self.key}"

    @property
    def dom_id(self) -> str:
        return f"f-{self.doc}-{self.key}"

    def owner_label(self) -> str:
        if self.owner is None:
            return ""
        if self.owner.is_me:
            return _("Your answer")
        return _("%(name)s’s answer") % {"name": self.owner.name}


@dataclass
class FieldView:
    key: str
    kind: str
    scope: str
    label: str
    help: str
    options: list[dict[str, Any]]
    scale: list[dict[str, Any]]
    instances: list[FieldInstance] = field(default_factory=list)

    @property
    def is_text(self) -> bool:
        return self.kind in TEXT_KINDS


@dataclass
class StepView:
    key: str
    title: str
    who: str
    who_label: str
    minutes: int | None
    instructions: str
    sentence_starters: list[str]
    fields: list[FieldView]


def _members(worksheet: Worksheet, user: User) -> list[Member]:
    rows = HavrutaMember.objects.filter(havruta_id=worksheet.havruta_id).select_related("student").order_by("seat")
    return [
        Member(
            id=row.student_id,
            name=row.student.name,
            seat=row.seat,
            color=SEAT_COLORS.get(row.seat, OTHER_COLOR),
            is_me=row.student_id == user.pk,
        )
        for row in rows
    ]


def _who_label(who: str, members: list[Member]) -> str:
    by_seat = {m.seat: m for m in members}
    if who == "together":
        return _("Together")
    if who == "each":
        return _("Each partner on their own")
    seat = {"partner_a": "A", "partner_b": "B"}.get(who)
    if seat is None:
        return ""
    member = by_seat.get(seat)
    if member is None:
        return _("Partner %(seat)s") % {"seat": seat}
    if member.is_me:
        return _("Partner %(seat)s (you)") % {"seat": seat}
    return _("Partner %(seat)s (%(name)s)") % {"seat": seat, "name": member.name}


def _read_only_reason(worksheet: Worksheet, is_member: bool) -> str:
    assignment = worksheet.assignment
    if not is_member:
        return _("You are viewing this havruta’s worksheet as their teacher: you can read along but not write.")
    if assignment.status != Assignment.Status.OPEN:
        return _("This assignment is closed. You can read what you wrote, but no longer change it.")
    if worksheet.havruta.session.ended_at is not None:
        return _("The learning time for this lesson has ended. You can read what you wrote, but no longer change it.")
    return ""


def _fields_and_steps(
    data: dict[str, Any], members: list[Member], can_write: bool
) -> tuple[list[StepView], list[FieldView]]:
    """The student parts of a frozen protocol: steps without teacher notes, fields by step."""
    me = next((m for m in members if m.is_me), None)
    # My own box first, then my partners' in seat order; a teacher sees every member's box.
    owners = ([me] if me else []) + [m for m in members if not m.is_me]
    fields: list[FieldView] = []
    by_step: dict[str, list[FieldView]] = {}
    for raw in data.get("fields") or []:
        kind = raw.get("kind")
        if kind not in KNOWN_KINDS or not raw.get("key"):
            continue
        view = FieldView(
            key=raw["key"],
            kind=kind,
            scope="personal" if raw.get("scope") == "personal" else "shared",
            label=raw.get("label") or raw["key"],
            help=raw.get("help") or "",
            options=list(raw.get("options") or []),
            scale=list(raw.get("scale") or []),
        )
        if view.scope == "shared":
            instance = FieldInstance(doc="shared", key=view.key, writable=can_write)
            instance.help_id = f"{instance.dom_id}-help" if view.help else ""
            view.instances.append(instance)
        else:
            for owner in owners:
                view.instances.append(
                    FieldInstance(
                        doc=f"student-{owner.id}",
                        key=view.key,
                        writable=can_write and owner.is_me,
                        owner=owner,
                        help_id=f"q-{view.key}-help" if view.help else "",
                    )
                )
        fields.append(view)
        by_step.setdefault(raw.get("step") or "", []).append(view)

    steps = []
    known_steps = set()
    for raw in data.get("steps") or []:
        key = raw.get("key") or ""
        known_steps.add(key)
        steps.append(
            StepView(
                key=key,
                title=raw.get("title") or "",
                who=raw.get("who") or "",
                who_label=_who_label(raw.get("who") or "", members),
                minutes=raw.get("minutes"),
                instructions=raw.get("instructions") or "",
                sentence_starters=[s for s in raw.get("sentence_starters") or [] if isinstance(s, str)],
                fields=by_step.get(key, []),
            )
        )
    orphans = [f for step_key, items in by_step.items() if step_key not in known_steps for f in items]
    if orphans:
        steps.append(
            StepView(
                key="more",
                title=_("More questions"),
                who="",
                who_label="",
                minutes=None,
                instructions="",
                sentence_starters=[],
                fields=orphans,
            )
        )
    return steps, fields


def _warmup_reminder(
    data: dict[str, Any], user: User, worksheet: Worksheet, me: Member | None
) -> WarmupReminder | None:
    """A student opening a Havruta Warm Up first sees their latest goal and portrait (PoP: partners
    share how they learn best, so the goal they set last time belongs in that conversation).

    Only for the student's own worksheet; the goal written after this same session's Warm Up is
    not shown back at its start.
    """
    if me is None or data.get("category") != "warm-up":
        return None
    return warmup_reminder(student=user, before=worksheet.havruta.session)


def _js_strings() -> dict[str, str]:
    """Everything the bundle says, translated here so the page needs no extra catalogue request."""
    return {
        "connecting": _("Connecting…"),
        "connected": _("Connected"),
        "connectedReadOnly": _("Connected (read only)"),
        "reconnecting": _("Reconnecting…"),
        "offline": _("Offline"),
        "allSaved": _("All saved"),
        "nothingUnsaved": _("everything you wrote is saved"),
        "unsavedOne": _("1 unsaved edit"),
        "unsavedMany": _("%(count)s unsaved edits"),
        "notAccepted": _("Your changes are not being saved: this worksheet may have been closed. Reload the page."),
        "denied": _("This worksheet is no longer open to you. Reload the page or go back to your home page."),
        "here": _("%(name)s is here"),
        "hereIn": _("%(name)s is here, writing in ‘%(field)s’"),
        "typing": _("%(name)s is typing…"),
        "typingIn": _("%(name)s is typing in ‘%(field)s’…"),
        "notHere": _("%(name)s is not here right now"),
        "teacherListening": _("Your teacher is listening"),
        "joined": _("%(name)s joined the worksheet"),
        "left": _("%(name)s left the worksheet"),
        "writingIn": _("%(name)s is writing in ‘%(field)s’"),
        "changed": _("‘%(field)s’ was changed"),
        "badgeTyping": _("%(name)s is typing…"),
        "someone": _("Someone"),
        "writtenBy": _("Written by %(name)s"),
        "nothingYet": _("Nothing written yet."),
        "entryLabel": _("Entry %(number)s of ‘%(label)s’"),
        "removeEntry": _("Remove entry %(number)s"),
        "removeEntryOf": _("Remove entry %(number)s of ‘%(label)s’"),
    }


@never_cache
@xframe_options_sameorigin  # the live dashboard's pop-in frames this page (same site only)
def worksheet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    worksheet = access.worksheet_for_user(user, pk)
    assignment = worksheet.assignment
    members = _members(worksheet, user)
    me = next((m for m in members if m.is_me), None)
    read_only_reason = _read_only_reason(worksheet, is_member=me is not None)
    can_write = me is not None and not read_only_reason
    data = assignment.protocol_version.data or {}
    steps, fields = _fields_and_steps(data, members, can_write)
    text = assignment.text
    segments: list[TextSegment] = text_segments(text=text) if text is not None else []

    ws_path = f"/ws/worksheets/{worksheet.pk}/"
    docs = [{"name": "shared", "path": ws_path, "writable": can_write}]
    docs += [
        {
            "name": f"student-{m.id}",
            "student": m.id,
            "path": f"{ws_path}students/{m.id}/",
            "writable": can_write and m.is_me,
        }
        for m in members
    ]
    me_config = (
        {"id": me.id, "name": me.name, "color": me.color, "role": "student"}
        if me
        else {"id": user.pk, "name": user.name, "color": TEACHER_COLOR, "role": "teacher"}
    )
    # The teacher's live page pops this page in (?embed=1), visibly or quietly (?listen=quiet).
    embed = request.GET.get("embed") == "1"
    teacher_visible = request.GET.get("listen") != "quiet"
    live = worksheet_live(worksheet=worksheet, is_member=me is not None, member_names={m.id: m.name for m in members})
    config = {
        "worksheet": worksheet.pk,
        "stamp": int(worksheet.created_at.timestamp()),
        "wsPath": ws_path,
        "me": me_config,
        "members": [{"id": m.id, "name": m.name, "seat": m.seat, "color": m.color} for m in members],
        "teacherColor": TEACHER_COLOR,
        "teacherVisible": teacher_visible,
        "fields": [
            {
                "key": f.key,
                "kind": f.kind,
                "scope": f.scope,
                "label": f.label,
                "help": f.help,
                "options": f.options,
                "scale": f.scale,
            }
            for f in fields
        ],
        "canWrite": can_write,
        "readOnlyReason": read_only_reason,
        "docs": docs,
        "strings": _js_strings(),
    }
    context = {
        "worksheet": worksheet,
        "assignment": assignment,
        "classroom": worksheet.havruta.session.classroom,
        "havruta": worksheet.havruta,
        "protocol": {
            "title": data.get("title") or str(assignment.protocol_version),
            "variant_label": data.get("variant_label") or "",
            "summary": (data.get("student") or {}).get("summary") or "",
            "duration_minutes": data.get("duration_minutes"),
        },
        "steps": steps,
        "text": text,
        "segments": segments,
        "members": members,
        "me": me,
        "partners": [m for m in members if not m.is_me],
        "is_teacher": me is None,
        "can_write": can_write,
        "read_only_reason": read_only_reason,
        "config": config,
        "warmup_reminder": _warmup_reminder(data, user, worksheet, me),
    }
    context.update(
        embed=embed, teacher_visible=teacher_visible, live=live, live_config=worksheet_live_config(live=live, user=user)
    )
    return render(request, "worksheets/detail.html", context)
