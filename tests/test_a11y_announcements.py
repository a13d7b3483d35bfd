"""What a screen reader hears during a live lesson: paced, polite, and never the save status per keystroke.

A real server process and three browser contexts (Dana, her partner Eli, their teacher). Every
change of text inside a live region (aria-live, role=status/alert/log) is recorded from the moment
the page has loaded, as a screen reader would hear it. Eli types in two questions; the teacher
sends three messages in a row. On every page each live region speaks at most once every few
seconds, the worksheet's save status ("1 unsaved edit", "All saved") is never read out, and the
teacher's messages reach Dana's announcer, the last one included. Presence has a text form. When
the server goes away the lost connection is announced once, and its return, without telling Dana
that her partner left (it was her connection that went).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import User
from tests.asgi_server import AsgiServer, session_cookie_for
from tests.conftest import World
from tests.worksheet_page_fixtures import assign_worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT = 30_000  # ms
MIN_GAP_MS = 2900  # the announcers wait 3 s (teacher's events) and 4 s (partners' edits) between messages
MEANING = "[data-field-id='shared:possible_meaning'] textarea"
SENTENCE = "[data-field-id='shared:share_sentence'] input"
MESSAGES = ("Read verse 7 again.", "Two minutes left.", "Come back to the circle.")

LISTEN = """
window.__heard = []
document.addEventListener('DOMContentLoaded', () => {
  const said = new Map()
  new MutationObserver((records) => {
    for (const record of records) {
      const node = record.target.nodeType === 1 ? record.target : record.target.parentElement
      const region = node && node.closest('[aria-live]:not([aria-live="off"]), [role=status], [role=alert], [role=log]')
      if (!region || region.closest('[hidden]')) continue
      const text = region.textContent.replace(/\\s+/g, ' ').trim()
      if (!text || said.get(region) === text) continue
      said.set(region, text)
      const name = region.id || Object.keys(region.dataset).join(' ') || region.className
      window.__heard.push({ at: performance.now(), region: name, text })
    }
  }).observe(document.documentElement, { subtree: true, childList: true, characterData: true })
})
"""


@pytest.fixture
def open_as(browser: Any, asgi_server: AsgiServer) -> Iterator[Callable[[User, str], Any]]:
    contexts: list[Any] = []

    def open_page(user: User, path: str) -> Any:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        contexts.append(context)
        context.add_init_script(LISTEN)
        context.add_cookies([{**session_cookie_for(user), "url": asgi_server.url}])
        page = context.new_page()
        page.goto(asgi_server.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


def heard(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.__heard"))


def too_close(announcements: list[dict[str, Any]]) -> list[str]:
    """Announcements of one region less than MIN_GAP_MS after the one before."""
    last: dict[str, dict[str, Any]] = {}
    found = []
    for item in announcements:
        before = last.get(item["region"])
        if before is not None and item["at"] - before["at"] < MIN_GAP_MS:
            found.append(
                f"{item['region']}: {before['text']!r} then {item['text']!r} after {item['at'] - before['at']:.0f} ms"
            )
        last[item["region"]] = item
    return found


def test_it_announces_partners_and_teachers_politely_and_paced(world: World, open_as, asgi_server: AsgiServer) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world)
    path = f"/worksheets/{worksheet.pk}/"
    teacher = open_as(world.teacher, f"/classes/{world.classroom.pk}/live/")
    dana = open_as(world.student, path)
    eli = open_as(world.partner, path)
    expect(teacher.locator("[data-live-connection]")).to_have_attribute("data-state", "live", timeout=WAIT)
    for page in (dana, eli):
        expect(page.locator("[data-worksheet-status]")).to_have_attribute(
            "data-state", re.compile("saved|connected"), timeout=WAIT
        )
        expect(page.locator("[data-live-notes]")).to_have_attribute("data-events", "open", timeout=WAIT)

    # Presence in words, not only a coloured dot.
    expect(dana.locator(".presence-person.is-here .presence-text")).to_have_text(re.compile(r"^Eli is "), timeout=WAIT)

    # Eli writes in two questions, keystroke by keystroke.
    eli.locator(MEANING).focus()
    eli.keyboard.type("Cain felt that nobody saw him.", delay=20)
    eli.locator(SENTENCE).focus()
    eli.keyboard.type("We think Cain wanted to be seen.", delay=20)
    expect(eli.locator("[data-worksheet-status]")).to_have_attribute("data-state", "saved", timeout=WAIT)

    # The teacher sends three messages in a row.
    form = teacher.locator("[data-broadcast-form]")
    for message in MESSAGES:
        form.get_by_label("Message", exact=True).fill(message)
        form.get_by_role("button", name="Send").click()
        expect(form.get_by_label("Message", exact=True)).to_have_value("", timeout=WAIT)  # sent
    announcer = dana.locator("[data-live-announcer]")
    expect(announcer).to_have_text(f"Message from your teacher: {MESSAGES[-1]}", timeout=WAIT)
    expect(dana.locator("[data-live-banners]")).to_contain_text(MESSAGES[-1])
    teacher.wait_for_timeout(MIN_GAP_MS)  # anything still queued on the teacher's page is said by now

    pages = {"Dana": dana, "Eli": eli, "the teacher": teacher}
    spoken = {who: heard(page) for who, page in pages.items()}
    report = "\n".join(
        f"{who}: {[(round(i['at']), i['region'], i['text']) for i in items]}" for who, items in spoken.items()
    )
    print("\nWhat a screen reader hears:\n" + report)

    for who, items in spoken.items():
        assert not too_close(items), f"{who}'s page floods:\n" + "\n".join(too_close(items))
        # The save status changes with every keystroke: it is shown, never read out.
        assert not [i for i in items if "worksheetStatus" in i["region"]], f"{who} hears the save status"
    regions = " ".join(item["region"] for items in spoken.values() for item in items)
    assert "liveBanners" not in regions and "liveComments" not in regions, regions  # said once, by the announcer
    from_teacher = [i["text"] for i in spoken["Dana"] if i["region"] == "liveAnnouncer"]
    assert from_teacher[0] == f"Message from your teacher: {MESSAGES[0]}", from_teacher
    assert from_teacher[-1] == f"Message from your teacher: {MESSAGES[-1]}", from_teacher
    partner_edits = [i["text"] for i in spoken["Dana"] if i["region"] == "worksheet-announcer"]
    assert any(text.startswith("Eli is writing in") for text in partner_edits), partner_edits

    # Losing the connection is said (once), and so is getting it back.
    asgi_server.kill()
    expect(dana.locator("#worksheet-announcer")).to_have_text(re.compile("^(Reconnecting|Offline)"), timeout=WAIT)
    asgi_server.start()
    expect(dana.locator("#worksheet-announcer")).to_have_text("All saved", timeout=WAIT)
    trouble = [i["text"] for i in heard(dana) if i["region"] == "worksheet-announcer"][len(partner_edits) :]
    # Once each, not once per retry; and Eli did not leave: Dana's own connection went.
    assert trouble[0].startswith(("Reconnecting", "Offline")) and trouble[-1] == "All saved", trouble
    assert len(trouble) <= 3 and not [text for text in trouble if "Eli" in text], trouble
