"""The production server (`python -m pop_site.serve`): uvicorn with a websocket protocol that reads ahead."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from pop_site.serve import READ_AHEAD, ReadAheadWebSocketProtocol
from tests.asgi_server import session_cookie_for
from tests.ws_helpers import NetYClient, YPeer, make_worksheet, shared_path

pytest_plugins = ["tests.ws_fixtures"]
pytestmark = pytest.mark.asyncio


class CountingTransport:
    """Just enough of an asyncio transport to count how often uvicorn stops and resumes reading."""

    def __init__(self) -> None:
        self.pauses = 0
        self.resumes = 0

    def pause_reading(self) -> None:
        self.pauses += 1

    def resume_reading(self) -> None:
        self.resumes += 1

    def is_closing(self) -> bool:
        return False


async def test_the_socket_is_read_ahead_and_paused_only_when_messages_pile_up() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called here
        raise AssertionError

    config = uvicorn.Config(app=app, ws=ReadAheadWebSocketProtocol, lifespan="off")
    config.load()
    protocol = ReadAheadWebSocketProtocol(config=config, server_state=ServerState(), app_state={})
    transport = CountingTransport()
    protocol.transport = transport  # type: ignore[assignment]

    def arrive(data: bytes) -> None:
        protocol.curr_msg_data_type = "bytes"
        protocol.frames = [data]
        protocol.send_receive_event_to_app()

    for i in range(READ_AHEAD - 1):
        arrive(bytes([i]))
    assert transport.pauses == 0  # uvicorn's own protocol stops reading after every message
    arrive(b"one too many")
    assert transport.pauses == 1 and protocol.read_paused
    received = [await protocol.receive() for _ in range(READ_AHEAD)]
    assert [m["bytes"] for m in received] == [bytes([i]) for i in range(READ_AHEAD - 1)] + [b"one too many"]
    assert transport.resumes == 1 and not protocol.read_paused


@pytest.fixture
def worksheet_and_cookies(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world), session_cookie_for(world.student), session_cookie_for(world.partner)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
async def test_the_production_server_syncs_partners_sending_bursts(asgi_server_factory, worksheet_and_cookies) -> None:  # type: ignore[no-untyped-def]
    worksheet, student, partner = worksheet_and_cookies
    server = asgi_server_factory(production=True)
    dana = await NetYClient.open(server.url, shared_path(worksheet.pk), student)
    eli = await NetYClient.open(server.url, shared_path(worksheet.pk), partner)
    assert await dana.wait_until(lambda: dana.got_step2 > 0) and await eli.wait_until(lambda: eli.got_step2 > 0)
    pieces = []
    for i in range(60):  # bursts well past the read-ahead, from both at once
        await asyncio.gather(
            dana.edit(YPeer.insert("what_we_found", 0, f"<d{i}>")),
            eli.edit(YPeer.insert("what_we_found", None, f"<e{i}>")),
        )
        pieces += [f"<d{i}>", f"<e{i}>"]

    def converged() -> bool:
        text = dana.text("what_we_found")
        return text == eli.text("what_we_found") and all(piece in text for piece in pieces)

    assert await dana.wait_until(converged, timeout=20), (dana.text("what_we_found"), eli.text("what_we_found"))
    await dana.close()
    await eli.close()
