"""Helpers for the PDF tests (tests/test_pdf_*.py): read real PDFs back, build worked assignments.

Every PDF here is made by the real WeasyPrint; text is read back with pypdf (and poppler's
pdftotext / pdftoppm where positions or pixels matter).
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.conf import settings
from fontTools.ttLib import TTFont

from accounts.models import User
from classrooms.models import Assignment, PairingSession
from classrooms.services_pairing import assignment_create
from protocols.models import Protocol, Text
from protocols.services import library_load
from worksheets.models import FieldAnswer, Worksheet

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
PROTOCOL_SLUGS = sorted(path.stem for path in (FIXTURES / "protocols").glob("*.json"))
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "pdf"


def fixture_protocol(slug: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "protocols" / f"{slug}.json").read_text(encoding="utf-8"))


def fixture_text(slug: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "texts" / f"{slug}.json").read_text(encoding="utf-8"))


def pdf_reader(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-"), "not a PDF"
    return pypdf.PdfReader(io.BytesIO(pdf))


def assert_accessible(pdf: bytes, *, title: str, lang: str = "en") -> None:
    """A tagged PDF (WeasyPrint's PDF/UA-1) whose title (shown instead of the file name) and language are set."""
    reader = pdf_reader(pdf)
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]), "not a tagged PDF"
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == lang
    assert title in (reader.metadata.title or "")
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert "pdfuaid:part" in root["/Metadata"].get_object().get_data().decode()


def pdf_pages(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pdf_reader(pdf).pages]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pdf_pages(pdf))


def flat(text: str) -> str:
    """Whitespace collapsed, so a sentence wrapped over two lines still matches."""
    return " ".join(text.split())


def squash(text: str) -> str:
    """All whitespace removed: a sentence still matches when a line broke after a hyphen ("self- assessment")."""
    return "".join(text.split())


def letters(text: str) -> str:
    """Hebrew without nikkud and cantillation (extractors differ on combining marks, not on letters)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def pdf_fonts(pdf: bytes) -> set[str]:
    """Base names of every font the PDF embeds ("ABCDEF+NotoSerifHebrew-Regular" -> "NotoSerifHebrew-Regular")."""
    names: set[str] = set()
    for page in pdf_reader(pdf).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            name = str(ref.get_object().get("/BaseFont", ""))
            names.add(name.lstrip("/").split("+", 1)[-1])
    return names


# The fonts a PDF may embed: the @font-face family of static/print/base.css, by weight.
SHIPPED_FONT_FILES = {
    "Havruta-Hebrew": Path(settings.BASE_DIR) / "static" / "fonts" / "NotoSerifHebrew-Regular.ttf",
    "Havruta-Hebrew-Bold": Path(settings.BASE_DIR) / "static" / "fonts" / "NotoSerifHebrew-Bold.ttf",
}


@cache
def _glyph_count(path: Path) -> int:
    return int(TTFont(path)["maxp"].numGlyphs)


def _to_unicode(cmap: str) -> dict[int, str]:
    """Glyph id -> text, from a font's ToUnicode CMap (bfchar and bfrange entries)."""
    glyphs: dict[int, str] = {}

    def text(hex_text: str) -> str:
        return bytes.fromhex(hex_text).decode("utf-16-be") if hex_text else ""

    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for glyph, target in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>", block):
            glyphs[int(glyph, 16)] = text(target)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for first, last, target in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            start = int(target, 16)
            for offset, glyph in enumerate(range(int(first, 16), int(last, 16) + 1)):
                glyphs[glyph] = chr(start + offset)
    return glyphs


def missing_glyphs(pdf: bytes) -> set[str]:
    """Characters the PDF draws as missing-glyph boxes, or in a font we do not ship.

    Pango draws a character the font lacks with a glyph id past the end of the font (or .notdef,
    id 0), and WeasyPrint still maps that id to the character in the font's ToUnicode CMap; so
    an id outside the shipped font's glyphs is a box on paper, even though the font is ours.
    """
    missing: set[str] = set()
    for page in pdf_reader(pdf).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            name = str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1]
            to_unicode = font.get("/ToUnicode")
            glyphs = _to_unicode(to_unicode.get_object().get_data().decode("latin-1")) if to_unicode else {}
            path = SHIPPED_FONT_FILES.get(name)
            if path is None:
                missing |= {t for t in glyphs.values() if t.strip()} or {f"<{name}>"}
                continue
            count = _glyph_count(path)
            missing |= {t or f"<glyph {g}>" for g, t in glyphs.items() if g == 0 or g >= count}
    return missing


def struct_languages(pdf: bytes) -> dict[str, int]:
    """How many structure elements holding text carry each /Lang (what a screen reader switches on)."""
    counts: dict[str, int] = {}

    def resolve(node: Any) -> Any:
        return node.get_object() if hasattr(node, "get_object") else node

    def has_text(node: Any) -> bool:
        node = resolve(node)
        if isinstance(node, int):
            return True  # a marked-content id: text (or a drawing) on a page
        if isinstance(node, pypdf.generic.ArrayObject):
            return any(has_text(kid) for kid in node)
        return isinstance(node, pypdf.generic.DictionaryObject) and "/K" in node and has_text(node["/K"])

    def walk(node: Any) -> None:
        node = resolve(node)
        if isinstance(node, pypdf.generic.ArrayObject):
            for kid in node:
                walk(kid)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if "/Lang" in node and "/S" in node and has_text(node):
                counts[str(node["/Lang"])] = counts.get(str(node["/Lang"]), 0) + 1
            if "/K" in node:
                walk(node["/K"])

    walk(pdf_reader(pdf).trailer["/Root"]["/StructTreeRoot"])
    return counts


def struct_figures(pdf: bytes) -> list[str]:
    """The alternative text of every figure (image, SVG) in the structure tree, in order."""
    alts: list[str] = []

    def walk(node: Any) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, pypdf.generic.ArrayObject):
            for kid in node:
                walk(kid)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if node.get("/S") == "/Figure":
                alts.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])

    walk(pdf_reader(pdf).trailer["/Root"]["/StructTreeRoot"])
    return alts


@dataclass(frozen=True)
class Word:
    """A word where pdftotext found it: page (from 1) and box in points from the top left."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass(frozen=True)
class PageWords:
    width: float
    height: float
    words: list[Word]  # every page's words in reading order, running header and footer left out


# The page margins of static/css/print/base.css (19 mm top, 17 mm bottom), in points.
TOP_MARGIN = 19 * 72 / 25.4
BOTTOM_MARGIN = 17 * 72 / 25.4


def pdf_words(pdf: bytes, tmp_path: Path) -> PageWords:
    """The words of the page bodies (not the running header and footer), with their positions."""
    path = tmp_path / "words.pdf"
    path.write_bytes(pdf)
    xhtml = run(poppler("pdftotext"), "-bbox", path, "-")
    words: list[Word] = []
    width = height = 0.0
    for number, page in enumerate(xhtml.split("<page ")[1:], start=1):
        size = re.match(r'width="([\d.]+)" height="([\d.]+)"', page)
        assert size is not None
        width, height = float(size.group(1)), float(size.group(2))
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
        ):
            word = Word(number, float(x0), float(y0), float(x1), float(y1), html.unescape(text))
            if word.y0 > TOP_MARGIN and word.y1 < height - BOTTOM_MARGIN:
                words.append(word)
    return PageWords(width, height, words)


def find_phrase(words: list[Word], phrase: str, start: int = 0) -> tuple[int, int] | None:
    """(first, last) index of the words of ``phrase`` in ``words``, searching from ``start``."""
    wanted = squash(phrase)
    for first in range(start, len(words)):
        if not wanted.startswith(squash(words[first].text)) or not words[first].text.strip():
            continue
        joined = ""
        for last in range(first, len(words)):
            joined += squash(words[last].text)
            if joined == wanted:
                return first, last
            if not wanted.startswith(joined):
                break
    return None


def poppler(tool: str) -> str:
    """The path of a poppler tool; tests skip locally without poppler-utils and fail in CI."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PDF pixel tests, but {tool} is missing (apt-get install -y poppler-utils).")
        pytest.skip(f"{tool} not found: install Debian's poppler-utils to run this test.")
    return path


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, timeout=60).stdout


def save_pngs(pdf: bytes, name: str, *, first: int = 1, last: int = 2) -> list[Path]:
    """Pages of a PDF as PNGs under artifacts/pdf/ (CI keeps them) for a person to look at."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    run(tool, "-r", "80", "-png", "-f", str(first), "-l", str(last), source, ARTIFACTS / name)
    source.unlink()
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


# --------------------------------------------------------------------------------------------
# A worked assignment: the real library, the `world` class, answers written by both partners
# --------------------------------------------------------------------------------------------


def assign(
    *, session: PairingSession, by: User, protocol_slug: str = "listening-to-my-peer-partner", text_slug: str = ""
) -> Assignment:
    if not Protocol.objects.filter(slug=protocol_slug).exists():
        library_load(FIXTURES)
    protocol = Protocol.objects.get(slug=protocol_slug)
    text = Text.objects.get(slug=text_slug) if text_slug else None
    (assignment,) = assignment_create(session=session, by=by, protocol=protocol, text=text, date=session.date)
    return assignment


def answer(worksheet: Worksheet, key: str, value: Any, student: User | None = None) -> FieldAnswer:
    """What the live server materialises from the documents (worksheets/PROTOCOL.md shapes)."""
    return FieldAnswer.objects.create(worksheet=worksheet, field_key=key, student=student, value=value)
