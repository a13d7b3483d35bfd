"""Taking access away takes effect at once, on open sockets as well as on the next request.

A student removed from the class (deleted, with or without their writing) or moved to another
class, and a co-teacher removed from a class (or leaving it), lose every open socket of that class
within a second: worksheet documents, worksheet events and the live dashboard close with 4403
(worksheets.services.worksheet_revoke, sent after commit to the user's own channel-layer group).
Their next request for the class's objects is answered 404. Everyone else's sockets stay open.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.factories import classroom_add_teacher, make_classroom
from tests.live_fixtures import assign_lesson
from tests.ws_helpers import YClient, communicator, expect_close, personal_path, shared_path

pytest_plugins = ["tests.ws_fixtures"]  # logins, live_settings and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

WITHIN = 1.0  # seconds from the teacher's click (the request done) to the socket closed


@pytest.fixture
def lesson(world):  # type: ignore[no-untyped-def]
    return assign_lesson(session=world.session)


async def open_json(path: str, client: Client) -> WebsocketCommunicator:
    comm = communicator(path, client)
    connected, _ = await comm.connect()
    assert connected
    first = await comm.receive_json_from(timeout=5)  # the snapshot / state: the socket is in
    assert first["type"] in ("snapshot", "state")
    return comm


async def stays_open(comm: WebsocketCommunicator, seconds: float = 0.3) -> bool:
    """No close within `seconds` (data frames are fine)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await comm.receive_nothing(timeout=min(left, 0.05), interval=0.01):
            continue
        if (await comm.receive_output())["type"] == "websocket.close":
            return False
    return True


async def refused(path: str, client: Client) -> int | None:
    comm = communicator(path, client)
    await comm.connect()
    closed = await expect_close(comm, timeout=3)
    await comm.disconnect()
    return closed.code


async def post(client: Client, url: str, data: dict[str, Any] | None = None) -> int:
    response = await sync_to_async(client.post)(url, data or {})
    return response.status_code


@pytest.mark.parametrize("how", ["remove", "delete everything", "move"])
async def test_it_closes_a_removed_students_sockets_within_a_second(logins, world, lesson, how) -> None:  # type: ignore[no-untyped-def]
    worksheet = lesson[1]  # Dana (student) and Eli (partner)
    dana = logins["student"]
    shared = await YClient.open(shared_path(worksheet.pk), dana)
    own = await YClient.open(personal_path(worksheet.pk, world.student.pk), dana)
    events = await open_json(f"/ws/worksheets/{worksheet.pk}/events/", dana)
    eli_events = await open_json(f"/ws/worksheets/{worksheet.pk}/events/", logins["partner"])
    dashboard = await open_json(f"/ws/classes/{world.classroom.pk}/live/", logins["teacher"])

    roster = f"/classes/{world.classroom.pk}/students/{world.student.pk}"
    if how == "move":
        second = await sync_to_async(make_classroom)(teacher=world.teacher, name="Grade 8")
        status = await post(logins["teacher"], roster + "/move/", {"to_classroom": second.pk})
    else:
        status = await post(logins["teacher"], roster + "/remove/", {"mode": "keep" if how == "remove" else "delete"})
    assert status == 302

    for comm in (shared.comm, own.comm, events):
        assert (await expect_close(comm, timeout=WITHIN)).code == 4403
    # The partner and the teacher stay (the partner's shared document reloads after a deletion,
    # worksheets/PROTOCOL.md, but their events socket stays open).
    assert await stays_open(eli_events)
    assert await stays_open(dashboard)

    assert (await sync_to_async(dana.get)(f"/worksheets/{worksheet.pk}/")).status_code == 404
    assert await refused(shared_path(worksheet.pk), dana) == 4403
    assert await refused(f"/ws/worksheets/{worksheet.pk}/events/", dana) == 4403
    for comm in (eli_events, dashboard):
        await comm.disconnect()


@pytest.mark.parametrize("by", ["teacher", "co_teacher"])  # removed by the owner, or leaving
async def test_it_closes_a_removed_co_teachers_sockets_within_a_second(logins, world, lesson, by) -> None:  # type: ignore[no-untyped-def]
    worksheet = lesson[1]
    co = logins["co_teacher"]
    dashboard = await open_json(f"/ws/classes/{world.classroom.pk}/live/", co)
    events = await open_json(f"/ws/worksheets/{worksheet.pk}/events/", co)  # the pop-in
    reading = await YClient.open(shared_path(worksheet.pk), co)
    owners_dashboard = await open_json(f"/ws/classes/{world.classroom.pk}/live/", logins["teacher"])
    # A class both teach: the co-teacher's sockets there are not this class's, and stay.
    other = await sync_to_async(make_classroom)(teacher=world.teacher, name="Grade 8")
    await sync_to_async(classroom_add_teacher)(classroom=other, teacher=world.co_teacher)
    elsewhere = await open_json(f"/ws/classes/{other.pk}/live/", co)
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])

    url = f"/classes/{world.classroom.pk}/co-teachers/{world.co_teacher.pk}/remove/"
    assert await post(logins[by], url) == 302

    for comm in (dashboard, events, reading.comm):
        assert (await expect_close(comm, timeout=WITHIN)).code == 4403
    assert await stays_open(owners_dashboard)
    assert await stays_open(elsewhere)
    await dana.pump(quiet=0.2)
    assert dana.closed is None

    for page in (
        f"/classes/{world.classroom.pk}/",
        f"/classes/{world.classroom.pk}/live/",
        f"/worksheets/{worksheet.pk}/",
    ):
        assert (await sync_to_async(co.get)(page)).status_code == 404, page
    assert await refused(f"/ws/classes/{world.classroom.pk}/live/", co) == 4403
    for comm in (owners_dashboard, elsewhere):
        await comm.disconnect()
    await dana.close()
