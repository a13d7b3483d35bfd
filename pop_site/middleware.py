"""Two small site-wide middlewares: security headers, and a log line when an access helper says no.

A Content-Security-Policy of our own instead of django-csp: the site has no inline script, no
inline style and no third-party origin, so the policy is one fixed string (plus the site's own
websocket origin) and needs no nonces, per-view decorators or report handling: twenty lines and no
dependency.

Framing follows X-Frame-Options: no page may be framed (DENY, `frame-ancestors 'none'`) except a
view marked `@xframe_options_sameorigin`, which a page of this same site may frame (`'self'`): the
worksheet page, shown in the live dashboard's pop-in. One decorator keeps both headers in step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse

access_log = logging.getLogger("havruta.access")

CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def content_security_policy(host: str | None, *, framed_by_self: bool = False) -> str:
    """The policy; `host` adds ws:// and wss:// of the site (older Safari does not count them as 'self')."""
    connect = "connect-src 'self'" + (f" ws://{host} wss://{host}" if host else "")
    ancestors = "frame-ancestors 'self'" if framed_by_self else "frame-ancestors 'none'"
    return "; ".join((*CSP, connect, ancestors))


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every HTML page.

    Django's SecurityMiddleware already sends Referrer-Policy, X-Content-Type-Options and
    Cross-Origin-Opener-Policy; XFrameOptionsMiddleware sends X-Frame-Options. The policy is only
    added to HTML: PDFs and JSON downloads run no script, and some PDF viewers mis-handle a CSP.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            try:
                host = request.get_host()
            except DisallowedHost:
                host = None
            framed_by_self = response.get("X-Frame-Options", "").upper() == "SAMEORIGIN"
            response.headers.setdefault(
                "Content-Security-Policy", content_security_policy(host, framed_by_self=framed_by_self)
            )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class AccessDenialLogMiddleware:
    """Log, for a signed-in user, every 404 raised by an access helper in classrooms/access.py.

    The visitor sees the ordinary 404 ("not found" and "not allowed" look the same); the log says
    which helper refused whom, so a probing account shows up. Ids only: no names, no answers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if not isinstance(exception, Http404):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        helper = _access_helper(exception)
        if helper is not None:
            access_log.warning(
                "event=access.denied helper=%s user=%s role=%s method=%s path=%s",
                helper,
                user.pk,
                getattr(user, "role", "-"),
                request.method,
                request.path,
            )
        return None


def _access_helper(exception: BaseException) -> str | None:
    """The outermost function of classrooms.access in the traceback, if the 404 came from there."""
    traceback = exception.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_globals.get("__name__") == "classrooms.access":
            return frame.f_code.co_name
        traceback = traceback.tb_next
    return None
