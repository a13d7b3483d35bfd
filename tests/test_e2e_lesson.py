"""One whole lesson, end to end, the way a teacher and a class live it.

A teacher signs up on the real allauth pages (the confirmation mail is read from the server's
console email backend), creates a class, pastes three names, prints the sign-in sheet, pairs the
class (a triad) and assigns a Havruta Warm Up and Listening to the Text on Cain and Abel. Three
students sign in with the class code and their PINs, each in a browser of their own; Noa switches
her interface to Hebrew. They write the Warm Up together and see each other's words appear, go on
to the text, and Noa asks for help. The teacher pops in, pins a comment, broadcasts and ends the
learning; every student finds the Warm Up promises in their reflection and assesses themselves.
Finally the teacher downloads the class packet and the CSV and opens the growth view.

Everything runs for real: Debian's Chromium through Playwright, one daphne process serving HTTP
and every websocket on the test database (tests/asgi_server.py). The only things read behind the
browser's back are the confirmation mail (from the server's log) and, to wait for the live server
to store answers, the database.

Screenshots of every main page, at 1366x768 and 768x1024, go to $SCREENSHOTS_DIR (default
artifacts/screenshots/, git-ignored): `NN-page-WxH-lang.png`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from accounts.models import User
from tests.asgi_server import ROOT, AsgiServer
from tests.factories import addr
from tests.reflections_fixtures import ensure_library
from worksheets.models import FieldAnswer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT = 20_000  # ms: live sync on a loaded 2-core machine
PASSWORD = "a long teacher passphrase"
NAMES = ("Dana", "Eli", "Noa")
PROMISES = (
    "We will say back the other's idea before answering.",
    "We point to the words in the text we mean.",
    "אנחנו מחכים שכל אחד יסיים לדבר.",  # Noa writes hers in Hebrew
)
MEANING = "Cain wanted to be seen, and when he was not, he stopped listening."
HELP_NOTE = "לא הבנו את פסוק ז"  # "We did not understand verse 7"
COMMENT = "Which word in verse 7 shows that?"
BROADCAST = "Five more minutes, then we share with the class."
VIEWPORTS = {"1366x768": {"width": 1366, "height": 768}, "768x1024": {"width": 768, "height": 1024}}
STATUS = "[data-worksheet-status]"
SHOTS_DIR = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "artifacts" / "screenshots")


class Screenshots:
    """Full-page screenshots of a page at every viewport, then back to the page's own size."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.saved: list[str] = []

    def take(self, page: Any, number: int, name: str, lang: str = "en") -> None:
        own_size = page.viewport_size
        # From the top: a sticky bar would otherwise be drawn where the page happens to be scrolled.
        page.evaluate("window.scrollTo(0, 0)")
        shown = page.locator("body").inner_text()
        for leak in ("{#", "#}", "{%", "%}", "{{", "}}"):
            assert leak not in shown, f"template syntax shown on {name}: {leak!r}"
        for label, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            path = self.directory / f"{number:02d}-{name}-{label}-{lang}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            self.saved.append(path.name)
        page.set_viewport_size(own_size)


@pytest.fixture
def open_browser(browser: Any) -> Iterator[Callable[[], Any]]:
    """A fresh browser context (no cookies) per person; JavaScript errors are collected."""
    contexts: list[Any] = []

    def _open() -> Any:
        context = browser.new_context(viewport=VIEWPORTS["1366x768"], accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        return page

    yield _open
    for context in contexts:
        context.close()


def _confirmation_link(server: AsgiServer, timeout: float = 15) -> str:
    """The link in the mail the console email backend printed to the server's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.findall(r"http://127\.0\.0\.1:\d+/accounts/confirm-email/\S+", server.log())
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"No confirmation mail in the server's output:\n{server.log()[-2000:]}")


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _wait_for_answer(field_key: str, expected: Any, timeout: float = 30) -> None:
    """The live server stores plain answers a moment after the last keystroke; wait for them."""
    deadline = time.monotonic() + timeout
    values: list[Any] = []
    while time.monotonic() < deadline:
        values = list(FieldAnswer.objects.filter(field_key=field_key, student=None).values_list("value", flat=True))
        if expected in values:
            return
        time.sleep(0.2)
    raise AssertionError(f"{field_key} was never stored as {expected!r}: {values!r}")


def _wait_saved(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator(STATUS)).to_have_attribute("data-state", "saved", timeout=WAIT)


def _open_worksheet(page: Any, position: int) -> None:
    """From the student's home page, the worksheet in the given row of today's card."""
    from playwright.sync_api import expect

    page.locator(".site-nav a").first.click()  # "My learning", in either language
    page.wait_for_url("**/me/")
    page.locator(".today-card .work-item").nth(position).get_by_role("link").click()
    page.wait_for_url("**/worksheets/*/")
    expect(page.locator(STATUS)).to_have_attribute("data-state", re.compile("saved|connected"), timeout=WAIT)


def test_it_teaches_a_whole_lesson_from_sign_up_to_the_growth_view(
    asgi_server: AsgiServer, open_browser: Callable[[], Any]
) -> None:
    from playwright.sync_api import expect

    ensure_library()  # what `make run` loads: the shipped protocols and texts
    base = asgi_server.url
    shots = Screenshots(SHOTS_DIR)

    # ---- The teacher signs up and confirms her email ------------------------------------------
    teacher = open_browser()
    teacher.goto(base + "/")
    expect(teacher.get_by_role("heading", name="Havruta learning for your whole class")).to_be_visible()
    shots.take(teacher, 1, "landing")
    teacher.get_by_role("link", name="I'm a teacher: create an account").click()
    expect(teacher.get_by_role("heading", name="Sign Up")).to_be_visible()
    shots.take(teacher, 2, "sign-up")
    teacher.get_by_label("Your name").fill("Rivka Cohen")
    teacher.get_by_label("Email").fill(addr("rivka"))
    teacher.get_by_label("Password:", exact=True).fill(PASSWORD)
    teacher.get_by_label("Password (again)").fill(PASSWORD)
    teacher.get_by_role("button", name="Sign Up").click()
    expect(teacher.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    teacher.goto(_confirmation_link(asgi_server))  # she opens the link in the mail
    expect(teacher.get_by_text(f"Please confirm that {addr('rivka')}")).to_be_visible()
    teacher.get_by_role("button", name="Confirm").click()
    expect(teacher.get_by_role("heading", name="My classes")).to_be_visible()
    expect(teacher.locator(".site-header")).to_contain_text("Signed in as Rivka Cohen")

    # ---- A class, its roster and the sign-in sheet --------------------------------------------
    teacher.get_by_role("link", name="Create your first class").click()
    teacher.get_by_label("Class name").fill("Grade 7 Chumash")
    teacher.get_by_label("Grade band").select_option(label="Middle school")
    teacher.get_by_role("button", name="Create class").click()
    expect(teacher.get_by_text("Your class is ready. Add your students next.")).to_be_visible()
    teacher.get_by_label("Type or paste names, one per line").click()
    teacher.keyboard.insert_text("\n".join(NAMES))  # as a paste from a spreadsheet column
    teacher.get_by_role("button", name="Preview").click()
    expect(teacher.get_by_text("3 students are ready to add.")).to_be_visible()
    shots.take(teacher, 3, "roster-preview")
    teacher.get_by_role("button", name="Add 3 students").click()
    expect(teacher.get_by_text("3 students added.")).to_be_visible()

    rows = teacher.locator(".roster-table tbody tr")
    expect(rows).to_have_count(3)
    pins: dict[str, str] = {}
    for row in rows.all():
        pins[row.locator("th").inner_text().strip()] = row.locator(".pin").inner_text().strip()
    assert sorted(pins) == sorted(NAMES)
    assert all(re.fullmatch(r"\d{4}", pin) for pin in pins.values()), pins
    code = teacher.locator(".join-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{6}", code), code
    shots.take(teacher, 4, "class")
    class_url = teacher.url.split("#")[0]

    teacher.get_by_role("link", name="Print sign-in sheet").click()
    expect(teacher.locator(".sheet-join-code")).to_have_text(code)
    for name, pin in pins.items():
        expect(teacher.locator(".cut-card", has_text=name).locator(".cut-card-pin")).to_have_text(pin)
    shots.take(teacher, 5, "sign-in-sheet")
    teacher.get_by_role("link", name="PDF (A4)").click()
    teacher.wait_for_url("**/sign-in-sheet.pdf?paper=a4", wait_until="commit")
    # Chromium shows the PDF in its viewer; the teacher saves the same URL.
    sheet = teacher.request.get(teacher.url)
    assert sheet.ok and sheet.headers["content-type"] == "application/pdf"
    sheet_text = _pdf_text(sheet.body())
    assert code in sheet_text
    for name, pin in pins.items():
        assert name in sheet_text and pin in sheet_text, (name, sheet_text)
    teacher.goto(class_url)

    # ---- Pairing (a triad) and the lesson -----------------------------------------------------
    teacher.get_by_role("link", name="New pairing").click()
    for name in NAMES:
        expect(teacher.get_by_label(name, exact=True)).to_be_checked()
    teacher.get_by_role("button", name="Pair them").click()
    expect(teacher.get_by_text("The havrutot are ready.")).to_be_visible()
    card = teacher.locator(".havruta-card:not(.havruta-new)")
    expect(card).to_have_count(1)
    expect(card.locator(".badge-triad")).to_have_text("Triad")
    assert sorted(card.locator(".member-name").all_inner_texts()) == sorted(NAMES)
    shots.take(teacher, 6, "pairing")

    teacher.get_by_role("link", name="Assign a protocol").first.click()
    teacher.get_by_label("Protocol").select_option(label="Listening to the Text")
    teacher.get_by_label("Text", exact=True).select_option(label="Cain and Abel (Genesis 4:1-16)")
    teacher.get_by_label("Start with the Havruta Warm Up").check()
    # The Warm Up for the class's grade band is chosen for her.
    expect(teacher.get_by_label("Warm Up version").locator("option:checked")).to_have_text(
        "Upper elementary and middle school"
    )
    shots.take(teacher, 7, "assign")
    teacher.get_by_role("button", name="Assign").click()
    expect(teacher.get_by_text("Assigned. Every havruta has its worksheet.")).to_be_visible()
    expect(teacher.get_by_role("heading", name="Listening to the Text", level=1)).to_be_visible()
    expect(teacher.get_by_text("Also assigned to this pairing: Havruta Warm Up")).to_be_visible()
    shots.take(teacher, 8, "assignment")
    assignment_url = teacher.url

    # ---- Three students sign in with the class code and their PINs ----------------------------
    students: dict[str, Any] = {}
    for name in NAMES:
        page = open_browser()
        page.goto(base + "/")
        page.get_by_role("link", name="I'm a student: join with a class code").click()
        page.get_by_label("Class code").fill(code.lower())
        page.get_by_role("button", name="Next").click()
        page.get_by_role("link", name=name, exact=True).click()
        page.get_by_label("Your PIN").fill(pins[name])
        page.keyboard.press("Enter")
        page.wait_for_url("**/me/")
        others = [other for other in NAMES if other != name]
        today = page.locator("#today-title")
        expect(today).to_have_text(re.compile(rf"Today you learn with ({'|'.join(others)}) and ({'|'.join(others)})"))
        expect(page.locator(".today-card .work-item")).to_have_text(
            [re.compile("Havruta Warm Up"), re.compile("Listening to the Text, Genesis 4:1-16")]
        )
        students[name] = page
    dana, eli, noa = (students[name] for name in NAMES)
    shots.take(dana, 9, "student-home")

    # Noa learns in Hebrew: the whole interface turns right to left.
    noa.get_by_label("Language").select_option("he")
    noa.get_by_role("button", name="Switch").click()
    expect(noa.locator("html")).to_have_attribute("dir", "rtl")
    expect(noa.locator("#today-title")).to_have_text(re.compile(r"היום אתם לומדים עם (Dana|Eli) ו־(Dana|Eli)"))
    shots.take(noa, 9, "student-home", "he")

    ids = dict(User.objects.filter(role=User.Role.STUDENT).values_list("display_name", "pk"))

    # ---- The teacher opens the live session and starts the step timer -------------------------
    teacher.goto(class_url)
    teacher.get_by_role("link", name="Live session").click()
    expect(teacher.locator("[data-live-connection]")).to_have_attribute("data-state", "live", timeout=WAIT)
    live_card = teacher.locator(".live-card")

    # ---- The Warm Up, together and live -------------------------------------------------------
    for page in (dana, eli, noa):
        _open_worksheet(page, 0)
    expect(live_card.locator(".is-online")).to_have_count(3, timeout=WAIT)
    expect(dana.locator("h1")).to_contain_text("Havruta Warm Up")
    teacher.get_by_label("Minutes").fill("4")
    teacher.get_by_role("button", name="Start the first step").click()
    for page in (dana, eli, noa):
        expect(page.locator("[data-live-timer]")).to_be_visible(timeout=WAIT)
        expect(page.locator("[data-live-clock]")).to_contain_text(re.compile(r"[34]:\d\d"))
    expect(dana.locator("[data-live-timer]")).to_contain_text("Step 1 of 5: All about me as a learner")

    # Each writes what is hard for them; the others see it appear in that partner's box.
    hard = {
        "Dana": "when everyone talks at once",
        "Eli": "when I have to read fast",
        "Noa": "כשאין לי זמן לחשוב",
    }
    for name, page in students.items():
        page.locator(f"[data-field-id='student-{ids[name]}:hard_for_me'] input").click()
        page.keyboard.type(hard[name])
    for name in NAMES:
        for viewer in NAMES:
            box = students[viewer].locator(f"[data-field-id='student-{ids[name]}:hard_for_me'] input")
            expect(box).to_have_value(hard[name], timeout=WAIT)

    # The promises are shared: each adds one, and the next sees it before writing theirs.
    promises = "[data-field-id='shared:our_intentions']"
    for count, (name, promise) in enumerate(zip(NAMES, PROMISES, strict=True), start=1):
        page = students[name]
        page.locator(promises).locator("[data-action='add-entry']").click()
        page.keyboard.type(promise)
        for viewer in students.values():
            entries = viewer.locator(f"{promises} textarea")
            expect(entries).to_have_count(count, timeout=WAIT)
            expect(entries.nth(count - 1)).to_have_value(promise, timeout=WAIT)
    for page in (dana, eli, noa):
        _wait_saved(page)
    shots.take(dana, 10, "worksheet-warm-up")
    shots.take(noa, 10, "worksheet-warm-up", "he")

    # ---- Listening to the Text, Hebrew beside English -----------------------------------------
    for page in (dana, eli, noa):
        _open_worksheet(page, 1)
        text = page.locator("#worksheet-text")
        expect(text.locator(".segment-he").first).to_contain_text("וְהָאָדָם יָדַע אֶת־חַוָּה")
        expect(text.locator(".segment-en").first).to_contain_text("And the man knew Eve his wife")
    meaning = "[data-field-id='shared:possible_meaning'] textarea"
    eli.locator(meaning).click()
    eli.keyboard.type(MEANING)
    for page in (dana, noa):
        expect(page.locator(meaning)).to_have_value(MEANING, timeout=WAIT)

    # Noa asks for help, with a note in Hebrew; all three see that help is on its way.
    noa.locator("#help-note").fill(HELP_NOTE)
    noa.get_by_role("button", name="בקשת עזרה").click()
    expect(dana.locator("[data-help-status]")).to_contain_text("You asked your teacher for help.", timeout=WAIT)
    expect(eli.locator("[data-help-status]")).to_be_visible(timeout=WAIT)
    expect(noa.locator("[data-help-status]")).to_be_visible(timeout=WAIT)
    shots.take(dana, 11, "worksheet-text")
    shots.take(noa, 11, "worksheet-text", "he")

    # ---- The teacher pops in, comments, broadcasts and ends the learning ----------------------
    expect(live_card).to_have_class(re.compile("needs-help"), timeout=WAIT)
    expect(live_card.locator(".live-badge")).to_have_text("Asked for help")
    expect(live_card).to_contain_text(HELP_NOTE)
    expect(live_card.locator(".live-step")).to_contain_text("Suggest a possible meaning", timeout=WAIT)
    live_card.get_by_role("link", name=re.compile("Pop in")).click()
    frame = teacher.frame_locator("[data-pop-frame]")
    expect(frame.locator(meaning)).to_have_value(MEANING, timeout=WAIT)
    expect(frame.locator(meaning)).to_have_attribute("readonly", "")
    expect(dana.locator("[data-teacher-presence]")).to_have_text("Your teacher is listening", timeout=WAIT)

    teacher.get_by_label("Question").select_option("shared:possible_meaning")
    teacher.get_by_label("Comment", exact=True).fill(COMMENT)
    teacher.get_by_role("button", name="Pin comment").click()
    for page in (dana, eli, noa):
        expect(page.locator("[data-field-id='shared:possible_meaning'] .live-pin")).to_contain_text(
            COMMENT, timeout=WAIT
        )
    live_card.get_by_role("button", name=re.compile("Resolve")).click()
    expect(noa.locator("[data-help-ask]")).to_be_visible(timeout=WAIT)
    expect(live_card).not_to_have_class(re.compile("needs-help"), timeout=WAIT)

    teacher.get_by_label("Message", exact=True).fill(BROADCAST)
    teacher.get_by_role("button", name="Send", exact=True).click()
    for page in (dana, eli, noa):
        expect(page.locator(".live-banner")).to_contain_text(BROADCAST, timeout=WAIT)
    shots.take(teacher, 12, "live-pop-in")

    # The reflection reads the promises the live server stored; make sure it has.
    _wait_for_answer("our_intentions", list(PROMISES))
    _wait_for_answer("possible_meaning", MEANING)
    teacher.get_by_text("End the learning time…").click()
    teacher.get_by_role("button", name="Yes, end the learning time now").click()
    expect(teacher.get_by_role("heading", name="Summary of the live session")).to_be_visible(timeout=WAIT)
    expect(teacher.locator("main")).to_contain_text("1 request for help")
    for page in (dana, eli, noa):
        page.wait_for_url(re.compile(r"/reflections/session/\d+/$"), timeout=WAIT)

    # ---- Reflections: the Warm Up promises come back, and each assesses themselves ------------
    for page in (dana, eli, noa):
        expect(page.locator(".intention-text")).to_have_text(list(PROMISES))
    expect(dana.get_by_role("heading", name="My reflection")).to_be_visible()
    shots.take(dana, 13, "reflection")
    shots.take(noa, 13, "reflection", "he")

    ratings = {"Dana": 3, "Eli": 2, "Noa": 3}
    for name, page in students.items():
        page.locator('input[name="intention-0-kept"][value="yes"]').check()
        page.locator("#intention-0-evidence").fill("We said back each idea about verse 7.")
        rates = page.locator("input[type='radio'][name^='a-rate_']")
        for practice in sorted({n for n in rates.evaluate_all("(els) => els.map((e) => e.name)")}):
            page.locator(f"input[name='{practice}'][value='{ratings[name]}']").check()
        page.locator("input[name='a-example_listening']").fill(f"{name} waited until the others finished.")
        page.locator("input[name='a-goal']").fill("Ask which word my partner means.")
        page.locator("#field-appreciation").fill(f"Thank you from {name} for reading verse 7 with me.")
        page.locator("#send_appreciation").check()
        expect(page.locator("[data-autosave-status]")).to_have_text(re.compile("Saved|נשמר"), timeout=WAIT)
        if name == "Dana":
            shots.take(page, 14, "self-assessment")
        if name == "Noa":
            shots.take(page, 14, "self-assessment", "he")
        page.locator("button[value='submit']").click()
        expect(page.locator(".reflection-state .badge-done")).to_be_visible()  # "Handed in", in her language
    expect(dana.get_by_text("Your reflection is handed in.")).to_be_visible()
    shots.take(dana, 15, "reflection-handed-in")
    shots.take(noa, 15, "reflection-handed-in", "he")

    # Each partner's appreciation waits on the others' home pages.
    dana.locator(".site-nav a").first.click()
    panel = dana.locator(".reflection-panel")
    expect(panel.get_by_role("heading", name="Appreciations from your partners")).to_be_visible()
    expect(panel).to_contain_text("Thank you from Eli for reading verse 7 with me.")
    expect(panel).to_contain_text("Thank you from Noa for reading verse 7 with me.")
    dana.get_by_role("link", name="My growth over time").click()
    expect(dana.locator("main")).to_contain_text("Listening")
    shots.take(dana, 16, "student-growth")

    # ---- The teacher's packet, CSV and growth view --------------------------------------------
    teacher.goto(assignment_url)
    teacher.get_by_role("link", name="Class packet (PDF)").click()
    expect(teacher.get_by_text("Your packet is ready.")).to_be_visible(timeout=60_000)
    with teacher.expect_download() as packet_download:
        teacher.get_by_role("link", name="Download the packet (PDF)").click()
    packet_text = _pdf_text(Path(packet_download.value.path()).read_bytes())
    for expected in ("Listening to the Text", "Grade 7 Chumash", *NAMES, "Cain wanted to be seen"):
        assert expected in packet_text, expected

    teacher.locator(".site-nav").get_by_role("link", name="Reflections", exact=True).click()
    expect(teacher.get_by_role("heading", name="Reflections and growth")).to_be_visible()
    with teacher.expect_download() as csv_download:
        teacher.get_by_role("link", name="Download CSV").click()
    table = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text(encoding="utf-8-sig"))))
    by_student = {row["Student"]: row for row in table}
    assert sorted(by_student) == sorted(NAMES), table
    assert {name: by_student[name]["Listening: rating"] for name in NAMES} == {"Dana": "3", "Eli": "2", "Noa": "3"}
    assert by_student["Eli"]["Listening: example"] == "Eli waited until the others finished."

    teacher.get_by_role("link", name="Class growth").click()
    expect(teacher.get_by_role("heading", name="Practices by session")).to_be_visible()
    heatmap = teacher.locator("svg.heatmap")
    expect(heatmap.locator('rect.cell[data-row="Listening"]')).to_have_attribute("data-value", "2.7")
    shots.take(teacher, 17, "growth")

    teacher.locator(".site-nav").get_by_role("link", name="Protocols", exact=True).click()
    expect(teacher.get_by_role("heading", name="Protocol library")).to_be_visible()
    expect(teacher.get_by_role("link", name="Listening to the Text")).to_be_visible()
    shots.take(teacher, 18, "library")

    for page in (teacher, dana, eli, noa):
        assert not page.errors, page.errors
