"""Filters for rendering a protocol snapshot (a plain dict) in templates without any query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from protocols.models import Protocol, ProtocolField, ProtocolStep

register = template.Library()

ADAPTATION_LABELS = {
    "younger": _("Younger students"),
    "small_groups": _("Small groups and triads"),
    "online": _("Online learning"),
}


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """``names.practices|lookup:slug``: the value for a key, or the key itself when unknown."""
    if isinstance(mapping, Mapping):
        return mapping.get(key, key)
    return key


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


@register.filter
def who_label(value: str) -> str:
    return _label(ProtocolStep.Who, value)


@register.filter
def category_label(value: str) -> str:
    return _label(Protocol.Category, value)


@register.filter
def kind_label(value: str) -> str:
    return _label(ProtocolField.Kind, value)


@register.filter
def adaptation_label(value: str) -> str:
    return str(ADAPTATION_LABELS.get(value, value))


@register.filter
def fields_of_step(fields: Iterable[Mapping[str, Any]], step_key: str) -> list[Mapping[str, Any]]:
    return [field for field in fields or [] if field.get("step") == step_key]


@register.filter
def segment_languages(segments: Iterable[Any]) -> str:
    """ "he", "en" or "both": which columns a list of segments (rows or dicts) fills."""
    has_he = has_en = False
    for segment in segments or []:
        he = segment.get("he") if isinstance(segment, Mapping) else segment.he
        en = segment.get("en") if isinstance(segment, Mapping) else segment.en
        has_he = has_he or bool(he)
        has_en = has_en or bool(en)
    if has_he and has_en:
        return "both"
    return "he" if has_he else "en"


@register.filter
def entry_slots(field: Mapping[str, Any]) -> range:
    """How many empty entries a list field shows in a preview."""
    return range(1, 4)
