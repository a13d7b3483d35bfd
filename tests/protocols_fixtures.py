"""Shared helpers for the protocol and text library tests (tests/test_protocols_*.py, test_texts_*.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from protocols.services import DEFAULT_FIXTURES_DIR, LoadReport, library_load

FIXTURES = Path(DEFAULT_FIXTURES_DIR)
PROTOCOL_SLUGS = sorted(path.stem for path in (FIXTURES / "protocols").glob("*.json"))
TEXT_SLUGS = sorted(path.stem for path in (FIXTURES / "texts").glob("*.json"))


def fixture_protocol(slug: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "protocols" / f"{slug}.json").read_text(encoding="utf-8"))


def fixture_practices() -> dict[str, Any]:
    return json.loads((FIXTURES / "practices.json").read_text(encoding="utf-8"))


def copy_fixtures(tmp_path: Path) -> Path:
    """A private copy of fixtures/ that a test may edit or break."""
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    return target


def write_protocol(fixtures_dir: Path, data: dict[str, Any]) -> None:
    path = fixtures_dir / "protocols" / f"{data['slug']}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


@pytest.fixture
def library(db: None) -> LoadReport:
    """The shipped library, loaded the way `python manage.py load_library` loads it."""
    return library_load(FIXTURES)
