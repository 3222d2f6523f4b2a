"""Browser tests: Playwright for Python driving Debian's ``chromium`` against a real hub over HTTP.

Browsers cannot be downloaded here, so Playwright never installs one: it starts
``/usr/bin/chromium`` (``apt-get install chromium``; ``./run tests`` installs it when missing),
headless. A test under ``tests/web`` asks for these fixtures (``tests/web/conftest.py``):

``page`` (per test) — a ``playwright.sync_api.Page`` in a new browser context (locale zh-CN,
    service workers blocked), its network **cut to the hub's origin**: a request to any other
    origin is aborted and recorded. After the test, the test fails (an error at teardown) if
    anything off-origin was attempted, or if the page logged a console error (CSP violations
    included) or threw an uncaught exception. Actions and ``expect`` wait up to ``WAIT_MS``::

        def test_the_docs(page: Page, web_hub: WebHub) -> None:
            page.goto(web_hub.url + "/docs")
            expect(page.locator(".opblock").first).to_be_visible()

``no_js_page`` (per test) — the same as ``page`` with JavaScript disabled in its context: what a
    browser without scripts sees (the pages must work without them).

``browser_log`` (per test) — the ``BrowserLog`` of that test's page: ``off_origin`` (URLs),
    ``console_errors``, ``page_errors``. A test that expects a console error says so before it
    happens: ``browser_log.allow(r"regex")`` (searched in each console error's text); nothing
    else excuses one, and nothing excuses an off-origin request.

``web_hub`` (per test module, on SQLite and on PostgreSQL: parametrized through ``backend``) —
    a ``WebHub``: the hub served by uvicorn in a thread on a free loopback port, on a fresh
    migrated database and a fresh data directory, its ``public_url`` the URL it is served at.
    Seeded, committed, with the demo data of ``tests/applications/story.py`` (``load_story``): the
    demo catalog, the demo citizen's certificates (``hub.demo.issue_demo_citizen``), her consents
    to the demo portal. Its sessions **commit** (it is not the rolled-back ``hub_state``): what a
    test changes stays for the module's later tests. Fields: ``url`` (``http://127.0.0.1:PORT``,
    no trailing slash), ``state`` (the ``HubState``), ``story`` (the ``Story``: ``Authorization``
    headers of the portal, citizen, 卫健委 …), ``holder`` (``hub.demo.DEMO_CITIZEN``: name, kind, code),
    ``certificates`` (her certificate ids), ``citizen_token``, ``portal_token``,
    ``department_token`` (the 卫健委's, the birth certificate's issuer). Stopped at the end.
    To read or seed more: ``web_hub.in_session(lambda session: ...)`` runs the function in one
    committed unit of work and returns its result. It runs it in a thread of its own because
    Playwright's sync API keeps an asyncio loop running in the test's thread, and the hub's
    sealing (``asyncio.run``) cannot start another there.

``browser`` (per test module): one chromium, closed at the module's end; ``page`` uses it. Not
    one per session: while Playwright's sync API runs, its asyncio loop counts as running in the
    test's thread, and the other tests of the worker (``asyncio.run`` when sealing) would fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
from sqlalchemy.orm import Session

from certificates.requests import Holder
from hub.demo import DEMO_CITIZEN
from hub.state import HubState
from kernel.db import unit_of_work
from tests.applications.story import Story

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 60_000  # how long a page action or expect() waits for the page (conftest.py); never measured
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class WebHub:
    """A served hub with the demo data (see the module's docstring)."""

    url: str
    state: HubState
    story: Story
    holder: Holder = DEMO_CITIZEN

    def in_session(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one unit of work of the hub's (committed), run off the test's thread."""
        return in_thread(lambda: _in_unit_of_work(self.state, work))

    @property
    def certificates(self) -> list[str]:
        return self.story.world.certificates

    @property
    def citizen_token(self) -> str:
        return self.story.world.citizen_token

    @property
    def portal_token(self) -> str:
        return self.story.world.portal_token

    @property
    def department_token(self) -> str:
        return self.story.world.department_token


def in_thread(work: Callable[[], T]) -> T:
    """``work()`` in a thread of its own: the test's thread has Playwright's asyncio loop running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _in_unit_of_work(state: HubState, work: Callable[[Session], T]) -> T:
    with unit_of_work(state.sessions) as session:
        return work(session)


@dataclass
class BrowserLog:
    """What a test's page did that fails the test: requests off the hub's origin, console errors
    (unless allowed), uncaught exceptions."""

    off_origin: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Console errors matching ``pattern`` (``re.search``) are expected by the test."""
        self.allowed.append(re.compile(pattern))

    def problems(self) -> list[str]:
        unexpected = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return (
            [f"request off the hub's origin (blocked): {url}" for url in self.off_origin]
            + [f"console error: {text}" for text in unexpected]
            + [f"uncaught exception: {text}" for text in self.page_errors]
        )


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright; closed at the end."""
    if not CHROMIUM.is_file():
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def another_chromium(browser: Browser, extra_args: Sequence[str]) -> Iterator[Browser]:
    """A second chromium with ``extra_args`` on its command line, started by the Playwright that
    started ``browser`` (a thread has one sync Playwright at a time); closed at the end."""
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )
    try:
        yield launched
    finally:
        launched.close()


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


@contextmanager
def cut_off_page(
    browser: Browser,
    hub_url: str,
    log: BrowserLog,
    *,
    java_script_enabled: bool = True,
    permissions: Sequence[str] = (),
) -> Iterator[Page]:
    """A page in a new context that reaches the hub's origin and nothing else; ``log`` records
    what it tried elsewhere and the errors it logged. Closed at the end. With
    ``java_script_enabled=False`` the pages' scripts do not run (progressive enhancement);
    ``permissions`` are granted to the hub's origin (``["camera"]``)."""
    hub_origin = origin(hub_url)
    context: BrowserContext = browser.new_context(
        locale="zh-CN", service_workers="block", java_script_enabled=java_script_enabled
    )
    if permissions:
        context.grant_permissions(list(permissions), origin=hub_url)

    def only_the_hub(route: Route) -> None:
        url = route.request.url
        if origin(url) == hub_origin or urlsplit(url).scheme in ("data", "blob"):
            route.continue_()
        else:
            log.off_origin.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", only_the_hub)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and log.console_errors.append(message.text))
    page.on("pageerror", lambda error: log.page_errors.append(f"{error.name}: {error.message}"))
    try:
        yield page
    finally:
        context.close()  # delivers the events still on their way before the log is read
