"""Security events are logged as key=value lines with ids, never with PINs, names or answers."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from classrooms.models import Enrollment
from classrooms.services import STUDENT_SIGNIN_LIMIT
from classrooms.services_privacy import DeletionMode, student_delete
from pop_site.asgi import application  # noqa: F401 - Django's logging set up now, not under caplog
from tests.conftest import client_for
from tests.ws_helpers import communicator, expect_close, make_worksheet, shared_path

pytest_plugins = ["tests.ws_fixtures"]  # logins and the DB-thread cleanup for the socket test


def _pin_url(world) -> str:  # type: ignore[no-untyped-def]
    return reverse("classrooms:join_pin", args=[world.classroom.join_code, world.student.pk])


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


@pytest.mark.django_db
def test_it_logs_wrong_pins_and_the_lockout_without_the_pin(world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="havruta.auth")
    client = Client(REMOTE_ADDR="203.0.113.5")
    client.post(_pin_url(world), {"pin": "8642"})
    (first,) = _lines(caplog, "havruta.auth")
    assert first.levelno == logging.WARNING
    assert first.getMessage().startswith("event=signin.pin_wrong ")
    assert f"student={world.student.pk} class={world.classroom.pk} ip=203.0.113.5 failures_student=1/5" in (
        first.getMessage()
    )
    for _ in range(STUDENT_SIGNIN_LIMIT.limit - 1):
        client.post(_pin_url(world), {"pin": "8642"})
    client.post(_pin_url(world), {"pin": "1111"})  # the right PIN, while locked out
    messages = [r.getMessage() for r in _lines(caplog, "havruta.auth")]
    assert sum(m.startswith("event=signin.pin_wrong ") for m in messages) == STUDENT_SIGNIN_LIMIT.limit
    assert any(m.startswith(f"event=signin.lockout by=student student={world.student.pk} ") for m in messages)
    assert messages[-1].startswith(f"event=signin.refused_locked by=student student={world.student.pk} ")
    for message in messages:
        assert "8642" not in message and "1111" not in message
        assert "Dana" not in message


@pytest.mark.django_db
def test_it_logs_who_an_access_helper_turned_away(world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="havruta.access")
    url = reverse("classrooms:detail", args=[world.classroom.pk])
    assert client_for(world, "other_teacher").get(url).status_code == 404
    (line,) = _lines(caplog, "havruta.access")
    assert line.getMessage() == (
        f"event=access.denied helper=classroom_for_teacher user={world.other_teacher.pk} role=teacher "
        f"method=GET path={url}"
    )
    export = reverse("classrooms:student_export", args=[world.classroom.pk, world.outsider.pk])
    assert client_for(world, "teacher").get(export).status_code == 404
    assert (
        _lines(caplog, "havruta.access")[-1]
        .getMessage()
        .startswith(f"event=access.denied helper=enrollment_for_teacher user={world.teacher.pk} ")
    )
    # Anonymous visitors are sent to sign in, and a page that does not exist is not a denial.
    client_for(world, "anonymous").get(url)
    client_for(world, "teacher").get("/no-such-page/")
    assert len(_lines(caplog, "havruta.access")) == 2


@pytest.mark.django_db
def test_it_logs_a_deletion_by_ids_only(world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="havruta.privacy")
    enrollment = Enrollment.objects.select_related("student").get(student=world.student)
    student_delete(enrollment=enrollment, mode=DeletionMode.DELETE_ALL, by=world.teacher)
    (line,) = _lines(caplog, "havruta.privacy")
    assert line.getMessage() == (
        f"event=student.deleted student={world.student.pk} class={world.classroom.pk} mode=delete "
        f"by={world.teacher.pk} worksheets=0"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_logs_a_refused_socket_with_its_reason(logins, world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import sync_to_async

    caplog.set_level(logging.INFO, logger="havruta")
    worksheet = await sync_to_async(make_worksheet)(world=world)
    comm = communicator(shared_path(worksheet.pk), logins["classmate"])
    await comm.connect()
    assert (await expect_close(comm)).code == 4403
    await comm.disconnect()
    closed = [r.getMessage() for r in caplog.records if r.name == "havruta.ws"]
    denied = [r.getMessage() for r in caplog.records if r.name == "havruta.access"]
    where = f"path=/ws/worksheets/{worksheet.pk}/ user={world.classmate.pk}"
    assert f"event=socket.closed by=server code=4403 reason=not allowed {where}" in closed
    assert denied == [f"event=access.denied socket=worksheet reason=not allowed {where}"]
