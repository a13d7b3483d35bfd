"""Who wrote what in a shared worksheet document, and removing one author (pure: pycrdt only, no Django).

Every text insert of the browser carries the formatting attribute ``{"a": "<user id>"}`` (see
PROTOCOL.md, "Document layout"). When a teacher deletes a student, the havruta's shared document
keeps the partner's work and loses the student's in one of two ways:

- ``delete=True`` ("delete everything the student wrote"): the student's text is deleted, and a
  list entry that held nothing else goes too;
- ``delete=False`` ("keep shared work, anonymised"): the text stays, its author attribute is
  removed, so nothing in the document points at the student any more.

Both are ordinary CRDT edits on the document as it is (not a new document built from the plain
text): every copy in a browser, in IndexedDB or in another server process converges on the result
and cannot bring the text back, because the server already holds those items as deleted. A fresh
document garbage-collects deleted content, so ``doc.get_update()`` of the result carries neither
the student's words nor the attribute values naming them (the tests check the bytes).

The attribute is removed before the text is deleted: deleting alone can leave an empty formatting
marker that still names the author (for instance in a list entry the student wrote alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Array, Doc, Text

from worksheets.extract import list_entries

TEXT_KINDS = frozenset({"short_text", "long_text"})


@dataclass
class ScrubResult:
    update: bytes  # the whole document after the change, as one update
    changed: int = 0  # characters removed or anonymised
    removed_entries: list[str] = field(default_factory=list)  # list entries the author wrote alone


def _author_runs(text: Text, author: str) -> list[tuple[int, int, str]]:
    """(start, stop, content) of every run of `text` carrying {"a": author}.

    Offsets are in UTF-8 bytes: pycrdt's (yrs's) index unit, not Python's code points; they differ
    as soon as a run holds Hebrew or an emoji.
    """
    runs: list[tuple[int, int, str]] = []
    position = 0
    for chunk, attrs in text.diff():
        length = len(chunk.encode("utf-8")) if isinstance(chunk, str) else 1
        if str((attrs or {}).get("a", "")) == author and length:
            runs.append((position, position + length, chunk if isinstance(chunk, str) else ""))
        position += length
    return runs


def _text_pieces(doc: Doc, fields: Iterable[Mapping[str, Any]]) -> list[tuple[str, Text, Array | None, int]]:
    """(field key, Y.Text, the list holding it or None, index in the list) for every text of `fields`."""
    present = set(doc.keys())
    pieces: list[tuple[str, Text, Array | None, int]] = []
    for spec in fields:
        key, kind = str(spec.get("key", "")), str(spec.get("kind", ""))
        if not key or key not in present:
            continue
        pieces.extend(_pieces_of(doc, key, kind))
    return pieces


def _pieces_of(doc: Doc, key: str, kind: str) -> list[tuple[str, Text, Array | None, int]]:
    try:
        if kind in TEXT_KINDS:
            return [(key, doc.get(key, type=Text), None, 0)]
        if kind == "list":
            entries = list_entries(doc, key)
            array = doc.get(key, type=Array)
            return [(key, entry, array, index) for index, entry in entries]
    except Exception:  # a root of another type than the layout says (extract.py reads it as empty too)
        return []
    return []


def authored_parts(update: bytes, fields: Iterable[Mapping[str, Any]], author_id: int) -> dict[str, list[str]]:
    """{field key: the runs of text `author_id` wrote} for the text and list fields of a document."""
    doc: Doc = Doc()
    doc.apply_update(update)
    author = str(author_id)
    parts: dict[str, list[str]] = {}
    for key, text, _array, _index in _text_pieces(doc, fields):
        for _start, _stop, content in _author_runs(text, author):
            piece = content.strip()
            if piece:
                parts.setdefault(key, []).append(piece)
    return parts


def scrub_author(update: bytes, fields: Iterable[Mapping[str, Any]], author_id: int, *, delete: bool) -> ScrubResult:
    """The document `update` without `author_id`'s authorship (delete=False) or text (delete=True)."""
    doc: Doc = Doc()
    doc.apply_update(update)
    author = str(author_id)
    changed = 0
    removed: list[str] = []
    emptied: list[tuple[Array, int, str]] = []
    for _key, text, array, index in _text_pieces(doc, fields):
        runs = _author_runs(text, author)
        if not runs:
            continue
        before = str(text)
        for start, stop, content in runs:
            text.format(start, stop, {"a": None})
            changed += len(content) or 1
        if not delete:
            continue
        for start, stop, _content in reversed(runs):
            del text[start:stop]
        if array is not None and not str(text).strip():
            emptied.append((array, index, before.strip()))
    # Entries are removed last and from the end, so the indexes found above stay right.
    for array, index, before in sorted(emptied, key=lambda item: item[1], reverse=True):
        del array[index]
        if before:
            removed.append(before)
    return ScrubResult(update=doc.get_update(), changed=changed, removed_entries=removed)


def mentions_author(update: bytes, fields: Iterable[Mapping[str, Any]], author_id: int) -> bool:
    """Whether any text of the document still carries `author_id`'s attribute (a safety check)."""
    doc: Doc = Doc()
    doc.apply_update(update)
    author = str(author_id)
    return any(_author_runs(text, author) for _key, text, _array, _index in _text_pieces(doc, fields))
