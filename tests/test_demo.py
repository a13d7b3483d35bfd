"""`python manage.py demo`: what a newcomer sees after `make run`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from classrooms.models import Assignment, Classroom, Enrollment, Havruta, PairingSession
from protocols.models import Protocol
from worksheets.models import Worksheet

pytestmark = pytest.mark.django_db


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_it_loads_the_library_a_class_and_todays_lesson_and_prints_the_logins() -> None:
    output = run_demo()
    classroom = Classroom.objects.get(name="Grade 7 Chumash (demo)")
    assert Protocol.objects.filter(slug="listening-to-the-text").exists()
    assert "teacher" + "@" + "example.org" in output and "havruta-demo-2026" in output
    assert classroom.join_code in output
    for enrollment in Enrollment.objects.filter(classroom=classroom):
        assert f"{enrollment.student.display_name:<10} PIN {enrollment.pin}" in output
    session = PairingSession.objects.get(classroom=classroom)
    sizes = sorted(h.memberships.count() for h in Havruta.objects.filter(session=session))
    assert sizes == [2, 2, 3]  # seven students: two pairs and one triad
    titles = [a.protocol_version.protocol.slug for a in Assignment.objects.filter(session=session).order_by("position")]
    assert titles == ["havruta-warm-up-younger", "listening-to-the-text"]
    assert Worksheet.objects.filter(assignment__session=session).count() == 6


def test_it_can_run_again_without_duplicating_anything() -> None:
    first = run_demo()
    counts = [m.objects.count() for m in (Classroom, Enrollment, PairingSession, Assignment, Worksheet)]
    second = run_demo()
    assert [m.objects.count() for m in (Classroom, Enrollment, PairingSession, Assignment, Worksheet)] == counts
    assert first == second
