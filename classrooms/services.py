"""Writes for classes and rosters. Views call these; nothing else writes these models."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from classrooms.access import INVITATION_DAYS
from classrooms.models import Classroom, ClassroomTeacher, CoTeacherInvitation, Enrollment, PairingConstraint
from classrooms.ratelimit import Limit
from classrooms.roster_import import MAX_GROUP_LENGTH, MAX_NAME_LENGTH, clean_cell, name_key
from worksheets.services import worksheet_revoke

# Security events as key=value lines; ids and the address only, never a PIN (settings.LOGGING).
signin_logger = logging.getLogger("havruta.auth")

# No 0/O, 1/I/L: codes are read off a projector and typed by children.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6


def _new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def _new_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


@transaction.atomic
def classroom_create(*, teacher: User, name: str, grade_band: str, language: str = "en") -> Classroom:
    if not teacher.is_teacher:
        raise PermissionError("Only teachers create classes.")
    for _attempt in range(10):
        try:
            with transaction.atomic():
                classroom = Classroom.objects.create(
                    name=name.strip(), grade_band=grade_band, language=language, join_code=_new_join_code()
                )
            break
        except IntegrityError:  # a join code collision; try another
            continue
    else:  # pragma: no cover - 31**6 codes make ten collisions in a row practically impossible
        raise RuntimeError("Could not find a free join code.")
    ClassroomTeacher.objects.create(classroom=classroom, teacher=teacher, is_owner=True)
    return classroom


def classroom_add_teacher(*, classroom: Classroom, teacher: User) -> None:
    ClassroomTeacher.objects.get_or_create(classroom=classroom, teacher=teacher)


@transaction.atomic
def student_create(*, classroom: Classroom, display_name: str, group_label: str = "", pin: str | None = None) -> User:
    """Add one student to a roster: a display name and a PIN, nothing else about the child."""
    student = User(
        username=f"student-{secrets.token_hex(8)}",
        display_name=display_name.strip(),
        role=User.Role.STUDENT,
    )
    student.set_unusable_password()
    student.save()
    Enrollment.objects.create(
        classroom=classroom, student=student, pin=pin or _new_pin(), group_label=group_label.strip()
    )
    return student


# --- Classes (appended to the original three services above) ---------------------------------


def classroom_update(*, classroom: Classroom, name: str, grade_band: str, language: str) -> Classroom:
    classroom.name = name.strip()
    classroom.grade_band = grade_band
    classroom.language = language
    classroom.save(update_fields=["name", "grade_band", "language"])
    return classroom


def classroom_archive(*, classroom: Classroom) -> None:
    """End of the year: the class leaves the teacher's active list and its code stops working."""
    if classroom.archived_at is None:
        classroom.archived_at = timezone.now()
        classroom.save(update_fields=["archived_at"])


def classroom_unarchive(*, classroom: Classroom) -> None:
    if classroom.archived_at is not None:
        classroom.archived_at = None
        classroom.save(update_fields=["archived_at"])


def classroom_regenerate_join_code(*, classroom: Classroom) -> str:
    """A new class code; the old one stops working at once (students already signed in stay in)."""
    old = classroom.join_code
    for _attempt in range(10):
        code = _new_join_code()
        if code == old:
            continue
        try:
            with transaction.atomic():
                Classroom.objects.filter(pk=classroom.pk).update(join_code=code)
        except IntegrityError:
            continue
        classroom.join_code = code
        return code
    raise RuntimeError("Could not find a free join code.")  # pragma: no cover


# --- Roster --------------------------------------------------------------------------------------


def _roster_keys(classroom: Classroom, *, exclude_student_id: int | None = None) -> set[str]:
    names = Enrollment.objects.filter(classroom=classroom).exclude(student_id=exclude_student_id)
    return {name_key(name) for name in names.values_list("student__display_name", flat=True)}


@dataclass(frozen=True)
class RosterImportOutcome:
    created: list[User]
    skipped: list[str]  # names that meanwhile appeared on the roster (another tab, a co-teacher)


@transaction.atomic
def roster_import(*, classroom: Classroom, rows: Iterable[tuple[str, str]]) -> RosterImportOutcome:
    """Add the confirmed good rows (name, group label) of an import preview, all or nothing.

    The preview already rejected duplicates, but the roster may have changed since (a co-teacher
    added someone); such names are skipped and reported rather than doubled.
    """
    taken = _roster_keys(classroom)
    created: list[User] = []
    skipped: list[str] = []
    for name, group_label in rows:
        name = clean_cell(name)
        key = name_key(name)
        if not name or len(name) > MAX_NAME_LENGTH or key in taken:
            skipped.append(name)
            continue
        taken.add(key)
        created.append(
            student_create(
                classroom=classroom, display_name=name, group_label=clean_cell(group_label)[:MAX_GROUP_LENGTH]
            )
        )
    return RosterImportOutcome(created=created, skipped=skipped)


def student_update(*, enrollment: Enrollment, display_name: str, group_label: str) -> Enrollment:
    """Rename a student and/or change their group label. Names stay unique within a class so that
    a child picking their name on the sign-in page cannot pick someone else's by mistake."""
    display_name = clean_cell(display_name)
    if not display_name:
        raise ValidationError(_("Enter a name."), code="empty")
    if name_key(display_name) in _roster_keys(enrollment.classroom, exclude_student_id=enrollment.student_id):
        raise ValidationError(_("Another student in this class already has this name."), code="duplicate")
    student = enrollment.student
    if student.display_name != display_name:
        student.display_name = display_name
        student.save(update_fields=["display_name"])
    enrollment.group_label = clean_cell(group_label)
    enrollment.save(update_fields=["group_label"])
    return enrollment


def student_reset_pin(*, enrollment: Enrollment) -> str:
    """A new PIN (never the same as the old one). It also lifts a lockout after wrong PINs, so a
    locked-out child whose teacher resets their PIN can sign in straight away."""
    pin = enrollment.pin
    while pin == enrollment.pin:
        pin = _new_pin()
    enrollment.pin = pin
    enrollment.save(update_fields=["pin"])
    STUDENT_SIGNIN_LIMIT.reset(str(enrollment.student_id))
    return pin


def student_remove(*, enrollment: Enrollment) -> None:
    """Delete the student and every trace of them, keeping shared work anonymised.

    See classrooms/services_privacy.py (`student_delete`), which also offers deleting everything
    the student wrote.
    """
    from classrooms.services_privacy import DeletionMode, student_delete

    student_delete(enrollment=enrollment, mode=DeletionMode.KEEP_SHARED)


@transaction.atomic
def student_move(*, enrollment: Enrollment, to_classroom: Classroom) -> Enrollment:
    """Move a student to another class of the same teacher (the view checks the teacher teaches both).

    Pairing constraints of the old class that name the student no longer apply and are dropped;
    their past havrutot stay in the old class's history. Their open sockets on the old class's
    worksheets close with 4403 once this commits (worksheet_revoke).
    """
    if to_classroom.pk == enrollment.classroom_id:
        raise ValidationError(_("The student is already in this class."), code="same")
    if name_key(enrollment.student.display_name) in _roster_keys(to_classroom):
        raise ValidationError(_("A student with this name is already in that class."), code="duplicate")
    old = enrollment.classroom
    PairingConstraint.objects.filter(classroom=old).filter(
        Q(student_a=enrollment.student) | Q(student_b=enrollment.student)
    ).delete()
    enrollment.classroom = to_classroom
    enrollment.save(update_fields=["classroom"])
    worksheet_revoke(user=enrollment.student)
    return enrollment


# --- Co-teachers --------------------------------------------------------------------------------


def coteacher_invite(*, classroom: Classroom, invited_by: User, email: str, base_url: str) -> CoTeacherInvitation:
    """Invite a colleague by email. Inviting the same address again sends a fresh link (the old
    one stops working). `base_url` is the site's origin, for the absolute link in the mail."""
    email = email.strip()
    if classroom.teacher_links.filter(teacher__email__iexact=email).exists() or (
        EmailAddress.objects.filter(email__iexact=email, user__classroom_links__classroom=classroom).exists()
    ):
        raise ValidationError(_("This person already teaches this class."), code="already")
    invitation = CoTeacherInvitation.objects.filter(
        classroom=classroom, email__iexact=email, accepted_at__isnull=True
    ).first()
    token = secrets.token_urlsafe(32)
    if invitation is None:
        invitation = CoTeacherInvitation.objects.create(
            classroom=classroom, email=email, token=token, invited_by=invited_by
        )
    else:
        invitation.token = token
        invitation.invited_by = invited_by
        invitation.created_at = timezone.now()
        invitation.save(update_fields=["token", "invited_by", "created_at"])
    link = base_url.rstrip("/") + reverse("classrooms:invitation", args=[token])
    context = {"classroom": classroom, "inviter": invited_by, "link": link, "days": INVITATION_DAYS}
    subject = render_to_string("classrooms/email/coteacher_invitation_subject.txt", context).strip()
    body = render_to_string("classrooms/email/coteacher_invitation_message.txt", context)
    send_mail(subject, body, None, [email])
    return invitation


def user_has_verified_email(user: User, email: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


@transaction.atomic
def coteacher_accept(*, invitation: CoTeacherInvitation, user: User) -> Classroom:
    """Join a class as co-teacher (same rights as the owner) from an emailed invitation.

    Only a teacher who verified the invited address may accept: the link alone is not enough.
    """
    if not user.is_teacher or not user_has_verified_email(user, invitation.email):
        raise PermissionError("The invitation is for another email address.")
    classroom_add_teacher(classroom=invitation.classroom, teacher=user)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return invitation.classroom


@transaction.atomic
def coteacher_remove(*, link: ClassroomTeacher) -> None:
    """Remove a co-teacher (or let one leave). Their open sockets on the class (the live dashboard,
    worksheets they watch) close with 4403 once this commits (worksheet_revoke)."""
    if link.is_owner:
        raise PermissionError("The owner of a class cannot be removed.")
    worksheet_revoke(user=link.teacher)  # sent on commit, when the link is gone
    link.delete()


def invitation_cancel(*, invitation: CoTeacherInvitation) -> None:
    invitation.delete()


# --- Student sign-in ----------------------------------------------------------------------------

# Children mistype: five tries per student per ten minutes. The per-network limit stops one
# device sweeping through a roster; a whole class behind one school address shares it, so it is
# set well above one child's limit.
STUDENT_SIGNIN_LIMIT = Limit("signin-student", limit=5, window=10 * 60)
IP_SIGNIN_LIMIT = Limit("signin-ip", limit=30, window=10 * 60)
# Wrong class codes from one address (codes open a roster of first names).
IP_JOIN_CODE_LIMIT = Limit("join-code-ip", limit=30, window=10 * 60)


@dataclass(frozen=True)
class SignInResult:
    ok: bool
    locked_seconds: int = 0
    locked_by: str = ""  # "student" or "ip"
    tries_left: int = 0


def _locked(student_key: str, ip: str) -> SignInResult | None:
    wait_student = STUDENT_SIGNIN_LIMIT.retry_after(student_key)
    wait_ip = IP_SIGNIN_LIMIT.retry_after(ip)
    if not wait_student and not wait_ip:
        return None
    by = "student" if wait_student >= wait_ip else "ip"
    return SignInResult(ok=False, locked_seconds=max(wait_student, wait_ip), locked_by=by)


def student_sign_in_lockout(*, enrollment: Enrollment, ip: str) -> SignInResult | None:
    """The lockout in force for this student or address, if any (nothing is counted)."""
    return _locked(str(enrollment.student_id), ip)


def student_sign_in_check(*, enrollment: Enrollment, pin: str, ip: str) -> SignInResult:
    """Check a PIN under the per-student and per-address limits. The caller logs the student in.

    A locked student is refused even with the right PIN, otherwise the limit would not slow a
    guesser down. Failures are logged without the PIN.
    """
    student_key = str(enrollment.student_id)
    locked = _locked(student_key, ip)
    if locked is not None:
        signin_logger.warning(
            "event=signin.refused_locked by=%s student=%s class=%s ip=%s",
            locked.locked_by,
            enrollment.student_id,
            enrollment.classroom_id,
            ip,
        )
        return locked
    if hmac.compare_digest(pin.strip().encode(), enrollment.pin.encode()):
        STUDENT_SIGNIN_LIMIT.reset(student_key)
        signin_logger.info(
            "event=signin.ok student=%s class=%s ip=%s", enrollment.student_id, enrollment.classroom_id, ip
        )
        return SignInResult(ok=True)
    student_failures = STUDENT_SIGNIN_LIMIT.hit(student_key)
    ip_failures = IP_SIGNIN_LIMIT.hit(ip)
    signin_logger.warning(
        "event=signin.pin_wrong student=%s class=%s ip=%s failures_student=%d/%d failures_ip=%d/%d",
        enrollment.student_id,
        enrollment.classroom_id,
        ip,
        student_failures,
        STUDENT_SIGNIN_LIMIT.limit,
        ip_failures,
        IP_SIGNIN_LIMIT.limit,
    )
    locked = _locked(student_key, ip)
    if locked is not None:
        signin_logger.warning(
            "event=signin.lockout by=%s student=%s class=%s ip=%s seconds=%d",
            locked.locked_by,
            enrollment.student_id,
            enrollment.classroom_id,
            ip,
            locked.locked_seconds,
        )
        return locked
    tries_left = min(STUDENT_SIGNIN_LIMIT.limit - student_failures, IP_SIGNIN_LIMIT.limit - ip_failures)
    return SignInResult(ok=False, tries_left=tries_left)


def join_code_locked(*, ip: str) -> int:
    """Seconds this address must wait before trying more class codes (0: go ahead)."""
    return IP_JOIN_CODE_LIMIT.retry_after(ip)


def join_code_failed(*, ip: str) -> None:
    failures = IP_JOIN_CODE_LIMIT.hit(ip)
    signin_logger.info("event=join.unknown_code ip=%s failures=%d/%d", ip, failures, IP_JOIN_CODE_LIMIT.limit)
    if failures == IP_JOIN_CODE_LIMIT.limit:
        signin_logger.warning("event=join.lockout ip=%s seconds=%d", ip, IP_JOIN_CODE_LIMIT.window)
