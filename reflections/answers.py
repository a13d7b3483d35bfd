"""Answers checked against a frozen protocol version's fields. Plain Python, no Django import.

``ProtocolVersion.data`` has the fixture's shape: a list of ``fields`` with ``key``, ``kind``,
``scope``, ``options``, ``scale`` and ``tags``. ``clean_answers`` turns what a form or an autosave
request sent into stored answers and names every problem with a code; the service turns codes
into translated sentences, since it knows the user's language and this module must not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TEXT_MAX = 4000
LIST_MAX_ITEMS = 30

TEXT_KINDS = ("short_text", "long_text")


@dataclass(frozen=True)
class Problem:
    """One answer that cannot be stored: ``code`` is not_a_point, not_an_option, too_long or not_text."""

    key: str
    code: str
    value: Any = None


def fields_of(data: Mapping[str, Any], *, skip_tags: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The personal fields of a protocol version a student answers alone, minus fields with ``skip_tags``."""
    skip = set(skip_tags)
    fields = data.get("fields") or []
    return [
        dict(f)
        for f in fields
        if isinstance(f, Mapping) and f.get("scope", "personal") == "personal" and not skip & set(f.get("tags") or ())
    ]


def keys_tagged(data: Mapping[str, Any], tag: str) -> list[str]:
    return [f["key"] for f in data.get("fields") or [] if isinstance(f, Mapping) and tag in (f.get("tags") or ())]


def scale_points(field: Mapping[str, Any]) -> list[int]:
    return [p["value"] for p in field.get("scale") or [] if isinstance(p, Mapping) and _is_int(p.get("value"))]


def option_values(field: Mapping[str, Any]) -> list[str]:
    return [str(o["value"]) for o in field.get("options") or [] if isinstance(o, Mapping) and "value" in o]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: Any) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _lines(value: Any) -> list[str] | None:
    if isinstance(value, str):
        items: Sequence[Any] = value.splitlines()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return None
    if not all(isinstance(item, str) for item in items):
        return None
    return [item.strip() for item in items if item.strip()]


def clean_answers(fields: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Stored answers for ``fields`` from ``raw``; blank answers are left out (a draft may be partial).

    A scale answer must be one of the scale's points (``3`` or ``"3"``), a choice one of the
    options, a checklist a list of options, a list one entry per line, text a string of at most
    ``TEXT_MAX`` characters. Keys that are not fields are ignored.
    """
    cleaned: dict[str, Any] = {}
    problems: list[Problem] = []
    for field in fields:
        key = field["key"]
        if key not in raw:
            continue
        value = raw[key]
        kind = field.get("kind")
        if value is None or value == "" or value == []:
            continue
        if kind == "scale":
            number = _as_int(value)
            if number is None or number not in scale_points(field):
                problems.append(Problem(key, "not_a_point", value))
            else:
                cleaned[key] = number
        elif kind == "choice":
            if not isinstance(value, str) or value not in option_values(field):
                problems.append(Problem(key, "not_an_option", value))
            else:
                cleaned[key] = value
        elif kind == "checklist":
            chosen = [value] if isinstance(value, str) else value
            allowed = option_values(field)
            if not isinstance(chosen, list | tuple) or not all(isinstance(v, str) and v in allowed for v in chosen):
                problems.append(Problem(key, "not_an_option", value))
            elif chosen:
                cleaned[key] = [v for v in allowed if v in chosen]
        elif kind == "list":
            items = _lines(value)
            if items is None:
                problems.append(Problem(key, "not_text", value))
            elif len(items) > LIST_MAX_ITEMS or any(len(item) > TEXT_MAX for item in items):
                problems.append(Problem(key, "too_long", value))
            elif items:
                cleaned[key] = items
        else:
            if not isinstance(value, str):
                problems.append(Problem(key, "not_text", value))
            elif len(value) > TEXT_MAX:
                problems.append(Problem(key, "too_long", value))
            elif value.strip():
                cleaned[key] = value.strip()
    return cleaned, problems


def intention_items(value: Any) -> list[str]:
    """The intentions stored in a worksheet's shared list field, each word for word.

    The materialised answer is a list of strings, or one string with an intention per line;
    a dict (a structured answer) contributes its ``items`` or its string values in order.
    """
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, list | tuple):
        items: list[str] = []
        for item in value:
            if isinstance(item, str):
                items.extend(intention_items(item))
            elif isinstance(item, Mapping) and isinstance(item.get("text"), str) and item["text"].strip():
                items.append(item["text"].strip())
        return items
    if isinstance(value, Mapping):
        if "items" in value:
            return intention_items(value["items"])
        return intention_items([v for v in value.values() if isinstance(v, str)])
    return []


def answer_text(field: Mapping[str, Any], value: Any) -> str:
    """An answer as one line of plain text (for exports and read-only pages)."""
    if value is None or value == "" or value == []:
        return ""
    kind = field.get("kind")
    if kind == "scale":
        for point in field.get("scale") or []:
            if point.get("value") == value:
                return f"{value} ({point.get('label', '')})"
        return str(value)
    if kind in ("choice", "checklist"):
        labels = {str(o.get("value")): str(o.get("label", o.get("value"))) for o in field.get("options") or []}
        values = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(str(v), str(v)) for v in values)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
