"""Through the real pages in Chromium: a teacher creates a class, pastes seven names, pairs them
(two pairs and a triad), assigns Listening to the Text with a text; a student signs in with the
class code and PIN and sees their partner and the assignment."""

from __future__ import annotations

import re

import pytest

from classrooms.models import Classroom, Enrollment, HavrutaMember, PairingSession
from protocols.models import Protocol
from protocols.services import library_load
from tests.factories import addr, make_teacher
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
