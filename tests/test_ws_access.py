"""Who may open a live worksheet socket: members write, teachers read, everyone else gets 4403."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import PERSONAS
from tests.factories import make_session, make_student
from tests.ws_helpers import YClient, communicator, make_worksheet, personal_path, shared_path
from worksheets.models import DocUpdate, Worksheet

pytest_plugins = ["tests.ws_fixtures"]  # logins, live_settings and the DB-thread cleanup
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

WRITERS = {"student", "partner"}
READERS = {"teacher", "co_teacher"}


@pytest.fixture
def worksheet(world):  # type: ignore[no-untyped-def]
    return make_worksheet(world=world)


async def outcome(path: str, client) -> str:  # type: ignore[no-untyped-def]
    """ "4403" (refused, and nothing else was sent first), or "write" / "read" for who got in."""
    comm = communicator(path, client)
    connected, _ = await comm.connect()
    assert connected, "accept-then-close: the browser must be able to read the close code"
    first = await comm.receive_output(timeout=3)
    if first["type"] == "websocket.close":
        await comm.disconnect()
        return str(first["code"])
    assert first["type"] == "websocket.send"
    await comm.disconnect()
    return "open"


async def can_write(path: str, client) -> bool:  # type: ignore[no-untyped-def]
    before = await sync_to_async(DocUpdate.objects.count)()
    me = await YClient.open(path, client)
    await me.type("my_idea" if "/students/" in path else "chosen_question", 0, "x")
    await me.pump()
    await me.close()
    return await sync_to_async(DocUpdate.objects.count)() > before


async def test_it_lets_only_members_and_their_teachers_into_the_shared_doc(logins, worksheet) -> None:  # type: ignore[no-untyped-def]
    path = shared_path(worksheet.pk)
    for persona in PERSONAS:
        result = await outcome(path, logins[persona])
        if persona in WRITERS | READERS:
            assert result == "open", persona
            assert await can_write(path, logins[persona]) is (persona in WRITERS), persona
        else:
            assert result == "4403", persona


async def test_it_guards_a_students_personal_doc(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    path = personal_path(worksheet.pk, world.student.pk)
    for persona in PERSONAS:
        result = await outcome(path, logins[persona])
        if persona in {"student", "partner", "teacher", "co_teacher"}:
            assert result == "open", persona
            # Only the owner writes; the partner and the teachers read.
            assert await can_write(path, logins[persona]) is (persona == "student"), persona
        else:
            assert result == "4403", persona


async def test_it_refuses_personal_docs_of_students_outside_the_havruta(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    for persona in PERSONAS:
        for student in (world.classmate, world.outsider, world.teacher):
            assert await outcome(personal_path(worksheet.pk, student.pk), logins[persona]) == "4403", persona


async def test_it_refuses_other_classes_unknown_and_deleted_ids(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    def other_worlds() -> tuple[int, int, int]:
        other_student = make_student(classroom=world.other_class, name="Far Away")
        other_session = make_session(classroom=world.other_class, groups=[[world.outsider, other_student]])
        elsewhere = make_worksheet(world=world, classroom=world.other_class, session=other_session)
        gone = make_worksheet(world=world, havruta_number=2)
        gone_id = gone.pk
        gone.delete()
        return elsewhere.pk, gone_id, other_student.pk

    elsewhere, gone, other_student = await sync_to_async(other_worlds)()
    paths = [
        shared_path(elsewhere),
        personal_path(elsewhere, other_student),
        shared_path(gone),
        personal_path(gone, world.student.pk),
        shared_path(worksheet.pk + 1000),
        shared_path(10**30),
        personal_path(worksheet.pk, 10**30),
        shared_path(0),
    ]
    theirs = (shared_path(elsewhere), personal_path(elsewhere, other_student))
    for persona in PERSONAS:
        for path in paths:
            result = await outcome(path, logins[persona])
            if persona in ("outsider", "other_teacher") and path in theirs:
                assert result == "open"  # a member over there, and the teacher of that class
            else:
                assert result == "4403", (persona, path)


async def test_it_accepts_paths_with_and_without_the_trailing_slash(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    assert await outcome(f"/ws/worksheets/{worksheet.pk}", logins["student"]) == "open"
    assert await outcome(f"/ws/worksheets/{worksheet.pk}/students/{world.student.pk}", logins["student"]) == "open"


async def test_it_refuses_a_student_who_left_the_class(logins, world, worksheet) -> None:  # type: ignore[no-untyped-def]
    from classrooms.models import Enrollment

    await sync_to_async(lambda: Enrollment.objects.filter(student=world.partner).delete())()
    assert await outcome(shared_path(worksheet.pk), logins["partner"]) == "4403"
    assert await sync_to_async(Worksheet.objects.filter(pk=worksheet.pk).exists)()
