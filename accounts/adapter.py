from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    """Everyone who signs up with an email is a teacher; students never sign up themselves."""

    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user.role = User.Role.TEACHER
        return super().save_user(request, user, form, commit=commit)
