"""Live co-editing in a real browser: two students (two browser contexts) on one worksheet.

Everything runs for real: Debian's Chromium through Playwright, the committed bundle, and a
daphne process (tests/asgi_server.py) serving HTTP and the worksheet websockets on the test
database. What is checked is what the students see: the text in the field and the status line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import User
from tests.asgi_server import AsgiServer, session_cookie_for
from tests.conftest import World
from tests.worksheet_page_fixtures import assign_worksheet
from worksheets.models import Worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SYNC_TIMEOUT = 30_000  # ms: reconnects back off up to 10 s, a restarted server takes a few seconds
MEANING = "[data-field-id='shared:possible_meaning'] textarea"
SENTENCE = "[data-field-id='shared:share_sentence'] input"
STATUS = "[data-worksheet-status]"


@dataclass
class Seat:
    context: Any
    page: Any

    def status(self) -> str:
        return self.page.locator(STATUS).inner_text().strip()

    def value(self, selector: str) -> str:
        return self.page.locator(selector).input_value()

    def wait_saved(self, timeout: int = SYNC_TIMEOUT) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator(STATUS)).to_have_attribute("data-state", "saved", timeout=timeout)
        expect(self.page.locator(STATUS)).to_have_text("All saved")

    def wait_value(self, selector: str, predicate: Callable[[str], bool], timeout: int = SYNC_TIMEOUT) -> str:
        deadline_step = 100
        waited = 0
        value = self.value(selector)
        while not predicate(value):
            if waited > timeout:
                raise AssertionError(f"{selector} still reads {value!r}")
            self.page.wait_for_timeout(deadline_step)
            waited += deadline_step
            value = self.value(selector)
        return value


@pytest.fixture
def open_worksheet(browser, asgi_server: AsgiServer) -> Iterator[Callable[..., Seat]]:  # type: ignore[no-untyped-def]
    contexts: list[Any] = []

    def open_as(
        user: User, worksheet: Worksheet, *, viewport: tuple[int, int] = (1366, 900), wait: bool = True
    ) -> Seat:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        context.add_cookies([{**session_cookie_for(user), "url": asgi_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{asgi_server.url}/worksheets/{worksheet.pk}/")
        seat = Seat(context=context, page=page)
        if wait:
            from playwright.sync_api import expect

            expect(page.locator(STATUS)).to_have_attribute(
                "data-state", re.compile("saved|connected"), timeout=SYNC_TIMEOUT
            )
        assert not errors, errors
        return seat

    yield open_as
    for context in contexts:
        context.close()


def type_together(first: Seat, second: Seat, selector: str, first_text: str, second_text: str) -> None:
    """Both type into the same field, keystroke by keystroke, without waiting for each other."""
    first.page.locator(selector).click()
    second.page.locator(selector).click()
    first.page.keyboard.press("End")
    second.page.keyboard.press("End")
    for i in range(max(len(first_text), len(second_text))):
        if i < len(first_text):
            first.page.keyboard.type(first_text[i])
        if i < len(second_text):
            second.page.keyboard.type(second_text[i])


def test_it_merges_two_students_typing_in_the_same_field_at_the_same_time(
    world: World, asgi_server: AsgiServer, open_worksheet
) -> None:  # type: ignore[no-untyped-def]
    worksheet = assign_worksheet(world)
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)

    type_together(dana, eli, MEANING, "Dana thinks Cain felt unseen. ", "Eli points to line 5. ")

    dana.wait_saved()
    eli.wait_saved()
    both = dana.wait_value(MEANING, lambda v: "Eli points to line 5." in v)
    assert eli.wait_value(MEANING, lambda v: v == both) == both
    assert "Dana thinks Cain felt unseen." in both
    assert "Eli points to line 5." in both
    assert len(both) == len("Dana thinks Cain felt unseen. ") + len("Eli points to line 5. ")

    # The server holds it: a teacher opening the worksheet now reads the same text.
    teacher = open_worksheet(world.teacher, worksheet)
    assert teacher.wait_value(MEANING, lambda v: v == both) == both
    assert teacher.page.locator(MEANING).get_attribute("readonly") is not None


def test_it_keeps_edits_made_offline_and_merges_them_on_reconnect(
    world: World, asgi_server: AsgiServer, open_worksheet
) -> None:  # type: ignore[no-untyped-def]
    worksheet = assign_worksheet(world)
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)
    dana.wait_saved()

    dana.context.set_offline(True)
    from playwright.sync_api import expect

    expect(dana.page.locator(STATUS)).to_have_attribute("data-state", "offline", timeout=5_000)
    dana.page.locator(SENTENCE).click()
    dana.page.keyboard.type("Written on the bus")
    expect(dana.page.locator(STATUS)).to_have_text(re.compile(r"Offline — \d+ unsaved edits"))
    # Meanwhile the partner writes too; neither sees the other yet.
    eli.page.locator(SENTENCE).click()
    eli.page.keyboard.type("Eli in class. ")
    eli.wait_saved()
    eli.page.wait_for_timeout(500)
    assert "bus" not in eli.value(SENTENCE)

    dana.context.set_offline(False)
    dana.wait_saved()
    merged = dana.wait_value(SENTENCE, lambda v: "Eli in class." in v)
    assert "Written on the bus" in merged
    assert eli.wait_value(SENTENCE, lambda v: v == merged) == merged


def test_it_keeps_offline_edits_across_a_reload(world: World, asgi_server: AsgiServer, open_worksheet) -> None:  # type: ignore[no-untyped-def]
    """The server is unreachable (sockets refused) but the page loads: edits survive in IndexedDB."""
    worksheet = assign_worksheet(world, protocol="listening-to-my-peer-partner")
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)
    dana.wait_saved()
    mine = f"[data-field-id='student-{world.student.pk}:my_idea'] textarea"

    blocked = {"on": True}

    def route(ws: Any) -> None:
        if blocked["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    dana.page.route_web_socket(re.compile(r"/ws/worksheets/"), route)
    dana.page.reload()
    from playwright.sync_api import expect

    expect(dana.page.locator(STATUS)).to_have_attribute("data-state", re.compile("connecting|reconnecting"))
    dana.page.locator(mine).click()
    dana.page.keyboard.type("Cain wanted to be seen.")
    dana.page.wait_for_timeout(600)  # IndexedDB writes are asynchronous
    dana.page.reload()
    assert dana.wait_value(mine, lambda v: v == "Cain wanted to be seen.", timeout=10_000)
    expect(dana.page.locator(STATUS)).to_have_text(re.compile(r"\d+ unsaved edits?"))

    blocked["on"] = False
    dana.page.locator("[data-action='reconnect']").click()
    dana.wait_saved()
    theirs = f"[data-field-id='student-{world.student.pk}:my_idea'] textarea"
    assert eli.wait_value(theirs, lambda v: v == "Cain wanted to be seen.") == "Cain wanted to be seen."


def test_it_loses_nothing_when_the_server_restarts_mid_typing(
    world: World, asgi_server: AsgiServer, open_worksheet
) -> None:  # type: ignore[no-untyped-def]
    worksheet = assign_worksheet(world)
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)
    first, second = "Before the crash, ", "and after it."

    dana.page.locator(MEANING).click()
    dana.page.keyboard.type(first[:10])
    dana.wait_saved()  # acknowledged: the server's state vector covers it
    dana.page.keyboard.type(first[10:])
    asgi_server.kill()  # SIGKILL mid-typing: no graceful shutdown
    dana.page.keyboard.type(second[:5])
    from playwright.sync_api import expect

    expect(dana.page.locator(STATUS)).to_have_text(re.compile(r"Reconnecting… \d+ unsaved edits?"), timeout=10_000)
    asgi_server.start()
    dana.page.keyboard.type(second[5:])

    dana.wait_saved()
    assert dana.value(MEANING) == first + second
    assert eli.wait_value(MEANING, lambda v: v == first + second) == first + second
    # A newcomer after the restart rebuilds from the database.
    teacher = open_worksheet(world.teacher, worksheet)
    assert teacher.wait_value(MEANING, lambda v: v == first + second) == first + second


def test_it_shows_where_my_partner_is_writing_and_who_wrote_what(
    world: World, asgi_server: AsgiServer, open_worksheet
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world)
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)
    presence = dana.page.locator("[data-presence]")
    expect(presence).to_contain_text("Eli is here", timeout=SYNC_TIMEOUT)

    eli.page.locator(MEANING).click()
    eli.page.keyboard.type("Eli's reading")
    expect(presence).to_contain_text("Eli is", timeout=SYNC_TIMEOUT)
    expect(presence).to_contain_text("‘A possible meaning’")
    meaning_box = dana.page.locator("[data-field-id='shared:possible_meaning']")
    expect(meaning_box.locator(".presence-badge")).to_contain_text("Eli")
    expect(meaning_box.locator(".remote-caret")).to_have_count(1)
    # Screen readers hear it once, politely.
    expect(dana.page.locator("#worksheet-announcer")).to_contain_text(
        "Eli is writing in ‘A possible meaning’", timeout=15_000
    )

    dana.page.locator(MEANING).click()
    dana.page.keyboard.press("End")
    dana.page.keyboard.type(" and Dana's")
    eli.wait_saved()
    dana.wait_saved()

    # Who wrote what, coloured by author, with a legend.
    toggle = dana.page.get_by_role("button", name="Show who wrote what")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    authored = meaning_box.locator(".authorship .authored")
    expect(authored.first).to_be_visible()
    runs = {(span.inner_text(), span.get_attribute("title")) for span in authored.all()}
    assert ("Eli's reading", "Written by Eli") in runs
    assert (" and Dana's", "Written by Dana") in runs
    expect(dana.page.locator("[data-authors-legend]")).to_be_visible()

    # A visible teacher is announced to the students.
    open_worksheet(world.teacher, worksheet)
    expect(dana.page.locator("[data-teacher-presence]")).to_have_text("Your teacher is listening", timeout=SYNC_TIMEOUT)


def test_it_binds_choices_and_checklists(world: World, asgi_server: AsgiServer, open_worksheet) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world, protocol="havruta-warm-up-younger", text=None)
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)
    me, partner = world.student.pk, world.partner.pk

    dana.page.locator(f"[data-field-id='student-{me}:helps_me_learn'] label").first.click()
    dana.page.locator(f"[data-field-id='student-{me}:when_stuck'] label").nth(1).click()
    theirs_boxes = eli.page.locator(f"[data-field-id='student-{me}:helps_me_learn'] input[type=checkbox]")
    expect(theirs_boxes.first).to_be_checked(timeout=SYNC_TIMEOUT)
    expect(theirs_boxes.first).to_be_disabled()
    expect(eli.page.locator(f"[data-field-id='student-{me}:when_stuck'] input").nth(1)).to_be_checked()
    # Eli cannot change Dana's answers; his own are his.
    expect(eli.page.locator(f"[data-field-id='student-{partner}:when_stuck'] input").first).to_be_enabled()
    # A shared choice: either partner may set it, and clear it again.
    eli.page.locator("[data-field-id='shared:kept_promises'] label").first.click()
    shared = dana.page.locator("[data-field-id='shared:kept_promises'] input")
    expect(shared.first).to_be_checked(timeout=SYNC_TIMEOUT)
    dana.page.locator("[data-field-id='shared:kept_promises']").get_by_role("button", name="Clear my choice").click()
    expect(eli.page.locator("[data-field-id='shared:kept_promises'] input").first).not_to_be_checked(
        timeout=SYNC_TIMEOUT
    )
    dana.wait_saved()
    eli.wait_saved()


def test_it_adds_and_removes_list_entries_with_the_keyboard(
    world: World, asgi_server: AsgiServer, open_worksheet
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world)
    dana = open_worksheet(world.student, worksheet)
    eli = open_worksheet(world.partner, worksheet)
    details = "[data-field-id='shared:details']"

    add = eli.page.locator(details).get_by_role("button", name="Add entry")
    add.focus()
    eli.page.keyboard.press("Enter")
    eli.page.keyboard.type('"a keeper of sheep" (line 2)')
    eli.page.keyboard.press("Enter")  # Enter in an entry starts the next one
    eli.page.keyboard.type('"very wroth" (line 5)')
    mirror = dana.page.locator(f"{details} textarea")
    expect(mirror).to_have_count(2, timeout=SYNC_TIMEOUT)
    expect(mirror.nth(0)).to_have_value('"a keeper of sheep" (line 2)')
    expect(mirror.nth(1)).to_have_value('"very wroth" (line 5)')
    expect(dana.page.locator(details).get_by_label("Entry 2 of ‘Details we noticed’", exact=True)).to_have_count(1)

    dana.page.locator(details).get_by_role("button", name="Remove entry 1").focus()
    dana.page.keyboard.press("Enter")
    expect(eli.page.locator(f"{details} textarea")).to_have_count(1, timeout=SYNC_TIMEOUT)
    expect(eli.page.locator(f"{details} textarea").first).to_have_value('"very wroth" (line 5)')
    dana.wait_saved()
    eli.wait_saved()


def test_it_toggles_between_text_and_worksheet_on_a_small_screen(
    world: World, asgi_server: AsgiServer, open_worksheet
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world)
    dana = open_worksheet(world.student, worksheet, viewport=(390, 800))
    text_pane = dana.page.locator("#worksheet-text")
    form_pane = dana.page.locator("#worksheet-form")
    expect(form_pane).to_be_visible()
    expect(text_pane).to_be_hidden()
    dana.page.get_by_role("button", name="Text", exact=True).click()
    expect(text_pane).to_be_visible()
    expect(form_pane).to_be_hidden()
    expect(text_pane.locator("[lang='he']").first).to_have_attribute("dir", "rtl")
    dana.page.get_by_role("button", name="Worksheet", exact=True).click()
    expect(form_pane).to_be_visible()
