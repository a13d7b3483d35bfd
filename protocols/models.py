"""The library: PoP protocols (with teacher-only parts), the practices they target, and texts.

The relational rows are the editable, queryable library (filters, admin). What an assignment
uses is a frozen `ProtocolVersion` snapshot, so editing the library never changes a lesson that
was already assigned.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Practice(models.Model):
    """One of the six core practices, or a corner of the learning triangle (me, partner, text)."""

    class Kind(models.TextChoices):
        PRACTICE = "practice", _("Core practice")
        TRIANGLE = "triangle", _("Learning triangle")

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    pair = models.CharField(max_length=60, blank=True, help_text=_("The twinned pair this practice belongs to."))
    summary = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position"]

    def __str__(self) -> str:
        return self.name


class Stance(models.Model):
    slug = models.SlugField(unique=True)
    text = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.text


class AgeBand(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class Protocol(models.Model):
    class Category(models.TextChoices):
        WARM_UP = "warm-up", _("Havruta warm-up")
        TEXT_LEARNING = "text-learning", _("Text learning")
        ENGAGEMENT = "engagement", _("Engagement warm-up")
        ADVISORY = "advisory", _("Advisory activity")
        REFLECTION = "reflection", _("Reflection")
        SELF_ASSESSMENT = "self-assessment", _("Self-assessment")
        PORTRAIT = "portrait", _("Portrait of a learning partner")

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=120)
    category = models.CharField(max_length=20, choices=Category.choices)
    family = models.SlugField(blank=True, help_text=_("Shared slug of age variants of one protocol."))
    variant_label = models.CharField(max_length=80, blank=True)
    age_bands = models.ManyToManyField(AgeBand, related_name="protocols")
    practices = models.ManyToManyField(Practice, related_name="protocols", blank=True)
    stances = models.ManyToManyField(Stance, related_name="protocols", blank=True)
    duration_minutes = models.PositiveSmallIntegerField()
    uses_text = models.BooleanField(default=True)
    # Student-facing purpose.
    summary = models.TextField()
    # Teacher-only blocks: never rendered in the student version.
    purpose = models.TextField()
    preparation = models.TextField(blank=True)
    timing = models.TextField(blank=True)
    listen_for = models.JSONField(default=list, blank=True)
    debrief = models.JSONField(default=list, blank=True)
    adaptations = models.JSONField(default=dict, blank=True)
    torah_wisdom = models.JSONField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return f"{self.title} ({self.variant_label})" if self.variant_label else self.title


class ProtocolStep(models.Model):
    class Who(models.TextChoices):
        TOGETHER = "together", _("Together")
        EACH = "each", _("Each partner alone")
        PARTNER_A = "partner_a", _("Partner A")
        PARTNER_B = "partner_b", _("Partner B")

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField()
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=160)
    who = models.CharField(max_length=16, choices=Who.choices)
    minutes = models.PositiveSmallIntegerField()
    instructions = models.TextField()
    sentence_starters = models.JSONField(default=list, blank=True)
    teacher_notes = models.TextField(blank=True)

    class Meta:
        ordering = ["protocol", "position"]
        constraints = [models.UniqueConstraint(fields=["protocol", "key"], name="unique_step_key")]

    def __str__(self) -> str:
        return self.title


class ProtocolField(models.Model):
    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")
        LIST = "list", _("List of entries")
        CHOICE = "choice", _("Single choice")
        SCALE = "scale", _("Scale")
        CHECKLIST = "checklist", _("Checklist")

    class Scope(models.TextChoices):
        SHARED = "shared", _("Shared by the havruta")
        PERSONAL = "personal", _("One per student")

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="fields")
    step = models.ForeignKey(ProtocolStep, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField()
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    help = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    options = models.JSONField(default=list, blank=True)
    scale = models.JSONField(default=list, blank=True)
    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["protocol", "position"]
        constraints = [models.UniqueConstraint(fields=["protocol", "key"], name="unique_field_key")]

    def __str__(self) -> str:
        return self.label


class ProtocolVersion(models.Model):
    """A frozen copy of a protocol as it was when something was assigned with it."""

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["protocol", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "number"], name="unique_protocol_version_number"),
            models.UniqueConstraint(fields=["protocol", "content_hash"], name="unique_protocol_version_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} v{self.number}"


class Text(models.Model):
    """A passage with Hebrew and English side by side, split into numbered segments."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=160)
    reference = models.CharField(max_length=120, blank=True)
    reference_he = models.CharField(max_length=120, blank=True)
    he_version_title = models.CharField(max_length=200, blank=True)
    he_license = models.CharField(max_length=80, blank=True)
    he_source = models.URLField(max_length=500, blank=True)
    en_version_title = models.CharField(max_length=200, blank=True)
    en_license = models.CharField(max_length=80, blank=True)
    en_source = models.URLField(max_length=500, blank=True)
    # Library texts have no owner; a teacher's own texts are private to them and whom they share with.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="texts"
    )
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_texts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.title} ({self.reference})" if self.reference else self.title


class TextSegment(models.Model):
    text = models.ForeignKey(Text, on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=20)
    he = models.TextField(blank=True)
    en = models.TextField(blank=True)

    class Meta:
        ordering = ["text", "position"]
        constraints = [models.UniqueConstraint(fields=["text", "position"], name="unique_segment_position")]

    def __str__(self) -> str:
        return f"{self.text.reference} {self.label}"
