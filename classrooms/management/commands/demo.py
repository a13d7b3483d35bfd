"""Load the library and a demo class, then print the logins. Safe to run again and again."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from classrooms.models import Classroom, Enrollment, PairingSession
from classrooms.services import classroom_add_teacher, classroom_create, student_create
from classrooms.services_pairing import assignment_create, pairing_session_create
from protocols.models import Protocol, Text

DEMO_PASSWORD = "havruta-demo-2026"  # noqa: S105 - a published demo login, local mode only
DEMO_DOMAIN = "example.org"
DEMO_CLASS = "Grade 7 Chumash (demo)"
DEMO_STUDENTS = ["Dana", "Eli", "Noa", "Yoni", "Maya", "Ari", "Tamar"]
DEMO_WARM_UP = "havruta-warm-up-younger"  # upper elementary and middle school
DEMO_PROTOCOL = "listening-to-the-text"
DEMO_TEXT = "genesis-4-1-16"


def demo_email(local: str) -> str:
    return local + "@" + DEMO_DOMAIN


class Command(BaseCommand):
    help = "Load protocols and texts, create a demo teacher, co-teacher and class, and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if "load_library" in get_commands():
            call_command("load_library", verbosity=0)
        with transaction.atomic():
            teacher = self._teacher("teacher", "Rivka Levi")
            co_teacher = self._teacher("coteacher", "Avi Cohen")
            classroom = Classroom.objects.filter(name=DEMO_CLASS, teacher_links__teacher=teacher).first()
            if classroom is None:
                classroom = classroom_create(teacher=teacher, name=DEMO_CLASS, grade_band="middle-school")
            classroom_add_teacher(classroom=classroom, teacher=co_teacher)
            existing = set(
                Enrollment.objects.filter(classroom=classroom).values_list("student__display_name", flat=True)
            )
            for index, name in enumerate(DEMO_STUDENTS):
                if name not in existing:
                    student_create(classroom=classroom, display_name=name, pin=f"{1000 + index * 1111 % 9000:04d}")
            self._lesson(classroom, teacher)
        self._print_logins(classroom)

    def _lesson(self, classroom: Classroom, teacher: User) -> None:
        """Today's lesson, so the demo opens on real work: havrutot, a Warm Up, then a text protocol."""
        if PairingSession.objects.filter(classroom=classroom, date=timezone.localdate()).exists():
            return
        warm_up = Protocol.objects.filter(slug=DEMO_WARM_UP).first()
        protocol = Protocol.objects.filter(slug=DEMO_PROTOCOL).first()
        text = Text.objects.filter(slug=DEMO_TEXT, owner__isnull=True).first()
        if protocol is None:  # the library was not loaded; the class alone is still a usable demo
            return
        students = [e.student for e in classroom.enrollments.select_related("student")]
        session = pairing_session_create(
            classroom=classroom, by=teacher, method=PairingSession.Method.ROTATE, present=students, seed=2026
        )
        assignment_create(
            session=session, by=teacher, protocol=protocol, text=text, warm_up=warm_up, date=timezone.localdate()
        )

    def _teacher(self, local: str, name: str) -> User:
        email = demo_email(local)
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(username=local, email=email, password=DEMO_PASSWORD, display_name=name)
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return user

    def _print_logins(self, classroom: Classroom) -> None:
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS("Havruta Classroom demo is ready at http://127.0.0.1:8000"))
        w("")
        w("Teachers (sign in at http://127.0.0.1:8000/accounts/login/):")
        w(f"  {demo_email('teacher'):<28} password: {DEMO_PASSWORD}")
        w(f"  {demo_email('coteacher'):<28} password: {DEMO_PASSWORD}  (co-teacher)")
        w("")
        w(
            f"Students of '{classroom.name}' "
            f"(join at http://127.0.0.1:8000/join/ with class code {classroom.join_code}):"
        )
        for enrollment in classroom.enrollments.select_related("student").order_by("student__display_name"):
            w(f"  {enrollment.student.display_name:<10} PIN {enrollment.pin}")
        w("")
