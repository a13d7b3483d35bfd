"""Reads for pairing sessions, the pairing history of a class, and assignments.

Every function here answers in a fixed number of queries, whatever the size of the class or
the length of its history (the tests pin the counts for 30 and 300 students).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.models import (
    Assignment,
    Classroom,
    Enrollment,
    Havruta,
    HavrutaMember,
    PairingConstraint,
    PairingSession,
)
from classrooms.pairing import PairingRequest, violations
from classrooms.selectors import worksheet_url
from classrooms.services_pairing import size_problems
from protocols.models import Protocol, Text
from protocols.selectors import texts_visible_to
from worksheets.models import Worksheet

# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------


def roster_for_pairing(*, classroom: Classroom) -> list[Enrollment]:
    """The class roster in name order, students included (one query)."""
    return list(
        Enrollment.objects.filter(classroom=classroom)
        .select_related("student")
        .order_by("student__display_name", "student_id")
    )


def pairing_sessions_for_classroom(*, classroom: Classroom) -> QuerySet[PairingSession]:
    """The class's sessions, newest first, with how many students and havrutot each has (one query)."""
    return (
        PairingSession.objects.filter(classroom=classroom)
        .annotate(
            student_count=Count("havrutot__memberships", distinct=True),
            havruta_count=Count("havrutot", filter=Q(havrutot__memberships__isnull=False), distinct=True),
            assignment_count=Count("assignments", distinct=True),
        )
        .order_by("-date", "-created_at", "-pk")
    )


@dataclass
class HavrutaCard:
    havruta: Havruta
    members: list[HavrutaMember]

    @property
    def is_triad(self) -> bool:
        return len(self.members) == 3

    @property
    def is_alone(self) -> bool:
        return len(self.members) == 1


@dataclass
class ConstraintRow:
    constraint: PairingConstraint
    broken: bool


@dataclass
class SessionDetail:
    session: PairingSession
    cards: list[HavrutaCard]
    not_here: list[User]  # absent, or on the roster but in no havruta of this session
    roster: list[Enrollment]
    constraints: list[ConstraintRow]
    problems: list[str]
    assignments: list[Assignment]
    move_choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def present_count(self) -> int:
        return sum(len(card.members) for card in self.cards)

    @property
    def broken_constraints(self) -> list[ConstraintRow]:
        return [row for row in self.constraints if row.broken]


def pairing_session_detail(*, session: PairingSession) -> SessionDetail:
    """A session's havrutot with members and seats, who is not here, rules and assignments (6 queries)."""
    havrutot = list(
        Havruta.objects.filter(session=session)
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=HavrutaMember.objects.select_related("student").order_by("seat"),
            )
        )
        .order_by("number")
    )
    cards = [HavrutaCard(havruta=h, members=list(h.memberships.all())) for h in havrutot]
    cards = [card for card in cards if card.members]
    placed = {m.student_id for card in cards for m in card.members}
    roster = roster_for_pairing(classroom=session.classroom)
    not_here = [e.student for e in roster if e.student_id not in placed]
    constraints = list(
        PairingConstraint.objects.filter(classroom_id=session.classroom_id)
        .select_related("student_a", "student_b")
        .order_by("kind", "student_a__display_name", "pk")
    )
    groups = [tuple(m.student_id for m in card.members) for card in cards]
    rows = [ConstraintRow(constraint=c, broken=bool(violations(groups, _one_rule(c)))) for c in constraints]
    assignments = list(
        Assignment.objects.filter(session=session)
        .select_related("protocol_version", "text")
        .annotate(worksheet_count=Count("worksheets"))
        .order_by("date", "position", "created_at", "pk")
    )
    move_choices = [(str(card.havruta.pk), _havruta_label(card)) for card in cards]
    move_choices.append(("new", _("A new havruta")))
    return SessionDetail(
        session=session,
        cards=cards,
        not_here=not_here,
        roster=roster,
        constraints=rows,
        problems=size_problems(groups),
        assignments=assignments,
        move_choices=move_choices,
    )


def _havruta_label(card: HavrutaCard) -> str:
    names = ", ".join(m.student.name for m in card.members)
    return _("Havruta %(number)d: %(names)s") % {"number": card.havruta.number, "names": names}


def _one_rule(constraint: PairingConstraint) -> PairingRequest:
    pair = frozenset((constraint.student_a_id, constraint.student_b_id))
    if constraint.kind == PairingConstraint.Kind.KEEP_APART:
        return PairingRequest(present=(), keep_apart=frozenset({pair}))
    return PairingRequest(present=(), keep_together=frozenset({pair}))


# ---------------------------------------------------------------------------
# History matrix
# ---------------------------------------------------------------------------


@dataclass
class HistoryCell:
    student: User
    count: int
    is_self: bool = False


@dataclass
class HistoryRow:
    student: User
    cells: list[HistoryCell]
    partners: int  # different classmates learned with
    sessions: int  # sessions this student was in


@dataclass
class PairingHistory:
    students: list[User]
    rows: list[HistoryRow]
    session_count: int
    repeat_pairs: int  # pairs of students who learned together more than once
    most: int


def pairing_history(*, classroom: Classroom) -> PairingHistory:
    """Who learned with whom and how often, for the students on the roster (two queries).

    Counted in Python from one flat list of (session, havruta, student) rows, so a long history
    costs memory, not queries.
    """
    students = [
        e.student
        for e in Enrollment.objects.filter(classroom=classroom)
        .select_related("student")
        .order_by("student__display_name", "student_id")
    ]
    groups: dict[int, list[int]] = {}
    sessions_of: dict[int, set[int]] = {}
    all_sessions: set[int] = set()
    for session_id, havruta_id, student_id in HavrutaMember.objects.filter(
        havruta__session__classroom=classroom
    ).values_list("havruta__session_id", "havruta_id", "student_id"):
        groups.setdefault(havruta_id, []).append(student_id)
        sessions_of.setdefault(student_id, set()).add(session_id)
        all_sessions.add(session_id)
    together: Counter[tuple[int, int]] = Counter()
    for members in groups.values():
        for a, b in itertools.combinations(sorted(members), 2):
            together[(a, b)] += 1
    on_roster = {s.pk for s in students}
    rows = []
    for student in students:
        cells = []
        partners = 0
        for other in students:
            if other.pk == student.pk:
                cells.append(HistoryCell(student=other, count=0, is_self=True))
                continue
            key = (student.pk, other.pk) if student.pk < other.pk else (other.pk, student.pk)
            count = together.get(key, 0)
            partners += count > 0
            cells.append(HistoryCell(student=other, count=count))
        rows.append(
            HistoryRow(student=student, cells=cells, partners=partners, sessions=len(sessions_of.get(student.pk, ())))
        )
    roster_counts = [c for (a, b), c in together.items() if a in on_roster and b in on_roster]
    return PairingHistory(
        students=students,
        rows=rows,
        session_count=len(all_sessions),
        repeat_pairs=sum(1 for c in roster_counts if c > 1),
        most=max(roster_counts, default=0),
    )


# ---------------------------------------------------------------------------
# Assignments
# ---------------------------------------------------------------------------


def assignments_for_classroom(*, classroom: Classroom) -> QuerySet[Assignment]:
    """The class's assignments, newest first, with their worksheet counts (one query)."""
    return (
        Assignment.objects.filter(classroom=classroom)
        .select_related("protocol_version", "text", "session")
        .annotate(worksheet_count=Count("worksheets"))
        .order_by("-date", "-session__created_at", "position", "-created_at")
    )


def protocol_version_summary(version: Any) -> dict[str, Any]:
    """Title, variant and steps of a frozen protocol version, read from its snapshot only."""
    data = version.data if isinstance(version.data, dict) else {}
    return {
        "title": data.get("title") or str(version),
        "variant_label": data.get("variant_label") or "",
        "category": data.get("category") or "",
        "duration_minutes": data.get("duration_minutes"),
        "summary": (data.get("student") or {}).get("summary", ""),
        "steps": [
            {"title": step.get("title", ""), "minutes": step.get("minutes"), "who": step.get("who", "")}
            for step in data.get("steps") or []
            if isinstance(step, dict)
        ],
    }


@dataclass
class WorksheetRow:
    worksheet: Worksheet
    havruta: Havruta
    members: list[HavrutaMember]
    url: str


@dataclass
class AssignmentDetail:
    assignment: Assignment
    protocol: dict[str, Any]
    worksheets: list[WorksheetRow]
    siblings: list[Assignment]


def assignment_detail(*, assignment: Assignment) -> AssignmentDetail:
    """An assignment's frozen protocol and its worksheets with each havruta's members (4 queries)."""
    worksheets = list(
        Worksheet.objects.filter(assignment=assignment)
        .select_related("havruta")
        .prefetch_related(
            Prefetch(
                "havruta__memberships",
                queryset=HavrutaMember.objects.select_related("student").order_by("seat"),
            )
        )
        .order_by("havruta__number")
    )
    siblings = list(
        Assignment.objects.filter(session_id=assignment.session_id)
        .exclude(pk=assignment.pk)
        .select_related("protocol_version")
        .order_by("date", "position", "pk")
    )
    return AssignmentDetail(
        assignment=assignment,
        protocol=protocol_version_summary(assignment.protocol_version),
        worksheets=[
            WorksheetRow(
                worksheet=w, havruta=w.havruta, members=list(w.havruta.memberships.all()), url=worksheet_url(w.pk)
            )
            for w in worksheets
        ],
        siblings=siblings,
    )


def pairing_section_data(*, classroom: Classroom, limit: int = 5) -> dict[str, Any]:
    """Context for ``classrooms/_detail_pairing_section.html`` on the class page (two queries)."""
    return {
        "classroom": classroom,
        "pairing_sessions": list(pairing_sessions_for_classroom(classroom=classroom)[:limit]),
        "pairing_assignments": list(assignments_for_classroom(classroom=classroom)[:limit]),
    }


# ---------------------------------------------------------------------------
# Choosing what to assign
# ---------------------------------------------------------------------------


def protocols_by_category() -> list[tuple[str, list[Protocol]]]:
    """The library grouped by category, in the library's order (one query)."""
    labels = dict(Protocol.Category.choices)
    grouped: dict[str, list[Protocol]] = {}
    for protocol in Protocol.objects.order_by("position", "title"):
        grouped.setdefault(protocol.category, []).append(protocol)
    order = [c for c in Protocol.Category.values if c in grouped]
    return [(str(labels[c]), grouped[c]) for c in order]


def warm_up_choices() -> list[Protocol]:
    """Havruta Warm Up variants, with their age bands prefetched (two queries)."""
    return list(
        Protocol.objects.filter(category=Protocol.Category.WARM_UP)
        .prefetch_related("age_bands")
        .order_by("position", "title")
    )


def warm_up_for_grade_band(warm_ups: list[Protocol], grade_band: str) -> Protocol | None:
    """The Warm Up variant meant for the class's grade band (age band slugs match grade bands)."""
    for protocol in warm_ups:
        if any(band.slug == grade_band for band in protocol.age_bands.all()):
            return protocol
    return warm_ups[0] if warm_ups else None


def text_choices(*, user: User) -> list[Text]:
    return list(texts_visible_to(user).only("pk", "title", "reference", "owner_id").order_by("owner_id", "title"))
