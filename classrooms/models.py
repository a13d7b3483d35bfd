"""Classes, rosters, who learned with whom (pairing sessions and havrutot), and assignments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.models import User


class GradeBand(models.TextChoices):
    UPPER_ELEMENTARY = "upper-elementary", _("Upper elementary")
    MIDDLE_SCHOOL = "middle-school", _("Middle school")
    HIGH_SCHOOL = "high-school", _("High school")
    ADULT = "adult", _("Adults")


class Classroom(models.Model):
    name = models.CharField(_("name"), max_length=120)
    grade_band = models.CharField(_("grade band"), max_length=20, choices=GradeBand.choices)
    language = models.CharField(_("language for students"), max_length=8, choices=settings.LANGUAGES, default="en")
    join_code = models.CharField(max_length=12, unique=True)
    teachers: models.ManyToManyField[User, ClassroomTeacher] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ClassroomTeacher", related_name="taught_classrooms"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ClassroomTeacher(models.Model):
    """A teacher of a class. Co-teachers have the same rights as the teacher who created it."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="teacher_links")
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classroom_links")
    is_owner = models.BooleanField(default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["classroom", "teacher"], name="unique_classroom_teacher")]

    def __str__(self) -> str:
        return f"{self.teacher} teaches {self.classroom}"


class CoTeacherInvitation(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Invitation to {self.classroom}"


class Enrollment(models.Model):
    """A student on a class roster. The PIN is shown to the teacher, so it is stored as is;
    it only works together with the class code and is rate limited."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="enrollments")
    student = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollment")
    pin = models.CharField(max_length=6)
    group_label = models.CharField(_("group label"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["student__display_name"]

    def __str__(self) -> str:
        return f"{self.student} in {self.classroom}"


class PairingConstraint(models.Model):
    class Kind(models.TextChoices):
        KEEP_APART = "apart", _("Keep apart")
        KEEP_TOGETHER = "together", _("Keep together")

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="constraints")
    student_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    student_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.student_a} / {self.student_b}"


class PairingSession(models.Model):
    """The students present one day, grouped into havrutot."""

    class Method(models.TextChoices):
        RANDOM = "random", _("Random")
        ROTATE = "rotate", _("Rotate (fewest repeat partners)")
        MANUAL = "manual", _("Manual")
        REUSE = "reuse", _("Reuse an earlier pairing")

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="pairing_sessions")
    date = models.DateField(default=timezone.localdate)
    method = models.CharField(max_length=10, choices=Method.choices)
    seed = models.BigIntegerField(default=0)
    absent = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The learning phase of the lesson; set when the teacher ends it (worksheets become read-only).
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-created_at"]

    def __str__(self) -> str:
        return f"{self.classroom} {self.date} ({self.get_method_display()})"


class Havruta(models.Model):
    session = models.ForeignKey(PairingSession, on_delete=models.CASCADE, related_name="havrutot")
    number = models.PositiveSmallIntegerField()
    locked = models.BooleanField(default=False)
    members: models.ManyToManyField[User, HavrutaMember] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="HavrutaMember", related_name="havrutot"
    )

    class Meta:
        ordering = ["session", "number"]
        verbose_name_plural = "havrutot"

    def __str__(self) -> str:
        return f"Havruta {self.number}"


class HavrutaMember(models.Model):
    havruta = models.ForeignKey(Havruta, on_delete=models.CASCADE, related_name="memberships")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="havruta_memberships")
    seat = models.CharField(max_length=1)  # A, B or C: "partner A" steps belong to seat A

    class Meta:
        ordering = ["havruta", "seat"]
        constraints = [models.UniqueConstraint(fields=["havruta", "student"], name="unique_havruta_member")]

    def __str__(self) -> str:
        return f"{self.student} ({self.seat})"


class Assignment(models.Model):
    """A protocol (as frozen at assignment time) and a text, given to every havruta of a session."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="assignments")
    session = models.ForeignKey(PairingSession, on_delete=models.CASCADE, related_name="assignments")
    protocol_version = models.ForeignKey("protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="+")
    text = models.ForeignKey("protocols.Text", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=1)  # a Warm Up assigned first comes before the text work
    date = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "position", "-created_at"]

    def __str__(self) -> str:
        return f"Assignment {self.pk} for {self.classroom}"


# --- The teacher's live session (issue 6; classrooms/services_live.py) -------------------------


class SessionStep(models.Model):
    """A step the teacher moved the whole class to, with its countdown.

    The session's steps are the steps of its assignments in order (a Warm Up first). The row of
    the current step has no `ended_at`; the timer is running while `timer_ends_at` is set and
    paused while `timer_remaining` is set (seconds left), so a reload shows the right time.
    Ended rows give the summary its time per step.
    """

    session = models.ForeignKey(PairingSession, on_delete=models.CASCADE, related_name="live_steps")
    index = models.PositiveSmallIntegerField()  # position in the session's sequence of steps
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step_key = models.CharField(max_length=60, blank=True)
    title = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    timer_ends_at = models.DateTimeField(null=True, blank=True)
    timer_remaining = models.PositiveIntegerField(null=True, blank=True)
    timer_duration = models.PositiveIntegerField(default=0)  # seconds, extensions included

    class Meta:
        ordering = ["session", "started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=models.Q(ended_at__isnull=True), name="one_current_step_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.session})"


class Broadcast(models.Model):
    """A message (or link) from the teacher to every havruta of a session, or to chosen ones."""

    session = models.ForeignKey(PairingSession, on_delete=models.CASCADE, related_name="broadcasts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True)
    to_all = models.BooleanField(default=True)
    havrutot = models.ManyToManyField(Havruta, blank=True, related_name="broadcasts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Broadcast {self.pk} to {self.session}"


class HelpRequest(models.Model):
    """A havruta asking the teacher for help. At most one is open per havruta."""

    havruta = models.ForeignKey(Havruta, on_delete=models.CASCADE, related_name="help_requests")
    worksheet = models.ForeignKey(
        "worksheets.Worksheet", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # CASCADE: the note is the child's own writing; deleting a student deletes it (children's privacy).
    student = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["havruta"], condition=models.Q(resolved_at__isnull=True), name="one_open_help_per_havruta"
            )
        ]

    def __str__(self) -> str:
        return f"Help for {self.havruta}"


class FieldComment(models.Model):
    """A short comment a teacher pins to one box of a worksheet; the havruta marks it done.

    `field_id` names the box as presence does: "shared:<key>" or "student-<id>:<key>".
    """

    worksheet = models.ForeignKey("worksheets.Worksheet", on_delete=models.CASCADE, related_name="live_comments")
    field_id = models.CharField(max_length=90)
    text = models.CharField(max_length=300)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Comment on {self.field_id} of worksheet {self.worksheet_id}"


class LiveConnection(models.Model):
    """A student's open worksheet page (its events socket): who is online, across processes.

    Rows are deleted when the socket closes and renewed while it stays open, so a row left by a
    crashed process stops counting once `seen_at` is old.
    """

    channel_name = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    havruta = models.ForeignKey(Havruta, on_delete=models.CASCADE, related_name="+")
    worksheet = models.ForeignKey("worksheets.Worksheet", on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["havruta", "seen_at"], name="liveconnection_havruta_idx")]

    def __str__(self) -> str:
        return f"{self.user} on worksheet {self.worksheet_id}"
