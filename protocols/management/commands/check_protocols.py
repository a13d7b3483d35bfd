"""Validate the protocol fixtures and show that every protocol has a student and a teacher version.

    python manage.py check_protocols [--dir fixtures] [--database]

Exits non-zero, listing every problem, when a fixture is broken (missing teacher or student part,
duplicate field keys, a scale without labels, a field pointing at a missing step, an unknown
practice...). With --database it also checks that the loaded library matches the fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.loader import render_to_string
from django.utils.html import escape

from protocols.selectors import protocols_with_parts
from protocols.services import DEFAULT_FIXTURES_DIR, library_read, protocol_comparable, protocol_snapshot
from protocols.validation import age_bands_of, protocol_student_view, teacher_only_strings


def fixture_with_names(data: dict[str, Any], practices: dict[str, Any]) -> dict[str, Any]:
    """A fixture dict shaped like a snapshot (with display names), ready for _protocol_body.html."""
    names = {
        "age_bands": {b["slug"]: b["name"] for b in age_bands_of(practices)},
        "practices": {p["slug"]: p["name"] for p in practices["practices"]},
        "triangle": {p["slug"]: p["name"] for p in practices["triangle"]},
        "stances": {s["slug"]: s["text"] for s in practices["stances"] if s["slug"] in data["stances"]},
    }
    return {**data, "names": names}


def version_problems(data: dict[str, Any], practices: dict[str, Any]) -> list[str]:
    """Render both versions; the student one must hold none of the teacher-only sentences."""
    slug = data["slug"]
    problems = []
    teacher_html = render_to_string("protocols/_protocol_body.html", {"protocol": data, "version": "teacher"})
    student_data = protocol_student_view(data)
    student_html = render_to_string("protocols/_protocol_body.html", {"protocol": student_data, "version": "student"})
    if escape(data["teacher"]["purpose"]) not in teacher_html:
        problems.append(f"{slug}: the teacher version does not show the purpose")
    if escape(data["student"]["summary"]) not in student_html:
        problems.append(f"{slug}: the student version does not show the summary")
    for sentence in teacher_only_strings(data, practices):
        if escape(sentence) in student_html or sentence in str(student_data):
            problems.append(f"{slug}: teacher-only text reaches the student version: {sentence[:60]!r}")
    return problems


class Command(BaseCommand):
    help = "Validate protocol fixtures and report each protocol's student and teacher versions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", default=str(DEFAULT_FIXTURES_DIR), help="The fixtures folder.")
        parser.add_argument(
            "--database", action="store_true", help="Also check that the loaded library matches the fixtures."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = library_read(Path(options["dir"]))
        problems = list(files.problems)
        lines = []
        if not problems:
            for data in sorted(files.protocols.values(), key=lambda d: d["slug"]):
                data = fixture_with_names(data, files.practices)
                found = version_problems(data, files.practices)
                problems.extend(found)
                if not found:
                    lines.append(
                        f"ok {data['slug']}: student + teacher versions, "
                        f"{len(data['steps'])} steps, {len(data['fields'])} fields"
                    )
            if options["database"]:
                problems.extend(self._database_problems(files.protocols))
        for line in lines:
            self.stdout.write(line)
        if problems:
            raise CommandError(
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the protocol library:\n"
                + "\n".join(f"  {p}" for p in problems)
            )
        self.stdout.write(
            self.style.SUCCESS(f"{len(files.protocols)} protocols and {len(files.texts)} texts: no problems.")
        )

    def _database_problems(self, fixtures: dict[str, Any]) -> list[str]:
        loaded = {p.slug: p for p in protocols_with_parts()}
        problems = []
        for data in fixtures.values():
            protocol = loaded.get(data["slug"])
            if protocol is None:
                problems.append(f"{data['slug']}: not in the database (run python manage.py load_library)")
            elif protocol_comparable(protocol_snapshot(protocol)) != protocol_comparable(data):
                problems.append(f"{data['slug']}: the database differs from the fixture (run load_library)")
        return problems
