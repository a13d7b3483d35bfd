"""axe-core on every main page, as each role, in English and in Hebrew (real Chromium, real server).

axe-core is the committed copy in tests/vendor/axe.min.js (refreshed by `npm run copy-axe` in
frontend/), injected into each page after it has loaded and settled: the worksheet with a partner
online and "who wrote what" showing, the live dashboard connected. Only the axe contexts bypass the
site's Content-Security-Policy (`bypass_csp`), since axe is a script the policy rightly refuses.

A "serious" or "critical" finding fails the test; the lesser ones are printed as a table (id,
impact, count, page), so they show in CI output with `-rA` or `-s`. The 404 page is rendered by the
test client (production mode, DEBUG off) and served at a real URL of the test server through a
Playwright route: the server process runs with DEBUG on, where Django shows its technical 404.

The second test looks at every page at 200% zoom (a 683 px wide window at device scale 2, what a
1366 px laptop shows zoomed in): nothing may scroll sideways. The third checks that with
`prefers-reduced-motion: reduce` nothing animates or transitions on the student's pages, the
pairing page and the live dashboard.
"""

from __future__ import annotations

import datetime
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from classrooms.models import PairingSession
from classrooms.services_live import broadcast_send, comment_create, help_request_create, timer_start
from tests.asgi_server import AsgiServer, session_cookie_for
from tests.conftest import World
from tests.factories import make_session
from tests.reflections_fixtures import assign_lesson, end_learning, reflect, set_intentions
from tests.worksheet_page_fixtures import assign_worksheet
from worksheets.models import Worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")
LANGUAGES = ("en", "he")
WAIT = 30_000  # ms
MISSING = "/no-such-page/"
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] })
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ' | ' + (n.failureSummary || '').replace(/\\s+/g, ' ')),
  }))
}"""


@dataclass
class Site:
    """The pages to check, by persona, and the two that scripts fill in after loading."""

    anonymous: list[str]
    teacher: list[str]
    student: list[str]
    worksheet: str
    live: str
    partner: User
    users: dict[str, User | None] = field(default_factory=dict)


@dataclass
class Finding:
    persona: str
    language: str
    path: str
    rule: str
    impact: str
    count: int
    help: str
    nodes: list[str]


def build_site(world: World) -> Site:
    """A class in the middle of things: a live session with two worksheets, yesterday's lesson ended
    with reflections written, so every page has something real on it."""
    worksheet = assign_worksheet(world)  # Listening to the Text on Genesis 4: text, long and short answers, lists
    self_assessment = assign_worksheet(world, protocol="self-assessment", text=None)  # scales
    choices = assign_worksheet(world, protocol="havruta-warm-up-younger", text=None)  # choice, checklist

    groups = [[world.student, world.partner], [world.classmate, world.classmate_partner]]
    yesterday = make_session(classroom=world.classroom, groups=groups)
    PairingSession.objects.filter(pk=yesterday.pk).update(date=timezone.localdate() - datetime.timedelta(days=1))
    yesterday.refresh_from_db()
    warm_up, _lesson = assign_lesson(yesterday, world.teacher)
    set_intentions(warm_up, world.student, ["We say back the other's idea first.", "We point to the line."])
    end_learning(yesterday, world.teacher)
    ratings = {"listening": 3, "articulating": 2, "wondering": 3, "focusing": 2, "supporting": 3, "challenging": 1}
    reflect(yesterday, world.partner, ratings=ratings, goal="Ask why.", appreciation="Thank you, Dana.", send=True)
    reflect(yesterday, world.classmate, ratings={key: 2 for key in ratings}, goal="Listen more.")

    # The live session under way: a message, a running timer, a comment pinned on Dana's worksheet
    # and another havruta asking for help, so the banners, pins and "needs help" cards are checked.
    classroom, session = world.classroom, world.session
    broadcast_send(session=session, by=world.teacher, message="Read verse 7 again, slowly.")
    timer_start(session=session, by=world.teacher, minutes=5)
    comment_create(
        worksheet=worksheet, by=world.teacher, field_id="shared:possible_meaning", text="Where do you see that?"
    )
    help_request_create(
        worksheet=Worksheet.objects.get(assignment=worksheet.assignment, havruta__memberships__student=world.classmate),
        student=world.classmate,
        note="We read verse 7 differently",
    )
    return Site(
        anonymous=[
            "/",
            "/accounts/login/",
            "/accounts/signup/",
            "/join/",
            f"/join/{classroom.join_code}/",
            f"/join/{classroom.join_code}/{world.student.pk}/",
            "/privacy/",
            "/about/",
            MISSING,
        ],
        teacher=[
            "/classes/",
            f"/classes/{classroom.pk}/",
            f"/classes/{classroom.pk}/roster/add/",
            f"/classes/{classroom.pk}/pairings/",
            f"/pairings/{session.pk}/",
            f"/assignments/{worksheet.assignment_id}/",
            f"/classes/{classroom.pk}/live/",
            f"/classes/{classroom.pk}/live/?pop={worksheet.pk}",
            "/protocols/",
            "/protocols/listening-to-the-text/?version=teacher&text=genesis-4-1-16",
            "/texts/genesis-4-1-16/",
            "/reflections/",
            f"/reflections/session/{yesterday.pk}/overview/",
            f"/reflections/session/{yesterday.pk}/students/{world.partner.pk}/",
            f"/reflections/classes/{classroom.pk}/growth/",
            f"/reflections/students/{world.partner.pk}/growth/",
        ],
        student=[
            "/me/",
            f"/worksheets/{worksheet.pk}/",
            f"/worksheets/{choices.pk}/",
            f"/worksheets/{self_assessment.pk}/",
            f"/reflections/session/{yesterday.pk}/",
            f"/reflections/students/{world.student.pk}/growth/",
        ],
        worksheet=f"/worksheets/{worksheet.pk}/",
        live=f"/classes/{classroom.pk}/live/",
        partner=world.partner,
        users={"anonymous": None, "teacher": world.teacher, "student": world.student},
    )


def not_found_html(language: str) -> str:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(MISSING)
    assert response.status_code == 404
    return response.content.decode()


def new_context(browser: Any, server: AsgiServer, user: User | None, language: str, **options: Any) -> Any:
    context = browser.new_context(**{"viewport": {"width": 1366, "height": 900}, **options})
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": server.url}]
    if user is not None:
        cookies.append({**session_cookie_for(user), "url": server.url})
    context.add_cookies(cookies)
    context.route(
        server.url + MISSING,
        lambda route: route.fulfill(status=404, content_type="text/html; charset=utf-8", body=not_found_html(language)),
    )
    return context


def settle(page: Any, path: str, site: Site) -> None:
    """Wait for what scripts add to the page, so axe sees what a person sees."""
    from playwright.sync_api import expect

    if path.startswith("/worksheets/"):
        expect(page.locator("[data-worksheet-status]")).to_have_attribute(
            "data-state", re.compile("saved|connected"), timeout=WAIT
        )
        if path == site.worksheet:
            expect(page.locator(".presence-person.is-here").first).to_be_attached(timeout=WAIT)
            toggle = page.locator("[data-action='toggle-authors']")
            if toggle.get_attribute("aria-pressed") != "true":
                toggle.click()
            expect(page.locator("[data-authorship] .authored").first).to_be_attached(timeout=WAIT)
    elif path.startswith(site.live):
        expect(page.locator("[data-live-connection]")).to_have_attribute("data-state", "live", timeout=WAIT)


def check_pages(browser: Any, server: AsgiServer, site: Site, persona: str, language: str) -> list[Finding]:
    context = new_context(browser, server, site.users[persona], language, bypass_csp=True)
    page = context.new_page()
    findings = []
    try:
        for path in getattr(site, persona):
            response = page.goto(server.url + path)
            assert response is not None and response.status == (404 if path == MISSING else 200), path
            assert page.locator("html").get_attribute("lang") == language, path
            settle(page, path, site)
            page.add_script_tag(path=str(AXE))
            for violation in page.evaluate(RUN_AXE):
                findings.append(
                    Finding(
                        persona=persona,
                        language=language,
                        path=path,
                        rule=violation["id"],
                        impact=violation["impact"] or "",
                        count=len(violation["nodes"]),
                        help=violation["help"],
                        nodes=violation["nodes"],
                    )
                )
    finally:
        context.close()
    return findings


@pytest.fixture
def site(world: World) -> Site:
    # Ending the learning sends channel-layer events through async_to_sync, which refuses to run in
    # this thread while Playwright's event loop is open here: build the class in a thread of its own.
    def build() -> Site:
        try:
            return build_site(world)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(build).result()


@pytest.fixture
def partner_typing(browser: Any, asgi_server: AsgiServer, site: Site) -> Iterator[None]:
    """Eli is on the worksheet and has written in it, so Dana's page shows his presence and authorship."""
    from playwright.sync_api import expect

    context = browser.new_context()
    context.add_cookies([{**session_cookie_for(site.partner), "url": asgi_server.url}])
    page = context.new_page()
    page.goto(asgi_server.url + site.worksheet)
    expect(page.locator("[data-worksheet-status]")).to_have_attribute(
        "data-state", re.compile("saved|connected"), timeout=WAIT
    )
    page.locator("[data-field-id='shared:possible_meaning'] textarea").fill("Cain felt unseen.")
    expect(page.locator("[data-worksheet-status]")).to_have_attribute("data-state", "saved", timeout=WAIT)
    yield
    context.close()


def report(findings: list[Finding]) -> str:
    lines = [f"{'rule':32} {'impact':9} {'count':>5}  page (persona, language)"]
    for item in sorted(findings, key=lambda f: (f.impact, f.rule, f.persona, f.path, f.language)):
        lines.append(f"{item.rule:32} {item.impact:9} {item.count:5}  {item.path} ({item.persona}, {item.language})")
    totals = Counter(f.rule for f in findings)
    lines.append("totals: " + (", ".join(f"{rule} x{n}" for rule, n in sorted(totals.items())) or "none"))
    return "\n".join(lines)


def test_it_has_no_serious_or_critical_axe_violation_on_any_main_page(
    browser: Any, asgi_server: AsgiServer, site: Site, partner_typing: None
) -> None:
    started = time.monotonic()
    findings: list[Finding] = []
    for language in LANGUAGES:
        User.objects.update(language=language)  # a signed-in person's saved choice wins over the cookie
        for persona in ("anonymous", "teacher", "student"):
            findings += check_pages(browser, asgi_server, site, persona, language)
    pages = sum(len(getattr(site, persona)) for persona in ("anonymous", "teacher", "student")) * len(LANGUAGES)
    blocking = [f for f in findings if f.impact in BLOCKING]
    lesser = [f for f in findings if f.impact not in BLOCKING]
    print(f"\naxe-core: {pages} pages checked in {time.monotonic() - started:.1f} s")
    print("Lesser axe findings (moderate/minor), left for later:\n" + report(lesser))
    details = "\n".join(
        f"{f.rule} ({f.impact}) on {f.path} [{f.persona}, {f.language}]: {f.help}\n    " + "\n    ".join(f.nodes[:5])
        for f in blocking
    )
    assert not blocking, "Serious or critical axe violations:\n" + details


OVERFLOW = """() => {
  const root = document.documentElement
  const width = root.clientWidth
  if (root.scrollWidth <= width + 1) return null
  // The outermost elements that stick out, to say what to fix.
  const culprits = []
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect()
    if (box.width === 0 || (box.right <= width + 1 && box.left >= -1)) continue
    if (el.parentElement && culprits.some(c => c.contains(el))) continue
    culprits.push(el)
  }
  return { scrollWidth: root.scrollWidth, width,
    culprits: culprits.slice(0, 5).map(el => el.outerHTML.slice(0, 120)) }
}"""


def test_it_fits_every_main_page_in_the_window_at_200_percent_zoom(
    browser: Any, asgi_server: AsgiServer, site: Site
) -> None:
    """A 1366 px laptop zoomed to 200% is a 683 px wide window at device scale 2: nothing scrolls sideways
    (WCAG 1.4.10); wide tables and charts scroll inside their own box."""
    overflowing = []
    for language in LANGUAGES:
        User.objects.update(language=language)
        for persona in ("anonymous", "teacher", "student"):
            context = new_context(
                browser,
                asgi_server,
                site.users[persona],
                language,
                viewport={"width": 683, "height": 384},
                device_scale_factor=2,
            )
            page = context.new_page()
            try:
                for path in getattr(site, persona):
                    page.goto(asgi_server.url + path)
                    page.wait_for_load_state("load")
                    if (found := page.evaluate(OVERFLOW)) is not None:
                        overflowing.append(f"{path} ({persona}, {language}): {found}")
            finally:
                context.close()
    assert not overflowing, "Pages that scroll sideways at 200% zoom:\n" + "\n".join(overflowing)


MOVING = """() => {
  const moving = []
  for (const el of document.querySelectorAll('*')) {
    const style = getComputedStyle(el)
    const animated = style.animationName !== 'none' && parseFloat(style.animationDuration) > 0
    const transitions = style.transitionDuration.split(',').some(d => parseFloat(d) > 0)
    if (animated || transitions) moving.push(el.tagName.toLowerCase() + '.' + String(el.className).replace(/ /g, '.'))
  }
  return moving
}"""


def test_it_stops_animations_and_transitions_when_less_motion_is_asked(
    browser: Any, asgi_server: AsgiServer, site: Site
) -> None:
    from playwright.sync_api import expect

    pages = {
        "student": site.student,
        "teacher": [path for path in site.teacher if path.startswith(("/pairings/", site.live))],
    }
    moving: dict[str, list[str]] = {"no-preference": [], "reduce": []}
    for motion in moving:
        for persona, paths in pages.items():
            context = new_context(browser, asgi_server, site.users[persona], "en", reduced_motion=motion)
            page = context.new_page()
            try:
                for path in paths:
                    page.goto(asgi_server.url + path)
                    if path.startswith("/worksheets/"):
                        expect(page.locator("[data-worksheet-status]")).to_have_attribute(
                            "data-state", re.compile("saved|connected"), timeout=WAIT
                        )
                    moving[motion] += [f"{path}: {el}" for el in page.evaluate(MOVING)]
            finally:
                context.close()
    # Without the preference the worksheet's fields and the pairing cards do ease their borders:
    # the check sees motion where there is some.
    assert moving["no-preference"], "nothing moves even without the preference: the check would prove nothing"
    assert moving["reduce"] == [], "Still moving with prefers-reduced-motion: reduce:\n" + "\n".join(moving["reduce"])
