"""Teachers' class pages: the class list, creating and archiving, the class page, the printable
sign-in sheet, and co-teachers invited by email."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from accounts.models import User
from classrooms.models import Classroom, ClassroomTeacher, CoTeacherInvitation
from classrooms.qr import qr_svg
from classrooms.services import classroom_archive
from tests.classes_fixtures import fast_password_hashing, make_students  # noqa: F401
from tests.conftest import World, client_for
from tests.factories import addr, make_teacher

pytestmark = pytest.mark.django_db


# --- The class list and creating a class --------------------------------------------------------


def test_it_invites_a_new_teacher_to_create_their_first_class(world: World) -> None:
    body = client_for(world, "staff").get("/classes/").content.decode()
    assert "You have no classes yet" in body
    assert 'href="/classes/new/"' in body
    assert "Create your first class" in body


def test_it_sends_teachers_home_to_their_classes(world: World) -> None:
    response = client_for(world, "teacher").get("/home/")
    assert response["Location"] == "/classes/"
    response = client_for(world, "student").get("/home/")
    assert response["Location"] == "/me/"


def test_it_creates_a_class_and_goes_on_to_add_students(world: World) -> None:
    client = client_for(world, "staff")
    response = client.post("/classes/new/", {"name": " Tuesday Adults ", "grade_band": "adult", "language": "he"})
    classroom = Classroom.objects.get(name="Tuesday Adults")
    assert response["Location"] == f"/classes/{classroom.pk}/roster/add/"
    assert classroom.language == "he"
    assert ClassroomTeacher.objects.get(classroom=classroom).teacher == world.staff
    assert re.fullmatch(r"[A-Z2-9]{6}", classroom.join_code)
    body = client.get("/classes/").content.decode()
    assert "Tuesday Adults" in body
    assert "0 students" in body


def test_it_explains_missing_class_details(world: World) -> None:
    response = client_for(world, "teacher").post("/classes/new/", {"name": "", "grade_band": "x"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_it_lists_active_and_archived_classes_apart(world: World) -> None:
    old = Classroom.objects.create(name="Last Year", grade_band="adult", join_code="OLDOLD")
    ClassroomTeacher.objects.create(classroom=old, teacher=world.teacher, is_owner=True)
    classroom_archive(classroom=old)
    body = client_for(world, "teacher").get("/classes/").content.decode()
    active, archived = body.split("Archived classes", 1)
    assert "Grade 7 Chumash" in active
    assert "4 students" in active
    assert "Last Year" not in active
    assert "Last Year" in archived
    assert "Other Class" not in body  # another teacher's class


def test_it_archives_and_reactivates_a_class(world: World) -> None:
    client = client_for(world, "teacher")
    response = client.post(f"/classes/{world.classroom.pk}/archive/", follow=True)
    assert "The class is archived" in response.content.decode()
    world.classroom.refresh_from_db()
    assert world.classroom.is_archived
    client.post(f"/classes/{world.classroom.pk}/unarchive/")
    world.classroom.refresh_from_db()
    assert not world.classroom.is_archived


def test_it_edits_the_class_details(world: World) -> None:
    client = client_for(world, "co_teacher")
    client.post(
        f"/classes/{world.classroom.pk}/edit/",
        {"name": "Grade 7 Tanakh", "grade_band": "middle-school", "language": "he"},
    )
    world.classroom.refresh_from_db()
    assert (world.classroom.name, world.classroom.language) == ("Grade 7 Tanakh", "he")


# --- The class page ---------------------------------------------------------------------------------


def test_it_shows_the_roster_with_pins_the_code_and_the_teachers(world: World) -> None:
    body = client_for(world, "co_teacher").get(f"/classes/{world.classroom.pk}/").content.decode()
    assert world.classroom.join_code in body
    for name, pin in (("Dana", "1111"), ("Eli", "2222"), ("Noa", "3333"), ("Yoni", "4444")):
        assert f'<th scope="row"><bdi dir="auto">{name}</bdi></th>' in body
        assert f'<span class="pin" dir="ltr">{pin}</span>' in body
    assert "Outsider" not in body
    assert "Rivka Teacher" in body
    assert "Co Teacher" in body
    assert f'href="/classes/{world.classroom.pk}/sign-in-sheet/"' in body
    assert f'href="/classes/{world.classroom.pk}/code/"' in body
    assert "<svg" in body  # the class QR code to project


def test_it_shows_an_empty_roster_with_what_to_do_next(world: World) -> None:
    client = client_for(world, "other_teacher")
    classroom = Classroom.objects.get(name="Other Class")
    classroom.enrollments.all().delete()
    body = client.get(f"/classes/{classroom.pk}/").content.decode()
    assert "No students yet." in body
    assert f'href="/classes/{classroom.pk}/roster/add/"' in body


# --- The printable sign-in sheet ---------------------------------------------------------------------


def test_it_prints_a_sign_in_sheet_with_the_class_qr_and_one_card_per_student(world: World) -> None:
    response = client_for(world, "teacher").get(f"/classes/{world.classroom.pk}/sign-in-sheet/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    code = world.classroom.join_code
    assert body.count('<li class="cut-card">') == 4
    assert body.count("<svg") == 5  # the class, and each student
    assert f'<p class="sheet-join-code" dir="ltr">{code}</p>' in body
    for pin in ("1111", "2222", "3333", "4444"):
        assert f'<dd class="cut-card-pin" dir="ltr">{pin}</dd>' in body
    assert "5555" not in body  # the outsider's PIN
    # Each QR encodes the absolute sign-in address: the class page, and each student's PIN page.
    class_url = f"http://testserver/join/{code}/"
    assert qr_svg(class_url, title=f"Sign-in code for the class {world.classroom.name}") in body
    student_url = f"http://testserver/join/{code}/{world.student.pk}/"
    assert qr_svg(student_url, title="Sign-in code for Dana", scale=3) in body
    assert 'data-action="print"' in body
    assert "<script>" not in body


def test_it_scales_the_sheet_to_a_large_class(world: World) -> None:
    make_students(world.classroom, 40)
    body = client_for(world, "teacher").get(f"/classes/{world.classroom.pk}/sign-in-sheet/").content.decode()
    assert body.count('<li class="cut-card">') == 44
    assert body.count("<svg") == 45


# --- Co-teachers ------------------------------------------------------------------------------------


def _invite(client: Client, world: World, email: str):  # type: ignore[no-untyped-def]
    return client.post(f"/classes/{world.classroom.pk}/co-teachers/invite/", {"email": email})


def _link_in_last_mail() -> str:
    match = re.search(r"http://testserver(/invitations/[^\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_it_invites_a_co_teacher_by_email_with_an_accept_link(world: World) -> None:
    response = _invite(client_for(world, "teacher"), world, addr("other"))
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [addr("other")]
    assert "Grade 7 Chumash" in message.subject
    invitation = CoTeacherInvitation.objects.get(classroom=world.classroom)
    assert _link_in_last_mail() == f"/invitations/{invitation.token}/"
    assert len(invitation.token) >= 40
    body = client_for(world, "teacher").get(f"/classes/{world.classroom.pk}/").content.decode()
    assert addr("other") in body
    assert "Invitations waiting for an answer" in body


def test_it_adds_the_invited_teacher_once_they_accept(world: World) -> None:
    _invite(client_for(world, "teacher"), world, addr("other"))
    link = _link_in_last_mail()
    client = client_for(world, "other_teacher")
    page = client.get(link).content.decode()
    assert "Rivka Teacher" in page
    assert "Grade 7 Chumash" in page
    response = client.post(link)
    assert response["Location"] == f"/classes/{world.classroom.pk}/"
    assert client.get(f"/classes/{world.classroom.pk}/").status_code == 200
    # Same rights as the owner: the co-teacher edits the roster too.
    edit = client.post(
        f"/classes/{world.classroom.pk}/students/{world.student.pk}/edit/", {"display_name": "Dana", "group_label": "B"}
    )
    assert edit.status_code == 302


def test_it_sends_a_visitor_to_sign_in_and_back_to_the_invitation(world: World) -> None:
    _invite(client_for(world, "teacher"), world, addr("other"))
    link = _link_in_last_mail()
    client = Client()
    page = client.get(link).content.decode()
    next_param = "?next=" + link
    assert f'href="/accounts/login/{next_param}"' in page
    assert f'href="/accounts/signup/{next_param}"' in page
    response = client.post(
        "/accounts/login/" + next_param, {"login": addr("other"), "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == link
    client.post(link)
    assert world.other_teacher.classroom_links.filter(classroom=world.classroom).exists()


def test_it_lets_an_invited_newcomer_sign_up_verify_and_accept(world: World) -> None:
    _invite(client_for(world, "teacher"), world, addr("newcolleague"))
    link = _link_in_last_mail()
    client = Client()
    page = client.get(link).content.decode()
    signup = f"/accounts/signup/?next={link}"
    assert f'href="{signup}"' in page
    password = "a long and memorable passphrase"
    response = client.post(
        signup,
        {"display_name": "New Colleague", "email": addr("newcolleague"), "password1": password, "password2": password},
    )
    assert response.status_code == 302
    newcomer = User.objects.get(email=addr("newcolleague"))
    assert newcomer.is_teacher
    # Not yet: the address is confirmed from allauth's mail first.
    assert client.post(link).status_code == 200  # the page asking to sign in, nothing accepted
    assert not newcomer.classroom_links.exists()
    verify = re.search(r"http://testserver(/accounts/confirm-email/[^\s]+)", mail.outbox[-1].body)
    assert verify, mail.outbox[-1].body
    client.post(verify.group(1))
    assert EmailAddress.objects.get(user=newcomer).verified
    accept = client.get(link)
    assert accept.status_code == 200 and "Grade 7 Chumash" in accept.content.decode()
    assert client.post(link)["Location"] == f"/classes/{world.classroom.pk}/"
    assert newcomer.classroom_links.filter(classroom=world.classroom, is_owner=False).exists()
    # Same rights as the owner, from the first day.
    assert client.get(f"/classes/{world.classroom.pk}/roster/add/").status_code == 200


def test_it_refuses_an_invitation_to_a_teacher_whose_address_is_not_verified(world: World) -> None:
    _invite(client_for(world, "teacher"), world, addr("newcomer"))
    link = _link_in_last_mail()
    newcomer = make_teacher(email=addr("elsewhere"))
    EmailAddress.objects.create(user=newcomer, email=addr("newcomer"), verified=False)
    client = Client()
    client.force_login(newcomer)
    response = client.get(link)
    assert response.status_code == 404
    assert "This invitation link does not work" in response.content.decode()
    assert client.post(link).status_code == 404
    assert not newcomer.classroom_links.exists()


def test_it_replaces_the_link_when_inviting_the_same_address_again(world: World) -> None:
    teacher = client_for(world, "teacher")
    _invite(teacher, world, addr("other"))
    first = _link_in_last_mail()
    _invite(teacher, world, addr("other").upper())
    second = _link_in_last_mail()
    assert first != second
    assert CoTeacherInvitation.objects.filter(classroom=world.classroom).count() == 1
    other = client_for(world, "other_teacher")
    assert other.get(first).status_code == 404
    assert other.get(second).status_code == 200


def test_it_cancels_an_invitation(world: World) -> None:
    teacher = client_for(world, "teacher")
    _invite(teacher, world, addr("other"))
    link = _link_in_last_mail()
    invitation = CoTeacherInvitation.objects.get()
    teacher.post(f"/classes/{world.classroom.pk}/invitations/{invitation.pk}/cancel/")
    assert client_for(world, "other_teacher").get(link).status_code == 404


def test_it_does_not_invite_someone_who_already_teaches_the_class(world: World) -> None:
    response = _invite(client_for(world, "teacher"), world, addr("coteacher"))
    assert response.status_code == 200
    assert "This person already teaches this class." in response.content.decode()
    assert mail.outbox == []


def test_it_lets_the_owner_remove_a_co_teacher(world: World) -> None:
    client = client_for(world, "teacher")
    url = f"/classes/{world.classroom.pk}/co-teachers/{world.co_teacher.pk}/remove/"
    assert "Remove" in client.get(url).content.decode()
    client.post(url)
    assert client_for(world, "co_teacher").get(f"/classes/{world.classroom.pk}/").status_code == 404
    assert client.get(f"/classes/{world.classroom.pk}/").status_code == 200


def test_it_lets_a_co_teacher_leave(world: World) -> None:
    client = client_for(world, "co_teacher")
    response = client.post(f"/classes/{world.classroom.pk}/co-teachers/{world.co_teacher.pk}/remove/")
    assert response["Location"] == "/classes/"
    assert client.get(f"/classes/{world.classroom.pk}/").status_code == 404
    assert User.objects.filter(pk=world.co_teacher.pk).exists()
