"""Plain answers out of a worksheet document (pure: pycrdt only, no Django).

The document layout is the contract in PROTOCOL.md: one root per field, named by the field key:

    short_text, long_text  Y.Text                      -> str
    list                   Y.Array of Y.Text           -> list[str] (blank entries dropped)
    choice, scale          Y.Map {"value": str}        -> str
    checklist              Y.Map {option: bool}        -> dict[str, bool]

Formatting (the authorship attribute {"a": user id}) is ignored. A document written by a
misbehaving client (a root of the wrong type, odd values) yields the empty value for that field,
never an exception: extraction runs unattended on the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pycrdt import Array, Doc, Map, Text

TEXT_KINDS = frozenset({"short_text", "long_text"})
VALUE_KINDS = frozenset({"choice", "scale"})


def empty_value(kind: str) -> Any:
    if kind == "list":
        return []
    if kind == "checklist":
        return {}
    return ""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return ""


def _read(doc: Doc, key: str, kind: str) -> Any:
    if kind in TEXT_KINDS:
        return str(doc.get(key, type=Text))
    if kind == "list":
        entries = []
        for _index, item in list_entries(doc, key):
            text = str(item)
            if text.strip():
                entries.append(text)
        return entries
    if kind in VALUE_KINDS:
        return _scalar(doc.get(key, type=Map).get("value"))
    if kind == "checklist":
        return {str(option): checked for option, checked in doc.get(key, type=Map).items() if isinstance(checked, bool)}
    return empty_value(kind)


def list_entries(doc: Doc, key: str) -> list[tuple[int, Text]]:
    """(index, Y.Text) for each text entry of the list field `key`; other entries are skipped.

    A list root holds Y.Text entries only. A root a misbehaving client typed characters into is
    read as an empty list, never walked as an array: pycrdt counts such a root's length in UTF-16
    units but walks it by characters, so past the last character (one emoji is enough) reading an
    entry never returns and the thread spins forever.
    """
    if str(doc.get(key, type=Text)):
        return []
    return [(index, item) for index, item in enumerate(doc.get(key, type=Array)) if isinstance(item, Text)]


def _as_doc(source: Doc | bytes) -> Doc:
    # Always read from a private copy: typed access creates root types, which must never happen
    # on the server's live copy of a room.
    doc = Doc()
    doc.apply_update(source if isinstance(source, bytes | bytearray) else source.get_update())
    return doc


def extract_answers(source: Doc | bytes, fields: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """{field key: plain value} for `fields` (dicts with "key" and "kind"), read from a doc or update.

    Raises ValueError only when `source` is bytes that are not a Yjs update.
    """
    doc = _as_doc(source)
    answers: dict[str, Any] = {}
    for field in fields:
        key = str(field.get("key", ""))
        kind = str(field.get("kind", ""))
        if not key:
            continue
        try:
            answers[key] = _read(doc, key, kind)
        except Exception:  # a root of another type than the layout says: treat as empty
            answers[key] = empty_value(kind)
    return answers


def is_filled(value: Any) -> bool:
    """Whether an extracted value counts as answered (for progress on the teacher's dashboard)."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(str(entry).strip() for entry in value)
    if isinstance(value, dict):
        return any(value.values())
    return False


def count_words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(len(str(entry).split()) for entry in value)
    return 0
