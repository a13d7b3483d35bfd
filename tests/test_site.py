"""Site-level pages, the health check, and the migrations guard."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client


@pytest.mark.django_db
def test_it_reports_health_of_database_and_channel_layer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {
        "status": "ok",
        "vendor": "postgresql" if "postgres" in settings.DATABASE_URL else "sqlite",
    }
    expected_layer = "RedisPubSubChannelLayer" if settings.REDIS_URL else "InMemoryChannelLayer"
    assert body["channel_layer"] == {"status": "ok", "backend": expected_layer}


@pytest.mark.django_db
def test_it_reports_an_unhealthy_channel_layer(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    channel_layers.backends.clear()
    try:
        response = client.get("/healthz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"]["status"] == "error"


@pytest.mark.django_db
def test_it_has_no_missing_migrations() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"Missing migrations (run makemigrations):\n{out.getvalue()}  exit={exit_.code}")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/about/", "/privacy/", "/accounts/signup/", "/accounts/login/"])
def test_it_serves_public_pages(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert b"Pedagogy of Partnership" in response.content


@pytest.mark.django_db
def test_it_sends_students_and_teachers_to_the_landing_choices(client: Client) -> None:
    body = client.get("/").content.decode()
    assert "/accounts/signup/" in body
    assert "/join/" in body
