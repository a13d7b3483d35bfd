from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Everyone who signs in: teachers (email + password) and students (class code + PIN).

    Students are created by their teacher and keep only what the product needs: a display
    name and their class. They have no email, no birth date and no usable password.
    """

    class Role(models.TextChoices):
        TEACHER = "teacher", _("Teacher")
        STUDENT = "student", _("Student")

    # Sign-up through allauth makes teachers; students are only ever created by roster services.
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.TEACHER)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)

    @property
    def is_teacher(self) -> bool:
        return self.role == self.Role.TEACHER

    @property
    def is_student(self) -> bool:
        return self.role == self.Role.STUDENT

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.email or self.username

    def __str__(self) -> str:
        return self.name
