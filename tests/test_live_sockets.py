"""The live session's two sockets, through the whole ASGI app (origin check, session auth, routing).

- /ws/classes/<id>/live/: the teachers' dashboard. Only the class's teachers get in; a student's
  typing reaches it within a second; however fast events come, it sends a few messages a second.
- /ws/worksheets/<id>/events/: a worksheet page's class events. Members and the class's teachers
  get in; broadcasts, the timer, comments and help reach every page concerned and no other.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from classrooms.models import HelpRequest
from tests.conftest import PERSONAS
from tests.live_fixtures import assign_lesson
from tests.ws_helpers import YClient, communicator, shared_path
from worksheets.models import DocUpdate

pytest_plugins = ["tests.ws_fixtures"]  # logins, live_settings and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

TEACHERS = {"teacher", "co_teacher"}
MEMBERS = {"student", "partner"}


@pytest.fixture
def lesson(world):  # type: ignore[no-untyped-def]
    return assign_lesson(session=world.session)


def dashboard_path(classroom_id: int) -> str:
    return f"/ws/classes/{classroom_id}/live/"


def events_path(worksheet_id: int) -> str:
    return f"/ws/worksheets/{worksheet_id}/events/"


async def outcome(path: str, client: Client) -> str:
    """ "open" (its first message is data) or the close code, when nothing was sent before it."""
    comm = communicator(path, client)
    connected, _ = await comm.connect()
    assert connected, "accept-then-close: the browser must be able to read the close code"
    first = await comm.receive_output(timeout=3)
    await comm.disconnect()
    if first["type"] == "websocket.close":
        return str(first["code"])
    return "open"


async def open_json(path: str, client: Client) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = communicator(path, client)
    connected, _ = await comm.connect()
    assert connected
    return comm, await comm.receive_json_from(timeout=5)


async def collect(comm: WebsocketCommunicator, seconds: float) -> list[dict[str, Any]]:
    """Every JSON message for `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    messages = []
    while (left := deadline - loop.time()) > 0:
        if await comm.receive_nothing(timeout=min(left, 0.05), interval=0.01):
            continue
        output = await comm.receive_output()
        if output["type"] == "websocket.send" and output.get("text"):
            messages.append(json.loads(output["text"]))
    return messages


async def next_of(comm: WebsocketCommunicator, kind: str, timeout: float = 3) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await comm.receive_json_from(timeout=max(0.01, deadline - loop.time()))
        if message.get("type") == kind:
            return message


def post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return sync_to_async(client.post)(url, data or {}, headers={"Accept": "application/json"})


# --------------------------------------------------------------------------------------------
# Who gets in
# --------------------------------------------------------------------------------------------


async def test_it_lets_only_the_class_teachers_into_the_dashboard(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    for persona in PERSONAS:
        expected = "open" if persona in TEACHERS else "4403"
        assert await outcome(dashboard_path(world.classroom.pk), logins[persona]) == expected, persona
    for persona in PERSONAS:  # another class's live view: only its own teacher gets in
        expected = "open" if persona == "other_teacher" else "4403"
        assert await outcome(dashboard_path(world.other_class.pk), logins[persona]) == expected, persona
    assert await outcome(dashboard_path(10**30), logins["teacher"]) == "4403"


async def test_it_lets_only_the_havruta_and_the_class_teachers_into_a_worksheets_events(logins, lesson) -> None:  # type: ignore[no-untyped-def]
    for persona in PERSONAS:
        expected = "open" if persona in TEACHERS | MEMBERS else "4403"
        assert await outcome(events_path(lesson[1].pk), logins[persona]) == expected, persona
    assert await outcome(events_path(10**30), logins["student"]) == "4403"


# --------------------------------------------------------------------------------------------
# The dashboard
# --------------------------------------------------------------------------------------------


def row_of(message: dict[str, Any], havruta_id: int) -> dict[str, Any] | None:
    return next((r for r in message.get("rows", []) if r["havruta"] == havruta_id), None)


async def test_it_shows_a_students_typing_on_the_dashboard_within_a_second(
    logins, world, lesson, live_settings
) -> None:  # type: ignore[no-untyped-def]
    dashboard, snapshot = await open_json(dashboard_path(world.classroom.pk), logins["teacher"])
    assert snapshot["type"] == "snapshot"
    havruta = lesson[1].havruta_id
    assert row_of(snapshot, havruta)["words"] == 0
    dana = await YClient.open(shared_path(lesson[1].pk), logins["student"])
    await collect(dashboard, 0.6)  # let the flush window pass: the edit below is what we time

    started = time.monotonic()
    await dana.type("chosen_question", 0, "Where is Abel your brother", author=world.student.pk)
    seen = None
    while seen is None and time.monotonic() - started < 3:
        message = await dashboard.receive_json_from(timeout=3)
        row = row_of(message, havruta)
        if row is not None and row["words"] == 5:
            seen = time.monotonic() - started
            assert row["preview"] == "Where is Abel your brother"
            assert row["step"] == "Step 2 of 3: Wonder together"
            assert row["filled"] == 1 and row["last_edit_at"] is not None
    assert seen is not None and seen < 1.0, seen
    await dana.close()
    await dashboard.disconnect()


async def test_it_coalesces_a_burst_of_1000_progress_events_into_a_few_messages(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    dashboard, _snapshot = await open_json(dashboard_path(world.classroom.pk), logins["teacher"])
    layer = get_channel_layer()
    group = f"class-{world.classroom.pk}-live"
    started = time.monotonic()
    for i in range(1000):
        sheet = lesson[1 + i % 2]
        await layer.group_send(
            group,
            {"type": "worksheet.progress", "worksheet": sheet.pk, "havruta": sheet.havruta_id, "assignment": 1,
             "words": i, "fields_filled": 0, "fields_total": 5, "last_edit_at": None},
        )  # fmt: skip
        if i % 10 == 9:
            await asyncio.sleep(0.002)  # a realistic burst: the in-memory layer holds 100 per channel
    burst = time.monotonic() - started
    messages = await collect(dashboard, 1.2)
    # At most one message per 0.5 s window of the burst, plus the last one after it.
    assert 1 <= len(messages) <= burst / 0.5 + 3, (len(messages), burst)
    assert {r["havruta"] for m in messages for r in m["rows"]} == {lesson[1].havruta_id, lesson[2].havruta_id}
    await dashboard.disconnect()


async def test_it_shows_who_is_online_and_who_asked_for_help(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    dashboard, snapshot = await open_json(dashboard_path(world.classroom.pk), logins["co_teacher"])
    havruta = lesson[1].havruta_id
    assert not any(m["online"] for m in row_of(snapshot, havruta)["members"])
    dana, state = await open_json(events_path(lesson[1].pk), logins["student"])
    assert state["type"] == "state"
    message = await next_of(dashboard, "update")
    online = {m["name"]: m["online"] for m in row_of(message, havruta)["members"]}
    assert online == {"Dana": True, "Eli": False}

    await dana.send_json_to({"type": "ask_help", "note": "We read it differently"})
    assert (await next_of(dana, "ok"))["type"] == "ok"
    message = await next_of(dashboard, "update")
    row = row_of(message, havruta)
    assert row["help"]["note"] == "We read it differently" and row["rank"] == 0

    await dana.disconnect()
    message = await next_of(dashboard, "update")
    assert not any(m["online"] for m in row_of(message, havruta)["members"])
    await dashboard.disconnect()


# --------------------------------------------------------------------------------------------
# The worksheet pages' events
# --------------------------------------------------------------------------------------------


async def test_it_sends_broadcasts_timers_comments_and_help_to_every_page_concerned(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    pages = {}
    for persona, sheet in (("student", 1), ("partner", 1), ("teacher", 1), ("classmate", 2), ("classmate_partner", 2)):
        client = logins.get(persona) or await sync_to_async(_login)(world, persona)
        pages[persona], state = await open_json(events_path(lesson[sheet].pk), client)
        assert state["type"] == "state" and state["state"]["broadcasts"] == []
    teacher = logins["teacher"]
    s = world.session.pk

    assert (
        await post(teacher, reverse("classrooms:live_broadcast", args=[s]), {"message": "Two minutes"})
    ).status_code == 200
    for persona, comm in pages.items():
        message = await next_of(comm, "broadcast")
        assert message["message"] == "Two minutes", persona

    await post(teacher, reverse("classrooms:live_timer", args=[s]), {"action": "start", "minutes": "4"})
    for persona, comm in pages.items():
        message = await next_of(comm, "timer")
        assert message["timer"]["state"] == "running" and 235 <= message["timer"]["remaining"] <= 240, persona
        assert message["timer"]["step"]["title"] == "Notice the details"

    url = reverse("classrooms:live_comment", args=[s, lesson[1].pk])
    await post(teacher, url, {"field": "shared:notices", "text": "Where do you see that in the text?"})
    for persona in ("student", "partner", "teacher"):
        message = await next_of(pages[persona], "comment")
        assert message["comment"]["text"] == "Where do you see that in the text?"
        assert message["comment"]["field_label"] == "What we noticed"
    comment_id = message["comment"]["id"]

    await pages["partner"].send_json_to({"type": "ask_help", "note": "Stuck on verse 7"})
    for persona in ("student", "partner", "teacher"):
        message = await next_of(pages[persona], "help_state")
        assert message["open"] is True and message["note"] == "Stuck on verse 7", persona
    await pages["student"].send_json_to({"type": "comment_done", "id": comment_id})
    for persona in ("student", "partner", "teacher"):
        assert (await next_of(pages[persona], "comment_done"))["id"] == comment_id

    # The other havruta heard the class-wide events and nothing of havruta 1's.
    for persona in ("classmate", "classmate_partner"):
        kinds = [m["type"] for m in await collect(pages[persona], 0.3)]
        assert "comment" not in kinds and "help_state" not in kinds and "comment_done" not in kinds, persona

    # A page opened now (a reload, a reconnect) gets all of it in its first message.
    again, state = await open_json(events_path(lesson[1].pk), logins["student"])
    assert [b["message"] for b in state["state"]["broadcasts"]] == ["Two minutes"]
    assert state["state"]["timer"]["state"] == "running"
    assert state["state"]["help"]["open"] is True and state["state"]["help"]["note"] == "Stuck on verse 7"
    assert state["state"]["comments"] == []  # marked done
    for comm in (*pages.values(), again):
        await comm.disconnect()


def _login(world, persona: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(getattr(world, persona))
    return client


async def test_it_answers_bad_frames_with_an_error_and_stays_open(logins, lesson) -> None:  # type: ignore[no-untyped-def]
    comm, _state = await open_json(events_path(lesson[1].pk), logins["student"])
    cases = [
        ({"bytes": b"\x00\x01"}, "text_only"),
        ({"text": "{not json"}, "bad_json"),
        ({"text": "[1, 2]"}, "bad_command"),
        ({"text": "x" * 5000}, "too_big"),
        ({"text": json.dumps({"type": "launch"})}, "unknown_type"),
        ({"text": json.dumps({"type": "ask_help", "note": 5})}, "invalid"),
        ({"text": json.dumps({"type": "ask_help", "note": "n" * 301})}, "invalid"),
        ({"text": json.dumps({"type": "comment_done", "id": "1; drop"})}, "invalid"),
        ({"text": json.dumps({"type": "comment_done", "id": 999999})}, "not_found"),
    ]
    for frame, expected in cases:
        await comm.send_input({"type": "websocket.receive", **frame})
        message = await next_of(comm, "error")
        assert message["error"] == expected, frame
        assert message["message"]
        await asyncio.sleep(0.5)  # stay under the rate limit
    # Flooding is refused politely, then the socket still answers.
    for _ in range(30):
        await comm.send_to(text_data=json.dumps({"type": "ping"}))
    kinds = [m.get("error") or m["type"] for m in await collect(comm, 0.5)]
    assert "slow_down" in kinds
    await asyncio.sleep(1.0)
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    assert (await next_of(comm, "pong"))["type"] == "pong"
    assert not await sync_to_async(HelpRequest.objects.exists)()
    await comm.disconnect()


async def test_it_refuses_commands_from_teachers(logins, lesson) -> None:  # type: ignore[no-untyped-def]
    comm, _state = await open_json(events_path(lesson[1].pk), logins["co_teacher"])
    await comm.send_json_to({"type": "ask_help", "note": "I am not in this havruta"})
    assert (await next_of(comm, "error"))["error"] == "not_allowed"
    assert not await sync_to_async(HelpRequest.objects.exists)()
    await comm.disconnect()


async def test_it_sends_students_to_their_reflection_and_stops_writing_when_the_session_ends(  # type: ignore[no-untyped-def]
    logins, world, lesson, live_settings
) -> None:
    dana_page, _ = await open_json(events_path(lesson[1].pk), logins["student"])
    noa_page, _ = await open_json(events_path(lesson[2].pk), logins["classmate"])
    teacher_page, _ = await open_json(events_path(lesson[1].pk), logins["teacher"])
    dashboard, _ = await open_json(dashboard_path(world.classroom.pk), logins["teacher"])
    dana = await YClient.open(shared_path(lesson[1].pk), logins["student"])
    await dana.type("chosen_question", 0, "Before the end")
    await dana.pump()
    before = await sync_to_async(DocUpdate.objects.count)()

    response = await post(logins["teacher"], reverse("classrooms:live_end", args=[world.session.pk]))
    assert response.status_code == 200
    reflection = reverse("reflections:reflection", args=[world.session.pk])
    for comm in (dana_page, noa_page, teacher_page):
        assert (await next_of(comm, "session_ended"))["url"] == reflection
    message = await next_of(dashboard, "update")
    while "session" not in message:  # the rows Dana's typing changed may come first, in their own update
        message = await next_of(dashboard, "update")
    assert message["session"]["ended"] is True

    await dana.pump(quiet=0.3)  # the worksheet socket re-checks its access on the revoke
    await dana.type("chosen_question", 0, "After the end ")
    await dana.pump()
    assert await sync_to_async(DocUpdate.objects.count)() == before  # read-only now: discarded
    for comm in (dana_page, noa_page, teacher_page, dashboard):
        await comm.disconnect()
    await dana.close()
