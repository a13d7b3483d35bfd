"""One access helper per object. Outsiders get Http404, never a hint that the object exists.

Views and consumers fetch every class, student, session, assignment and worksheet through
these. "Not found" and "not allowed" look the same (Zulip's rule), so ids cannot be probed.
Staff have the admin site; they get no special access to classes here.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from classrooms.models import (
    Assignment,
    Classroom,
    ClassroomTeacher,
    CoTeacherInvitation,
    Enrollment,
    Havruta,
    PairingSession,
)
from worksheets.models import Worksheet

# Ids are bigints. A larger number in a URL names nothing, but some lookups (a foreign key's id on
# SQLite) would raise instead of finding nothing: every helper checks its ids first.
MAX_ID = 2**63


def _id(pk: int) -> int:
    """An id from a URL or a form, or 404 when no row can have it."""
    if not 0 < pk < MAX_ID:
        raise Http404
    return pk


def _teacher(user: User | None) -> User:
    if user is None or not user.is_authenticated or not user.is_teacher:
        raise Http404
    return user


def classrooms_taught_by(user: User) -> QuerySet[Classroom]:
    return Classroom.objects.filter(teacher_links__teacher=user)


def classroom_for_teacher(user: User | None, pk: int) -> Classroom:
    """A class the user teaches (as owner or co-teacher), archived or not."""
    teacher = _teacher(user)
    try:
        return classrooms_taught_by(teacher).get(pk=_id(pk))
    except Classroom.DoesNotExist:
        raise Http404 from None


def enrollment_for_teacher(user: User | None, classroom: Classroom, student_pk: int) -> Enrollment:
    """A student on the roster of a class the user teaches (call classroom_for_teacher first)."""
    _teacher(user)
    try:
        return Enrollment.objects.select_related("student").get(classroom=classroom, student_id=_id(student_pk))
    except Enrollment.DoesNotExist:
        raise Http404 from None


def session_for_teacher(user: User | None, pk: int) -> PairingSession:
    teacher = _teacher(user)
    try:
        return PairingSession.objects.select_related("classroom").get(
            pk=_id(pk), classroom__teacher_links__teacher=teacher
        )
    except PairingSession.DoesNotExist:
        raise Http404 from None


def assignment_for_teacher(user: User | None, pk: int) -> Assignment:
    teacher = _teacher(user)
    try:
        return Assignment.objects.select_related("classroom", "session", "protocol_version", "text").get(
            pk=_id(pk), classroom__teacher_links__teacher=teacher
        )
    except Assignment.DoesNotExist:
        raise Http404 from None


def enrollment_for_student(user: User | None) -> Enrollment:
    """The signed-in student's own enrollment (a student belongs to one class)."""
    if user is None or not user.is_authenticated or not user.is_student:
        raise Http404
    try:
        return Enrollment.objects.select_related("classroom").get(student=user)
    except Enrollment.DoesNotExist:
        raise Http404 from None


def havruta_for_user(user: User | None, pk: int) -> Havruta:
    """A havruta the user belongs to, or one in a class the user teaches."""
    if user is None or not user.is_authenticated:
        raise Http404
    queryset = Havruta.objects.select_related("session__classroom")
    if user.is_teacher:
        queryset = queryset.filter(session__classroom__teacher_links__teacher=user)
    else:
        queryset = queryset.filter(memberships__student=user, session__classroom__enrollments__student=user)
    try:
        return queryset.get(pk=_id(pk))
    except Havruta.DoesNotExist:
        raise Http404 from None


def worksheet_for_user(user: User | None, pk: int) -> Worksheet:
    """A worksheet of the user's own havruta, or any worksheet in a class the user teaches.

    Members must still be enrolled in the session's class: moving a student to another class
    revokes access to the old class's worksheets at once.
    """
    if user is None or not user.is_authenticated:
        raise Http404
    queryset = Worksheet.objects.select_related(
        "assignment__protocol_version", "assignment__text", "havruta__session__classroom"
    )
    if user.is_teacher:
        queryset = queryset.filter(assignment__classroom__teacher_links__teacher=user)
    else:
        queryset = queryset.filter(havruta__memberships__student=user, assignment__classroom__enrollments__student=user)
    try:
        return queryset.get(pk=_id(pk))
    except Worksheet.DoesNotExist:
        raise Http404 from None


def worksheet_is_member(user: User, worksheet: Worksheet) -> bool:
    return worksheet.havruta.memberships.filter(student=user).exists()


# --- Classes, rosters and sign-in (appended) ---------------------------------------------------

INVITATION_DAYS = 14


def normalize_join_code(code: str) -> str:
    """What a child typed, as stored: upper case, without spaces or dashes ("ab3-k9q" -> "AB3K9Q")."""
    return "".join(ch for ch in code.upper() if ch not in " -\t\u00a0\u2010\u2011\u2012\u2013\u2014")


def classroom_for_join_code(code: str) -> Classroom:
    """The class a join code opens. Archived classes cannot be joined; a regenerated code is gone."""
    normalized = normalize_join_code(code)
    if not normalized or len(normalized) > 12:
        raise Http404
    try:
        return Classroom.objects.get(join_code=normalized, archived_at__isnull=True)
    except Classroom.DoesNotExist:
        raise Http404 from None


def enrollment_for_join(classroom: Classroom, student_pk: int) -> Enrollment:
    """A student of the class being joined (the PIN is checked afterwards)."""
    try:
        return Enrollment.objects.select_related("student", "classroom").get(
            classroom=classroom, student_id=_id(student_pk), student__is_active=True
        )
    except Enrollment.DoesNotExist:
        raise Http404 from None


def coteacher_link_for_teacher(user: User | None, classroom: Classroom, teacher_pk: int) -> ClassroomTeacher:
    """A co-teacher link the user may remove: the owner removes co-teachers; a co-teacher may leave.

    The owner's own link is never removable (a class always keeps its owner).
    """
    teacher = _teacher(user)
    links = ClassroomTeacher.objects.select_related("teacher").filter(classroom=classroom, is_owner=False)
    is_owner = ClassroomTeacher.objects.filter(classroom=classroom, teacher=teacher, is_owner=True).exists()
    if not is_owner:
        links = links.filter(teacher=teacher)
    try:
        return links.get(teacher_id=_id(teacher_pk))
    except ClassroomTeacher.DoesNotExist:
        raise Http404 from None


def invitation_for_teacher(user: User | None, classroom: Classroom, pk: int) -> CoTeacherInvitation:
    """A pending invitation to a class the user teaches (call classroom_for_teacher first)."""
    _teacher(user)
    try:
        return CoTeacherInvitation.objects.get(classroom=classroom, pk=_id(pk), accepted_at__isnull=True)
    except CoTeacherInvitation.DoesNotExist:
        raise Http404 from None


def invitation_for_token(token: str) -> CoTeacherInvitation:
    """A pending, unexpired co-teacher invitation. The token is the secret from the email."""
    if not token or len(token) > 64:
        raise Http404
    since = timezone.now() - timedelta(days=INVITATION_DAYS)
    try:
        return CoTeacherInvitation.objects.select_related("classroom", "invited_by").get(
            token=token, accepted_at__isnull=True, created_at__gte=since, classroom__archived_at__isnull=True
        )
    except CoTeacherInvitation.DoesNotExist:
        raise Http404 from None


# Pairing (classrooms/views_pairing.py). Appended, so the shared import block above stays as it is.
from classrooms.models import PairingConstraint  # noqa: E402


def havruta_for_teacher(user: User | None, session: PairingSession, pk: int) -> Havruta:
    """A havruta of a session the user teaches (call session_for_teacher first)."""
    _teacher(user)
    try:
        return Havruta.objects.get(session=session, pk=_id(pk))
    except Havruta.DoesNotExist:
        raise Http404 from None


def constraint_for_teacher(user: User | None, classroom: Classroom, pk: int) -> PairingConstraint:
    """A keep-apart / keep-together rule of a class the user teaches (call classroom_for_teacher first)."""
    _teacher(user)
    try:
        return PairingConstraint.objects.select_related("student_a", "student_b").get(classroom=classroom, pk=_id(pk))
    except PairingConstraint.DoesNotExist:
        raise Http404 from None


# --- Reflections (appended) --------------------------------------------------------------------


def reflection_havruta_for_student(user: User | None, session_pk: int) -> Havruta:
    """The havruta a signed-in student learned in during a session of their current class.

    A student's reflection page is always their own: there is no URL for a partner's reflection.
    """
    if user is None or not user.is_authenticated or not user.is_student:
        raise Http404
    try:
        return (
            Havruta.objects.select_related("session__classroom")
            .filter(
                session_id=_id(session_pk), memberships__student=user, session__classroom__enrollments__student=user
            )
            .get()
        )
    except (Havruta.DoesNotExist, Havruta.MultipleObjectsReturned):
        raise Http404 from None


def reflection_student_for_teacher(user: User | None, session: PairingSession, student_pk: int) -> User:
    """A student who learned in (or reflected on) a session of a class the user teaches.

    Call session_for_teacher first; this only checks the student belongs to that session.
    """
    from django.db.models import Q

    _teacher(user)
    students = User.objects.filter(role=User.Role.STUDENT, pk=_id(student_pk)).filter(
        Q(havruta_memberships__havruta__session=session) | Q(reflections__session=session)
    )
    student = students.first()
    if student is None:
        raise Http404
    return student


def enrollment_for_growth(user: User | None, student_pk: int) -> Enrollment:
    """A student whose growth the user may follow: the student themself, or a teacher of their class."""
    if user is None or not user.is_authenticated:
        raise Http404
    if user.is_student:
        if user.pk != student_pk:
            raise Http404
        return enrollment_for_student(user)
    try:
        return Enrollment.objects.select_related("student", "classroom").get(
            student_id=_id(student_pk), classroom__teacher_links__teacher=user
        )
    except Enrollment.DoesNotExist:
        raise Http404 from None


# --- The teacher's live session (appended; classrooms/views_live.py, consumers_live.py) ---------

from classrooms.models import FieldComment, HelpRequest  # noqa: E402


def live_worksheet_for_teacher(user: User | None, session: PairingSession, pk: int) -> Worksheet:
    """A worksheet of a session the user teaches (call session_for_teacher first)."""
    _teacher(user)
    try:
        return Worksheet.objects.select_related("assignment__protocol_version", "havruta__session").get(
            pk=_id(pk), havruta__session=session
        )
    except Worksheet.DoesNotExist:
        raise Http404 from None


def live_worksheet_for_member(user: User | None, pk: int) -> Worksheet:
    """A worksheet of the signed-in student's own havruta (still enrolled in its class).

    Asking for help and marking a comment done are the havruta's own acts: teachers get 404 too.
    """
    if user is None or not user.is_authenticated or not user.is_student:
        raise Http404
    return worksheet_for_user(user, pk)


def help_request_for_teacher(user: User | None, session: PairingSession, pk: int) -> HelpRequest:
    """A help request of a session the user teaches (call session_for_teacher first)."""
    _teacher(user)
    try:
        return HelpRequest.objects.select_related("havruta").get(pk=_id(pk), havruta__session=session)
    except HelpRequest.DoesNotExist:
        raise Http404 from None


def field_comment_for_user(user: User | None, worksheet: Worksheet, pk: int) -> FieldComment:
    """A comment on a worksheet the user may see (call worksheet_for_user or a live_worksheet_* first)."""
    if user is None or not user.is_authenticated:
        raise Http404
    try:
        return FieldComment.objects.get(pk=_id(pk), worksheet=worksheet)
    except FieldComment.DoesNotExist:
        raise Http404 from None


def live_dashboard_access(user: User | None, classroom_pk: int) -> Classroom | None:
    """For the dashboard socket: the class if the user teaches it, else None (the socket closes 4403)."""
    if not 0 < classroom_pk < 2**63:
        return None
    try:
        return classroom_for_teacher(user, classroom_pk)
    except Http404:
        return None


def worksheet_events_access(user: User | None, worksheet_pk: int) -> tuple[Worksheet, bool] | None:
    """For a worksheet's events socket: (worksheet, is_member) for members and the class's teachers.

    None for everybody else (the socket closes 4403 before it joins any group).
    """
    if not 0 < worksheet_pk < 2**63:
        return None
    try:
        worksheet = worksheet_for_user(user, worksheet_pk)
    except Http404:
        return None
    assert user is not None
    if user.is_teacher:
        return worksheet, False
    return worksheet, True
