"""Presence over the live worksheet socket: relayed, kept for late joiners, removed, quiet teachers."""

from __future__ import annotations

import json

import pytest

from tests.ws_helpers import YClient, make_worksheet, shared_path
from worksheets.yprotocol import encode_query_awareness

pytest_plugins = ["tests.ws_fixtures"]  # logins, live_settings and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


def state(**values: object) -> str:
    return json.dumps(values)


async def test_it_relays_presence_and_removes_it_when_a_partner_leaves(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    await dana.announce(101, 0, state(user={"name": "Dana"}, field="chosen_question"))
    await eli.pump()
    assert eli.awareness[101] == (0, state(user={"name": "Dana"}, field="chosen_question"))
    await dana.announce(101, 1, state(user={"name": "Dana"}, field="what_we_found", typing=True))
    await eli.pump()
    assert json.loads(eli.awareness[101][1])["field"] == "what_we_found"
    # A late joiner sees who is there at once.
    late = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    assert json.loads(late.awareness[101][1])["typing"] is True
    await dana.close()
    await eli.pump()
    assert eli.awareness[101] == (2, None)  # removed, with a clock past the last state
    await eli.close()
    await late.close()


async def test_it_answers_a_query_for_presence(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    await dana.announce(7, 3, state(user={"name": "Dana"}))
    await eli.pump()
    eli.awareness.clear()
    await eli.send(encode_query_awareness())
    await eli.pump()
    assert eli.awareness == {7: (3, state(user={"name": "Dana"}))}
    await dana.close()
    await eli.close()


async def test_it_keeps_a_quiet_teacher_out_of_the_students_presence(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    teacher = await YClient.open(shared_path(worksheet.pk), logins["teacher"])
    await dana.announce(1, 0, state(user={"name": "Dana"}))
    await teacher.pump()
    assert 1 in teacher.awareness  # the teacher sees the students
    await teacher.announce(900, 0, state(user={"name": "Rivka"}, visible=False))
    await dana.pump()
    assert 900 not in dana.awareness
    late = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    assert 900 not in late.awareness and 1 in late.awareness
    # Popping in for real: now the pair sees the teacher ...
    await teacher.announce(900, 1, state(user={"name": "Rivka"}, visible=True))
    await dana.pump()
    assert json.loads(dana.awareness[900][1])["visible"] is True
    # ... and going quiet again removes the teacher from their view.
    await teacher.announce(900, 2, state(user={"name": "Rivka"}, visible=False))
    await dana.pump()
    assert dana.awareness[900] == (2, None)
    await teacher.close()
    await dana.pump()
    await dana.close()
    await late.close()


async def test_it_lets_a_socket_speak_only_for_its_own_clients(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    await dana.announce(5, 0, state(user={"name": "Dana"}))
    await eli.pump()
    await eli.announce(5, 9, state(user={"name": "Not Dana"}))  # impersonation
    await eli.announce(5, 10, None)  # or removal of someone else
    await dana.pump()
    await eli.pump()
    late = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    assert late.awareness[5] == (0, state(user={"name": "Dana"}))
    await dana.close()
    await eli.close()
    await late.close()


async def test_it_shows_a_returning_client_its_removal_so_it_announces_itself_again(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(worksheet.pk), logins["student"])
    eli = await YClient.open(shared_path(worksheet.pk), logins["partner"])
    await dana.announce(11, 4, state(user={"name": "Dana"}))
    await dana.pump()
    await dana.close()  # removal at clock 5
    back = await YClient.open(shared_path(worksheet.pk), logins["student"])
    await back.announce(11, 4, state(user={"name": "Dana"}))  # same clientID, same (stale) clock
    await back.pump()
    assert back.awareness[11] == (5, None)  # y-protocols clients bump their clock past this
    await back.announce(11, 6, state(user={"name": "Dana"}))
    await eli.pump()
    assert eli.awareness[11] == (6, state(user={"name": "Dana"}))
    await back.close()
    await eli.close()
