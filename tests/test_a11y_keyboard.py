"""A student's whole lesson with the keyboard alone (real Chromium, real server process).

No mouse: only Tab, Shift+Tab, typing, Enter, Space and the arrow keys (the address bar stands in
for moving between pages the student already reached). Dana signs in with the class code, her
name and her PIN; fills in two worksheets between them holding every field kind (short text, long
text, a list with entries added from the keyboard, single choice, scale, checklist); asks her
teacher for help; and rates herself in yesterday's reflection.

After every key press the focused element must show it: a computed outline or box-shadow, and
not hidden under a sticky bar (the worksheet's status, the reflection's save bar). The first Tab
on a page lands on the skip link, whose Enter moves focus to <main>; Tab always leaves a text box
(no keyboard trap).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from classrooms.models import HelpRequest, PairingSession
from reflections.models import Reflection
from tests.asgi_server import AsgiServer
from tests.conftest import World
from tests.factories import make_session
from tests.reflections_fixtures import assign_lesson, end_learning, set_intentions
from tests.worksheet_page_fixtures import assign_worksheet
from worksheets.models import FieldAnswer, Worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT = 30_000  # ms
STATUS = "[data-worksheet-status]"

FOCUS = """() => {
  const el = document.activeElement
  if (!el || el === document.body) return null
  const ring = (node) => {
    const style = getComputedStyle(node)
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
    return outline || (style.boxShadow !== 'none' && style.boxShadow !== '')
  }
  // A radio styled as a chip may ring its whole label instead (label.choice:has(input:focus-visible)).
  const label = el.closest('label')
  const box = el.getBoundingClientRect()
  let covered = null
  if (box.width > 1 && box.height > 1) {
    // The middle of the element (clamped into the window) must show the element itself, or its
    // label: not a sticky bar (the worksheet's status, the reflection's save bar) scrolled over it.
    const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1)
    const y = Math.min(Math.max(box.top + Math.min(box.height / 2, 12), 0), innerHeight - 1)
    const top = document.elementFromPoint(x, y)
    const topLabel = top && top.closest('label')
    const ok = top && (el.contains(top) || top.contains(el) || (topLabel && topLabel.control === el))
    if (!ok) covered = top ? top.tagName.toLowerCase() + '.' + top.className : 'nothing'
  }
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '', type: el.type || '',
    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 50),
    visible: ring(el) || (label !== null && ring(label)), covered,
  }
}"""


@dataclass
class Lesson:
    code: str
    warm_up: Worksheet  # checklist, short text, choice, list (shared), shared choice
    advisory: Worksheet  # long text, scale, lists, short text
    yesterday: PairingSession


class Keyboard:
    """Key presses that check, after each one, that the keyboard focus can be seen."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.presses = 0

    def focused(self) -> dict[str, Any] | None:
        return self.page.evaluate(FOCUS)

    def press(self, key: str) -> dict[str, Any] | None:
        self.page.keyboard.press(key)
        self.presses += 1
        focus = self.focused()
        if focus is not None and focus["tag"] != "main":
            assert focus["visible"], f"after {key}, the focus on {focus} has no outline or box-shadow"
            assert not focus["covered"], f"after {key}, the focus on {focus} is hidden under {focus['covered']}"
        return focus

    def follow(self, key: str = "Enter") -> None:
        """A key press that opens another page (a link, a form sent)."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        self.presses += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def is_on(self, selector: str) -> bool:
        return bool(
            self.page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)
        )

    def tab_to(self, selector: str, *, limit: int = 120, back: bool = False) -> None:
        for _ in range(limit):
            if self.is_on(selector):
                return
            self.press("Shift+Tab" if back else "Tab")
        raise AssertionError(f"Tab never reached {selector}; the focus is on {self.focused()}")

    def arrive(self) -> None:
        """A new page: the first Tab is the skip link, and Enter on it moves the focus to <main>.

        A page that puts the focus in its one field itself (the PIN page's autofocus) is left as it is.
        """
        self.page.wait_for_load_state()
        if self.focused() is not None:
            return
        focus = self.press("Tab")
        assert focus is not None and "skip-link" in self.page.evaluate("document.activeElement.className"), focus
        self.press("Enter")
        assert self.page.evaluate("document.activeElement.id") == "main"

    def leave_text_box(self) -> None:
        """Tab out of the focused text box: the focus must move on (no keyboard trap)."""
        assert self.is_on("textarea, input[type=text], input:not([type]), [contenteditable]")
        self.page.evaluate("window.__textBox = document.activeElement")
        focus = self.press("Tab")
        assert self.page.evaluate("document.activeElement !== window.__textBox"), f"Tab stayed in {focus}"


def build_lesson(world: World) -> Lesson:
    warm_up = assign_worksheet(world, protocol="havruta-warm-up-younger", text=None)
    advisory = assign_worksheet(world, protocol="advisory-if-i-am-not-for-myself", text=None)
    groups = [[world.student, world.partner], [world.classmate, world.classmate_partner]]
    yesterday = make_session(classroom=world.classroom, groups=groups)
    PairingSession.objects.filter(pk=yesterday.pk).update(date=timezone.localdate() - datetime.timedelta(days=1))
    yesterday.refresh_from_db()
    intentions, _lesson = assign_lesson(yesterday, world.teacher)
    set_intentions(intentions, world.student, ["We take turns."])
    end_learning(yesterday, world.teacher)
    return Lesson(code=world.classroom.join_code, warm_up=warm_up, advisory=advisory, yesterday=yesterday)


@pytest.fixture
def lesson(world: World) -> Lesson:
    # Ending the learning sends channel-layer events with async_to_sync, which refuses to run in the
    # thread where Playwright's event loop is open: build the lesson in a thread of its own.
    def build() -> Lesson:
        try:
            return build_lesson(world)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(build).result()


@pytest.fixture
def keyboard(browser: Any) -> Iterator[Keyboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield Keyboard(page)
    context.close()
    assert not errors, errors


def wait_for_answer(worksheet: Worksheet, key: str, student: Any, expected: Any, timeout: float = 30) -> None:
    """The live server stores plain answers a moment after the last keystroke."""
    deadline = time.monotonic() + timeout
    value: Any = None
    while time.monotonic() < deadline:
        row = FieldAnswer.objects.filter(worksheet=worksheet, field_key=key, student=student).first()
        value = row.value if row else None
        if value == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} was stored as {value!r}, not {expected!r}")


def open_from_home(kb: Keyboard, base: str, worksheet: Worksheet) -> None:
    from playwright.sync_api import expect

    kb.page.goto(base + "/me/")
    kb.arrive()
    kb.tab_to(f'a[href="/worksheets/{worksheet.pk}/"]')
    kb.follow()
    kb.page.wait_for_url(f"**/worksheets/{worksheet.pk}/")
    expect(kb.page.locator(STATUS)).to_have_attribute("data-state", re.compile("saved|connected"), timeout=WAIT)
    kb.arrive()


def test_it_takes_a_student_through_sign_in_worksheet_help_and_self_assessment_by_keyboard(
    world: World, asgi_server: AsgiServer, lesson: Lesson, keyboard: Keyboard
) -> None:
    from playwright.sync_api import expect

    kb, page, base = keyboard, keyboard.page, asgi_server.url
    me = f"student-{world.student.pk}"

    # Sign in: the landing page, the class code, her name, her PIN.
    page.goto(base + "/")
    kb.arrive()
    kb.tab_to('a[href="/join/"]')
    kb.follow()
    page.wait_for_url("**/join/")
    kb.arrive()
    kb.tab_to("input[name=code]")
    kb.type(lesson.code.lower())
    kb.follow()
    page.wait_for_url(f"**/join/{lesson.code}/")
    kb.arrive()
    kb.tab_to(f'a[href="/join/{lesson.code}/{world.student.pk}/"]')
    kb.follow()
    page.wait_for_url(f"**/join/{lesson.code}/{world.student.pk}/")
    kb.arrive()
    kb.tab_to("input[type=password], input[inputmode=numeric]")
    kb.type("1111")
    kb.follow()
    page.wait_for_url("**/me/")
    expect(page.get_by_text("Signed in as Dana")).to_be_visible()

    # The Warm Up: checklist, short text, single choice (personal), a shared list and choice.
    open_from_home(kb, base, lesson.warm_up)
    checklist = f"[data-doc='{me}'][data-key='helps_me_learn'] input[type=checkbox]"
    kb.tab_to(f"{checklist}[value='quiet_first']")
    kb.press("Space")
    kb.press("Tab")
    kb.press("Space")  # the second option, "talk it out"
    kb.tab_to(f"[data-doc='{me}'][data-key='hard_for_me'] input[type=text]")
    kb.type("everyone talks at once")
    kb.leave_text_box()
    kb.tab_to(f"[data-doc='{me}'][data-key='when_stuck'] input[type=radio]")
    kb.press("Space")
    kb.press("ArrowDown")  # arrows move the choice within the group
    kb.tab_to("[data-key='our_intentions'] [data-action='add-entry']")
    kb.press("Enter")  # a new entry, with the focus in it
    assert kb.is_on("[data-key='our_intentions'] textarea")
    kb.type("We listen to the end.")
    kb.press("Enter")  # Enter starts the next entry
    kb.type("We point to the line.")
    kb.leave_text_box()
    kb.tab_to("[data-key='kept_promises'] input[type=radio]")
    kb.press("Space")
    kb.tab_to("[data-key='promise_example'] input[type=text]")
    kb.type("Eli waited for me.")
    kb.leave_text_box()
    expect(page.locator(STATUS)).to_have_attribute("data-state", "saved", timeout=WAIT)

    # Help: the note and the button, from the keyboard.
    kb.tab_to("#help-note", back=True)
    kb.type("We are stuck on verse 7")
    kb.tab_to("[data-live-help] button[value=ask]")
    kb.press("Enter")
    expect(page.locator("[data-help-status]")).to_contain_text("You asked your teacher for help.", timeout=WAIT)

    # The advisory protocol: long text, a scale, a list and a short text.
    open_from_home(kb, base, lesson.advisory)
    kb.tab_to("[data-key='teaching_in_our_words'] textarea")
    kb.type("If I don't speak up, who will?")
    kb.press("Shift+Enter")
    kb.type("But I must listen too.")
    kb.leave_text_box()
    kb.tab_to(f"[data-doc='{me}'][data-key='talk_balance'] input[type=radio]")
    kb.press("Space")  # 1
    kb.press("ArrowRight")
    kb.press("ArrowRight")  # 3: find a balance
    kb.tab_to(f"[data-doc='{me}'][data-key='for_myself_story'] textarea")
    kb.type("When Eli read fast, I asked him to stop.")
    kb.leave_text_box()
    kb.tab_to("[data-key='for_myself_looks_like'] [data-action='add-entry']")
    kb.press("Enter")
    kb.type("Asking for a turn.")
    kb.leave_text_box()
    kb.tab_to(f"[data-doc='{me}'][data-key='now_step'] input[type=text]")
    kb.type("Say when I need time.")
    kb.leave_text_box()
    expect(page.locator(STATUS)).to_have_attribute("data-state", "saved", timeout=WAIT)

    # Yesterday's reflection: from the home page, rate every practice with Space and the arrows.
    page.goto(base + "/me/")
    kb.arrive()
    kb.tab_to(f'a[href="/reflections/session/{lesson.yesterday.pk}/"]')
    kb.follow()
    page.wait_for_url(f"**/reflections/session/{lesson.yesterday.pk}/")
    kb.arrive()
    ratings = page.eval_on_selector_all(
        "input[type=radio][name^='a-rate_']", "els => [...new Set(els.map(e => e.name))]"
    )
    assert len(ratings) >= 6, ratings
    for name in ratings:
        kb.tab_to(f"input[name='{name}']")
        kb.press("Space")
        kb.press("ArrowRight")  # the second point
    kb.tab_to("input[name='a-goal']")
    kb.type("Ask Eli which line he means.")
    kb.tab_to("#field-appreciation")
    kb.type("Thank you for waiting for me.")
    kb.leave_text_box()
    kb.tab_to("button[value=submit]")
    kb.follow()
    expect(page.get_by_text("Your reflection is handed in.")).to_be_visible()

    # What she did by keyboard is what was stored.
    student = world.student
    wait_for_answer(lesson.warm_up, "helps_me_learn", student, {"quiet_first": True, "talk_it_out": True})
    wait_for_answer(lesson.warm_up, "when_stuck", student, "ask_question")
    wait_for_answer(lesson.warm_up, "kept_promises", None, "all")
    wait_for_answer(lesson.warm_up, "hard_for_me", student, "everyone talks at once")
    wait_for_answer(lesson.warm_up, "our_intentions", None, ["We listen to the end.", "We point to the line."])
    wait_for_answer(lesson.warm_up, "promise_example", None, "Eli waited for me.")
    wait_for_answer(
        lesson.advisory, "teaching_in_our_words", None, "If I don't speak up, who will?\nBut I must listen too."
    )
    wait_for_answer(lesson.advisory, "talk_balance", student, "3")
    wait_for_answer(lesson.advisory, "for_myself_looks_like", None, ["Asking for a turn."])
    wait_for_answer(lesson.advisory, "now_step", student, "Say when I need time.")
    assert HelpRequest.objects.get(student=student, resolved_at=None).note == "We are stuck on verse 7"
    reflection = Reflection.objects.get(student=student, session=lesson.yesterday)
    assert reflection.submitted_at is not None
    assert {key: value for key, value in reflection.assessment_answers.items() if key.startswith("rate_")} == {
        name.removeprefix("a-"): 2 for name in ratings
    }
    print(f"\nkeyboard: {kb.presses} key presses, every focus visible")
