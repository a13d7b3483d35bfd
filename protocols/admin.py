"""The whole library in the admin. Fixtures stay the source of truth: load_library overwrites
protocols edited here when their fixture changes. Frozen versions are read-only."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from protocols.models import (
    AgeBand,
    Practice,
    Protocol,
    ProtocolField,
    ProtocolStep,
    ProtocolVersion,
    Stance,
    Text,
    TextSegment,
)


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "pair", "position"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "summary"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Stance)
class StanceAdmin(admin.ModelAdmin):
    list_display = ["slug", "text", "position"]
    search_fields = ["slug", "text"]


@admin.register(AgeBand)
class AgeBandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


class ProtocolStepInline(admin.StackedInline):
    model = ProtocolStep
    extra = 0
    fields = [("position", "key", "who", "minutes"), "title", "instructions", "sentence_starters", "teacher_notes"]  # type: ignore[assignment]


class ProtocolFieldInline(admin.StackedInline):
    model = ProtocolField
    extra = 0
    fields = [("position", "key", "step"), "label", "help", ("kind", "scope", "practice"), "options", "scale", "tags"]  # type: ignore[assignment]

    def get_formset(self, request: HttpRequest, obj: Protocol | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # A field can only belong to a step of its own protocol.
        step_field = formset.form.base_fields["step"]
        step_field.queryset = ProtocolStep.objects.filter(protocol=obj) if obj else ProtocolStep.objects.none()  # type: ignore[attr-defined]
        return formset


class ProtocolVersionInline(admin.TabularInline):
    model = ProtocolVersion
    extra = 0
    fields = ["number", "content_hash", "created_at"]
    readonly_fields = ["number", "content_hash", "created_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["title", "variant_label", "slug", "category", "duration_minutes", "uses_text", "position"]
    list_filter = ["category", "age_bands", "practices", "uses_text"]
    search_fields = ["title", "slug", "summary", "purpose"]
    filter_horizontal = ["age_bands", "practices", "stances"]
    inlines = [ProtocolStepInline, ProtocolFieldInline, ProtocolVersionInline]
    fieldsets = [
        (None, {"fields": ["slug", "title", "category", ("family", "variant_label"), "position"]}),
        (_("For students"), {"fields": ["summary", "duration_minutes", "uses_text", "age_bands"]}),
        (
            _("Teacher only"),
            {
                "fields": [
                    "purpose",
                    "practices",
                    "stances",
                    "preparation",
                    "timing",
                    "listen_for",
                    "debrief",
                    "adaptations",
                    "torah_wisdom",
                ]
            },
        ),
    ]


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(admin.ModelAdmin):
    """Frozen copies used by assignments: they can be read, never edited."""

    list_display = ["protocol", "number", "created_at", "short_hash"]
    list_filter = ["protocol"]
    list_select_related = ["protocol"]
    fields = ["protocol", "number", "content_hash", "created_at", "pretty_data"]
    readonly_fields = ["protocol", "number", "content_hash", "created_at", "pretty_data"]

    @admin.display(description=_("hash"))
    def short_hash(self, obj: ProtocolVersion) -> str:
        return obj.content_hash[:12]

    @admin.display(description=_("data"))
    def pretty_data(self, obj: ProtocolVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, ensure_ascii=False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TextSegmentInline(admin.TabularInline):
    model = TextSegment
    extra = 0
    fields = ["position", "label", "he", "en"]


@admin.register(Text)
class TextAdmin(admin.ModelAdmin):
    list_display = ["title", "reference", "slug", "owner", "segment_count"]
    list_filter = [("owner", admin.EmptyFieldListFilter)]
    search_fields = ["title", "reference", "slug"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    filter_horizontal = ["shared_with"]
    inlines = [TextSegmentInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["slug", "title", ("reference", "reference_he"), "owner", "shared_with"]}),
        (_("Hebrew version"), {"fields": ["he_version_title", "he_license", "he_source"]}),
        (_("English version"), {"fields": ["en_version_title", "en_license", "en_source"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Text]:
        return super().get_queryset(request).annotate(segment_total=Count("segments"))

    @admin.display(description=_("segments"), ordering="segment_total")
    def segment_count(self, obj: Any) -> int:
        return obj.segment_total
