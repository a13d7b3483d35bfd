"""Helpers for the PDF tests (tests/test_pdf_*.py): read real PDFs back, build worked assignments.

Every PDF here is made by the real WeasyPrint; text is read back with pypdf (and poppler's
pdftotext / pdftoppm where positions or pixels matter).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.conf import settings

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
