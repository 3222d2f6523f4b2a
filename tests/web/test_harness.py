"""The harness itself: a page cannot reach past the hub's origin, and what it logs is seen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.live import free_port
from tests.web.browser import BrowserLog, WebHub


def test_a_request_off_the_hubs_origin_is_blocked_and_recorded(
    page: Page, web_hub: WebHub, browser_log: BrowserLog
) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}/tracker.js"  # another origin, yet on this machine
    page.goto(f"{web_hub.url}/openapi.json")
    # A navigation: the hub's own CSP (connect-src 'self') would stop a fetch before the harness
    # saw it, and this test is about the harness's cut, not the hub's policy.
    with pytest.raises(PlaywrightError):
        page.goto(elsewhere)
    assert browser_log.off_origin == [elsewhere]
    assert browser_log.problems()[0] == f"request off the hub's origin (blocked): {elsewhere}"
    browser_log.off_origin.clear()  # seen (with Chromium's "Failed to load resource"): the page
    browser_log.console_errors.clear()  # fixture's own check passes


def test_console_errors_fail_a_test_unless_it_allows_them(
    page: Page, web_hub: WebHub, browser_log: BrowserLog
) -> None:
    page.goto(f"{web_hub.url}/openapi.json")
    page.evaluate("() => { console.error('expected by the test'); console.error('not expected'); }")
    page.evaluate("() => new Promise(resolve => setTimeout(resolve))")  # the events have arrived
    browser_log.allow(r"^expected by")
    assert browser_log.problems() == ["console error: not expected"]
    browser_log.console_errors.remove("not expected")
