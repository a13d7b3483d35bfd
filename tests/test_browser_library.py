"""A teacher opens a protocol, switches versions and previews it with a Hebrew text (real Chromium)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from protocols.services import library_load
from tests.factories import make_teacher

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_teacher(name="Rivka Teacher"))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_it_switches_versions_and_shows_the_hebrew_column_right_to_left(page, live_server) -> None:  # type: ignore[no-untyped-def]
    library_load()
    _sign_in(page, live_server)

    page.goto(live_server.url + "/protocols/")
    page.get_by_role("link", name="Listening to the Text").click()
    page.wait_for_url("**/protocols/listening-to-the-text/")
    teacher_tab = page.get_by_role("link", name="Teacher version")
    assert teacher_tab.get_attribute("aria-current") == "page"
    assert page.locator(".teacher-guide").is_visible()
    assert page.get_by_text("Teacher only").first.is_visible()

    # The switch works from the keyboard.
    page.get_by_role("link", name="Student version").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**version=student**")
    assert page.get_by_role("link", name="Student version").get_attribute("aria-current") == "page"
    assert page.locator(".teacher-guide").count() == 0
    assert page.locator(".teacher-only").count() == 0

    page.get_by_role("link", name="Teacher version").click()
    page.wait_for_url("**version=teacher**")
    assert page.locator(".teacher-guide").is_visible()

    page.get_by_label("Preview with a text").select_option("genesis-4-1-16")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**text=genesis-4-1-16**")
    assert "version=teacher" in page.url  # the chosen version is kept

    hebrew = page.locator(".protocol-text .segment-he").first
    english = page.locator(".protocol-text .segment-en").first
    assert hebrew.get_attribute("lang") == "he"
    assert page.eval_on_selector(".protocol-text .segment-he", "e => getComputedStyle(e).direction") == "rtl"
    assert page.eval_on_selector(".protocol-text .segment-en", "e => getComputedStyle(e).direction") == "ltr"
    assert "Havruta Hebrew" in page.eval_on_selector(".segment-he", "e => getComputedStyle(e).fontFamily")
    assert page.evaluate(
        "() => document.fonts.ready.then(() => document.fonts.check('20px \"Havruta Hebrew\"', 'שָׁלוֹם'))"
    )
    # Side by side on a wide screen, Hebrew to the right of the English...
    he_box, en_box = hebrew.bounding_box(), english.bounding_box()
    assert he_box and en_box and he_box["x"] > en_box["x"] + en_box["width"] - 1
    assert abs(he_box["y"] - en_box["y"]) < 5

    # ... stacked on a narrow one.
    page.set_viewport_size({"width": 400, "height": 800})
    he_box, en_box = hebrew.bounding_box(), english.bounding_box()
    assert he_box and en_box and en_box["y"] >= he_box["y"] + he_box["height"] - 1
