"""Teacher accounts through allauth, end to end through the test client."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.factories import addr

pytestmark = pytest.mark.django_db

PASSWORD = "a long and memorable passphrase"
TEACHER_EMAIL = addr("rivka")


def _link_in_last_mail() -> str:
    body = mail.outbox[-1].body
    match = re.search(r"https?://[^\s]+", body)
    assert match, body
    return match.group(0).replace("http://testserver", "")


def _sign_up(client: Client, email: str = TEACHER_EMAIL) -> None:
    response = client.post(
        "/accounts/signup/",
        {"display_name": " Rivka   Cohen ", "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302


def test_it_signs_up_a_teacher_and_sends_a_verification_mail(client: Client) -> None:
    _sign_up(client)
    user = User.objects.get(email=TEACHER_EMAIL)
    assert user.role == User.Role.TEACHER
    assert len(mail.outbox) == 1
    assert TEACHER_EMAIL in mail.outbox[0].to
    assert EmailAddress.objects.get(user=user).verified is False


def test_it_asks_a_new_teacher_for_the_name_students_and_colleagues_see(client: Client) -> None:
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="display_name"' in page and 'autocomplete="name"' in page
    response = client.post(
        "/accounts/signup/",
        {"display_name": "  ", "email": TEACHER_EMAIL, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert not User.objects.filter(email=TEACHER_EMAIL).exists()
    _sign_up(client)
    assert User.objects.get(email=TEACHER_EMAIL).name == "Rivka Cohen"


def test_it_does_not_let_an_unverified_teacher_in(client: Client) -> None:
    _sign_up(client)
    client.logout()
    response = client.post("/accounts/login/", {"login": TEACHER_EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    assert "confirm-email" in response["Location"] or "verification" in response["Location"]
    assert "_auth_user_id" not in client.session


def test_it_verifies_the_email_from_the_link_and_signs_in(client: Client) -> None:
    _sign_up(client)
    link = _link_in_last_mail()
    response = client.post(link)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email=TEACHER_EMAIL).verified
    client.logout()
    response = client.post("/accounts/login/", {"login": TEACHER_EMAIL, "password": PASSWORD}, follow=True)
    assert response.context["user"].email == TEACHER_EMAIL
    assert response.context["user"].is_authenticated


def test_it_logs_out(client: Client) -> None:
    user = User.objects.create_user(username="t", email=TEACHER_EMAIL, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.post("/accounts/login/", {"login": TEACHER_EMAIL, "password": PASSWORD})
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_resets_a_forgotten_password(client: Client) -> None:
    user = User.objects.create_user(username="t", email=TEACHER_EMAIL, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.post("/accounts/password/reset/", {"email": TEACHER_EMAIL})
    assert len(mail.outbox) == 1
    response = client.get(_link_in_last_mail(), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else _link_in_last_mail()
    new_password = "another long passphrase here"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert not user.check_password(PASSWORD)


def test_it_rejects_a_reset_link_that_was_tampered_with(client: Client) -> None:
    user = User.objects.create_user(username="t", email=TEACHER_EMAIL, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.post("/accounts/password/reset/", {"email": TEACHER_EMAIL})
    link = _link_in_last_mail().rstrip("/") + "x/"
    response = client.get(link, follow=True)
    assert b"bad token" in response.content.lower() or b"invalid" in response.content.lower()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_it_remembers_the_language_a_teacher_chose(client: Client) -> None:
    user = User.objects.create_user(username="t", email=TEACHER_EMAIL, password=PASSWORD)
    client.force_login(user)
    client.post("/account/language/", {"language": "he", "next": "/about/"})
    user.refresh_from_db()
    assert user.language == "he"
    fresh = Client()  # another device: no language cookie
    fresh.force_login(user)
    response = fresh.get("/about/")
    assert b'dir="rtl"' in response.content
    assert b'lang="he"' in response.content
