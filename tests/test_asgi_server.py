"""The ASGI server fixture itself: a real process on the test database."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.factories import make_teacher


@pytest.mark.django_db(transaction=True)
def test_it_serves_the_test_database_from_a_real_process(asgi_server) -> None:  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(asgi_server.url + "/healthz") as response:
        assert json.load(response)["status"] == "ok"
    make_teacher(name="Visible Across Processes")
    # The server sees the row the test wrote: the signed-in page greets the teacher by name.
    from accounts.models import User
    from tests.asgi_server import session_cookie_for

    cookie = session_cookie_for(User.objects.get(display_name="Visible Across Processes"))
    request = urllib.request.Request(
        asgi_server.url + "/about/", headers={"Cookie": f"{cookie['name']}={cookie['value']}"}
    )
    with urllib.request.urlopen(request) as response:
        assert "Visible Across Processes" in response.read().decode()
