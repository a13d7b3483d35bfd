# Hebrew letters and punctuation (ס, ׃, ׳) are this module's subject, not look-alike typos.
# ruff: noqa: RUF002, RUF003
"""Cleaning, splitting and pairing of study texts (Hebrew and English side by side).

Plain Python on purpose (no Django import): the fixture builder in ``fixtures/texts/`` and the
teacher's "paste a text" form both go through here, and the parsers are tested by property.

Texts come from two places:

* Sefaria's public export, whose strings carry inline HTML (footnote markers and footnote bodies,
  small-caps "Lord", italics, ``<br>``), HTML entities and section markers such as ``{פ}``;
* whatever a teacher pastes, which may be numbered verses ("1 In the beginning ... 2 And the
  earth ...", "(1) ...", Hebrew numerals "א." / "(א)") or just one passage per line.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

MAX_SEGMENTS = 500

# --------------------------------------------------------------------------------------------
# Markup cleaning
# --------------------------------------------------------------------------------------------

# Only entities that end in ";" are decoded. html.unescape alone also decodes legacy names
# without a semicolon, so ordinary English like "you &not me" would turn into "you ¬ me".
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A tag starts right after "<" ("a < b" in prose is not one); group 3 holds attributes or "/".
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)((?:\s[^<>]*|/)?)>")
_ANY_TAG = re.compile(r"<[/!?]?[A-Za-z-][^<>]*>")
_BREAK_TAGS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
_SMALL_CAPS_ATTR = re.compile(r"small-?caps", re.IGNORECASE)
_FOOTNOTE_ATTR = re.compile(r"footnote", re.IGNORECASE)
# Sefaria marks open and closed sections ({פ}, {ס}) and songs ({ש}) with a Hebrew letter in braces.
_SECTION_MARKER = re.compile(r"\{[^\S\n]*[\u05d0-\u05ea]{1,3}[^\S\n]*\}")
_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s+")


def _unescape(s: str) -> str:
    # Repeat so that double-escaped input ("&amp;lt;") is fully decoded in one call; this is
    # what makes clean_markup idempotent.
    for _ in range(10):
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group(0)), s)
        if decoded == s:
            break
        s = decoded
    return s


def _element_end(s: str, start: int, name: str) -> int:
    """Index just past the element whose opening tag ends at ``start`` (balanced by tag name).

    Footnote bodies nest other tags of the same name (``<i class="footnote">Heb. <i>kanah</i>
    </i>``), so a non-greedy regex would cut them in half. -1 when the element is never closed.
    """
    depth = 1
    for m in _TAG.finditer(s, start):
        if m.group(2).lower() != name or m.group(3).rstrip().endswith("/"):
            continue
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return m.end()
    return -1


def _resolve_elements(s: str, keep_lines: bool) -> str:
    """Drop footnotes, upper-case small caps, turn block tags into breaks, unwrap the rest."""
    out: list[str] = []
    pos = 0
    while True:
        m = _TAG.search(s, pos)
        if m is None:
            out.append(s[pos:])
            break
        out.append(s[pos : m.start()])
        closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
        self_closing = attrs.rstrip().endswith("/")
        pos = m.end()
        if closing or self_closing:
            if name in _BREAK_TAGS:
                out.append("\n" if keep_lines else " ")
            continue
        if name == "sup" or _FOOTNOTE_ATTR.search(attrs):
            # <sup> in Sefaria texts is always a footnote marker; the footnote body follows
            # as <i class="footnote">…</i>. Both go, with everything inside them (but an
            # unclosed one in pasted text loses only its tag, not the rest of the passage).
            end = _element_end(s, pos, name)
            pos = end if end >= 0 else pos
            continue
        if name == "small" or _SMALL_CAPS_ATTR.search(attrs):
            end = _element_end(s, pos, name)
            if end < 0:
                continue
            inner = _resolve_elements(s[pos:end], keep_lines)
            # <span style="font-variant: small-caps">Lord</span> is read "LORD". A <small>
            # around a single word (Sefaria's <small>LORD</small>) is the same convention; a
            # longer <small> run is just small print and is kept as written.
            if name != "small" or re.fullmatch(r"\s*\w+\s*", inner):
                inner = inner.upper()
            out.append(inner)
            pos = end
            continue
        if name in _BREAK_TAGS:
            out.append("\n" if keep_lines else " ")
    return "".join(out)


def _clean_once(s: str, keep_lines: bool) -> str:
    s = _unescape(s)
    s = _resolve_elements(s, keep_lines)
    s = _ANY_TAG.sub(" ", s)
    s = _unescape(s)
    s = _SECTION_MARKER.sub(" ", s)
    # Nothing that looks like markup may reach a page or a PDF: stray angle brackets and
    # braces left by broken tags or markers are dropped.
    s = s.replace("<", "").replace(">", "").replace("{", "").replace("}", "")
    if keep_lines:
        lines = (_SPACES.sub(" ", line).strip() for line in s.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        return "\n".join(lines).strip()
    return _WHITESPACE.sub(" ", s).strip()


def clean_markup(s: str, *, keep_lines: bool = False) -> str:
    """Plain text from a Sefaria string or a pasted fragment.

    Removes HTML tags, footnote markers with their footnote text, Sefaria section markers
    (``{פ}``, ``{ס}``), decodes entities, reads small-caps "Lord" as "LORD" and collapses
    whitespace. Nikkud, cantillation, maqaf, paseq and sof pasuq (׃) are kept.

    With ``keep_lines`` line breaks (and ``<br>``/``<p>``) survive, so that a pasted text can
    still be split into lines afterwards. The result never contains ``<``, ``>``, ``{`` or ``}``,
    and cleaning twice gives the same result as cleaning once.
    """
    for _ in range(100):
        cleaned = _clean_once(s, keep_lines)
        if cleaned == s:
            break
        s = cleaned
    return s


# --------------------------------------------------------------------------------------------
# Script detection
# --------------------------------------------------------------------------------------------

MIXED_MINORITY_SHARE = 0.2


def _is_hebrew_letter(ch: str) -> bool:
    return "\u05d0" <= ch <= "\u05ea" or "\u05ef" <= ch <= "\u05f2" or "\ufb1d" <= ch <= "\ufb4f"


def _letter_counts(s: str) -> tuple[int, int]:
    """(Hebrew letters, other letters). Digits, punctuation and nikkud/te'amim are not letters."""
    hebrew = other = 0
    for ch in s:
        if _is_hebrew_letter(ch):
            # The presentation forms in FB1D-FB4F include a few points; count letters only.
            if unicodedata.category(ch).startswith("L"):
                hebrew += 1
        elif ch.isalpha():
            other += 1
    return hebrew, other


def detect_script(s: str) -> str:
    """The script of a text: "he", "en", "mixed" or "empty".

    Only letters count: digits, punctuation, nikkud and cantillation are ignored. A text is
    "mixed" when both scripts are present and the smaller one is more than 20% of its letters.
    Letters of other alphabets count with the Latin ones (they are "not Hebrew").
    """
    hebrew, other = _letter_counts(s)
    total = hebrew + other
    if total == 0:
        return "empty"
    if min(hebrew, other) / total > MIXED_MINORITY_SHARE:
        return "mixed"
    return "he" if hebrew > other else "en"


# --------------------------------------------------------------------------------------------
# Segment splitting
# --------------------------------------------------------------------------------------------

_HEBREW_DIGITS = {
    "א": 1, "ב": 2, "ג": 3, "ד": 4, "ה": 5, "ו": 6, "ז": 7, "ח": 8, "ט": 9,
    "י": 10, "כ": 20, "ך": 20, "ל": 30, "מ": 40, "ם": 40, "נ": 50, "ן": 50, "ס": 60,
    "ע": 70, "פ": 80, "ף": 80, "צ": 90, "ץ": 90, "ק": 100, "ר": 200, "ש": 300, "ת": 400,
}  # fmt: skip
_GERESH = "'\"׳״"

_ARABIC = r"\d{1,3}(?::\d{1,3})?"
_HEB_NUM = r"[א-ת]{1,3}[׳״'\"]?[א-ת]?"
# (1)  [1]  (א)  [א] anywhere, preceded by start or whitespace.
_BRACKETED = re.compile(rf"(?<!\S)[(\[]\s*(?P<num>{_ARABIC}|{_HEB_NUM})\s*[)\]](?=\s|$)")
# 1  1.  1)  4:1  anywhere, preceded by start or whitespace and followed by whitespace.
_BARE_ARABIC = re.compile(rf"(?<!\S)(?P<num>{_ARABIC})[.)]?(?=\s)")
# א.  א)  only at the start of a line: a bare Hebrew letter inline is just a word.
_BARE_HEBREW = re.compile(rf"(?m)^[^\S\n]*(?P<num>{_HEB_NUM})[.)](?=\s)")


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    label: str
    family: str  # "arabic" or "hebrew": a run of labels never switches between the two
    chapter: int | None
    verse: int


def _hebrew_value(token: str) -> int | None:
    letters = [ch for ch in token if ch not in _GERESH]
    if not letters or len(letters) > 4:
        return None
    values = [_HEBREW_DIGITS[ch] for ch in letters]
    # Numerals are written largest first (קכ״ג); anything else is a word, not a number.
    # 15 and 16 are written ט״ו / ט״ז, which is also largest first.
    if any(a < b for a, b in itertools.pairwise(values)):
        return None
    return sum(values)


def _candidates(text: str) -> list[_Candidate]:
    found: dict[int, _Candidate] = {}
    for pattern in (_BRACKETED, _BARE_ARABIC, _BARE_HEBREW):
        for m in pattern.finditer(text):
            token = m.group("num")
            start = m.start("num") if pattern is _BARE_HEBREW else m.start()
            if start in found:
                continue
            if token[0].isdigit():
                if ":" in token:
                    chapter_s, verse_s = token.split(":")
                    chapter, verse = int(chapter_s), int(verse_s)
                else:
                    chapter, verse = None, int(token)
                if verse == 0:
                    continue
                found[start] = _Candidate(start, m.end(), token, "arabic", chapter, verse)
            else:
                value = _hebrew_value(token)
                if value is None:
                    continue
                label = "".join(ch for ch in token if ch not in _GERESH)
                found[start] = _Candidate(start, m.end(), label, "hebrew", None, value)
    return [found[k] for k in sorted(found)]


def _follows(prev: _Candidate, cand: _Candidate) -> bool:
    if prev.family != cand.family or cand.start < prev.end:
        return False
    if prev.chapter is None or cand.chapter is None:
        return prev.chapter is None and cand.chapter is None and cand.verse == prev.verse + 1
    return (cand.chapter, cand.verse) in {(prev.chapter, prev.verse + 1), (prev.chapter + 1, 1)}


def _label_run(text: str) -> list[_Candidate]:
    """The longest run of consecutive verse numbers that starts the text, or []."""
    cands = _candidates(text)
    first = len(text) - len(text.lstrip())
    starts = [c for c in cands if c.start == first]
    if not starts:
        return []
    # Longest chain by dynamic programming over candidates in text order; only chains that
    # begin with the label at the very start of the text count.
    best: dict[int, tuple[int, int | None]] = {}  # index -> (chain length, previous index)
    by_key: dict[tuple[str, int | None, int], int] = {}  # (family, chapter, verse) -> best index
    for i, cand in enumerate(cands):
        if cand.start == first:
            best[i] = (1, None)
        else:
            options = []
            keys = [(cand.family, cand.chapter, cand.verse - 1)]
            if cand.chapter is not None and cand.verse == 1:
                # 4:26 -> 5:1: the previous chapter's last verse can be any number.
                keys += [k for k in by_key if k[0] == cand.family and k[1] == cand.chapter - 1]
            for key in keys:
                j = by_key.get(key)
                if j is not None and _follows(cands[j], cand):
                    options.append((best[j][0] + 1, j))
            if not options:
                continue
            best[i] = max(options)
        key = (cand.family, cand.chapter, cand.verse)
        if key not in by_key or best[i][0] >= best[by_key[key]][0]:
            by_key[key] = i
    end_index = max(best, key=lambda i: (best[i][0], -i))
    chain: list[_Candidate] = []
    index: int | None = end_index
    while index is not None:
        chain.append(cands[index])
        index = best[index][1]
    chain.reverse()
    if len(chain) == 1:
        # One number alone is a label only when written as one ("1." "(1)" "א."), so that a
        # line like "3 men came" is not read as verse 3.
        head = text[chain[0].start : chain[0].end].strip()
        if head == chain[0].label:
            return []
    return chain


def _squash(s: str) -> str:
    return _WHITESPACE.sub(" ", s).strip()


def _split(text: str) -> tuple[list[tuple[str, str]], bool]:
    chain = _label_run(text)
    if chain:
        segments = []
        for cand, nxt in zip(chain, [*chain[1:], None], strict=True):
            body = text[cand.end : nxt.start if nxt else len(text)]
            segments.append((cand.label, _squash(body)))
        return segments, True
    lines = [_squash(line) for line in text.splitlines()]
    return [(str(n), line) for n, line in enumerate((x for x in lines if x), start=1)], False


def split_segments(text: str) -> list[tuple[str, str]]:
    """Split a passage into (label, body) pairs.

    If the text starts with a verse number and goes on with consecutive ones, at line starts or
    inline ("1 In the beginning ... 2 And the earth ...", "(1) ...", "4:1 ...", "א. ...",
    "(א) ..."), the numbers become the labels. Otherwise every non-empty line is a segment,
    labelled "1", "2", ... Whitespace inside a body is collapsed; nothing else is dropped.
    """
    return _split(text)[0]


# --------------------------------------------------------------------------------------------
# Validation and pairing
# --------------------------------------------------------------------------------------------


class TextImportError(ValueError):
    """A pasted text that cannot be used; ``message`` is safe to show to the teacher."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Segment:
    label: str
    he: str
    en: str


@dataclass
class ParsedText:
    segments: list[Segment]


def _kb(n: int) -> int:
    return math.ceil(n / 1000)


def _label_key(label: str) -> tuple[int | None, int]:
    if label[0].isdigit():
        if ":" in label:
            chapter, verse = label.split(":")
            return int(chapter), int(verse)
        return None, int(label)
    return None, _hebrew_value(label) or 0


def _check_script(text: str, *, column: str, expected: str) -> None:
    script = detect_script(text)
    if script == "mixed":
        raise TextImportError(
            f"The {column} column mixes Hebrew and English letters. "
            "Put the Hebrew in the Hebrew column and the English in the English column."
        )
    if script not in (expected, "empty"):
        other = "English (Latin letters)" if expected == "he" else "Hebrew"
        raise TextImportError(f"The {column} column is mostly {other}. Did you paste it into the wrong column?")


def _plural(n: int) -> str:
    return f"{n} segment" if n == 1 else f"{n} segments"


def _pair_by_label(he: list[tuple[str, str]], en: list[tuple[str, str]]) -> list[Segment] | None:
    he_keys = [_label_key(label) for label, _ in he]
    en_keys = [_label_key(label) for label, _ in en]
    if any(c is None for c, _ in he_keys + en_keys):
        # One side says "4:1", the other "1": compare verse numbers only.
        he_keys = [(None, v) for _, v in he_keys]
        en_keys = [(None, v) for _, v in en_keys]
    if len(set(he_keys)) != len(he_keys) or len(set(en_keys)) != len(en_keys):
        return None
    if set(he_keys) != set(en_keys):
        only_he = [label for (label, _), k in zip(he, he_keys, strict=True) if k not in set(en_keys)]
        only_en = [label for (label, _), k in zip(en, en_keys, strict=True) if k not in set(he_keys)]
        parts = []
        if only_he:
            parts.append("only in the Hebrew: " + ", ".join(only_he[:10]))
        if only_en:
            parts.append("only in the English: " + ", ".join(only_en[:10]))
        raise TextImportError(
            f"The Hebrew has {_plural(len(he))} and the English has {_plural(len(en))}, "
            f"and their verse numbers do not match ({'; '.join(parts)})."
        )
    en_by_key = {k: (label, body) for k, (label, body) in zip(en_keys, en, strict=True)}
    # Hebrew order; the English label ("4:1", "1") wins over a Hebrew numeral.
    return [
        Segment(label=en_by_key[k][0], he=he_body, en=en_by_key[k][1])
        for k, (_, he_body) in zip(he_keys, he, strict=True)
    ]


def parse_text_input(*, hebrew: str, english: str, max_bytes: int = 200_000) -> ParsedText:
    """Validate a pasted Hebrew/English text and pair its segments.

    Segments are paired by verse number when both columns are numbered, otherwise by position.
    Either column may be left empty (a Hebrew-only or English-only text). Raises
    ``TextImportError`` with a message for the teacher when the text cannot be used.
    """
    hebrew = hebrew or ""
    english = english or ""
    if not hebrew.strip() and not english.strip():
        raise TextImportError("Both columns are empty. Paste the Hebrew, the English, or both.")
    size = len(hebrew.encode("utf-8")) + len(english.encode("utf-8"))
    if size > max_bytes:
        raise TextImportError(
            f"The text is too long: {_kb(size)} KB; the limit is {_kb(max_bytes)} KB. Split it into shorter passages."
        )

    # A column with no letters at all (only markup, numbers or punctuation) counts as empty.
    he_text = clean_markup(hebrew, keep_lines=True)
    en_text = clean_markup(english, keep_lines=True)
    he_text = he_text if detect_script(he_text) != "empty" else ""
    en_text = en_text if detect_script(en_text) != "empty" else ""
    if not he_text and not en_text:
        raise TextImportError("Both columns are empty. Paste the Hebrew, the English, or both.")
    _check_script(he_text, column="Hebrew", expected="he")
    _check_script(en_text, column="English", expected="en")

    he, he_labelled = _split(he_text) if he_text else ([], False)
    en, en_labelled = _split(en_text) if en_text else ([], False)
    for column, segments in (("Hebrew", he), ("English", en)):
        if len(segments) > MAX_SEGMENTS:
            raise TextImportError(
                f"The {column} has {len(segments)} segments; the limit is {MAX_SEGMENTS}. "
                "Split it into shorter passages."
            )

    if not en:
        return ParsedText([Segment(label, body, "") for label, body in he])
    if not he:
        return ParsedText([Segment(label, "", body) for label, body in en])
    if he_labelled and en_labelled:
        paired = _pair_by_label(he, en)
        if paired is not None:
            return ParsedText(paired)
    if len(he) != len(en):
        raise TextImportError(
            f"The Hebrew has {_plural(len(he))} but the English has {_plural(len(en))}. "
            "Each verse or line needs a partner in the other column."
        )
    labels = [label for label, _ in (en if en_labelled or not he_labelled else he)]
    return ParsedText(
        [Segment(label, he_body, en_body) for label, (_, he_body), (_, en_body) in zip(labels, he, en, strict=True)]
    )
