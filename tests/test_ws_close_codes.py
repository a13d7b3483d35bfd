"""Close codes a browser can act on, found by the fault drills (tests/test_drills.py).

- daphne (`runserver`) can only send 1000 and 3000-4999: a 1009/1011/1012/1013 close used to raise
  inside the server and leave the socket open but deaf, never acknowledging again. Under daphne they
  now arrive as 4009/4011/4012/4013 (worksheets/PROTOCOL.md).
- a socket opened while the database is down (the session cannot be read) is told "try again later"
  (1013) instead of failing its handshake with an HTTP 500.
"""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from django.db import OperationalError

from tests.asgi_server import session_cookie_for
from tests.ws_helpers import NetYClient, communicator, expect_close, make_worksheet, shared_path
from worksheets.yprotocol import encode_update

pytest_plugins = ["tests.ws_fixtures"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


@pytest.fixture
def cookie(world):  # type: ignore[no-untyped-def]
    return session_cookie_for(world.student)


@pytest.mark.slow
async def test_it_closes_an_oversized_frame_with_4009_under_daphne(asgi_server, cookie, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await NetYClient.open(asgi_server.url, shared_path(worksheet.pk), cookie)
    assert await dana.wait_until(lambda: dana.got_step2 > 0)
    await dana.ws.send(encode_update(b"\x00" * (512 * 1024)))
    await asyncio.wait_for(dana.reader, 10)  # the server really closes the socket
    assert dana.closed is not None and dana.closed.code == 4009


async def test_it_tells_a_socket_to_try_again_when_the_session_cannot_be_read(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    with mock.patch("channels.auth.get_user", side_effect=OperationalError("connection refused")):
        comm = communicator(shared_path(worksheet.pk), logins["student"])
        connected, _ = await comm.connect()
        assert connected
        closed = await expect_close(comm)
    assert closed.code == 1013
    await comm.disconnect()
