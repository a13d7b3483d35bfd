"""Filters for the live session pages: short durations ("3 min") and a countdown clock ("4:05")."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def live_duration(seconds: Any) -> str:
    """A short, rough duration, as the grid shows it and static/js/live.js updates it."""
    try:
        value = max(0, int(seconds))
    except (TypeError, ValueError):
        return ""
    if value < 60:
        return _("%(count)s s") % {"count": value}
    if value < 3600:
        return _("%(count)s min") % {"count": value // 60}
    return _("%(count)s h") % {"count": value // 3600}


@register.filter
def live_clock(seconds: Any) -> str:
    try:
        value = max(0, int(seconds))
    except (TypeError, ValueError):
        return ""
    return f"{value // 60}:{value % 60:02d}"
