"""Reads for reflections: the reflection form, growth over time, panels, exports and the PDF hook.

Every page-level selector answers in a fixed number of queries however many sessions a class
or a student has (the growth pages are pinned in tests/test_growth_pages.py for 5 and 50).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from classrooms.models import Assignment, Classroom, Enrollment, Havruta, HavrutaMember, PairingSession
from protocols.models import ProtocolVersion
from reflections.answers import answer_text, fields_of, intention_items, keys_tagged
from reflections.charts import heatmap_svg, line_chart_svg
from reflections.models import ClassPortrait, GoalMet, Kept, Portrait, Reflection, ReflectionLock
from reflections.services import CLASS_PORTRAIT_CORNERS, PORTRAIT_SLUG, SKIP_TAGS
from worksheets.models import FieldAnswer

SESSION_ORDER = ("session__date", "session_id")
# The two rated habits that are not core practices get short names for charts and tables.
HABIT_NAMES = {"evidence": gettext_lazy("Evidence from the text"), "talk_time": gettext_lazy("Sharing the talk time")}


def session_label(session: PairingSession) -> str:
    return date_format(session.date, "DATE_FORMAT")


def session_short_label(session: PairingSession) -> str:
    return date_format(session.date, "j M")


def _before(session: PairingSession, prefix: str = "session__") -> Q:
    """Sessions that came before ``session`` (by date, then id: the order sessions are listed in)."""
    return Q(**{f"{prefix}date__lt": session.date}) | Q(
        **{f"{prefix}date": session.date, f"{prefix}id__lt": session.pk}
    )


def _names(users: Iterable[User]) -> list[str]:
    return [u.name for u in users]


# --------------------------------------------------------------------------------------------
# Intentions carried forward, and last time's goal
# --------------------------------------------------------------------------------------------


@dataclass
class Intentions:
    items: list[str]
    session: PairingSession
    same_session: bool


def _session_key(session: PairingSession) -> tuple[date, int]:
    return (session.date, session.pk)


def intentions_for_havruta(*, havruta: Havruta) -> Intentions | None:
    """The intentions this havruta set in a Havruta Warm Up, word for word, or None.

    The Warm Up of the same session comes first: an assignment whose frozen protocol has a
    shared field tagged "intentions", and this havruta's answer to it. Otherwise, the latest
    earlier Warm Up of a havruta with exactly the same members. Never another havruta's.
    """
    session = havruta.session
    members = set(HavrutaMember.objects.filter(havruta=havruta).values_list("student_id", flat=True))
    if not members:
        return None
    anchor = min(members)
    versions = ProtocolVersion.objects.filter(
        pk__in=Assignment.objects.filter(worksheets__havruta__memberships__student_id=anchor).values(
            "protocol_version_id"
        )
    ).only("pk", "data")
    keys_by_version: dict[int, set[str]] = {}
    for version in versions:
        keys = {
            f["key"]
            for f in version.data.get("fields") or []
            if "intentions" in (f.get("tags") or ()) and f.get("scope") == "shared"
        }
        if keys:
            keys_by_version[version.pk] = keys
    if not keys_by_version:
        return None
    answers = (
        FieldAnswer.objects.filter(
            student__isnull=True,
            field_key__in=set().union(*keys_by_version.values()),
            worksheet__assignment__protocol_version_id__in=keys_by_version,
            worksheet__havruta__memberships__student_id=anchor,
        )
        .select_related("worksheet__havruta__session", "worksheet__assignment")
        .prefetch_related(
            Prefetch("worksheet__havruta__memberships", queryset=HavrutaMember.objects.only("student_id", "havruta_id"))
        )
    )
    same: list[tuple[Any, list[str]]] = []
    earlier: list[tuple[Any, list[str]]] = []
    here = _session_key(session)
    for answer in answers:
        worksheet = answer.worksheet
        if answer.field_key not in keys_by_version[worksheet.assignment.protocol_version_id]:
            continue
        items = intention_items(answer.value)
        if not items:
            continue
        if worksheet.havruta_id == havruta.pk:
            same.append((worksheet.assignment, items))
        elif {m.student_id for m in worksheet.havruta.memberships.all()} == members and _session_key(
            worksheet.havruta.session
        ) < here:
            earlier.append((worksheet.havruta.session, items))
    if same:
        same.sort(key=lambda pair: (pair[0].position, pair[0].created_at, pair[0].pk))
        return Intentions(items=same[-1][1], session=session, same_session=True)
    if earlier:
        earlier.sort(key=lambda pair: _session_key(pair[0]))
        return Intentions(items=earlier[-1][1], session=earlier[-1][0], same_session=False)
    return None


def goal_of(reflection: Reflection, data: Mapping[str, Any] | None = None) -> str:
    """The goal the student set in this reflection's self-assessment ("" if none)."""
    data = reflection.assessment_version.data if data is None else data
    for key in keys_tagged(data, "goal"):
        value = reflection.assessment_answers.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def previous_goal_for(*, student: User, before: PairingSession | None = None) -> tuple[Reflection, str] | None:
    """The latest goal the student set before ``before`` (or at all), with the reflection it came from."""
    reflections = Reflection.objects.filter(student=student).select_related("assessment_version", "session")
    if before is not None:
        reflections = reflections.filter(_before(before))
    for reflection in reflections.order_by("-session__date", "-session_id")[:20]:
        goal = goal_of(reflection)
        if goal:
            return reflection, goal
    return None


# --------------------------------------------------------------------------------------------
# The reflection form
# --------------------------------------------------------------------------------------------


@dataclass
class Option:
    value: str
    label: str
    checked: bool
    id: str


@dataclass
class FieldView:
    key: str
    name: str
    id: str
    label: str
    help: str
    kind: str
    value: str
    options: list[Option]
    errors: list[str]

    @property
    def is_group(self) -> bool:
        return self.kind in ("scale", "choice", "checklist")


@dataclass
class StepView:
    key: str
    title: str
    instructions: str
    starters: list[str]
    fields: list[FieldView]


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def field_view(spec: Mapping[str, Any], *, prefix: str, value: Any, errors: Sequence[str] = ()) -> FieldView:
    key = spec["key"]
    name = f"{prefix}-{key}"
    kind = spec.get("kind", "short_text")
    options: list[Option] = []
    if kind == "scale":
        chosen = {str(value)} if value not in (None, "") else set()
        options = [
            Option(str(p["value"]), str(p.get("label", "")), str(p["value"]) in chosen, f"{name}-{p['value']}")
            for p in spec.get("scale") or []
        ]
    elif kind in ("choice", "checklist"):
        chosen = {str(v) for v in value} if isinstance(value, list) else ({str(value)} if value else set())
        options = [
            Option(str(o["value"]), str(o.get("label", o["value"])), str(o["value"]) in chosen, f"{name}-{o['value']}")
            for o in spec.get("options") or []
        ]
    return FieldView(
        key=key,
        name=name,
        id=f"field-{name}",
        label=str(spec.get("label", key)),
        help=str(spec.get("help", "")),
        kind=kind,
        value="" if options else _as_text(value),
        options=options,
        errors=list(errors),
    )


def steps_view(
    data: Mapping[str, Any],
    answers: Mapping[str, Any],
    *,
    prefix: str,
    errors: Mapping[str, Sequence[str]] | None = None,
    skip_tags: Iterable[str] = SKIP_TAGS,
) -> list[StepView]:
    """The protocol's steps with the student's fields (student wording only: no teacher notes)."""
    errors = errors or {}
    fields = fields_of(data, skip_tags=skip_tags)
    steps = []
    for step in data.get("steps") or []:
        step_fields = [
            field_view(f, prefix=prefix, value=answers.get(f["key"]), errors=errors.get(f"{prefix}-{f['key']}", ()))
            for f in fields
            if f.get("step") == step.get("key")
        ]
        if step_fields:
            steps.append(
                StepView(
                    key=str(step.get("key")),
                    title=str(step.get("title", "")),
                    instructions=str(step.get("instructions", "")),
                    starters=[str(s) for s in step.get("sentence_starters") or []],
                    fields=step_fields,
                )
            )
    return steps


@dataclass
class IntentionView:
    index: int
    text: str
    kept: str
    evidence: str
    next_time: str
    options: list[Option]
    errors: list[str]


def kept_options(name: str, chosen: str) -> list[Option]:
    return [Option(value, str(label), value == chosen, f"{name}-{value}") for value, label in Kept.choices]


@dataclass
class ReflectionPage:
    reflection: Reflection
    session: PairingSession
    classroom: Classroom
    partners: list[User]
    reflection_title: str
    assessment_title: str
    reflection_steps: list[StepView]
    assessment_steps: list[StepView]
    intentions_step: str | None
    intentions: list[IntentionView]
    intentions_session: PairingSession | None
    intentions_same_session: bool
    previous_goal: str
    goal_met_options: list[Option]
    appreciation: FieldView
    appreciation_instructions: str
    appreciation_starters: list[str]
    send_appreciation: bool
    received: list[Reflection]
    editable: bool
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def disabled(self) -> bool:
        return not self.editable

    @property
    def partner_names(self) -> str:
        return ", ".join(p.name for p in self.partners)

    @property
    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values())


def _appreciation_spec(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    for spec in data.get("fields") or []:
        if "appreciation" in (spec.get("tags") or ()):
            step: dict[str, Any] = next(
                (dict(s) for s in data.get("steps") or [] if s.get("key") == spec.get("step")), {}
            )
            return dict(spec), step
    return {"key": "appreciation", "label": _("An appreciation for my partner"), "kind": "short_text"}, {}


def partners_of(havruta: Havruta | None, student: User) -> list[User]:
    if havruta is None:
        return []
    return [
        m.student for m in havruta.memberships.select_related("student").order_by("seat") if m.student_id != student.pk
    ]


def appreciations_for(*, student: User, session: PairingSession | None = None) -> list[Reflection]:
    """Appreciations partners sent this student (only sent ones, from their own havruta, current class)."""
    received = (
        Reflection.objects.filter(
            send_appreciation=True,
            appreciation_sent_at__isnull=False,
            havruta__memberships__student=student,
            session__classroom__enrollments__student=student,
        )
        .exclude(student=student)
        .select_related("student", "session")
        .order_by("-session__date", "-session_id", "student__display_name")
    )
    if session is not None:
        received = received.filter(session=session)
    return list(received)


def reflection_page(
    *,
    reflection: Reflection,
    havruta: Havruta,
    student: User,
    data: Any = None,
    errors: Mapping[str, list[str]] | None = None,
    editable: bool = True,
) -> ReflectionPage:
    """Everything the student's reflection page shows; ``data`` (a ReflectionInput) re-shows a rejected form."""
    errors = dict(errors or {})
    session = havruta.session
    reflection_data = reflection.reflection_version.data
    assessment_data = reflection.assessment_version.data
    r_answers = data.reflection if data is not None else reflection.reflection_answers
    a_answers = data.assessment if data is not None else reflection.assessment_answers
    rows = data.intentions if data is not None else reflection.intentions
    intentions = []
    for index, stored in enumerate(reflection.intentions):
        row = rows[index] if index < len(rows) else {}
        name = f"intention-{index}"
        intentions.append(
            IntentionView(
                index=index,
                text=stored["text"],
                kept=row.get("kept", ""),
                evidence=row.get("evidence", ""),
                next_time=row.get("next_time", ""),
                options=kept_options(f"{name}-kept", row.get("kept", "")),
                errors=[e for key in errors if key.startswith(f"{name}-") for e in errors[key]],
            )
        )
    intentions_step = next(
        (f.get("step") for f in reflection_data.get("fields") or [] if str(f.get("key", "")).startswith("intentions")),
        None,
    )
    spec, step = _appreciation_spec(reflection_data)
    appreciation_value = data.appreciation if data is not None else reflection.appreciation
    goal_met = data.previous_goal_met if data is not None else reflection.previous_goal_met
    return ReflectionPage(
        reflection=reflection,
        session=session,
        classroom=session.classroom,
        partners=partners_of(havruta, student),
        reflection_title=str(reflection_data.get("title", "")),
        assessment_title=str(assessment_data.get("title", "")),
        reflection_steps=steps_view(reflection_data, r_answers, prefix="r", errors=errors),
        assessment_steps=steps_view(assessment_data, a_answers, prefix="a", errors=errors),
        intentions_step=intentions_step,
        intentions=intentions,
        intentions_session=reflection.intentions_session,
        intentions_same_session=reflection.intentions_session_id == reflection.session_id,
        previous_goal=reflection.previous_goal,
        goal_met_options=[
            Option(value, str(label), value == goal_met, f"previous_goal_met-{value}")
            for value, label in GoalMet.choices
        ],
        appreciation=field_view(
            {**spec, "key": "appreciation"}, prefix="x", value=appreciation_value, errors=errors.get("appreciation", ())
        ),
        appreciation_instructions=str(step.get("instructions", "")),
        appreciation_starters=[str(s) for s in step.get("sentence_starters") or []],
        send_appreciation=data.send_appreciation if data is not None else reflection.send_appreciation,
        received=appreciations_for(student=student, session=session),
        editable=editable,
        errors=errors,
    )


# --------------------------------------------------------------------------------------------
# One reflection as plain data: the teacher's read-only view, exports, and the PDF hook
# --------------------------------------------------------------------------------------------


def rating_fields(data: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The self-assessment's scale fields, each with its "example from today" field.

    ``rate_listening`` pairs with ``example_listening``; a scale without one pairs with None.
    """
    fields = fields_of(data, skip_tags=SKIP_TAGS)
    by_key = {f["key"]: f for f in fields}
    pairs = []
    for spec in fields:
        if spec.get("kind") != "scale":
            continue
        suffix = spec["key"].removeprefix("rate_")
        pairs.append((spec, by_key.get(f"example_{suffix}")))
    return pairs


def rating_label(spec: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """A short name for a rated row: the practice's name, else the label up to its colon."""
    practice = spec.get("practice")
    names = (data.get("names") or {}).get("practices") or {}
    if practice and names.get(practice):
        return str(names[practice])
    habit = HABIT_NAMES.get(str(spec.get("key", "")).removeprefix("rate_"))
    if habit:
        return str(habit)
    label = str(spec.get("label", spec.get("key")))
    return label.split(":", 1)[0].strip()


def _answers_list(data: Mapping[str, Any], answers: Mapping[str, Any], skip: set[str]) -> list[dict[str, Any]]:
    rows = []
    for spec in fields_of(data, skip_tags=SKIP_TAGS):
        if spec["key"] in skip:
            continue
        value = answers.get(spec["key"])
        rows.append(
            {
                "key": spec["key"],
                "label": str(spec.get("label", "")),
                "kind": spec.get("kind"),
                "value": value,
                "text": answer_text(spec, value),
                "step": spec.get("step"),
            }
        )
    return rows


def reflection_document(
    *, reflection: Reflection, partners: Sequence[User] | None = None, goal_met_later: str = ""
) -> dict[str, Any]:
    """Everything one student wrote for one session, as plain data (the hook the PDF renders from).

    Keys: student, classroom, session, partners, reflection (title, answers), self_assessment
    (title, variant, scale, ratings with examples, goal, other answers), intentions (source
    session, rows), previous_goal (text, met), appreciation (text, send, sent_at), status
    (submitted_at, locked, updated_at). Values are plain Python (dates stay dates).
    """
    r_data = reflection.reflection_version.data
    a_data = reflection.assessment_version.data
    if partners is None:
        partners = partners_of(reflection.havruta, reflection.student)
    ratings = []
    used: set[str] = set()
    for spec, example in rating_fields(a_data):
        value = reflection.assessment_answers.get(spec["key"])
        point = next((p for p in spec.get("scale") or [] if p.get("value") == value), None)
        used.add(spec["key"])
        if example is not None:
            used.add(example["key"])
        ratings.append(
            {
                "key": spec["key"],
                "label": rating_label(spec, a_data),
                "question": str(spec.get("label", "")),
                "practice": spec.get("practice"),
                "value": value,
                "value_label": str(point.get("label", "")) if point else "",
                "points": [p.get("value") for p in spec.get("scale") or []],
                "example": reflection.assessment_answers.get(example["key"], "") if example else "",
            }
        )
    goal_keys = set(keys_tagged(a_data, "goal"))
    used |= goal_keys
    kept_labels = dict(Kept.choices)
    met_labels = dict(GoalMet.choices)
    session = reflection.session
    return {
        "student": {"id": reflection.student_id, "name": reflection.student.name},
        "classroom": {"id": session.classroom_id, "name": session.classroom.name},
        "session": {"id": session.pk, "date": session.date, "label": session_label(session)},
        "partners": _names(partners),
        "reflection": {
            "title": str(r_data.get("title", "")),
            "version": reflection.reflection_version.number,
            "answers": _answers_list(r_data, reflection.reflection_answers, set()),
        },
        "self_assessment": {
            "title": str(a_data.get("title", "")),
            "variant": str(a_data.get("variant_label", "")),
            "slug": str(a_data.get("slug", "")),
            "version": reflection.assessment_version.number,
            "ratings": ratings,
            "goal": goal_of(reflection, a_data),
            "goal_met_later": goal_met_later,
            "goal_met_later_label": str(met_labels.get(goal_met_later, "")) if goal_met_later else "",
            "other": _answers_list(a_data, reflection.assessment_answers, used),
        },
        "intentions": {
            "same_session": reflection.intentions_session_id == reflection.session_id,
            "from_session": (
                {"id": reflection.intentions_session_id, "date": reflection.intentions_session.date}
                if reflection.intentions_session is not None
                else None
            ),
            "rows": [
                {**row, "kept_label": str(kept_labels.get(row.get("kept", ""), ""))} for row in reflection.intentions
            ],
        },
        "previous_goal": {
            "text": reflection.previous_goal,
            "met": reflection.previous_goal_met,
            "met_label": str(met_labels.get(reflection.previous_goal_met, "")),
        },
        "appreciation": {
            "text": reflection.appreciation,
            "send": reflection.send_appreciation,
            "sent": reflection.appreciation_is_sent,
            "sent_at": reflection.appreciation_sent_at,
        },
        "status": {
            "submitted_at": reflection.submitted_at,
            "locked": reflection.locked,
            "updated_at": reflection.updated_at,
        },
    }


def reflection_for_pdf(*, student: User, session: PairingSession) -> dict[str, Any] | None:
    """The PDF hook: one student's reflection and self-assessment for a session, or None if not started.

    Check access first (classrooms.access.session_for_teacher / reflection_havruta_for_student).
    """
    reflection = (
        Reflection.objects.select_related(
            "student",
            "session__classroom",
            "havruta",
            "reflection_version",
            "assessment_version",
            "intentions_session",
        )
        .filter(student=student, session=session)
        .first()
    )
    if reflection is None:
        return None
    later = Reflection.objects.filter(previous_goal_from=reflection).values_list("previous_goal_met", flat=True).first()
    return reflection_document(reflection=reflection, goal_met_later=later or "")


def reflection_pdf_answers(*, student: User, session: PairingSession) -> dict[str, Any] | None:
    """The same reflection in the shapes of ``worksheets.pdf.answers_pdf`` (title, subtitle, fields, values).

    Fields are the frozen protocols' own dicts (so scales print with the chosen point marked),
    then one entry per Warm Up intention and the appreciation. None if the student has not started.
    """
    reflection = (
        Reflection.objects.select_related("student", "session__classroom", "reflection_version", "assessment_version")
        .filter(student=student, session=session)
        .first()
    )
    if reflection is None:
        return None
    fields: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for prefix, version, answers in (
        ("r", reflection.reflection_version, reflection.reflection_answers),
        ("a", reflection.assessment_version, reflection.assessment_answers),
    ):
        section = str(version.data.get("title", ""))  # a heading per part in the PDF
        for spec in fields_of(version.data, skip_tags=SKIP_TAGS):
            fields.append({**spec, "key": f"{prefix}-{spec['key']}", "section": section})
            values[f"{prefix}-{spec['key']}"] = answers.get(spec["key"], "")
    kept = dict(Kept.choices)
    for index, row in enumerate(reflection.intentions):
        key = f"intention-{index}"
        fields.append(
            {
                "key": key,
                "label": _("Intention: %(text)s") % {"text": row["text"]},
                "kind": "long_text",
                "section": _("Warm Up intentions"),
            }
        )
        parts = [str(kept.get(row.get("kept", ""), "")), row.get("evidence", ""), row.get("next_time", "")]
        values[key] = "\n".join(part for part in parts if part)
    fields.append(
        {
            "key": "appreciation",
            "label": _("An appreciation for my partner"),
            "kind": "short_text",
            "section": _("Appreciation"),
        }
    )
    values["appreciation"] = reflection.appreciation
    return {
        "title": str(reflection.reflection_version.data.get("title", "")),
        "subtitle": f"{session.classroom.name} · {session_label(session)}",
        "student": reflection.student,
        "fields": fields,
        "values": values,
    }


# --------------------------------------------------------------------------------------------
# A session's reflections, for the teacher
# --------------------------------------------------------------------------------------------


@dataclass
class OverviewRow:
    student: User
    havruta_number: int | None
    partners: list[str]
    reflection: Reflection | None

    @property
    def status(self) -> str:
        if self.reflection is None:
            return "missing"
        return "submitted" if self.reflection.submitted_at else "draft"


@dataclass
class SessionOverview:
    session: PairingSession
    rows: list[OverviewRow]
    locked: bool

    @property
    def submitted(self) -> int:
        return sum(1 for r in self.rows if r.status == "submitted")


def session_overview(*, session: PairingSession) -> SessionOverview:
    """Every student of the session with the state of their reflection (four queries)."""
    havrutot = list(
        Havruta.objects.filter(session=session)
        .prefetch_related(Prefetch("memberships", queryset=HavrutaMember.objects.select_related("student")))
        .order_by("number")
    )
    reflections = {r.student_id: r for r in Reflection.objects.filter(session=session).select_related("student")}
    rows = []
    seen = set()
    for havruta in havrutot:
        members = list(havruta.memberships.all())
        for member in members:
            seen.add(member.student_id)
            rows.append(
                OverviewRow(
                    student=member.student,
                    havruta_number=havruta.number,
                    partners=[m.student.name for m in members if m.student_id != member.student_id],
                    reflection=reflections.get(member.student_id),
                )
            )
    for student_id, reflection in reflections.items():  # reflected, then moved out of the session
        if student_id not in seen:
            rows.append(
                OverviewRow(student=reflection.student, havruta_number=None, partners=[], reflection=reflection)
            )
    return SessionOverview(session=session, rows=rows, locked=ReflectionLock.objects.filter(session=session).exists())


# --------------------------------------------------------------------------------------------
# Growth over time: one student
# --------------------------------------------------------------------------------------------


@dataclass
class PracticeSeries:
    key: str
    label: str
    question: str
    y_min: int
    y_max: int
    y_labels: dict[int, str]
    values: list[int | None]
    sessions: list[PairingSession]
    svg: str = ""

    @property
    def table(self) -> list[tuple[PairingSession, int | None, str]]:
        return [
            (s, v, self.y_labels.get(v, "") if v is not None else "")
            for s, v in zip(self.sessions, self.values, strict=True)
        ]

    @property
    def rated(self) -> int:
        return sum(1 for v in self.values if v is not None)


@dataclass
class TimelineRow:
    session: PairingSession
    partners: list[str]
    reflection: Reflection | None
    goal: str
    goal_met: str
    intentions_total: int
    intentions_kept: int

    @property
    def status(self) -> str:
        if self.reflection is None:
            return "missing" if self.session.ended_at else "not_open"
        return "submitted" if self.reflection.submitted_at else "draft"

    @property
    def goal_met_label(self) -> str:
        return str(dict(GoalMet.choices).get(self.goal_met, ""))


@dataclass
class StudentGrowth:
    enrollment: Enrollment
    student: User
    classroom: Classroom
    timeline: list[TimelineRow]
    series: list[PracticeSeries]

    @property
    def partners_count(self) -> int:
        return len({name for row in self.timeline for name in row.partners})


def _versions(ids: Iterable[int]) -> dict[int, ProtocolVersion]:
    return {v.pk: v for v in ProtocolVersion.objects.filter(pk__in=set(ids))}


def _series_specs(versions: Sequence[ProtocolVersion]) -> list[dict[str, Any]]:
    """The rated rows across the self-assessment versions in use, in protocol order, with the widest scale."""
    specs: dict[str, dict[str, Any]] = {}
    for version in versions:
        for spec, _example in rating_fields(version.data):
            points = [p.get("value") for p in spec.get("scale") or []]
            if not points:
                continue
            entry = specs.setdefault(
                spec["key"],
                {
                    "key": spec["key"],
                    "label": rating_label(spec, version.data),
                    "question": str(spec.get("label", "")),
                    "y_min": min(points),
                    "y_max": max(points),
                    "y_labels": {},
                },
            )
            entry["y_min"] = min(entry["y_min"], min(points))
            if max(points) >= entry["y_max"]:
                entry["y_max"] = max(points)
                entry["y_labels"] = {p["value"]: str(p.get("label", "")) for p in spec.get("scale") or []}
    return list(specs.values())


def student_growth(*, enrollment: Enrollment) -> StudentGrowth:
    """A student's sessions in their class: partners, ratings per practice, goals and intentions (four queries)."""
    student = enrollment.student
    classroom = enrollment.classroom
    memberships = list(
        HavrutaMember.objects.filter(student=student, havruta__session__classroom=classroom).select_related(
            "havruta__session"
        )
    )
    partner_rows = (
        HavrutaMember.objects.filter(havruta_id__in=[m.havruta_id for m in memberships])
        .exclude(student=student)
        .select_related("student")
        .order_by("seat")
    )
    partners: dict[int, list[str]] = defaultdict(list)
    for row in partner_rows:
        partners[row.havruta_id].append(row.student.name)
    reflections = list(
        Reflection.objects.filter(student=student, session__classroom=classroom).select_related("session")
    )
    versions = _versions(r.assessment_version_id for r in reflections)

    sessions: dict[int, PairingSession] = {m.havruta.session_id: m.havruta.session for m in memberships}
    havruta_of = {m.havruta.session_id: m.havruta_id for m in memberships}
    by_session = {r.session_id: r for r in reflections}
    for reflection in reflections:
        sessions.setdefault(reflection.session_id, reflection.session)
        if reflection.havruta_id and reflection.session_id not in havruta_of:
            havruta_of[reflection.session_id] = reflection.havruta_id
    ordered = sorted(sessions.values(), key=_session_key)
    met_later = {r.previous_goal_from_id: r.previous_goal_met for r in reflections if r.previous_goal_from_id}

    timeline = []
    for session in ordered:
        found = by_session.get(session.pk)
        goal = ""
        if found is not None:
            goal = goal_of(found, versions[found.assessment_version_id].data)
        rows = found.intentions if found is not None else []
        timeline.append(
            TimelineRow(
                session=session,
                partners=partners.get(havruta_of.get(session.pk, 0), []),
                reflection=found,
                goal=goal,
                goal_met=met_later.get(found.pk, "") if found is not None else "",
                intentions_total=len(rows),
                intentions_kept=sum(1 for row in rows if row.get("kept") == Kept.YES),
            )
        )
    series = []
    for spec in _series_specs(list(versions.values())):
        values: list[int | None] = []
        for session in ordered:
            rated = by_session.get(session.pk)
            value = rated.assessment_answers.get(spec["key"]) if rated is not None else None
            values.append(value if isinstance(value, int) and not isinstance(value, bool) else None)
        item = PracticeSeries(sessions=ordered, values=values, **spec)
        item.svg = line_chart_svg(
            chart_id=f"chart-{spec['key']}",
            title=_("%(practice)s over time") % {"practice": spec["label"]},
            description=_("%(count)d ratings of %(practice)s, one per session, on a scale from %(low)d to %(high)d.")
            % {"count": item.rated, "practice": spec["label"], "low": spec["y_min"], "high": spec["y_max"]},
            labels=[session_short_label(s) for s in ordered],
            values=values,
            y_min=spec["y_min"],
            y_max=spec["y_max"],
            y_labels=spec["y_labels"],
        )
        series.append(item)
    return StudentGrowth(enrollment=enrollment, student=student, classroom=classroom, timeline=timeline, series=series)


# --------------------------------------------------------------------------------------------
# Growth over time: the class
# --------------------------------------------------------------------------------------------


@dataclass
class MissingStudent:
    student: User
    sessions: list[tuple[PairingSession, bool]]  # (session, has a draft)


@dataclass
class HeatRow:
    key: str
    label: str
    cells: list[float | None]
    counts: list[int]


@dataclass
class ClassGrowth:
    classroom: Classroom
    sessions: list[PairingSession]
    rows: list[HeatRow]
    low: int
    high: int
    svg: str
    missing: list[MissingStudent]
    roster: list[Enrollment]

    @property
    def table(self) -> list[tuple[PairingSession, list[tuple[float | None, int]]]]:
        return [(s, [(row.cells[i], row.counts[i]) for row in self.rows]) for i, s in enumerate(self.sessions)]


def class_growth(*, classroom: Classroom) -> ClassGrowth:
    """Average ratings per practice and session, and who has not reflected on ended sessions (five queries)."""
    sessions = list(PairingSession.objects.filter(classroom=classroom).order_by("date", "pk"))
    reflections = list(
        Reflection.objects.filter(session__classroom=classroom).values(
            "session_id", "student_id", "assessment_version_id", "assessment_answers", "submitted_at"
        )
    )
    versions = _versions(r["assessment_version_id"] for r in reflections)
    roster = list(
        Enrollment.objects.filter(classroom=classroom).select_related("student").order_by("student__display_name", "pk")
    )
    members = HavrutaMember.objects.filter(
        havruta__session__classroom=classroom, havruta__session__ended_at__isnull=False
    ).values_list("student_id", "havruta__session_id")

    with_reflections = {r["session_id"] for r in reflections}
    columns = [s for s in sessions if s.ended_at is not None or s.pk in with_reflections]
    index = {s.pk: i for i, s in enumerate(columns)}
    specs = _series_specs(list(versions.values()))
    totals: dict[str, list[float]] = {spec["key"]: [0.0] * len(columns) for spec in specs}
    counts: dict[str, list[int]] = {spec["key"]: [0] * len(columns) for spec in specs}
    for reflection in reflections:
        column = index.get(reflection["session_id"])
        if column is None:
            continue
        for spec in specs:
            value = reflection["assessment_answers"].get(spec["key"])
            if isinstance(value, int) and not isinstance(value, bool):
                totals[spec["key"]][column] += value
                counts[spec["key"]][column] += 1
    rows = [
        HeatRow(
            key=spec["key"],
            label=spec["label"],
            cells=[
                round(totals[spec["key"]][i] / counts[spec["key"]][i], 2) if counts[spec["key"]][i] else None
                for i in range(len(columns))
            ],
            counts=counts[spec["key"]],
        )
        for spec in specs
    ]
    low = min((spec["y_min"] for spec in specs), default=1)
    high = max((spec["y_max"] for spec in specs), default=4)
    svg = (
        heatmap_svg(
            chart_id=f"heatmap-{classroom.pk}",
            title=_("Average self-assessment ratings by session"),
            description=_(
                "One row per practice, one column per session; darker cells mean higher average ratings, "
                "from %(low)d to %(high)d."
            )
            % {"low": low, "high": high},
            row_labels=[row.label for row in rows],
            column_labels=[session_short_label(s) for s in columns],
            cells=[row.cells for row in rows],
            low=low,
            high=high,
            empty_label=_("no ratings"),
        )
        if rows and columns
        else ""
    )

    submitted = {(r["student_id"], r["session_id"]) for r in reflections if r["submitted_at"]}
    drafts = {(r["student_id"], r["session_id"]) for r in reflections if not r["submitted_at"]}
    by_id = {s.pk: s for s in sessions}
    on_roster = {e.student_id: e.student for e in roster}
    missing_by_student: dict[int, list[tuple[PairingSession, bool]]] = defaultdict(list)
    for student_id, session_id in members:
        if student_id in on_roster and (student_id, session_id) not in submitted:
            missing_by_student[student_id].append((by_id[session_id], (student_id, session_id) in drafts))
    missing = [
        MissingStudent(
            student=on_roster[e.student_id],
            sessions=sorted(missing_by_student[e.student_id], key=lambda p: _session_key(p[0])),
        )
        for e in roster
        if e.student_id in missing_by_student
    ]
    return ClassGrowth(
        classroom=classroom, sessions=columns, rows=rows, low=low, high=high, svg=svg, missing=missing, roster=roster
    )


# --------------------------------------------------------------------------------------------
# The student's panel (home page), the Warm Up reminder and portraits
# --------------------------------------------------------------------------------------------


@dataclass
class PanelSession:
    session: PairingSession
    partners: list[str]
    status: str  # "missing" | "draft" | "submitted"
    locked: bool

    @property
    def url(self) -> str:
        return reverse("reflections:reflection", args=[self.session.pk])


@dataclass
class StudentPanel:
    student: User
    to_reflect: list[PanelSession]
    done: list[PanelSession]
    received: list[Reflection]
    latest_goal: str

    @property
    def growth_url(self) -> str:
        return reverse("reflections:student_growth", args=[self.student.pk])

    @property
    def portrait_url(self) -> str:
        return reverse("reflections:portrait")

    @property
    def index_url(self) -> str:
        return reverse("reflections:index")


def student_reflection_panel(*, student: User, enrollment: Enrollment | None = None, recent: int = 5) -> StudentPanel:
    """What the student home page shows about reflections (six queries).

    Ended sessions still waiting for a reflection, the latest ones handed in, appreciations
    partners sent, and the goal the student set last time. Only the current class counts.
    """
    if enrollment is None:
        enrollment = Enrollment.objects.select_related("classroom").get(student=student)
    havrutot = list(
        Havruta.objects.filter(
            memberships__student=student,
            session__classroom_id=enrollment.classroom_id,
            session__ended_at__isnull=False,
        )
        .select_related("session")
        .prefetch_related(
            Prefetch("memberships", queryset=HavrutaMember.objects.select_related("student").order_by("seat"))
        )
        .order_by("-session__date", "-session_id")
    )
    states = {
        session_id: (submitted is not None, locked)
        for session_id, submitted, locked in Reflection.objects.filter(
            student=student, session__classroom_id=enrollment.classroom_id
        ).values_list("session_id", "submitted_at", "locked")
    }
    session_locks = set(
        ReflectionLock.objects.filter(session__in=[h.session_id for h in havrutot]).values_list("session_id", flat=True)
    )
    to_reflect: list[PanelSession] = []
    done: list[PanelSession] = []
    for havruta in havrutot:
        submitted, locked = states.get(havruta.session_id, (None, False))
        locked = locked or havruta.session_id in session_locks
        item = PanelSession(
            session=havruta.session,
            partners=[m.student.name for m in havruta.memberships.all() if m.student_id != student.pk],
            status="missing" if submitted is None else ("submitted" if submitted else "draft"),
            locked=locked,
        )
        (done if item.status == "submitted" or locked else to_reflect).append(item)
    previous = previous_goal_for(student=student)
    return StudentPanel(
        student=student,
        to_reflect=to_reflect,
        done=done[:recent],
        received=appreciations_for(student=student)[:recent],
        latest_goal=previous[1] if previous else "",
    )


@dataclass
class PortraitSection:
    key: str
    label: str
    items: list[str]


@dataclass
class PortraitView:
    sections: list[PortraitSection]
    updated_at: datetime | None
    portrait: Portrait | None
    from_worksheet: bool


def _portrait_sections(
    data: Mapping[str, Any], answers: Mapping[str, Any], *, only_tagged: bool = False
) -> list[PortraitSection]:
    sections = []
    for spec in fields_of(data):
        if (
            only_tagged
            and "portrait" not in (spec.get("tags") or ())
            and spec.get("kind") not in ("checklist", "choice")
        ):
            continue
        value = answers.get(spec["key"])
        if value in (None, "", []):
            continue
        if spec.get("kind") in ("choice", "checklist"):
            items = [answer_text(spec, v) for v in (value if isinstance(value, list) else [value])]
        else:
            items = value if isinstance(value, list) else [str(value)]
        sections.append(
            PortraitSection(key=spec["key"], label=str(spec.get("label", "")), items=[str(i) for i in items])
        )
    return sections


def _portrait_worksheet_answers(student: User) -> tuple[ProtocolVersion, dict[str, Any], datetime] | None:
    """The student's own answers in the latest Portrait of a Learning Partner worksheet, if any."""
    answers = list(
        FieldAnswer.objects.filter(
            student=student, worksheet__assignment__protocol_version__protocol__category="portrait"
        )
        .select_related("worksheet__assignment__protocol_version")
        .order_by("-worksheet__assignment__date", "-worksheet_id")
    )
    if not answers:
        return None
    latest = answers[0].worksheet_id
    chosen = [a for a in answers if a.worksheet_id == latest]
    version = chosen[0].worksheet.assignment.protocol_version
    return version, {a.field_key: a.value for a in chosen}, max(a.updated_at for a in chosen)


def portrait_current(*, student: User, only_tagged: bool = False) -> PortraitView | None:
    """The student's latest portrait, or what they wrote in a portrait worksheet if they have none."""
    portrait = Portrait.objects.filter(student=student).select_related("protocol_version").first()
    if portrait is not None:
        return PortraitView(
            sections=_portrait_sections(portrait.protocol_version.data, portrait.answers, only_tagged=only_tagged),
            updated_at=portrait.updated_at,
            portrait=portrait,
            from_worksheet=False,
        )
    found = _portrait_worksheet_answers(student)
    if found is None:
        return None
    version, answers, updated_at = found
    sections = _portrait_sections(version.data, answers, only_tagged=only_tagged)
    if not sections:
        return None
    return PortraitView(sections=sections, updated_at=updated_at, portrait=None, from_worksheet=True)


def portrait_latest(*, student: User) -> Portrait | None:
    return Portrait.objects.filter(student=student).select_related("protocol_version").first()


def portrait_prefill(*, student: User) -> dict[str, Any]:
    """Answers to start a first portrait from: the student's portrait worksheet, when they did one."""
    found = _portrait_worksheet_answers(student)
    return found[1] if found else {}


def portrait_history(*, student: User) -> list[tuple[Portrait, list[PortraitSection]]]:
    portraits = Portrait.objects.filter(student=student).select_related("protocol_version")
    return [(p, _portrait_sections(p.protocol_version.data, p.answers)) for p in portraits]


@dataclass
class WarmupReminder:
    goal: str
    goal_session: PairingSession | None
    portrait: PortraitView | None


def warmup_reminder(*, student: User, before: PairingSession | None = None) -> WarmupReminder | None:
    """The student's latest goal and portrait, shown at the start of their next Warm Up (or None).

    Pass the Warm Up's session as ``before`` so the goal set in that same session's reflection
    (written after the Warm Up) is not shown back at its start.
    """
    if not student.is_student:
        return None
    previous = previous_goal_for(student=student, before=before)
    portrait = portrait_current(student=student, only_tagged=True)
    if previous is None and portrait is None:
        return None
    return WarmupReminder(
        goal=previous[1] if previous else "",
        goal_session=previous[0].session if previous else None,
        portrait=portrait,
    )


@dataclass
class ClassPortraitCandidate:
    corner: str
    text: str
    students: list[str]
    selected: bool


@dataclass
class ClassPortraitView:
    classroom: Classroom
    portrait: ClassPortrait | None
    by_corner: list[tuple[str, str, list[str]]]  # (corner, heading, lines)
    candidates: list[ClassPortraitCandidate]


def corner_headings() -> dict[str, str]:
    return {
        "self": _("A strong learning partner takes charge of their own learning by…"),
        "partner": _("A strong learning partner treats their partner by…"),
        "text": _("A strong learning partner treats the text by…"),
    }


def class_portrait_view(*, classroom: Classroom, with_candidates: bool = False) -> ClassPortraitView:
    """The class portrait by corner; for the teacher, also every line students wrote for it."""
    portrait = ClassPortrait.objects.filter(classroom=classroom).first()
    items = portrait.items if portrait is not None else []
    headings = corner_headings()
    by_corner = [
        (corner, headings[corner], [i["text"] for i in items if i.get("corner") == corner])
        for corner in CLASS_PORTRAIT_CORNERS
    ]
    candidates: list[ClassPortraitCandidate] = []
    if with_candidates:
        found: dict[tuple[str, str], list[str]] = {}
        corner_keys = {f"portrait_{corner}": corner for corner in CLASS_PORTRAIT_CORNERS}
        latest: dict[int, Portrait] = {}
        for p in (
            Portrait.objects.filter(student__enrollment__classroom=classroom)
            .select_related("student")
            .order_by("student_id", "-created_at", "-pk")
        ):
            latest.setdefault(p.student_id, p)
        for p in latest.values():
            for key, corner in corner_keys.items():
                for line in p.answers.get(key) or []:
                    found.setdefault((corner, line), []).append(p.student.name)
        worksheet_answers = FieldAnswer.objects.filter(
            worksheet__assignment__classroom=classroom,
            worksheet__assignment__protocol_version__protocol__slug=PORTRAIT_SLUG,
            student__enrollment__classroom=classroom,
            field_key__in=corner_keys,
        ).select_related("student")
        for answer in worksheet_answers:
            if answer.student_id in latest:
                continue
            for line in intention_items(answer.value):
                name = answer.student.name if answer.student is not None else ""
                found.setdefault((corner_keys[answer.field_key], line), []).append(name)
        chosen = {(i.get("corner"), i.get("text")) for i in items}
        candidates = [
            ClassPortraitCandidate(
                corner=corner, text=text, students=sorted(set(names)), selected=(corner, text) in chosen
            )
            for (corner, text), names in sorted(
                found.items(), key=lambda kv: (CLASS_PORTRAIT_CORNERS.index(kv[0][0]), kv[0][1].lower())
            )
        ]
    return ClassPortraitView(classroom=classroom, portrait=portrait, by_corner=by_corner, candidates=candidates)


# --------------------------------------------------------------------------------------------
# Teacher index
# --------------------------------------------------------------------------------------------


@dataclass
class TeacherClassEntry:
    classroom: Classroom
    sessions: list[PairingSession]


def teacher_reflection_index(*, teacher: User, recent: int = 5) -> list[TeacherClassEntry]:
    """The teacher's classes with their latest sessions (two queries)."""
    classrooms = list(
        Classroom.objects.filter(teacher_links__teacher=teacher, archived_at__isnull=True).order_by("name")
    )
    sessions = PairingSession.objects.filter(classroom__in=classrooms).order_by("-date", "-pk")
    grouped: dict[int, list[PairingSession]] = defaultdict(list)
    for session in sessions:
        if len(grouped[session.classroom_id]) < recent:
            grouped[session.classroom_id].append(session)
    return [TeacherClassEntry(classroom=c, sessions=grouped.get(c.pk, [])) for c in classrooms]


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------


def class_export_records(*, classroom: Classroom) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Columns and one record per student per session (every student who learned in it), for the CSV."""
    sessions = {s.pk: s for s in PairingSession.objects.filter(classroom=classroom)}
    members = list(
        HavrutaMember.objects.filter(havruta__session__classroom=classroom).select_related("student", "havruta")
    )
    reflections = list(Reflection.objects.filter(session__classroom=classroom).select_related("student"))
    versions = _versions(
        [r.assessment_version_id for r in reflections] + [r.reflection_version_id for r in reflections]
    )
    by_havruta: dict[int, list[User]] = defaultdict(list)
    for member in members:
        by_havruta[member.havruta_id].append(member.student)
    pairs: dict[tuple[int, int], tuple[User, Havruta | None]] = {}
    for member in members:
        pairs[(member.student_id, member.havruta.session_id)] = (member.student, member.havruta)
    by_key = {(r.student_id, r.session_id): r for r in reflections}
    for r in reflections:
        pairs.setdefault((r.student_id, r.session_id), (r.student, None))

    rating_specs = _series_specs([versions[r.assessment_version_id] for r in reflections])
    reflection_specs: dict[str, str] = {}
    for r in reflections:
        for spec in fields_of(versions[r.reflection_version_id].data, skip_tags=SKIP_TAGS):
            reflection_specs.setdefault(spec["key"], str(spec.get("label", spec["key"])))
    columns: list[tuple[str, str]] = [
        ("date", _("Date")),
        ("session", _("Session")),
        ("student", _("Student")),
        ("partners", _("Partners")),
        ("status", _("Status")),
    ]
    for spec in rating_specs:
        columns.append((spec["key"], _("%(practice)s: rating") % {"practice": spec["label"]}))
        columns.append((f"example:{spec['key']}", _("%(practice)s: example") % {"practice": spec["label"]}))
    columns += [
        ("goal", _("Goal for next time")),
        ("previous_goal", _("Previous goal")),
        ("previous_goal_met", _("Met previous goal")),
    ]
    columns += [(f"r:{key}", label) for key, label in reflection_specs.items()]
    columns += [
        ("intentions", _("Intentions review")),
        ("appreciation", _("Appreciation")),
        ("appreciation_sent", _("Appreciation sent to partner")),
    ]
    statuses = {"missing": _("Not started"), "draft": _("Draft"), "submitted": _("Submitted")}
    kept = dict(Kept.choices)
    met = dict(GoalMet.choices)
    records = []
    for (student_id, session_id), (student, havruta) in sorted(
        pairs.items(), key=lambda kv: (_session_key(sessions[kv[0][1]]), kv[1][0].name.lower(), kv[0][0])
    ):
        session = sessions[session_id]
        reflection = by_key.get((student_id, session_id))
        if havruta is None and reflection is not None and reflection.havruta_id:
            group = by_havruta.get(reflection.havruta_id, [])
        else:
            group = by_havruta.get(havruta.pk, []) if havruta is not None else []
        record: dict[str, Any] = {
            "date": session.date.isoformat(),
            "session": session.pk,
            "student": student.name,
            "partners": "; ".join(u.name for u in group if u.pk != student_id),
            "status": statuses[
                "missing" if reflection is None else ("submitted" if reflection.submitted_at else "draft")
            ],
        }
        if reflection is not None:
            a_data = versions[reflection.assessment_version_id].data
            examples = {spec["key"]: ex for spec, ex in rating_fields(a_data)}
            for spec in rating_specs:
                record[spec["key"]] = reflection.assessment_answers.get(spec["key"], "")
                example = examples.get(spec["key"])
                record[f"example:{spec['key']}"] = (
                    reflection.assessment_answers.get(example["key"], "") if example else ""
                )
            record["goal"] = goal_of(reflection, a_data)
            record["previous_goal"] = reflection.previous_goal
            record["previous_goal_met"] = str(met.get(reflection.previous_goal_met, ""))
            r_fields = {f["key"]: f for f in fields_of(versions[reflection.reflection_version_id].data)}
            for key in reflection_specs:
                r_spec = r_fields.get(key)
                record[f"r:{key}"] = answer_text(r_spec, reflection.reflection_answers.get(key)) if r_spec else ""
            record["intentions"] = " | ".join(
                " — ".join(
                    part
                    for part in (
                        row["text"],
                        str(kept.get(row.get("kept", ""), "")),
                        row.get("evidence", ""),
                        row.get("next_time", ""),
                    )
                    if part
                )
                for row in reflection.intentions
            )
            record["appreciation"] = reflection.appreciation
            record["appreciation_sent"] = _("yes") if reflection.appreciation_is_sent else _("no")
        records.append(record)
    return columns, records


def student_history(*, enrollment: Enrollment) -> dict[str, Any]:
    """A student's whole history in their class, as plain data for the JSON export."""
    student = enrollment.student
    reflections = list(
        Reflection.objects.filter(student=student, session__classroom=enrollment.classroom)
        .select_related(
            "student", "session__classroom", "havruta", "reflection_version", "assessment_version", "intentions_session"
        )
        .prefetch_related(Prefetch("havruta__memberships", queryset=HavrutaMember.objects.select_related("student")))
        .order_by(*SESSION_ORDER)
    )
    met_later = {r.previous_goal_from_id: r.previous_goal_met for r in reflections if r.previous_goal_from_id}
    documents = []
    for reflection in reflections:
        partners = (
            [m.student for m in reflection.havruta.memberships.all() if m.student_id != student.pk]
            if reflection.havruta is not None
            else []
        )
        documents.append(
            reflection_document(
                reflection=reflection, partners=partners, goal_met_later=met_later.get(reflection.pk, "")
            )
        )
    growth = student_growth(enrollment=enrollment)
    return {
        "student": {"id": student.pk, "name": student.name},
        "classroom": {"id": enrollment.classroom_id, "name": enrollment.classroom.name},
        "sessions": [
            {
                "id": row.session.pk,
                "date": row.session.date,
                "partners": row.partners,
                "status": row.status,
                "goal": row.goal,
                "goal_met_later": row.goal_met,
            }
            for row in growth.timeline
        ],
        "reflections": documents,
        "appreciations_received": [
            {"from": r.student.name, "session": r.session_id, "date": r.session.date, "text": r.appreciation}
            for r in appreciations_for(student=student)
        ],
        "portraits": [
            {
                "created_at": p.created_at,
                "updated_at": p.updated_at,
                "answers": {s.key: s.items for s in sections},
            }
            for p, sections in portrait_history(student=student)
        ],
    }
