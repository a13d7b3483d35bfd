"""CSV and JSON exports of reflections. Plain Python: selectors gather the data, this writes it.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or a carriage return) as a formula, so a student who types ``=HYPERLINK(...)``
could plant a link or worse in the teacher's spreadsheet. Every such cell is written with a
leading single quote, which spreadsheets show as text (OWASP's "CSV injection" advice).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """The cell as text, with a leading ``'`` when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(columns: Sequence[tuple[str, str]], records: Iterable[Mapping[str, Any]]) -> str:
    """A CSV document: a header of column titles, then one row per record (every cell made safe)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_safe(title) for _key, title in columns])
    for record in records:
        writer.writerow([csv_safe(record.get(key, "")) for key, _title in columns])
    return buffer.getvalue()


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2, sort_keys=False)
