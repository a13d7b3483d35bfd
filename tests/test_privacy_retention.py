"""Retention: archived classes and their students are deleted RETENTION_MONTHS after archiving."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from classrooms.models import Classroom, Enrollment
from classrooms.services import classroom_archive
from classrooms.services_privacy import months_before
from tests.factories import make_classroom, make_student
from tests.privacy_fixtures import NAME, PRIVATE_SENTENCES, SHARED_SENTENCES, find_traces, full_trace
from worksheets.models import DocUpdate, Worksheet

pytestmark = pytest.mark.django_db


def _archive(classroom: Classroom, *, days_ago: int) -> None:
    classroom_archive(classroom=classroom)
    Classroom.objects.filter(pk=classroom.pk).update(archived_at=timezone.now() - datetime.timedelta(days=days_ago))


def _purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_expired", *args, stdout=out)
    return out.getvalue()


def test_it_sets_the_archive_date_when_a_class_is_archived(world) -> None:  # type: ignore[no-untyped-def]
    classroom_archive(classroom=world.classroom)
    world.classroom.refresh_from_db()
    assert world.classroom.archived_at is not None
    assert abs((timezone.now() - world.classroom.archived_at).total_seconds()) < 60


def test_it_only_lists_expired_classes_in_a_dry_run(world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RETENTION_MONTHS = 18
    trace = full_trace(world)
    _archive(world.classroom, days_ago=19 * 31)
    recent = make_classroom(teacher=world.teacher, name="Archived last month")
    make_student(classroom=recent, name="Recent Student")
    _archive(recent, days_ago=30)

    output = _purge()

    assert "Would delete 1 class(es) archived more than 18 month(s) ago (dry run; add --apply to delete)." in output
    assert f"class {world.classroom.pk} “Grade 7 Chumash”" in output
    assert f"student {trace.student.pk} {NAME}" in output
    assert "Recent Student" not in output and "Archived last month" not in output
    assert "Nothing deleted: 1 class(es), 4 student(s)." in output
    assert User.objects.filter(pk=trace.student.pk).exists()
    assert Classroom.objects.filter(pk=world.classroom.pk).exists()
    assert DocUpdate.objects.exists()


def test_it_deletes_expired_classes_and_every_trace_of_their_students(world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RETENTION_MONTHS = 18
    trace = full_trace(world)
    _archive(world.classroom, days_ago=19 * 31)
    _archive(world.other_class, days_ago=30)  # archived, not yet expired
    students = list(Enrollment.objects.filter(classroom=world.classroom).values_list("student_id", flat=True))

    output = _purge("--apply")

    assert "Deleted 1 class(es), 4 student(s)." in output
    assert not Classroom.objects.filter(pk=world.classroom.pk).exists()
    assert not User.objects.filter(pk__in=students).exists()
    assert not Worksheet.objects.filter(pk__in=[trace.warm_up.pk, trace.text_sheet.pk]).exists()
    assert find_traces(trace.student.pk, (NAME, *SHARED_SENTENCES, *PRIVATE_SENTENCES)) == []
    # The teacher, and the class that is not yet due, stay.
    assert User.objects.filter(pk=world.teacher.pk).exists()
    assert Enrollment.objects.filter(student=world.outsider).exists()
    assert "Deleted 0 class(es), 0 student(s)." in _purge("--apply")  # safe to repeat


def test_it_never_touches_active_classes(world) -> None:  # type: ignore[no-untyped-def]
    output = _purge("--apply", "--months", "1")
    assert "Deleted 0 class(es), 0 student(s)." in output
    assert Enrollment.objects.count() == 5


def test_it_follows_the_retention_setting(world, settings) -> None:  # type: ignore[no-untyped-def]
    _archive(world.classroom, days_ago=100)
    settings.RETENTION_MONTHS = 6
    assert "Would delete 0 class(es)" in _purge()
    settings.RETENTION_MONTHS = 3
    assert "Would delete 1 class(es)" in _purge()


def test_it_counts_calendar_months() -> None:
    utc = datetime.UTC
    assert months_before(datetime.datetime(2026, 3, 31, 12, tzinfo=utc), 1) == datetime.datetime(
        2026, 2, 28, 12, tzinfo=utc
    )
    assert months_before(datetime.datetime(2026, 1, 15, tzinfo=utc), 18) == datetime.datetime(2024, 7, 15, tzinfo=utc)
    assert months_before(datetime.datetime(2024, 5, 31, tzinfo=utc), 3) == datetime.datetime(2024, 2, 29, tzinfo=utc)


def test_it_states_what_is_kept_and_for_how_long_on_the_privacy_page(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RETENTION_MONTHS = 18
    page = client.get("/privacy/").content.decode()
    assert "deleted 18 months after the archive date" in page
    assert "Export data" in page and "Keep shared work, anonymised" in page
    assert "Delete everything the student wrote" in page
    assert "never names, answers or PINs" in page
