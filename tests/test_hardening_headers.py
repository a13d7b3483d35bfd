"""Security headers and pages without inline script: what a browser enforces on every page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import client_for
from tests.reflections_fixtures import assign_lesson, end_learning
from worksheets.models import Worksheet

pytestmark = pytest.mark.django_db

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data blocks: never executed


class InlineCode(HTMLParser):
    """Inline script, event-handler attributes, inline styles and javascript: links in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and "src" not in values and (values.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")
            if name == "style":
                self.found.append(f"style= on <{tag}> at line {self.getpos()[0]}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


def _pages(world) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(persona, url) of the main pages of every kind of user."""
    warm_up, _text = assign_lesson(world.session, world.teacher)
    worksheet = Worksheet.objects.get(assignment=warm_up, havruta__memberships__student=world.student)
    end_learning(world.session, world.teacher)
    return [
        ("anonymous", reverse("landing")),
        ("anonymous", reverse("account_login")),
        ("anonymous", reverse("classrooms:join")),
        ("anonymous", reverse("privacy")),
        ("teacher", reverse("classrooms:teacher_home")),
        ("teacher", reverse("classrooms:detail", args=[world.classroom.pk])),
        ("teacher", reverse("classrooms:student_remove", args=[world.classroom.pk, world.student.pk])),
        ("teacher", reverse("protocols:library")),
        ("teacher", reverse("worksheets:detail", args=[worksheet.pk])),
        ("student", reverse("worksheets:detail", args=[worksheet.pk])),
        ("student", reverse("classrooms:student_home")),
        ("student", reverse("reflections:reflection", args=[world.session.pk])),
        ("teacher", reverse("reflections:session_overview", args=[world.session.pk])),
    ]


def test_it_sends_a_strict_content_security_policy_on_every_main_page(world) -> None:  # type: ignore[no-untyped-def]
    for persona, url in _pages(world):
        response = client_for(world, persona).get(url)
        assert response.status_code == 200, (persona, url, response.status_code)
        policy = _directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], url
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        assert policy["default-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]
        if url.startswith("/worksheets/"):  # framed by the live dashboard of the same site
            assert (policy["frame-ancestors"], response["X-Frame-Options"]) == (["'self'"], "SAMEORIGIN")
        else:
            assert (policy["frame-ancestors"], response["X-Frame-Options"]) == (["'none'"], "DENY")
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "camera=()" in response["Permissions-Policy"]
        parser = InlineCode()
        parser.feed(response.content.decode())
        assert parser.found == [], (persona, url, parser.found)


def test_it_lets_only_the_same_site_frame_a_worksheet(world) -> None:  # type: ignore[no-untyped-def]
    warm_up, _text = assign_lesson(world.session, world.teacher)
    worksheet = Worksheet.objects.get(assignment=warm_up, havruta__memberships__student=world.student)
    response = client_for(world, "teacher").get(reverse("worksheets:detail", args=[worksheet.pk]))
    policy = _directives(response["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["frame-src"] == ["'self'"]
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_it_sends_no_policy_on_downloads(world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("classrooms:student_export", args=[world.classroom.pk, world.student.pk])
    response = client_for(world, "teacher").get(url)
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


APPS = ("templates", "accounts", "classrooms", "protocols", "worksheets", "reflections")
TEMPLATE_ROOTS = [Path(settings.BASE_DIR) / name for name in APPS]
SCRIPT_TAG = re.compile(r"<script\b(?P<attrs>[^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)


def test_it_keeps_every_template_free_of_inline_script() -> None:
    offenders = []
    for root in TEMPLATE_ROOTS:
        for path in root.rglob("*.html"):
            text = path.read_text()
            for match in SCRIPT_TAG.finditer(text):
                attrs = match.group("attrs")
                if "src=" not in attrs and "application/json" not in attrs:
                    offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}")
            handler = HANDLER.search(text)
            if handler:
                offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {handler.group(0)[-40:]}")
    assert offenders == []


@pytest.mark.slow
def test_it_passes_the_production_checklist() -> None:
    """`check --deploy` in production mode, as CI runs it (.ci/run)."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "test-" + "x" * 60,
        "ALLOWED_HOSTS": "havruta.example",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by browser tests run earlier in this worker
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
