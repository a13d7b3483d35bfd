"""Reflections after a havruta session, self-assessment, and portraits of a learning partner.

A student reflects alone on each session they learned in. What they write is private to them
and their class's teachers; only an appreciation they choose to send reaches their partner.
Answers are kept against the frozen protocol versions they were written for, so editing the
library later never changes the meaning of an old rating.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kept(models.TextChoices):
    """How well a havruta kept one of its intentions (or how well a student met a goal)."""

    YES = "yes", _("Yes, we kept it")
    PARTLY = "partly", _("Partly")
    NO = "no", _("Not this time")


class GoalMet(models.TextChoices):
    YES = "yes", _("Yes, I met it")
    PARTLY = "partly", _("Partly")
    NO = "no", _("Not yet")


class Reflection(models.Model):
    """One student's reflection and self-assessment for one pairing session."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reflections")
    session = models.ForeignKey("classrooms.PairingSession", on_delete=models.CASCADE, related_name="reflections")
    # The havruta the student learned in that day (their partners); kept if pairings are reshuffled later.
    havruta = models.ForeignKey(
        "classrooms.Havruta", null=True, blank=True, on_delete=models.SET_NULL, related_name="reflections"
    )
    reflection_version = models.ForeignKey("protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="+")
    # The class's grade band picked the variant (4 points for older students, 3 faces for younger).
    assessment_version = models.ForeignKey("protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="+")
    reflection_answers = models.JSONField(default=dict, blank=True)
    assessment_answers = models.JSONField(default=dict, blank=True)
    # [{"text": the intention word for word, "kept": Kept | "", "evidence": str, "next_time": str}]
    intentions = models.JSONField(default=list, blank=True)
    intentions_session = models.ForeignKey(
        "classrooms.PairingSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The goal the student set last time, copied so the question stays as they wrote it.
    previous_goal = models.TextField(blank=True)
    previous_goal_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="goal_reviews"
    )
    previous_goal_met = models.CharField(max_length=10, choices=GoalMet.choices, blank=True)
    appreciation = models.TextField(blank=True)
    send_appreciation = models.BooleanField(default=False)
    # Set when a submitted reflection's appreciation becomes visible to the partner.
    appreciation_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    locked = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "session"], name="unique_reflection")]

    def __str__(self) -> str:
        return f"Reflection of {self.student} on {self.session}"

    @property
    def appreciation_is_sent(self) -> bool:
        return self.send_appreciation and self.appreciation_sent_at is not None


class ReflectionLock(models.Model):
    """A session whose reflections the teacher has locked: nobody can edit or start one."""

    session = models.OneToOneField(
        "classrooms.PairingSession", on_delete=models.CASCADE, related_name="reflection_lock"
    )
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    locked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Reflections locked for {self.session}"


class Portrait(models.Model):
    """A student's Portrait of a Learning Partner at one moment; a new one is started to see change."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portraits")
    protocol_version = models.ForeignKey("protocols.ProtocolVersion", on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Portrait of {self.student}"


class ClassPortrait(models.Model):
    """The class's portrait of a strong learning partner, built by the teacher from students' lines."""

    classroom = models.OneToOneField("classrooms.Classroom", on_delete=models.CASCADE, related_name="class_portrait")
    # [{"corner": "self" | "partner" | "text", "text": str}] in the order the teacher chose.
    items = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Class portrait of {self.classroom}"
