"""Real server processes: a client on each of two processes converges; SIGKILL loses nothing saved.

These start `manage.py runserver` (daphne) subprocesses on the test database (tests/asgi_server.py)
and talk to them with a real websocket client (the `websockets` library). Two processes can only
share edits through a shared channel layer, so that test always runs its servers with Redis (on the
suite's database, SQLite or PostgreSQL); the restart test runs everywhere.
"""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
from django.conf import settings

from tests.asgi_server import session_cookie_for
from tests.ws_helpers import NetYClient, YPeer, make_worksheet, shared_path

pytest_plugins = ["tests.ws_fixtures"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.slow]


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


@pytest.fixture
def cookies(world):  # type: ignore[no-untyped-def]
    return {"student": session_cookie_for(world.student), "partner": session_cookie_for(world.partner)}


def shared_redis_url() -> str:
    """Two processes share edits only through Redis: the suite's REDIS_URL, else the local server.

    So the SQLite run exercises two processes too (SQLite + Redis). Without a reachable Redis the test
    skips locally and fails in CI, where Redis is always running.
    """
    url = settings.REDIS_URL or os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {url} for the two-process test: {exc}")
        pytest.skip(f"needs a Redis server at {url}: the in-memory channel layer cannot join two processes")
    return url


async def test_it_converges_with_a_client_on_each_of_two_server_processes(  # type: ignore[no-untyped-def]
    asgi_server_factory, worksheet, cookies
) -> None:
    url = shared_redis_url()
    one, two = asgi_server_factory(REDIS_URL=url), asgi_server_factory(REDIS_URL=url)
    dana = await NetYClient.open(one.url, shared_path(worksheet.pk), cookies["student"])
    eli = await NetYClient.open(two.url, shared_path(worksheet.pk), cookies["partner"])
    assert await dana.wait_until(lambda: dana.got_step2 > 0) and await eli.wait_until(lambda: eli.got_step2 > 0)
    pieces = []
    for i in range(40):  # both type into the same field at the same time
        await dana.edit(YPeer.insert("what_we_found", 0, f"<d{i}>"))
        await eli.edit(YPeer.insert("what_we_found", None, f"<e{i}>"))
        pieces += [f"<d{i}>", f"<e{i}>"]
        await asyncio.sleep(0.01)

    def converged() -> bool:
        text = dana.text("what_we_found")
        return text == eli.text("what_we_found") and all(piece in text for piece in pieces)

    assert await dana.wait_until(converged, timeout=20), (dana.text("what_we_found"), eli.text("what_we_found"))
    # A third client, on either process, sees the same.
    late = await NetYClient.open(one.url, shared_path(worksheet.pk), cookies["partner"])
    assert await late.wait_until(lambda: late.text("what_we_found") == dana.text("what_we_found"))
    for client in (dana, eli, late):
        await client.close()


async def test_a_room_in_one_process_keeps_its_updates_off_redis_until_another_process_loads_it(  # type: ignore[no-untyped-def]
    asgi_server_factory, worksheet, cookies
) -> None:
    """With a load balancer that keeps a worksheet on one process, Redis carries only hellos.

    The test listens on the room's group as a third process would (a real pub/sub subscriber on
    the same Redis): first silently, then after saying hello itself.
    """
    from channels_redis.pubsub import RedisPubSubChannelLayer

    url = shared_redis_url()
    layer = RedisPubSubChannelLayer(hosts=[url], prefix=settings.CHANNELS_PREFIX)
    channel = await layer.new_channel()
    await layer.group_add(f"ws-room-{worksheet.pk}", channel)
    heard: list[dict] = []

    async def listen() -> None:
        while True:
            heard.append(await layer.receive(channel))

    listening = asyncio.get_running_loop().create_task(listen())
    try:
        server = asgi_server_factory(REDIS_URL=url)
        dana = await NetYClient.open(server.url, shared_path(worksheet.pk), cookies["student"])
        assert await dana.wait_until(lambda: dana.got_step2 > 0)
        for i in range(20):
            await dana.edit(YPeer.insert("what_we_found", None, f"<a{i}>"))
        await dana.ask_saved()
        assert await dana.wait_until(lambda: YPeer.covers_state(dana.doc.get_state(), dana.server_state))
        await asyncio.sleep(0.3)
        kinds = {message["type"] for message in heard}
        assert kinds == {"room.hello"}, kinds  # the room said it is loaded; its edits stayed in the process

        # Another process loads the room: from then on the room publishes, and welcomes it.
        await layer.group_send(
            f"ws-room-{worksheet.pk}", {"type": "room.hello", "origin": "elsewhere", "welcome": False}
        )
        assert await dana.wait_until(lambda: any(m.get("welcome") for m in heard), timeout=5)
        await dana.edit(YPeer.insert("what_we_found", None, "<after-hello>"))

        def published() -> bool:
            return any(
                b"<after-hello>" in bytes(update)
                for message in heard
                if message["type"] == "room.updates"
                for update in message["updates"]
            )

        assert await dana.wait_until(published, timeout=5)
        await dana.close()
    finally:
        listening.cancel()
        await layer.group_discard(f"ws-room-{worksheet.pk}", channel)
        await layer.flush()


async def test_it_loses_nothing_acknowledged_when_the_server_is_killed(asgi_server_factory, worksheet, cookies) -> None:  # type: ignore[no-untyped-def]
    server = asgi_server_factory()
    dana = await NetYClient.open(server.url, shared_path(worksheet.pk), cookies["student"])
    assert await dana.wait_until(lambda: dana.got_step2 > 0)
    states: list[bytes] = []

    async def keep_typing() -> None:
        for i in range(10_000):
            if dana.closed is not None:
                return
            try:
                await dana.edit(YPeer.insert("what_we_found", None, f"[{i}]"))
                states.append(dana.doc.get_state())
                if i % 3 == 0:
                    await dana.ask_saved()  # y-websocket's periodic resync, sped up
            except Exception:
                return
            await asyncio.sleep(0.005)

    typing = asyncio.get_running_loop().create_task(keep_typing())
    await asyncio.sleep(1.5)
    await asyncio.to_thread(server.kill)  # SIGKILL mid-typing: no shutdown code runs
    await asyncio.wait_for(typing, 10)
    acknowledged = [i for i, state in enumerate(states) if YPeer.covers_state(state, dana.server_state)]
    assert len(acknowledged) > 20, "the server acknowledged edits before it died"
    await asyncio.to_thread(server.start)

    fresh = await NetYClient.open(server.url, shared_path(worksheet.pk), cookies["partner"])
    assert await fresh.wait_until(lambda: fresh.got_step2 > 0)
    text = fresh.text("what_we_found")
    missing = [i for i in acknowledged if f"[{i}]" not in text]
    assert missing == []
    # The writer comes back with its unsaved edits and the server takes them too (nothing lost at all).
    back = await NetYClient.open(server.url, shared_path(worksheet.pk), cookies["student"], doc_from=dana)
    everything = [f"[{i}]" for i in range(len(states))]
    assert await fresh.wait_until(lambda: all(piece in fresh.text("what_we_found") for piece in everything))
    await back.close()
    await fresh.close()
