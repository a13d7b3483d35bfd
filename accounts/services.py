from __future__ import annotations

from django.conf import settings

from accounts.models import User


def user_set_language(*, user: User, language: str) -> None:
    """Remember a person's interface language so it follows them to every device."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unknown language {language!r}")
    user.language = language
    user.save(update_fields=["language"])
