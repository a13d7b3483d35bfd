from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_shows_a_friendly_404(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "find that page" in response.content.decode()


def test_it_explains_an_expired_form_instead_of_a_technical_error() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/language/", {"language": "he"})
    assert response.status_code == 403
    assert "Your session expired" in response.content.decode()


def test_it_explains_a_request_too_large_to_read(client: Client) -> None:
    response = client.post("/account/language/", {"language": "he", "next": "/" + "x" * 3_000_000})
    assert response.status_code == 400
    body = response.content.decode()
    assert "couldn't read what was sent" in body and "Nothing was saved" in body
