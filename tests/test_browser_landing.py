from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_landing_page_in_english_and_hebrew(page, live_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="join with a class code").is_visible()

    page.select_option("#language-select", "he")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "he"
    # The header mirrors: the brand sits at the right edge in Hebrew.
    brand = page.locator(".brand").bounding_box()
    assert brand is not None and brand["x"] > 1366 / 2
