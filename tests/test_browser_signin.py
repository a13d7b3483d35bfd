"""Through the real pages in Chromium: a student signs in with the class code and PIN and lands on
their home; a teacher creates a class, pastes names and prints the sign-in sheet."""

from __future__ import annotations

import re

import pytest

from classrooms.models import Classroom, Enrollment
from tests.classes_fixtures import make_assignment
from tests.factories import addr, make_classroom, make_session, make_student, make_teacher

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_signs_a_student_in_with_code_and_pin_and_shows_their_havruta(page, live_server) -> None:  # type: ignore[no-untyped-def]
    teacher = make_teacher(name="Rivka Levi")
    classroom = make_classroom(teacher=teacher, name="Grade 7 Chumash")
    dana = make_student(classroom=classroom, name="Dana", pin="1357")
    eli = make_student(classroom=classroom, name="Eli", pin="2468")
    make_student(classroom=classroom, name="Noa", pin="9753")
    session = make_session(classroom=classroom, groups=[[dana, eli]])
    make_assignment(session, title="Listening to the Text", reference="Genesis 4:1-16")
    code = classroom.join_code

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="I'm a student: join with a class code").click()
    # Children type codes any which way: lower case, with a dash.
    page.get_by_label("Class code").fill(f"{code[:3].lower()}-{code[3:].lower()}")
    page.get_by_role("button", name="Next").click()

    page.wait_for_url(f"**/join/{code}/")
    assert page.get_by_role("heading", name="Who are you?").is_visible()
    page.get_by_role("link", name="Dana", exact=True).click()

    pin = page.get_by_label("Your PIN")
    assert pin.get_attribute("inputmode") == "numeric"
    assert pin.get_attribute("autocomplete") == "off"
    pin.fill("1111")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("That PIN is not right. You can try 4 more times.").is_visible()

    page.get_by_label("Your PIN").fill("1357")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")
    assert page.get_by_role("heading", name="Today you learn with Eli").is_visible()
    assert page.get_by_text("Listening to the Text, Genesis 4:1-16").is_visible()
    link = page.get_by_role("link", name=re.compile("Open our worksheet"))
    assert re.fullmatch(r"/worksheets/\d+/", link.get_attribute("href") or "")
    assert page.get_by_text("Signed in as Dana").is_visible()


def test_it_takes_a_teacher_from_a_new_class_to_a_printable_sign_in_sheet(page, live_server) -> None:  # type: ignore[no-untyped-def]
    make_teacher(name="Rivka Levi", email=addr("rivka"))
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(addr("rivka"))
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/classes/")
    page.get_by_role("link", name="Create your first class").click()

    page.get_by_label("Class name").fill("Grade 7 Chumash")
    page.get_by_label("Grade band").select_option("middle-school")
    page.get_by_role("button", name="Create class").click()

    names = ["Dana", "Eli", "Noa", "Yoni", "Maya", "Ari", "Tamar", "dana"]
    page.get_by_label("Type or paste names, one per line").fill("\n".join(names))
    page.get_by_role("button", name="Preview").click()
    assert page.get_by_text("7 students are ready to add.").is_visible()
    assert page.get_by_role("cell", name="The same name is already on line 1.").is_visible()
    assert Enrollment.objects.count() == 0
    page.get_by_role("button", name="Add 7 students").click()
    assert page.get_by_text("7 students added.").is_visible()
    classroom = Classroom.objects.get()
    assert classroom.enrollments.count() == 7

    page.get_by_role("link", name="Print sign-in sheet").click()
    assert page.locator(".cut-card").count() == 7
    assert page.locator(".cut-card svg").count() == 7
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.locator(".sheet-join-code").inner_text() == classroom.join_code
    cards = page.locator(".cut-card").all()
    assert [card.bounding_box()["width"] > 150 for card in cards[:3]] == [True, True, True]
    # Three cards to a row on paper.
    tops = {round(card.bounding_box()["y"]) for card in cards[:3]}
    assert len(tops) == 1
