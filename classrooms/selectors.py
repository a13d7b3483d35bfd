"""Reads for classes, rosters, sign-in and the student home. Each returns everything its page needs
in a fixed number of queries, whatever the size of the class or the length of its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Prefetch, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.access import classrooms_taught_by, enrollment_for_student
from classrooms.models import (
    Assignment,
    Classroom,
    ClassroomTeacher,
    CoTeacherInvitation,
    Enrollment,
    Havruta,
    HavrutaMember,
    PairingSession,
)
from worksheets.models import Worksheet

# --- Teacher pages -------------------------------------------------------------------------------


@dataclass
class TeacherClasses:
    active: list[Classroom]
    archived: list[Classroom]


def teacher_classrooms(teacher: User) -> TeacherClasses:
    """The teacher's classes with their student counts and whether the teacher owns each (1 query)."""
    classrooms = (
        classrooms_taught_by(teacher)
        .annotate(
            student_count=Count("enrollments", distinct=True),
            owned=Count("teacher_links", filter=Q(teacher_links__teacher=teacher, teacher_links__is_owner=True)),
        )
        .order_by("name", "pk")
    )
    result = TeacherClasses(active=[], archived=[])
    for classroom in classrooms:
        (result.archived if classroom.is_archived else result.active).append(classroom)
    return result


@dataclass
class ClassroomDetail:
    classroom: Classroom
    enrollments: list[Enrollment]
    teacher_links: list[ClassroomTeacher]
    invitations: list[CoTeacherInvitation]
    is_owner: bool
    group_labels: list[str] = field(default_factory=list)


def classroom_detail_data(classroom: Classroom, teacher: User) -> ClassroomDetail:
    """Roster, teachers and pending invitations of a class (3 queries)."""
    enrollments = list(classroom.enrollments.select_related("student").order_by("student__display_name", "pk"))
    links = list(classroom.teacher_links.select_related("teacher").order_by("-is_owner", "teacher__display_name"))
    invitations = list(
        classroom.invitations.filter(accepted_at__isnull=True).select_related("invited_by").order_by("created_at")
    )
    is_owner = any(link.is_owner and link.teacher_id == teacher.pk for link in links)
    labels = sorted({e.group_label for e in enrollments if e.group_label}, key=str.casefold)
    return ClassroomDetail(
        classroom=classroom,
        enrollments=enrollments,
        teacher_links=links,
        invitations=invitations,
        is_owner=is_owner,
        group_labels=labels,
    )


def roster(classroom: Classroom) -> list[Enrollment]:
    """Students of a class in name order, with their accounts (1 query)."""
    return list(classroom.enrollments.select_related("student").order_by("student__display_name", "pk"))


def roster_names(classroom: Classroom) -> list[str]:
    return list(classroom.enrollments.values_list("student__display_name", flat=True))


def move_targets(teacher: User, classroom: Classroom) -> list[Classroom]:
    """Other active classes the teacher teaches, where a student could be moved."""
    return list(
        classrooms_taught_by(teacher).filter(archived_at__isnull=True).exclude(pk=classroom.pk).order_by("name", "pk")
    )


# --- Sign-in -------------------------------------------------------------------------------------


def join_roster(classroom: Classroom) -> list[Enrollment]:
    """The names a student picks from on the sign-in page (1 query)."""
    return list(
        classroom.enrollments.filter(student__is_active=True)
        .select_related("student")
        .order_by("student__display_name", "pk")
    )


# --- Student home --------------------------------------------------------------------------------


def worksheet_url(pk: int) -> str:
    """The worksheet page (owned by the worksheets app; its URL name may not exist yet)."""
    for name in ("worksheets:detail", "worksheets:worksheet"):
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return f"/worksheets/{pk}/"


@dataclass
class WorkItem:
    assignment: Assignment
    title: str
    text_reference: str
    worksheet_id: int | None
    url: str | None

    @property
    def is_open(self) -> bool:
        return self.assignment.status == Assignment.Status.OPEN


@dataclass
class HavrutaEntry:
    havruta: Havruta
    session: PairingSession
    partners: list[User]
    work: list[WorkItem]
    partners_html: str = ""  # filled by the view: names joined for display


@dataclass
class StudentHome:
    enrollment: Enrollment
    classroom: Classroom
    current: HavrutaEntry | None
    earlier: list[HavrutaEntry]
    today: date

    @property
    def current_is_today(self) -> bool:
        return self.current is not None and self.current.session.date == self.today


def _title(assignment: Assignment) -> str:
    data = assignment.protocol_version.data
    title = data.get("title") if isinstance(data, dict) else None
    return str(title) if title else _("Havruta worksheet")


def _text_reference(assignment: Assignment) -> str:
    text = assignment.text
    if text is None:
        return ""
    return text.reference or text.title


def _work(havruta: Havruta, assignments: list[Assignment], *, only_open: bool) -> list[WorkItem]:
    worksheets = {w.assignment_id: w.pk for w in havruta.worksheets.all()}
    items = []
    for assignment in assignments:
        if only_open and assignment.status != Assignment.Status.OPEN:
            continue
        worksheet_id = worksheets.get(assignment.pk)
        if not only_open and worksheet_id is None:
            continue  # earlier work: only what this havruta has a worksheet for
        items.append(
            WorkItem(
                assignment=assignment,
                title=_title(assignment),
                text_reference=_text_reference(assignment),
                worksheet_id=worksheet_id,
                url=worksheet_url(worksheet_id) if worksheet_id else None,
            )
        )
    return items


def student_home_data(student: User, enrollment: Enrollment | None = None) -> StudentHome:
    """The student's class, their latest havruta with its open assignments, and earlier work.

    Only havrutot of the student's current class count: moving to another class leaves the old
    class's work behind (the worksheets' access helper does the same). Four queries (five without
    `enrollment`), however long the history.
    """
    if enrollment is None:
        enrollment = enrollment_for_student(student)
    classroom = enrollment.classroom
    havrutot = list(
        Havruta.objects.filter(memberships__student=student, session__classroom=classroom)
        .select_related("session")
        .prefetch_related(
            Prefetch("memberships", queryset=HavrutaMember.objects.select_related("student").order_by("seat")),
            Prefetch(
                "session__assignments",
                queryset=Assignment.objects.select_related("protocol_version", "text").order_by(
                    "position", "created_at", "pk"
                ),
            ),
            Prefetch("worksheets", queryset=Worksheet.objects.only("pk", "assignment_id", "havruta_id")),
        )
        .order_by("-session__date", "-session__created_at", "-session__pk")
    )
    entries = []
    for index, havruta in enumerate(havrutot):
        entries.append(
            HavrutaEntry(
                havruta=havruta,
                session=havruta.session,
                partners=[m.student for m in havruta.memberships.all() if m.student_id != student.pk],
                work=_work(havruta, list(havruta.session.assignments.all()), only_open=index == 0),
            )
        )
    return StudentHome(
        enrollment=enrollment,
        classroom=classroom,
        current=entries[0] if entries else None,
        earlier=entries[1:],
        today=timezone.localdate(),
    )
