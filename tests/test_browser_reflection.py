"""Two partners reflect after a Warm Up and a text protocol, by keyboard only, in a real browser.

The lesson is built with the services (library, a Warm Up and Listening to the Text assigned to
the session, the havruta's intentions materialised on its worksheet, the learning ended). Each
student then sees their intentions word for word, rates every practice with Tab, Space and the
arrow keys, types examples, sends an appreciation and hands in; the partner finds it waiting.
Finally the teacher opens the class growth view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import User
from reflections.models import Reflection
from tests.asgi_server import session_cookie_for
from tests.reflections_fixtures import assign_lesson, end_learning, set_intentions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTENTIONS = ["We will each say back the other's idea before answering.", "We point to the line we mean."]
OTHER_HAVRUTA = ["We take turns reading aloud."]
PRACTICES = ("listening", "articulating", "wondering", "focusing", "supporting", "challenging", "evidence", "talk_time")
STATUS = "[data-autosave-status]"


@pytest.fixture
def open_as(page: Any, live_server: Any) -> Iterator[Callable[[User, str], Any]]:
    """Open a path signed in as a user: ``page`` for the first one, a fresh browser context after that."""
    contexts: list[Any] = []

    def _open(user: User, path: str) -> Any:
        target = page
        if contexts or page.context.cookies():
            context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
            contexts.append(context)
            target = context.new_page()
        return _sign_in_and_go(target, live_server, user, path)

    yield _open
    for context in contexts:
        context.close()


def _sign_in_and_go(page: Any, live_server: Any, user: User, path: str) -> Any:
    context = page.context
    context.add_cookies([{**session_cookie_for(user), "url": live_server.url}])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + path)
    page.errors = errors
    return page


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


def test_it_lets_two_partners_reflect_by_keyboard_and_send_each_other_appreciations(
    world, open_as, live_server
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    warm_up, _text = assign_lesson(world.session, world.teacher)
    set_intentions(warm_up, world.student, INTENTIONS)
    set_intentions(warm_up, world.classmate, OTHER_HAVRUTA)
    end_learning(world.session, world.teacher)
    path = f"/reflections/session/{world.session.pk}/"

    dana = open_as(world.student, path)
    eli = open_as(world.partner, path)
    for student_page in (dana, eli):
        for intention in INTENTIONS:
            expect(student_page.locator(".intention-text", has_text=intention)).to_be_visible()
        expect(student_page.get_by_text(OTHER_HAVRUTA[0])).to_have_count(0)

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

    # Each partner finds the other's appreciation: on the reflection page and on their reflections home.
    expect(eli.get_by_text("Thank you for rereading verse 7 with me.")).to_be_visible()
    for student_page, received in (
        (eli, "Thank you for rereading verse 7 with me."),
        (dana, "Thanks for your great question about Cain."),
    ):
        student_page.goto(live_server.url + "/reflections/")
        panel = student_page.locator(".reflection-panel")
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
    assert dana_reflection.intentions[0]["kept"] == "yes"
    assert dana_reflection.appreciation_is_sent
    assert not dana.errors and not eli.errors

    teacher = open_as(world.teacher, f"/reflections/classes/{world.classroom.pk}/growth/")
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
