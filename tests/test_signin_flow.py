"""Students sign in with the class code, their name and a PIN; wrong PINs are rate limited."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from classrooms.services import (
    IP_JOIN_CODE_LIMIT,
    IP_SIGNIN_LIMIT,
    STUDENT_SIGNIN_LIMIT,
    classroom_archive,
    classroom_regenerate_join_code,
    student_reset_pin,
)
from tests.classes_fixtures import fast_password_hashing, make_students  # noqa: F401
from tests.conftest import World, client_for

pytestmark = pytest.mark.django_db


def _signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def _pin_url(world: World, student=None) -> str:  # type: ignore[no-untyped-def]
    student = student or world.student
    return f"/join/{world.classroom.join_code}/{student.pk}/"


def test_it_signs_a_student_in_with_class_code_name_and_pin(world: World) -> None:
    client = Client()
    code = world.classroom.join_code
    typed = f" {code[:3].lower()}-{code[3:].lower()} "
    response = client.post("/join/", {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/join/{code}/"

    page = client.get(response["Location"]).content.decode()
    for name in ("Dana", "Eli", "Noa", "Yoni"):
        assert f">{name}</a>" in page
    assert "Outsider" not in page
    assert f'href="/join/{code}/{world.student.pk}/"' in page

    pin_page = client.get(f"/join/{code}/{world.student.pk}/").content.decode()
    assert 'inputmode="numeric"' in pin_page
    assert 'autocomplete="off"' in pin_page

    response = client.post(f"/join/{code}/{world.student.pk}/", {"pin": "1111"})
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    assert _signed_in_as(client) == world.student.pk
    home = client.get("/me/")
    assert home.status_code == 200
    assert "Grade 7 Chumash" in home.content.decode()


def test_it_never_asks_a_student_for_an_email(world: World) -> None:
    client = Client()
    code = world.classroom.join_code
    for url in ("/join/", f"/join/{code}/", f"/join/{code}/{world.student.pk}/"):
        html = client.get(url).content.decode().lower()
        assert 'type="email"' not in html and 'name="email"' not in html, url
    client.post(f"/join/{code}/{world.student.pk}/", {"pin": "1111"})
    assert 'name="email"' not in client.get("/me/").content.decode().lower()
    world.student.refresh_from_db()
    assert world.student.email == ""  # a roster holds a display name and a PIN, nothing else
    assert not world.student.has_usable_password()


def test_it_tells_a_student_when_the_class_code_is_wrong(world: World) -> None:
    client = Client()
    response = client.post("/join/", {"code": "QQQQQQ"})
    assert response.status_code == 200
    assert "There is no class with this code" in response.content.decode()
    response = client.get("/join/QQQQQQ/")
    assert response.status_code == 404
    assert "There is no class with this code" in response.content.decode()


def test_it_turns_a_lowercase_code_in_the_address_into_the_real_one(world: World) -> None:
    code = world.classroom.join_code
    response = Client().get(f"/join/{code.lower()}/{world.student.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/join/{code}/{world.student.pk}/"


def test_it_does_not_sign_in_with_a_wrong_pin_and_says_how_many_tries_are_left(world: World) -> None:
    client = Client()
    response = client.post(_pin_url(world), {"pin": "9999"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "That PIN is not right. You can try 4 more times." in body
    assert _signed_in_as(client) is None


def test_it_explains_a_pin_that_is_not_digits(world: World) -> None:
    response = Client().post(_pin_url(world), {"pin": "abcd"})
    assert "A PIN has only digits." in response.content.decode()
    assert STUDENT_SIGNIN_LIMIT.failures(str(world.student.pk)) == 0


def test_it_locks_a_student_out_after_five_wrong_pins_even_for_the_right_pin(world: World) -> None:
    client = Client()
    for attempt in range(1, 5):
        response = client.post(_pin_url(world), {"pin": f"900{attempt}"})
        assert response.status_code == 200
    response = client.post(_pin_url(world), {"pin": "9005"})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many wrong PINs. Wait 10 minutes and try again, or ask your teacher to reset your PIN." in body
    assert 'name="pin"' not in body  # no form to keep guessing in

    response = client.post(_pin_url(world), {"pin": "1111"})  # the right PIN, but locked
    assert response.status_code == 429
    assert _signed_in_as(client) is None
    # Coming back to the page shows the lockout straight away.
    assert "Too many wrong PINs" in client.get(_pin_url(world)).content.decode()

    # The lockout is per student: a classmate on the same device signs in.
    response = client.post(_pin_url(world, world.partner), {"pin": "2222"})
    assert response.status_code == 302
    assert _signed_in_as(client) == world.partner.pk


def test_it_lifts_a_lockout_when_the_teacher_resets_the_pin(world: World) -> None:
    client = Client()
    for _ in range(STUDENT_SIGNIN_LIMIT.limit):
        client.post(_pin_url(world), {"pin": "0000"})
    assert client.post(_pin_url(world), {"pin": "1111"}).status_code == 429
    enrollment = world.student.enrollment
    new_pin = student_reset_pin(enrollment=enrollment)
    assert new_pin != "1111"
    assert client.post(_pin_url(world), {"pin": "1111"}).status_code == 200  # the old PIN is gone
    assert client.post(_pin_url(world), {"pin": new_pin}).status_code == 302
    assert _signed_in_as(client) == world.student.pk


def test_it_locks_out_a_network_after_thirty_wrong_pins_across_students(world: World) -> None:
    students = make_students(world.classroom, IP_SIGNIN_LIMIT.limit, prefix="Guess")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for student in students[:-1]:
        assert attacker.post(_pin_url(world, student), {"pin": "999999"}).status_code == 200
    response = attacker.post(_pin_url(world, students[-1]), {"pin": "999999"})
    assert response.status_code == 429
    assert (
        "Too many wrong PINs were typed on this network. Wait 10 minutes and try again, or ask your teacher for help."
        in response.content.decode()
    )
    # Even a right PIN from that address waits...
    assert attacker.post(_pin_url(world), {"pin": "1111"}).status_code == 429
    assert _signed_in_as(attacker) is None
    # ...while the same student signs in from another address.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post(_pin_url(world), {"pin": "1111"}).status_code == 302


def test_it_logs_failures_without_the_pin(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="havruta.auth")
    Client().post(_pin_url(world), {"pin": "987654"})
    records = [r for r in caplog.records if r.name == "havruta.auth"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    message = records[0].getMessage()
    assert f"student={world.student.pk}" in message
    assert "987654" not in message
    assert "1111" not in message
    Client().post(_pin_url(world), {"pin": "1111"})
    messages = [r.getMessage() for r in caplog.records if r.name == "havruta.auth"]
    assert len(messages) == 2
    assert all("1111" not in m and "987654" not in m for m in messages)


def test_it_rate_limits_guessing_class_codes(world: World) -> None:
    client = Client(REMOTE_ADDR="203.0.113.10")
    for _ in range(IP_JOIN_CODE_LIMIT.limit):
        assert client.post("/join/", {"code": "QQQQQQ"}).status_code == 200
    response = client.post("/join/", {"code": world.classroom.join_code})
    assert response.status_code == 429
    assert "Too many wrong class codes. Wait 10 minutes" in response.content.decode()


def test_it_stops_the_old_code_when_the_teacher_regenerates_it(world: World) -> None:
    old = world.classroom.join_code
    signed_in = client_for(world, "student")
    new = classroom_regenerate_join_code(classroom=world.classroom)
    assert new != old
    client = Client()
    response = client.post("/join/", {"code": old})
    assert "There is no class with this code" in response.content.decode()
    assert client.get(f"/join/{old}/").status_code == 404
    assert client.post(f"/join/{old}/{world.student.pk}/", {"pin": "1111"}).status_code == 404
    assert client.post("/join/", {"code": new})["Location"] == f"/join/{new}/"
    assert client.post(f"/join/{new}/{world.student.pk}/", {"pin": "1111"}).status_code == 302
    assert signed_in.get("/me/").status_code == 200  # signed-in students stay signed in


def test_it_regenerates_the_code_from_the_class_page_after_confirmation(world: World) -> None:
    client = client_for(world, "co_teacher")
    old = world.classroom.join_code
    confirm = client.get(f"/classes/{world.classroom.pk}/code/")
    assert "stops working" in confirm.content.decode()
    world.classroom.refresh_from_db()
    assert world.classroom.join_code == old  # looking at the confirmation changes nothing
    response = client.post(f"/classes/{world.classroom.pk}/code/", follow=True)
    world.classroom.refresh_from_db()
    assert world.classroom.join_code != old
    assert world.classroom.join_code in response.content.decode()


def test_it_does_not_let_students_join_an_archived_class(world: World) -> None:
    classroom_archive(classroom=world.classroom)
    client = Client()
    response = client.post("/join/", {"code": world.classroom.join_code})
    assert response.status_code == 200
    assert "There is no class with this code" in response.content.decode()
    assert client.post(_pin_url(world), {"pin": "1111"}).status_code == 404
    assert _signed_in_as(client) is None


def test_it_shows_the_sign_in_pages_in_the_class_language(world: World) -> None:
    world.classroom.language = "he"
    world.classroom.save(update_fields=["language"])
    body = Client().get(f"/join/{world.classroom.join_code}/").content.decode()
    assert '<html lang="he" dir="rtl">' in body
    # A visitor who picked a language keeps it.
    client = Client()
    client.cookies["django_language"] = "en"
    assert '<html lang="en" dir="ltr">' in client.get(f"/join/{world.classroom.join_code}/").content.decode()


def test_it_keeps_the_class_language_after_sign_in_until_the_student_picks_one(world: World) -> None:
    world.classroom.language = "he"
    world.classroom.save(update_fields=["language"])
    client = Client()
    client.post(_pin_url(world), {"pin": "1111"})
    assert '<html lang="he" dir="rtl">' in client.get("/me/").content.decode()
    # The student switches to English: that choice wins from then on.
    client.post("/account/language/", {"language": "en", "next": "/me/"})
    assert '<html lang="en" dir="ltr">' in client.get("/me/").content.decode()


def test_it_uses_the_standard_model_backend_for_students(world: World) -> None:
    client = Client()
    client.post(_pin_url(world), {"pin": "1111"})
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
