"""Through the real pages in Chromium: a teacher creates a class, pastes seven names, pairs them
(two pairs and a triad), assigns Listening to the Text with a text; a student signs in with the
class code and PIN and sees their partner and the assignment. Then the manual controls of the
board: a drag and drop, and the same kind of move made with the keyboard alone."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from classrooms.models import Classroom, Enrollment, HavrutaMember, PairingSession
from protocols.models import Protocol
from protocols.services import library_load
from tests.factories import addr, make_classroom, make_session, make_student, make_teacher
from worksheets.models import Worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ["Dana", "Eli", "Noa", "Yoni", "Maya", "Ari", "Tamar"]


def test_it_takes_a_class_from_names_to_havrutot_to_a_students_assignment(page, live_server) -> None:  # type: ignore[no-untyped-def]
    library_load()
    make_teacher(name="Rivka Levi", email=addr("rivka"))

    # The teacher signs in, creates a class and pastes seven names.
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(addr("rivka"))
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/classes/")
    page.get_by_role("link", name="Create your first class").click()
    page.get_by_label("Class name").fill("Grade 7 Chumash")
    page.get_by_label("Grade band").select_option("middle-school")
    page.get_by_role("button", name="Create class").click()
    page.get_by_label("Type or paste names, one per line").fill("\n".join(NAMES))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Add 7 students").click()
    assert page.get_by_text("7 students added.").is_visible()
    classroom = Classroom.objects.get()

    # From the class page: a new pairing, everyone present, rotate by default.
    page.goto(live_server.url + f"/classes/{classroom.pk}/")
    page.get_by_role("link", name="New pairing").first.click()
    page.wait_for_url(f"**/classes/{classroom.pk}/pairings/new/")
    for name in NAMES:
        assert page.get_by_label(name, exact=True).is_checked()
    assert page.get_by_label("Rotate: fewest repeat partners").is_checked()
    page.get_by_role("button", name="Pair them").click()
    page.wait_for_url(re.compile(r".*/pairings/\d+/$"))
    assert page.get_by_text("The havrutot are ready.").is_visible()

    cards = page.locator(".havruta-card[data-havruta]:not(.havruta-new)")
    assert cards.count() == 3
    sizes = sorted(cards.nth(i).locator(".member").count() for i in range(3))
    assert sizes == [2, 2, 3]
    assert page.locator(".badge-triad").count() == 1
    assert page.locator(".havruta-card.is-triad .badge-triad").is_visible()
    # Drag and drop is an extra: every student still has a plain "Move to…" form.
    assert page.locator("html.js-dnd").count() == 1
    assert page.locator("form.move-form select").count() == 7

    # Assign Listening to the Text with Genesis 4:1-16.
    page.get_by_role("link", name="Assign a protocol").first.click()
    page.get_by_label("Protocol").select_option(label="Listening to the Text")
    page.get_by_label("Text", exact=True).select_option(label="Cain and Abel (Genesis 4:1-16)")
    # The Warm Up for this class's grade band is the one offered first.
    younger = Protocol.objects.get(slug="havruta-warm-up-younger")
    assert page.get_by_label("Warm Up version").input_value() == str(younger.pk)
    page.get_by_role("button", name="Assign").click()
    page.wait_for_url(re.compile(r".*/assignments/\d+/$"))
    assert page.get_by_role("heading", name="Listening to the Text").is_visible()
    assert page.locator("table tbody tr").count() == 3
    session = PairingSession.objects.get(classroom=classroom)
    assert Worksheet.objects.filter(assignment__session=session).count() == 3

    # A student signs in with the class code and PIN.
    dana = Enrollment.objects.select_related("student").get(classroom=classroom, student__display_name="Dana")
    mine = HavrutaMember.objects.get(havruta__session=session, student=dana.student).havruta_id
    partners = list(
        HavrutaMember.objects.filter(havruta_id=mine)
        .exclude(student=dana.student)
        .values_list("student__display_name", flat=True)
    )
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server.url + "/join/")
    page.get_by_label("Class code").fill(classroom.join_code)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("link", name="Dana", exact=True).click()
    page.get_by_label("Your PIN").fill(dana.pin)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")
    heading = page.locator("#today-title").inner_text()
    assert heading.startswith("Today you learn with")
    for partner in partners:
        assert partner in heading
    assert page.get_by_text("Listening to the Text, Genesis 4:1-16").is_visible()


def _groups(session: PairingSession) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for havruta_id, name in HavrutaMember.objects.filter(havruta__session=session).values_list(
        "havruta_id", "student__display_name"
    ):
        groups.setdefault(havruta_id, set()).add(name)
    return {frozenset(group) for group in groups.values()}


def _tab_to(page, selector: str, limit: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_it_moves_students_by_drag_and_drop_and_by_keyboard(page, live_server) -> None:  # type: ignore[no-untyped-def]
    teacher = make_teacher(name="Rivka Levi")
    classroom = make_classroom(teacher=teacher, name="Grade 7 Chumash")
    dana, eli, noa, yoni, maya = (make_student(classroom=classroom, name=n) for n in NAMES[:5])
    session = make_session(classroom=classroom, groups=[[dana, eli], [noa, yoni, maya]])
    client = Client()
    client.force_login(teacher)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + f"/pairings/{session.pk}/")

    # Drag and drop: Dana dropped on Noa swaps the two.
    with page.expect_navigation():
        page.locator(f'.member[data-student="{dana.pk}"] .member-name').drag_to(
            page.locator(f'.member[data-student="{noa.pk}"] .member-name')
        )
    assert _groups(session) == {frozenset({"Noa", "Eli"}), frozenset({"Dana", "Yoni", "Maya"})}
    card_of_eli = page.locator(".havruta-card[data-havruta]", has=page.locator(f'.member[data-student="{eli.pk}"]'))
    assert sorted(card_of_eli.locator(".member-name").all_inner_texts()) == ["Eli", "Noa"]

    # Keyboard only: Tab to Maya's "Move to…" list, choose Noa and Eli's havruta with the arrow
    # key, Tab to "Move" and press Enter. The triad becomes a pair and the pair a triad.
    _tab_to(page, f"#move-{maya.pk}")
    page.keyboard.press("ArrowDown")
    assert page.locator(f"#move-{maya.pk}").input_value() == card_of_eli.get_attribute("data-havruta")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert _groups(session) == {frozenset({"Noa", "Eli", "Maya"}), frozenset({"Dana", "Yoni"})}
    assert page.locator(".havruta-card.is-triad").count() == 1
    assert not errors, errors
