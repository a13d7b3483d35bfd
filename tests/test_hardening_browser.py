"""The Content-Security-Policy in a real browser: the pages work and Chromium reports no violation.

A policy that blocked the bundle, a style or the websocket would break the worksheet silently for
children; here Chromium (through a real daphne process) loads the pages under the policy, the
worksheet syncs over its websocket, and every `securitypolicyviolation` event is collected.
"""

from __future__ import annotations

import re

import pytest

from tests.asgi_server import AsgiServer, session_cookie_for
from tests.conftest import World
from tests.worksheet_page_fixtures import assign_worksheet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def test_it_runs_the_worksheet_and_class_pages_under_the_policy(browser, world: World, asgi_server: AsgiServer) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    worksheet = assign_worksheet(world)
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        context.add_cookies([{**session_cookie_for(world.student), "url": asgi_server.url}])
        response = page.goto(f"{asgi_server.url}/worksheets/{worksheet.pk}/")
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        status = page.locator("[data-worksheet-status]")
        expect(status).to_have_attribute("data-state", re.compile("saved|connected"), timeout=30_000)
        field = page.locator("[data-field-id='shared:possible_meaning'] textarea")
        field.click()
        page.keyboard.type("Under the policy.")
        # Saved means the websocket (connect-src) carried the edit and the server confirmed it.
        expect(status).to_have_attribute("data-state", "saved", timeout=30_000)
        expect(status).to_have_text("All saved")
        assert page.evaluate("window.__cspViolations") == []

        context.clear_cookies()
        context.add_cookies([{**session_cookie_for(world.teacher), "url": asgi_server.url}])
        for path in (f"/classes/{world.classroom.pk}/", "/protocols/", "/privacy/"):
            page.goto(f"{asgi_server.url}{path}")
            page.wait_for_load_state("load")
            assert page.evaluate("window.__cspViolations") == [], path
        assert not [line for line in console if "Content Security Policy" in line], console
    finally:
        context.close()
