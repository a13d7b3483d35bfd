"""Load the protocol and text library from fixtures/ (safe to repeat; unchanged rows are not touched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from protocols.services import DEFAULT_FIXTURES_DIR, LibraryError, library_load


class Command(BaseCommand):
    help = "Load practices, protocols and texts from the fixtures folder (validated first, idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "fixtures_dir",
            nargs="?",
            default=str(DEFAULT_FIXTURES_DIR),
            help="Folder with practices.json, protocols/ and texts/ (default: the project's fixtures/).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fixtures_dir = Path(options["fixtures_dir"])
        try:
            report = library_load(fixtures_dir)
        except LibraryError as error:
            raise CommandError(
                f"The library in {fixtures_dir} was not loaded:\n" + "\n".join(f"  {p}" for p in error.problems)
            ) from error
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(f"Library loaded from {fixtures_dir}: {report.summary()}"))
