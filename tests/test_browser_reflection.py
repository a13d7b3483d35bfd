"""A whole lesson in a real browser, from the Warm Up to the teacher's growth view.

Everything a person does happens in Chromium, against a daphne process serving HTTP and the live
worksheet sockets (tests/asgi_server.py). Two partners open their Havruta Warm Up from their home
page and write their intentions together, then work on Listening to the Text; the teacher ends
the learning from the reflections page; each student finds the intentions word for word in their
reflection (never another havruta's), rates every practice with Tab, Space and the arrow keys,
types examples, sends an appreciation and hands in; each partner then finds the other's
appreciation on their home page. Finally the teacher opens the class growth view.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import User
from reflections.models import Reflection
from tests.asgi_server import AsgiServer, session_cookie_for
from tests.reflections_fixtures import assign_lesson, set_intentions
from worksheets.models import FieldAnswer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTENTIONS = ["We will each say back the other's idea before answering.", "We point to the line we mean."]
OTHER_HAVRUTA = ["We take turns reading aloud."]
PRACTICES = ("listening", "articulating", "wondering", "focusing", "supporting", "challenging", "evidence", "talk_time")
STATUS = "[data-autosave-status]"
WORKSHEET_STATUS = "[data-worksheet-status]"
SYNC_TIMEOUT = 30_000  # ms


@pytest.fixture
def open_as(browser: Any, asgi_server: AsgiServer) -> Iterator[Callable[[User, str], Any]]:
    """Open a path signed in as a user, each user in a browser context of their own."""
    contexts: list[Any] = []

    def _open(user: User, path: str) -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        context.add_cookies([{**session_cookie_for(user), "url": asgi_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        page.goto(asgi_server.url + path)
        return page

    yield _open
    for context in contexts:
        context.close()


def _open_worksheet_from_home(page: Any, base_url: str, title: str) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + "/me/")
    page.locator(".today-card .work-item", has_text=title).get_by_role("link", name="Open our worksheet").click()
    page.wait_for_url("**/worksheets/*/")
    expect(page.locator(WORKSHEET_STATUS)).to_have_attribute(
        "data-state", re.compile("saved|connected"), timeout=SYNC_TIMEOUT
    )


def _wait_saved(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator(WORKSHEET_STATUS)).to_have_attribute("data-state", "saved", timeout=SYNC_TIMEOUT)
    expect(page.locator(WORKSHEET_STATUS)).to_have_text("All saved")


def _wait_for_answer(field_key: str, expected: Any, timeout: float = 30) -> None:
    """The live server writes plain answers a moment after the last keystroke; wait for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        values = list(FieldAnswer.objects.filter(field_key=field_key, student=None).values_list("value", flat=True))
        if expected in values:
            return
        time.sleep(0.2)
    raise AssertionError(f"{field_key} was never stored as {expected!r}: {values!r}")


def _tab_to(page: Any, selector: str, limit: int = 200) -> None:
    """Press Tab until the element matching ``selector`` has the keyboard focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _reflect_by_keyboard(page: Any, *, ratings: dict[str, int], example: str, goal: str, appreciation: str) -> None:
    from playwright.sync_api import expect

    # Intentions review: did we keep it? (Space chooses the first answer, "Yes, we kept it".)
    _tab_to(page, 'input[name="intention-0-kept"]')
    page.keyboard.press("Space")
    _tab_to(page, 'textarea[name="intention-0-evidence"]')
    page.keyboard.type("We said back each idea in verse 7.")

    for practice in PRACTICES:
        _tab_to(page, f'input[name="a-rate_{practice}"]')
        page.keyboard.press("Space")  # the first point
        for _ in range(ratings.get(practice, 2) - 1):
            page.keyboard.press("ArrowRight")  # the next point, chosen as focus moves
        _tab_to(page, f'input[name="a-example_{practice}"]')
        page.keyboard.type(f"{example} ({practice})")
    expect(page.locator(STATUS)).to_have_text("Saved", timeout=10_000)

    _tab_to(page, 'input[name="a-goal"]')
    page.keyboard.type(goal)
    _tab_to(page, "#field-appreciation")
    page.keyboard.type(appreciation)
    _tab_to(page, "#send_appreciation")
    page.keyboard.press("Space")
    expect(page.locator("#send_appreciation")).to_be_checked()
    expect(page.locator(STATUS)).to_have_text("Saved", timeout=10_000)

    _tab_to(page, 'button[value="submit"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("Your reflection is handed in.")).to_be_visible()


def test_it_takes_two_partners_from_the_warm_up_to_each_others_appreciation(world, open_as, asgi_server) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    assign_lesson(world.session, world.teacher)  # the Warm Up, then Listening to the Text on Genesis 4
    warm_up = world.session.assignments.order_by("position").first()
    set_intentions(warm_up, world.classmate, OTHER_HAVRUTA)  # another havruta's, never shown to Dana or Eli

    # The Warm Up, opened from each student's home page: Dana writes their intentions, Eli sees them.
    dana = open_as(world.student, "/me/")
    eli = open_as(world.partner, "/me/")
    for page in (dana, eli):
        expect(page.locator("#today-title")).to_contain_text("Today you learn with")
        _open_worksheet_from_home(page, asgi_server.url, "Havruta Warm Up")
    intentions = "[data-field-id='shared:our_intentions']"
    dana.locator(intentions).get_by_role("button", name="Add entry").focus()
    dana.keyboard.press("Enter")
    dana.keyboard.type(INTENTIONS[0])
    dana.keyboard.press("Enter")  # Enter starts the next entry
    dana.keyboard.type(INTENTIONS[1])
    mirror = eli.locator(f"{intentions} textarea")
    expect(mirror).to_have_count(2, timeout=SYNC_TIMEOUT)
    expect(mirror.nth(1)).to_have_value(INTENTIONS[1], timeout=SYNC_TIMEOUT)
    _wait_saved(dana)
    _wait_saved(eli)

    # Then the text protocol.
    for page in (dana, eli):
        _open_worksheet_from_home(page, asgi_server.url, "Listening to the Text")
    meaning = "[data-field-id='shared:possible_meaning'] textarea"
    eli.locator(meaning).click()
    eli.keyboard.type("Cain did not feel seen, so he stopped listening.")
    expect(dana.locator(meaning)).to_have_value(
        "Cain did not feel seen, so he stopped listening.", timeout=SYNC_TIMEOUT
    )
    _wait_saved(eli)
    _wait_for_answer("our_intentions", INTENTIONS)
    _wait_for_answer("possible_meaning", "Cain did not feel seen, so he stopped listening.")

    # The teacher ends the learning from the reflections page.
    teacher = open_as(world.teacher, "/reflections/")
    teacher.locator(f'a[href="/reflections/session/{world.session.pk}/overview/"]').click()
    teacher.get_by_role("button", name="End learning and open reflections").click()
    expect(teacher.get_by_text("Learning has ended for this session.")).to_be_visible()

    # Each open worksheet moves on to the reflection by itself; then each student also finds the
    # reflection waiting on their home page, with their intentions word for word.
    for page in (dana, eli):
        page.wait_for_url(f"**/reflections/session/{world.session.pk}/", timeout=SYNC_TIMEOUT)
    for page in (dana, eli):
        page.goto(asgi_server.url + "/me/")
        panel = page.locator(".reflection-panel")
        expect(panel.get_by_role("heading", name="Waiting for your reflection")).to_be_visible()
        panel.get_by_role("link").first.click()
        page.wait_for_url(f"**/reflections/session/{world.session.pk}/")
        for intention in INTENTIONS:
            expect(page.locator(".intention-text", has_text=intention)).to_be_visible()
        expect(page.get_by_text(OTHER_HAVRUTA[0])).to_have_count(0)

    _reflect_by_keyboard(
        dana,
        ratings={"listening": 3, "focusing": 1, "challenging": 2},
        example="I waited for Eli",
        goal="Ask Eli which line he means.",
        appreciation="Thank you for rereading verse 7 with me.",
    )
    _reflect_by_keyboard(
        eli,
        ratings={"listening": 2, "wondering": 3},
        example="I asked Dana why",
        goal="Let Dana finish before I answer.",
        appreciation="Thanks for your great question about Cain.",
    )

    # Each partner finds the other's appreciation on their home page.
    for page, received in (
        (eli, "Thank you for rereading verse 7 with me."),
        (dana, "Thanks for your great question about Cain."),
    ):
        page.goto(asgi_server.url + "/me/")
        panel = page.locator(".reflection-panel")
        expect(panel.get_by_role("heading", name="Appreciations from your partners")).to_be_visible()
        expect(panel.get_by_text(received)).to_be_visible()

    dana_reflection = Reflection.objects.get(student=world.student, session=world.session)
    assert {key: value for key, value in dana_reflection.assessment_answers.items() if key.startswith("rate_")} == {
        "rate_listening": 3,
        "rate_articulating": 2,
        "rate_wondering": 2,
        "rate_focusing": 1,
        "rate_supporting": 2,
        "rate_challenging": 2,
        "rate_evidence": 2,
        "rate_talk_time": 2,
    }
    assert [row["text"] for row in dana_reflection.intentions] == INTENTIONS
    assert dana_reflection.intentions[0]["kept"] == "yes"
    assert dana_reflection.appreciation_is_sent
    assert not dana.errors and not eli.errors

    # The teacher opens the class growth view from the reflections page.
    teacher.goto(asgi_server.url + "/reflections/")
    teacher.get_by_role("link", name="Class growth").first.click()
    expect(teacher.get_by_role("heading", name="Practices by session")).to_be_visible()
    heatmap = teacher.locator("svg.heatmap")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator('rect.cell[data-row="Listening"]')).to_have_attribute("data-value", "2.5")
    missing = teacher.locator(".missing-list")
    expect(missing).to_contain_text("Noa")
    expect(missing).to_contain_text("Yoni")
    expect(missing).not_to_contain_text("Dana")
    teacher.get_by_text("Table of average ratings").focus()
    teacher.keyboard.press("Enter")
    expect(teacher.locator(".chart-data table")).to_be_visible()
    assert not teacher.errors
