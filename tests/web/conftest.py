"""The browser tests' fixtures: ``browser``, ``web_hub``, ``page``, ``no_js_page``, ``browser_log``
(documented in tests/web/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from hub import migrate
from hub.app import create_app
from hub.db import make_engine
from hub.state import HubState, build_state
from kernel.db import unit_of_work
from tests.applications.story import Story, load_story
from tests.conftest import DatabaseFactory, make_settings
from tests.live import free_port
from tests.served import served
from tests.web.browser import WAIT_MS, BrowserLog, WebHub, chromium, cut_off_page, in_thread

# How long expect() waits for the page to get there (not a time the test measures): the machine has
# two cores that other tests share, and ReDoc alone parses a megabyte of script and the document.
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def web_hub(
    backend: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebHub]:
    database_url = databases.create(backend)
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path_factory.mktemp("webhub"), database_url=database_url, public_url=url)
    state = build_state(settings)
    try:
        story = in_thread(lambda: _seeded(state))
        with served(create_app(state=state), port=port) as served_url:
            assert served_url == url
            yield WebHub(url=url, state=state, story=story)
    finally:
        state.close()


def _seeded(state: HubState) -> Story:
    with unit_of_work(state.sessions) as session:
        return load_story(state, session)


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser: Browser, web_hub: WebHub, browser_log: BrowserLog) -> Iterator[Page]:
    with cut_off_page(browser, web_hub.url, browser_log) as opened:
        yield opened
    problems = browser_log.problems()
    assert not problems, "the page did what a test page must not:\n" + "\n".join(problems)


@pytest.fixture
def no_js_page(browser: Browser, web_hub: WebHub, browser_log: BrowserLog) -> Iterator[Page]:
    with cut_off_page(browser, web_hub.url, browser_log, java_script_enabled=False) as opened:
        yield opened
    problems = browser_log.problems()
    assert not problems, "the page did what a test page must not:\n" + "\n".join(problems)
