"""Retention: delete archived classes (and their students) archived more than RETENTION_MONTHS ago.

    python manage.py purge_expired            # dry run: lists what would be deleted
    python manage.py purge_expired --apply    # deletes it

Each student goes through the same deletion service as the roster's "Remove" page, with
"delete everything the student wrote" (classrooms/services_privacy.py), then the class itself.
Run it daily (cron, a systemd timer); it is safe to repeat.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from classrooms.services_privacy import classroom_purge, expired_classrooms


class Command(BaseCommand):
    help = "List (or with --apply delete) archived classes older than RETENTION_MONTHS, with their students."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Delete. Without it nothing is changed.")
        parser.add_argument(
            "--months",
            type=int,
            default=None,
            help="Months after archiving (default: the RETENTION_MONTHS setting).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        months = options["months"] if options["months"] is not None else settings.RETENTION_MONTHS
        if months < 1:
            self.stderr.write("The retention period must be at least one month.")
            raise SystemExit(2)
        apply = options["apply"]
        classes = expired_classrooms(months=months)
        verb = "Deleting" if apply else "Would delete"
        self.stdout.write(
            f"{verb} {len(classes)} class(es) archived more than {months} month(s) ago"
            + ("." if apply else " (dry run; add --apply to delete).")
        )
        students = 0
        for classroom in classes:
            roster = [e.student for e in classroom.enrollments.all()]
            students += len(roster)
            archived = classroom.archived_at.date().isoformat() if classroom.archived_at else "-"
            self.stdout.write(
                f"- class {classroom.pk} “{classroom.name}”, archived {archived}, {len(roster)} student(s)"
            )
            for student in roster:
                self.stdout.write(f"    student {student.pk} {student.display_name}")
            if apply:
                classroom_purge(classroom=classroom)
        done = "Deleted" if apply else "Nothing deleted:"
        self.stdout.write(f"{done} {len(classes)} class(es), {students} student(s).")
