from __future__ import annotations

import contextlib

from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from accounts.services import user_set_language


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language, plus remembering the choice on the account."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language:
        # Django's view already ignored an unknown language; there is nothing to remember then.
        with contextlib.suppress(ValueError):
            user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        response["Location"] = "/"
    return response
