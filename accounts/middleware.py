from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    """Use the language a signed-in person chose, on every device they sign in on.

    Sits after LocaleMiddleware and AuthenticationMiddleware: the cookie decides for
    visitors, the saved choice decides for people with an account.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


# allauth's pages for an email address and a password. A student's account has neither (the
# teacher creates it; the child signs in with the class code and a PIN), so for a student these
# pages do not exist: adding an email or a password would make a second way into a child's account.
TEACHER_ACCOUNT_PAGES = frozenset(
    {"account_email", "account_change_password", "account_set_password", "account_reauthenticate"}
)


class StudentAccountPagesMiddleware:
    """Answer 404 to a signed-in student on TEACHER_ACCOUNT_PAGES (Http404, as the access helpers do)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: object, args: object, kwargs: object) -> None:
        user = getattr(request, "user", None)
        match = request.resolver_match
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "is_student", False)
            and match is not None
            and match.url_name in TEACHER_ACCOUNT_PAGES
        ):
            raise Http404
