"""Site-level pages that belong to no app: landing, about, home redirect and the health check."""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html")


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "about.html")


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy.html", {"retention_months": settings.RETENTION_MONTHS})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its own start page (the apps that own them may not exist yet)."""
    name = "classrooms:student_home" if request.user.is_student else "classrooms:teacher_home"  # type: ignore[union-attr]
    try:
        return redirect(reverse(name))
    except NoReverseMatch:
        return render(request, "home_placeholder.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A friendly page instead of Django's technical 403 when a form outlived its session."""
    return render(request, "403_csrf.html", status=403)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await asyncio.wait_for(layer.receive(channel), timeout=2)
    if message.get("type") != "healthz.ping":
        raise RuntimeError("channel layer returned another message")
    return type(layer).__name__


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """Database and channel layer round trips, for load balancers and for humans."""
    result: dict[str, object] = {}
    healthy = True
    started = time.perf_counter()
    try:
        await sync_to_async(_check_database)()
        result["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:
        healthy = False
        result["database"] = {"status": "error", "error": exc.__class__.__name__}
    try:
        backend = await _check_channel_layer()
        result["channel_layer"] = {"status": "ok", "backend": backend}
    except Exception as exc:
        healthy = False
        result["channel_layer"] = {"status": "error", "error": exc.__class__.__name__}
    result["status"] = "ok" if healthy else "error"
    result["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(result, status=200 if healthy else 503)
