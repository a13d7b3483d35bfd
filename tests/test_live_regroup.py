"""Regrouping while the lesson runs: the real pairing and assignment services tell open sockets.

A teacher moves a student to another havruta, starts a new pairing, or closes an assignment
while the class is writing. The moved student's worksheet socket closes (4403) so their page
stops showing a havruta that is no longer theirs; the teachers' live pages are told to reload
their grid, so a dashboard opened before a new session follows it.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from classrooms.models import Assignment, Havruta
from classrooms.services_pairing import assignment_close, havruta_move_student, pairing_session_create
from tests.live_fixtures import assign_lesson
from tests.test_live_sockets import collect, dashboard_path, open_json
from tests.ws_helpers import YClient, expect_close, shared_path

pytest_plugins = ["tests.ws_fixtures"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def lesson(world):  # type: ignore[no-untyped-def]
    return assign_lesson(session=world.session)


async def test_it_closes_the_socket_of_a_student_the_teacher_moves_to_another_havruta(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    eli = await YClient.open(shared_path(lesson[1].pk), logins["partner"])
    dana = await YClient.open(shared_path(lesson[1].pk), logins["student"])

    def move() -> None:
        other = Havruta.objects.get(session=world.session, number=2)
        havruta_move_student(session=world.session, student=world.partner, to_havruta=other)

    await sync_to_async(move)()
    closed = await expect_close(eli.comm)
    assert closed.code == 4403
    # Dana stayed in havruta 1: her socket keeps working.
    await dana.type("chosen_question", 0, "still here")
    await dana.pump()
    assert dana.closed is None
    assert await dana.saved()
    await eli.close()
    await dana.close()


async def test_it_keeps_a_socket_open_read_only_when_the_teacher_closes_the_assignment(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    dana = await YClient.open(shared_path(lesson[1].pk), logins["student"])
    await dana.type("chosen_question", 0, "in time")
    await dana.pump()
    assert await dana.saved()

    await sync_to_async(lambda: assignment_close(assignment=Assignment.objects.get(pk=lesson[1].assignment_id)))()
    await dana.pump()
    await dana.type("chosen_question", 0, "too late ")
    await dana.pump()
    assert dana.closed is None  # still reading
    assert not await dana.saved()  # the edit after closing was not taken
    await dana.close()


async def test_it_tells_an_open_dashboard_to_reload_when_a_new_session_starts(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    comm, first = await open_json(dashboard_path(world.classroom.pk), logins["co_teacher"])
    assert first["type"] == "snapshot"

    await sync_to_async(
        lambda: pairing_session_create(
            classroom=world.classroom,
            by=world.teacher,
            method="random",
            present=[world.student, world.partner, world.classmate, world.classmate_partner],
        )
    )()
    messages = await collect(comm, 1.5)
    assert {"type": "regrouped"} in messages
    await comm.disconnect()


async def test_it_does_not_tell_another_classs_dashboard(logins, world, lesson) -> None:  # type: ignore[no-untyped-def]
    comm, _first = await open_json(dashboard_path(world.other_class.pk), logins["other_teacher"])

    def pair_my_class() -> None:
        pairing_session_create(
            classroom=world.classroom, by=world.teacher, method="random", present=[world.student, world.partner]
        )

    await sync_to_async(pair_my_class)()
    messages = await collect(comm, 1.0)
    assert {"type": "regrouped"} not in messages
    await comm.disconnect()
