"""The teacher's live session in a real browser: a teacher and two students, three browser contexts.

Everything runs for real: Debian's Chromium through Playwright, the committed worksheet bundle,
static/js/live.js and static/js/worksheet_events.js, and a daphne process (tests/asgi_server.py)
serving HTTP and every websocket on the test database. What is checked is what people see.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import User
from tests.asgi_server import AsgiServer, session_cookie_for
from tests.conftest import World
from tests.worksheet_page_fixtures import assign_worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT = 20_000  # ms
MEANING = "[data-field-id='shared:possible_meaning'] textarea"
SHOTS = os.environ.get("LIVE_SHOTS")  # a directory: save screenshots while working on the pages


@pytest.fixture
def open_as(browser, asgi_server: AsgiServer) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    contexts: list[Any] = []

    def open_page(user: User, path: str) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        context.add_cookies([{**session_cookie_for(user), "url": asgi_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        page.goto(asgi_server.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_it_runs_a_live_session_from_help_request_to_reflection(world: World, open_as) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world)
    teacher = open_as(world.teacher, f"/classes/{world.classroom.pk}/live/")
    expect(teacher.locator("[data-live-connection]")).to_have_attribute("data-state", "live", timeout=WAIT)
    dana = open_as(world.student, f"/worksheets/{worksheet.pk}/")
    eli = open_as(world.partner, f"/worksheets/{worksheet.pk}/")
    for student in (dana, eli):
        expect(student.locator("[data-live-notes]")).to_have_attribute("data-events", "open", timeout=WAIT)
        expect(student.locator("[data-worksheet-status]")).to_have_attribute(
            "data-state", re.compile("saved|connected"), timeout=WAIT
        )
    card = teacher.locator(f"[data-havruta='{worksheet.havruta_id}']")
    expect(card.locator(".is-online")).to_have_count(2, timeout=WAIT)  # both students are here

    # Dana asks for help; the teacher's grid puts her havruta first and shows the note.
    dana.get_by_label("A note for your teacher (optional)").fill("We read verse 7 differently")
    dana.get_by_role("button", name="Ask for help").click()
    expect(dana.locator("[data-help-status]")).to_contain_text("You asked your teacher for help.", timeout=WAIT)
    expect(eli.locator("[data-help-status]")).to_be_visible(timeout=WAIT)
    expect(card).to_have_class(re.compile("needs-help"), timeout=WAIT)
    expect(card).to_contain_text("We read verse 7 differently")
    expect(teacher.locator("[data-live-grid] > li").first).to_have_attribute("data-havruta", str(worksheet.havruta_id))
    shot(teacher, "1-help")

    # The teacher pops in: the worksheet opens read-only beside the grid, and the pair sees it.
    card.get_by_role("link", name=re.compile("Pop in")).click()
    frame = teacher.frame_locator("[data-pop-frame]")
    expect(frame.locator("[data-worksheet-status]")).to_have_attribute(
        "data-state", re.compile("saved|connected"), timeout=WAIT
    )
    expect(frame.locator(MEANING)).to_have_attribute("readonly", "")
    expect(dana.locator("[data-teacher-presence]")).to_have_text("Your teacher is listening", timeout=WAIT)

    # Dana types; the teacher sees it live in the pop-in.
    dana.locator(MEANING).click()
    dana.keyboard.type("Cain felt unseen by God.")
    expect(frame.locator(MEANING)).to_have_value("Cain felt unseen by God.", timeout=WAIT)

    # Listening quietly: the pop-in reloads and the pair no longer sees the teacher.
    teacher.get_by_label("Listen quietly").check()
    teacher.get_by_role("button", name="Apply").click()
    expect(frame.locator("[data-teacher-visible]")).not_to_be_checked(timeout=WAIT)
    expect(dana.locator("[data-teacher-presence]")).to_be_hidden(timeout=WAIT)
    expect(frame.locator(MEANING)).to_have_value("Cain felt unseen by God.", timeout=WAIT)

    # The teacher pins a comment to that question; both students see it at once, and it can be done.
    teacher.get_by_label("Question").select_option("shared:possible_meaning")
    teacher.get_by_label("Comment", exact=True).fill("Where do you see that in the text?")
    teacher.get_by_role("button", name="Pin comment").click()
    for student in (dana, eli):
        expect(student.locator("[data-live-comments]")).to_contain_text(
            "Where do you see that in the text?", timeout=WAIT
        )
        expect(student.locator("[data-field-id='shared:possible_meaning'] .live-pin")).to_contain_text(
            "Where do you see that in the text?"
        )
    expect(teacher.locator("[data-pop-comments]")).to_contain_text("Where do you see that in the text?")
    shot(dana, "2-comment")
    dana.get_by_role("button", name="Mark as done").click()
    expect(eli.locator("[data-live-comments] [data-comment]")).to_have_count(0, timeout=WAIT)
    # ...and the teacher's open pop-in follows without a reload.
    pinned = teacher.locator("[data-pop-comments] li", has_text="Where do you see that in the text?")
    expect(pinned).to_have_class(re.compile("is-done"), timeout=WAIT)
    expect(pinned.locator(".live-comment-state")).to_have_text("Done")

    # The teacher resolves the request.
    card.get_by_role("button", name=re.compile("Resolve")).click()
    expect(dana.locator("[data-help-ask]")).to_be_visible(timeout=WAIT)
    expect(card).not_to_have_class(re.compile("needs-help"), timeout=WAIT)
    expect(teacher.locator("[data-pop-help]")).to_have_count(0, timeout=WAIT)  # the pop-in follows

    # A broadcast and a timer reach both students.
    teacher.get_by_label("Message", exact=True).fill("Two more minutes, then we share.")
    teacher.get_by_role("button", name="Send", exact=True).click()
    teacher.get_by_label("Minutes").fill("3")
    # Nothing to pause or resume before a step runs.
    expect(teacher.get_by_role("button", name="Pause", exact=True)).to_be_disabled()
    expect(teacher.get_by_role("button", name="Resume", exact=True)).to_be_disabled()
    # ... and they look it, not like the active "Add 1 minute" beside them.
    looks = "b => [getComputedStyle(b).cursor, getComputedStyle(b).borderStyle, getComputedStyle(b).color]"
    pause_look = teacher.get_by_role("button", name="Pause", exact=True).evaluate(looks)
    add_look = teacher.get_by_role("button", name="Add 1 minute").evaluate(looks)
    assert pause_look[:2] == ["not-allowed", "dashed"] and pause_look[2] != add_look[2], (pause_look, add_look)
    teacher.get_by_role("button", name="Start the first step").click()
    for student in (dana, eli):
        expect(student.locator(".live-banner")).to_contain_text("Two more minutes, then we share.", timeout=WAIT)
        timer = student.locator("[data-live-timer]")
        expect(timer).to_be_visible(timeout=WAIT)
        expect(timer).to_contain_text("Step 1 of 5: Read the text aloud")
        expect(timer).to_contain_text(re.compile(r"[23]:\d\d left"))
    expect(teacher.locator("[data-timer-clock]")).to_contain_text(re.compile(r"[23]:\d\d left"), timeout=WAIT)
    expect(teacher.get_by_role("button", name="Pause", exact=True)).to_be_enabled()
    expect(teacher.get_by_role("button", name="Resume", exact=True)).to_be_disabled()
    shot(teacher, "3-timer")
    shot(eli, "3-student")

    # The teacher ends the learning time: both students land on their reflection.
    teacher.get_by_text("End the learning time…").click()
    teacher.get_by_role("button", name="Yes, end the learning time now").click()
    expect(teacher.get_by_role("heading", name="Summary of the live session")).to_be_visible(timeout=WAIT)
    reflection = re.compile(rf"/reflections/session/{world.session.pk}/$")
    for student in (dana, eli):
        expect(student).to_have_url(reflection, timeout=WAIT)
    shot(teacher, "4-summary")
    assert "1 request for help" in teacher.content()
    for page in (teacher, dana, eli):
        assert not page.errors, page.errors
