"""Roster uploads that are not a class list: wrong encodings, binaries, huge files, huge lists.

Through the real page, as a teacher uploads. Every one gets a clear sentence (in English and in
Hebrew), never a 500; nothing is added (no student, and no preview waiting to be confirmed); and
a file over the limit (1 MB, 500 students: classrooms/roster_import.py) is refused by its size
before it is read, so a 50 MB upload costs neither memory nor parsing.
"""

from __future__ import annotations

import html
import random
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from classrooms import forms as roster_forms
from classrooms import roster_import, views
from classrooms.forms import FILE_ERROR_MESSAGES
from classrooms.models import Enrollment
from tests.conftest import World, client_for

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def png() -> bytes:
    """A real (1x1, white) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


NAMES = "name,group\nJosé,Blue\nRenée,Green\nZoë\nשָׂרָה,Blue\n"
CASES: dict[str, tuple[bytes, str]] = {
    "latin-1": (NAMES.replace("שָׂרָה", "Sarah").encode("latin-1"), roster_import.NOT_UTF8),
    "windows-1255 (Hebrew)": ("name\nשרה\nדוד\n".encode("cp1255"), roster_import.NOT_UTF8),
    "utf-16 without BOM (little endian)": (NAMES.encode("utf-16-le"), roster_import.NOT_UTF8),
    "utf-16 without BOM (big endian)": (NAMES.encode("utf-16-be"), roster_import.NOT_UTF8),
    "utf-16 with BOM": (NAMES.encode("utf-16"), roster_import.NOT_UTF8),
    "Hebrew-only utf-16 without BOM": ("דנה כהן לוי\nשרה אברהמי\n".encode("utf-16-le"), roster_import.NOT_UTF8),
    "png": (png(), roster_import.BINARY),
    "random bytes": (random.Random(9).randbytes(5000), roster_import.BINARY),
    "xlsx": (b"PK\x03\x04" + random.Random(3).randbytes(3000), roster_import.SPREADSHEET),
    "100,000 rows (under 1 MB)": ("".join(f"S{i}\n" for i in range(100_000)).encode(), roster_import.TOO_MANY_ROWS),
    "100,000 rows (over 1 MB)": ("".join(f"Student {i},Blue\n" for i in range(100_000)).encode(), "size"),
    "1 MB and one byte": (b"Dana\n" + b" " * (MB - 4), "size"),
    "50 MB": (b"Dana,Blue\n" * (5 * MB), "size"),
}


def message(code: str, data: bytes) -> str:
    """The sentence the teacher should see, in the active language."""
    if code == "size":
        return str(FILE_ERROR_MESSAGES[roster_import.FILE_TOO_LARGE]) % {"limit_mb": 1}
    result = roster_import.parse_csv(data)
    assert result.file_error is not None and result.file_error.code == code
    return roster_forms.file_error_message(result.file_error)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The size of every file the view handed to the parser."""
    sizes: list[int] = []
    real = views.parse_csv

    def spy(data: bytes, **kwargs: Any) -> roster_import.ImportResult:
        sizes.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(views, "parse_csv", spy)
    yield sizes


def upload(client: Client, world: World, data: bytes, name: str = "class.csv") -> tuple[Any, float]:
    started = time.perf_counter()
    response = client.post(
        reverse("classrooms:roster_add", args=[world.classroom.pk]),
        {"names": "", "csv_file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )
    return response, time.perf_counter() - started


def assert_nothing_added(client: Client, world: World, before: int) -> None:
    assert Enrollment.objects.filter(classroom=world.classroom).count() == before
    key = views.IMPORT_SESSION_KEY.format(pk=world.classroom.pk)
    assert key not in client.session  # no preview is waiting to be confirmed
    response = client.post(reverse("classrooms:roster_confirm", args=[world.classroom.pk]), {"token": ""})
    assert response.status_code == 302
    assert Enrollment.objects.filter(classroom=world.classroom).count() == before


@pytest.mark.parametrize("case", list(CASES))
def test_it_refuses_a_file_that_is_not_a_class_list_with_a_clear_reason(
    world: World, parsed: list[int], case: str
) -> None:
    data, code = CASES[case]
    client = client_for(world, "teacher")
    before = Enrollment.objects.filter(classroom=world.classroom).count()
    response, seconds = upload(client, world, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert html.escape(message(code, data)) in page, page[page.find("errorlist") - 200 : page.find("errorlist") + 600]
    assert page.count('class="errorlist') == 1  # one sentence, not a pile of them
    assert_nothing_added(client, world, before)
    # Never more than the limit and one byte reaches the parser; a file over the limit none at all.
    assert all(size <= roster_import.MAX_BYTES + 1 for size in parsed)
    if code == "size":
        assert parsed == []
    assert seconds < 15, f"{case} took {seconds:.1f} s"


@pytest.mark.parametrize(
    "case", ["latin-1", "utf-16 without BOM (little endian)", "png", "100,000 rows (under 1 MB)", "50 MB"]
)
def test_it_says_so_in_hebrew_to_a_teacher_who_reads_hebrew(world: World, case: str) -> None:
    data, code = CASES[case]
    world.teacher.language = "he"
    world.teacher.save(update_fields=["language"])
    response, _seconds = upload(client_for(world, "teacher"), world, data)
    assert response.status_code == 200
    with translation.override("en"):
        english = message(code, data)
    with translation.override("he"):
        hebrew = message(code, data)
    assert hebrew != english and any("\u05d0" <= ch <= "\u05ea" for ch in hebrew), hebrew
    assert html.escape(hebrew) in response.content.decode()


def test_it_previews_a_file_of_exactly_one_megabyte(world: World) -> None:
    """The limit is 1 MB: a file of exactly that size is read (blank lines are skipped)."""
    names = "".join(f"Student {i}\n" for i in range(400)).encode()
    data = names + b"\n" * (roster_import.MAX_BYTES - len(names))
    assert len(data) == roster_import.MAX_BYTES
    response, _seconds = upload(client_for(world, "teacher"), world, data)
    assert response.status_code == 200
    assert "Student 399" in response.content.decode() and 'class="errorlist' not in response.content.decode()


def test_it_says_when_pasted_names_are_over_the_limit(world: World) -> None:
    client = client_for(world, "teacher")
    before = Enrollment.objects.filter(classroom=world.classroom).count()
    text = "Dana\n" + " " * roster_import.MAX_BYTES
    response = client.post(reverse("classrooms:roster_add", args=[world.classroom.pk]), {"names": text})
    assert response.status_code == 200
    expected = str(roster_forms.FILE_ERROR_MESSAGES[roster_import.TEXT_TOO_LARGE]) % {"limit_mb": 1}
    assert html.escape(expected) in response.content.decode()
    assert "file" not in expected
    assert_nothing_added(client, world, before)


def test_it_answers_a_request_too_big_for_any_form_with_400_not_500(world: World) -> None:
    """Past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB of form fields) Django refuses the request itself.
    A browser never sends that much: the names box has a maxlength of the limit."""
    client = client_for(world, "teacher")
    before = Enrollment.objects.filter(classroom=world.classroom).count()
    response = client.post(reverse("classrooms:roster_add", args=[world.classroom.pk]), {"names": "x" * 3 * MB})
    assert response.status_code == 400
    assert Enrollment.objects.filter(classroom=world.classroom).count() == before
    page = client.get(reverse("classrooms:roster_add", args=[world.classroom.pk])).content.decode()
    assert f'maxlength="{roster_import.MAX_BYTES}"' in page
