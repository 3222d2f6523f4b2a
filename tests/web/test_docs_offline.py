"""/docs (Swagger UI) and /redoc (ReDoc) render in a browser cut off from everything but the hub,
and their pages run no inline script and name nothing off the hub's origin (hub/apidocs.py)."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from hub.app import TAGS
from tests.web.browser import BrowserLog, WebHub

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(web_hub: WebHub) -> list[tuple[str, str]]:
    """(method, path) of every operation /openapi.json documents."""
    paths = httpx.get(f"{web_hub.url}/openapi.json").json()["paths"]
    return [(method, path) for path, item in paths.items() for method in item if method in HTTP_METHODS]


def test_swagger_ui_renders_every_operation_offline(page: Page, web_hub: WebHub) -> None:
    page.goto(f"{web_hub.url}/docs")
    issue = page.locator('.opblock-post .opblock-summary-path[data-path="/api/v1/certificates"]')
    expect(issue).to_be_visible()
    expect(page.locator(".opblock").nth(len(operations(web_hub)) - 1)).to_be_attached()
    shown = page.locator(".opblock").evaluate_all(
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent.toLowerCase(),"
        " b.querySelector('.opblock-summary-path').dataset.path])"
    )
    # an operation with two tags is shown under each
    assert {tuple(block) for block in shown} == set(operations(web_hub))


def test_swagger_ui_tries_an_operation_against_the_hub(page: Page, web_hub: WebHub) -> None:
    page.goto(f"{web_hub.url}/docs#/operations")
    probe = page.locator(".opblock-get").filter(has=page.locator('[data-path="/healthz"]'))
    probe.locator(".opblock-summary").click()
    probe.get_by_role("button", name="Try it out").click()
    probe.get_by_role("button", name="Execute").click()
    expect(probe.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")


def test_redoc_renders_the_tags_and_operations_offline(
    page: Page, web_hub: WebHub, browser_log: BrowserLog
) -> None:
    # ReDoc shows its maker's logo from their CDN, whatever its options ("API docs by Redocly");
    # the page's CSP refuses it before it leaves the browser, which Chromium logs as an error.
    browser_log.allow(r"^Loading the image 'https://cdn\.redoc\.ly/redoc/logo-mini\.svg' violates")
    page.goto(f"{web_hub.url}/redoc")
    for tag in TAGS:
        expect(page.locator(f'li[data-item-id="tag/{tag["name"]}"]')).to_be_attached()
    issue = httpx.get(f"{web_hub.url}/openapi.json").json()["paths"]["/api/v1/certificates"]["post"]
    section = page.locator(f'[data-section-id="tag/certificates/operation/{issue["operationId"]}"]')
    expect(section.get_by_role("heading", name="Issue")).to_be_visible()


class Page_(HTMLParser):
    """The scripts, event-handler attributes and URLs of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str | None, str]] = []  # (src, inline text)
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self._in_script: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name in ("src", "href", "spec-url", "action") or name.endswith("-url"):
                self.urls.append(value or "")
        if tag == "script":
            self._in_script, self._text = dict(attrs).get("src") or "", []

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script or None, "".join(self._text)))
            self._in_script = None


def csp(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_run_no_inline_script_and_name_nothing_off_origin(web_hub: WebHub, path: str) -> None:
    r = httpx.get(f"{web_hub.url}{path}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parsed = Page_()
    parsed.feed(r.text)
    assert parsed.scripts and all(src and not text.strip() for src, text in parsed.scripts), parsed.scripts
    assert parsed.handlers == []
    assert parsed.urls
    for url in parsed.urls:
        absolute = urljoin(r.url.__str__(), url)
        assert urlsplit(absolute).netloc == urlsplit(web_hub.url).netloc, url
        asset = httpx.get(absolute)
        assert asset.status_code == 200, url
    policy = csp(r.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_oauth2_redirect_page_allows_its_own_script_alone(web_hub: WebHub) -> None:
    r = httpx.get(f"{web_hub.url}/docs/oauth2-redirect")
    assert r.status_code == 200
    parsed = Page_()
    parsed.feed(r.text)
    [(src, text)] = parsed.scripts
    assert src is None
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    policy = csp(r.headers["content-security-policy"])
    assert policy["script-src"] == [f"'sha256-{digest}'"]
    assert r.headers["x-frame-options"] == "DENY"
