"""Parse a roster a teacher pastes (one name per line) or uploads (CSV: name, optional group label).

Plain Python, no Django: the caller turns error codes into translated sentences. Nothing here
writes anything; the result is a list of good rows and one error per bad row (with its line
number), so the teacher can confirm the good rows and fix the rest.

Decisions:
- Only UTF-8 (with or without a byte order mark) is accepted. Legacy encodings such as cp1252
  decode almost any byte sequence "successfully" into the wrong letters, and a Hebrew roster in
  the wrong code page would silently become gibberish names, so anything else is refused with a
  message that says how to save the file as UTF-8. UTF-16 is recognised with or without its byte
  order mark (every other byte is zero in a Latin or Hebrew list), so it gets that message too
  rather than "not a text file".
- Limits: 1 MB and 500 students per file (or paste). A file's size is checked before a byte of it
  is read (classrooms/forms.py); at most MAX_BYTES + 1 bytes are ever read, so a huge upload costs
  no memory, and nothing is created before the teacher confirms the preview.
- Blank lines are skipped silently (trailing newlines, spacing between groups).
- A header row is optional and recognised by its first cell ("name", "student", "שם", ...).
- Comma, semicolon (European spreadsheet exports) and tab separators are recognised.
- Names are compared for duplicates ignoring case and repeated spaces, after Unicode NFC.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_BYTES = 1024 * 1024  # 1 MB
MAX_ROWS = 500
MAX_NAME_LENGTH = 80  # accounts.User.display_name
MAX_GROUP_LENGTH = 40  # classrooms.Enrollment.group_label

# Row error codes.
EMPTY_NAME = "empty_name"
NAME_TOO_LONG = "name_too_long"
GROUP_TOO_LONG = "group_too_long"
DUPLICATE_IN_FILE = "duplicate_in_file"
DUPLICATE_IN_ROSTER = "duplicate_in_roster"
TOO_MANY_COLUMNS = "too_many_columns"
CONTROL_CHARACTERS = "control_characters"

# Whole-file error codes: nothing in the file can be used.
FILE_TOO_LARGE = "file_too_large"
TEXT_TOO_LARGE = "text_too_large"  # the same for pasted names
TOO_MANY_ROWS = "too_many_rows"
NOT_UTF8 = "not_utf8"
BINARY = "binary"
SPREADSHEET = "spreadsheet"
EMPTY_FILE = "empty_file"
UNREADABLE = "unreadable"

HEADER_NAMES = {
    "name",
    "names",
    "student",
    "students",
    "student name",
    "display name",
    "full name",
    "first name",
    "שם",
    "שם התלמיד",
    "שם התלמידה",
    "תלמיד",
    "תלמידה",
}

_SPACES = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")  # the line ends the csv module counts
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # category Cc, but tab and line breaks
# Spreadsheet files that were uploaded instead of a CSV export: xlsx/ods (zip), xls (OLE2).
_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    group_label: str = ""


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    text: str  # the raw line (shortened), so the teacher recognises it
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class FileError:
    code: str
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass
class ImportResult:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_error: FileError | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None


def name_key(name: str) -> str:
    """How two names are compared: same letters, ignoring case and extra spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()


def clean_cell(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def _shorten(text: str, limit: int = 60) -> str:
    text = text.replace("\r", "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n" for ch in text)


def _looks_like_utf16(data: bytes) -> bool:
    """UTF-16 without a byte order mark: zeros in (nearly) every other byte, and text once decoded.

    Latin letters, digits and punctuation have a zero high byte; Hebrew letters are 0x05D0-0x05EA,
    so the high byte is 0x05 and the zeros are at least the line breaks and commas. Hence: zeros,
    all at even or all at odd positions, and the decoded text is free of control characters.
    """
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 2]
    zeros_even, zeros_odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) < 4 or zeros_even + zeros_odd < max(1, len(sample) // 64) or min(zeros_even, zeros_odd) > 0:
        return False
    try:
        text = sample.decode("utf-16-le" if zeros_odd else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(ch) in ("Cc", "Cn", "Cs", "Co") and ch not in "\t\r\n" for ch in text)


def _decode(data: bytes) -> tuple[str | None, FileError | None]:
    if len(data) > MAX_BYTES:
        return None, FileError(FILE_TOO_LARGE, {"limit_mb": MAX_BYTES // (1024 * 1024)})
    if data.startswith(_SPREADSHEET_MAGIC):
        return None, FileError(SPREADSHEET)
    if data.startswith(_UTF16_BOMS) or _looks_like_utf16(data):
        return None, FileError(NOT_UTF8)
    if b"\x00" in data:
        return None, FileError(BINARY)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, FileError(NOT_UTF8, {"byte": exc.start + 1})
    # Text that decodes but is mostly control characters is not a roster either.
    controls = len(_CONTROLS.findall(text))
    if controls > max(8, len(text) // 20):
        return None, FileError(BINARY)
    return text, None


def _is_header(cells: list[str]) -> bool:
    return bool(cells) and name_key(cells[0]) in HEADER_NAMES


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," in first:
        return ","
    if ";" in first:
        return ";"
    if "\t" in first:
        return "\t"
    return ","


class _Collector:
    """Validates rows one by one, remembering names seen so far."""

    def __init__(self, existing_names: Iterable[str]) -> None:
        self.result = ImportResult()
        self.existing = {name_key(name) for name in existing_names}
        self.seen: dict[str, int] = {}

    def add(self, line: int, cells: list[str], raw: str) -> None:
        # Spreadsheets pad rows with empty trailing cells; those are not extra columns.
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells:
            return  # a blank line
        text = _shorten(raw)
        if len(cells) > 2:
            self._error(line, TOO_MANY_COLUMNS, text, count=len(cells))
            return
        if any(_has_control_characters(cell) for cell in cells):
            self._error(line, CONTROL_CHARACTERS, text)
            return
        name = clean_cell(cells[0])
        group = clean_cell(cells[1]) if len(cells) > 1 else ""
        if not name:
            self._error(line, EMPTY_NAME, text)
            return
        if len(name) > MAX_NAME_LENGTH:
            self._error(line, NAME_TOO_LONG, text, length=len(name), limit=MAX_NAME_LENGTH)
            return
        if len(group) > MAX_GROUP_LENGTH:
            self._error(line, GROUP_TOO_LONG, text, length=len(group), limit=MAX_GROUP_LENGTH)
            return
        key = name_key(name)
        if key in self.existing:
            self._error(line, DUPLICATE_IN_ROSTER, text, name=name)
            return
        if key in self.seen:
            self._error(line, DUPLICATE_IN_FILE, text, name=name, first_line=self.seen[key])
            return
        self.seen[key] = line
        self.result.rows.append(Row(line=line, name=name, group_label=group))

    def _error(self, line: int, code: str, text: str, **params: str | int) -> None:
        self.result.errors.append(RowError(line=line, code=code, text=text, params=dict(params)))


def _too_many_rows(count: int) -> ImportResult:
    return ImportResult(file_error=FileError(TOO_MANY_ROWS, {"count": count, "limit": MAX_ROWS}))


def parse_pasted(text: str, *, existing_names: Iterable[str] = ()) -> ImportResult:
    """Names typed or pasted one per line. A tab (a row copied from a spreadsheet) separates
    the name from a group label; commas are part of the name ("Cohen, Dana")."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        return ImportResult(file_error=FileError(TEXT_TOO_LARGE, {"limit_mb": MAX_BYTES // (1024 * 1024)}))
    lines = list(enumerate(_LINE_BREAKS.split(text.lstrip("\ufeff")), start=1))
    lines = [(number, line) for number, line in lines if line.strip()]
    if lines and _is_header(lines[0][1].split("\t")):
        lines = lines[1:]  # a column copied from a spreadsheet, heading included
    if len(lines) > MAX_ROWS:
        return _too_many_rows(len(lines))
    collector = _Collector(existing_names)
    for number, line in lines:
        collector.add(number, line.split("\t"), line)
    if not collector.result.rows and not collector.result.errors:
        collector.result.file_error = FileError(EMPTY_FILE)
    return collector.result


def parse_csv(data: bytes, *, existing_names: Iterable[str] = ()) -> ImportResult:
    """A CSV file: name, optional group label; an optional header row; UTF-8 only."""
    text, error = _decode(data)
    if error is not None or text is None:
        return ImportResult(file_error=error)
    # Blank lines go before the csv module sees them (a megabyte of line breaks would cost it
    # seconds); each line kept remembers its number in the file, for the messages.
    lines = _LINE_BREAKS.split(text)
    numbers = [number for number, line in enumerate(lines, start=1) if line.strip()]
    kept = "\n".join(lines[number - 1] for number in numbers)
    reader = csv.reader(io.StringIO(kept, newline=""), delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            records.append((numbers[start - 1], cells))
            start = reader.line_num + 1
    except csv.Error:  # e.g. a field longer than the csv module allows
        return ImportResult(file_error=FileError(UNREADABLE))
    data_records = [(line, cells) for line, cells in records if any(cell.strip() for cell in cells)]
    if data_records and _is_header(data_records[0][1]):
        data_records = data_records[1:]
    if len(data_records) > MAX_ROWS:
        return _too_many_rows(len(data_records))
    collector = _Collector(existing_names)
    for line, cells in data_records:
        raw = lines[line - 1] if 0 < line <= len(lines) else ",".join(cells)
        collector.add(line, list(cells), raw)
    if not collector.result.rows and not collector.result.errors:
        collector.result.file_error = FileError(EMPTY_FILE)
    return collector.result
