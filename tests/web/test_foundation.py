"""The pages' foundation (hub/web): the layout in Chinese, security headers on every response, error
pages, sign-in with the development identity provider, and CSRF on the forms that change state.
HTTP-level, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import jwt
import pytest
from fastapi import APIRouter, Response
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.demo import DEMO_CITIZEN
from hub.state import HubState
from hub.web.security import CSP, token_for
from tests.web.html import assert_no_inline_script, read

HTML = {"Accept": "text/html,application/xhtml+xml"}


def signin_form(client: TestClient) -> dict[str, str]:
    """The sign-in form's fields as the page fills them (the demo citizen, the CSRF token)."""
    page = read(client.get("/signin").text)
    return {name: str(page.value(name)) for name in ("csrf_token", "code", "name", "next")} | {"kind": "111"}


def sign_in(client: TestClient) -> None:
    r = client.post("/signin", data=signin_form(client), follow_redirects=False)
    assert r.status_code == 303, r.text


def assert_headers(response: Response | object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


# --- the layout and the headers ---------------------------------------------------------------


def test_home_page_is_chinese_with_the_navigation_and_no_inline_script(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = assert_no_inline_script(r.text)
    assert page.lang == "zh-CN"
    for label in ("首页", "办事指南", "证照核验", "我的", "登录"):
        assert label in page.text
    assert {"/", "/guide", "/verify", "/me"} <= set(page.links)


def test_every_page_and_static_file_has_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/signin", "/static/hub.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert_headers(r)


def test_the_stylesheet_is_served_from_the_hub_itself(client: TestClient) -> None:
    page = read(client.get("/").text)
    r = client.get("/static/hub.css")
    assert r.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in r.text and "@media" in r.text
    assert "http" not in client.get("/").text.split("<body")[0].replace('content="width', "")  # no CDN
    assert page.scripts == [] or all(str(s["src"]).startswith("/static/") for s in page.scripts)


def test_api_responses_are_not_sniffed(client: TestClient) -> None:
    r = client.get("/api/v1/search", params={"q": "出生"})
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    problem = client.get("/api/v1/certificates/nope")
    assert problem.headers["x-content-type-options"] == "nosniff"
    assert problem.headers["content-type"].startswith("application/problem+json")


own_csp = APIRouter()


@own_csp.get("/_probe/own-csp")
def _own_csp() -> Response:
    return Response("x", headers={"Content-Security-Policy": "default-src 'self' 'unsafe-inline'"})


def test_a_response_with_its_own_csp_keeps_it(hub_state: HubState) -> None:
    app = create_app(state=hub_state)
    app.include_router(own_csp)
    with TestClient(app) as client:
        r = client.get("/_probe/own-csp")
    assert r.headers["content-security-policy"] == "default-src 'self' 'unsafe-inline'"
    assert r.headers["x-content-type-options"] == "nosniff"


# --- error pages --------------------------------------------------------------------------------


def test_an_unknown_page_is_a_404_page_in_the_layout(client: TestClient) -> None:
    r = client.get("/no-such-page", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    page = assert_no_inline_script(r.text)
    assert "页面不存在" in page.text and "首页" in page.text
    assert_headers(r)


def test_an_unknown_api_path_stays_problem_json_even_for_a_browser(client: TestClient) -> None:
    r = client.get("/api/v1/no-such-thing", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/no-such-page").headers["content-type"].startswith("application/problem+json")


def test_a_bad_form_value_is_a_422_page_not_json(client: TestClient) -> None:
    form = signin_form(client) | {"code": ""}
    r = client.post("/signin", data=form, follow_redirects=False)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "填写的内容有误" in read(r.text).text
    assert "hub_session" not in r.cookies


# --- sign-in ------------------------------------------------------------------------------------


def test_signin_form_is_prefilled_with_the_demo_citizen(client: TestClient) -> None:
    r = client.get("/signin")
    page = assert_no_inline_script(r.text)
    assert page.value("code") == DEMO_CITIZEN.code and page.value("name") == DEMO_CITIZEN.name
    assert "证件类型" in page.text and "证件号码" in page.text and "姓名" in page.text
    assert "居民身份证" in page.text


def test_signing_in_sets_an_httponly_lax_cookie_the_pages_recognise(client: TestClient) -> None:
    r = client.post("/signin", data=signin_form(client) | {"next": "/signin"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("hub_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = read(client.get("/").text)
    assert f"已登录：{DEMO_CITIZEN.name}" in page.text
    assert "退出" in page.text


def test_the_signin_cookie_is_a_citizen_token_the_api_accepts(client: TestClient) -> None:
    sign_in(client)
    token = client.cookies["hub_session"]
    r = client.get("/api/v1/me/consents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


def test_signing_out_forgets_the_holder(client: TestClient) -> None:
    sign_in(client)
    token = str(read(client.get("/").text).value("csrf_token"))
    r = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "已登录" not in read(client.get("/").text).text


def test_a_forged_cookie_is_signed_out(client: TestClient, hub_state: HubState) -> None:
    other = jwt.encode(
        {"iss": "x", "aud": "y", "sub": DEMO_CITIZEN.code, "holder_kind": "111", "exp": time.time() + 60},
        "a-secret-of-thirty-two-bytes-or-more",
        algorithm="HS256",
    )
    for forged in (other, "not-a-token", "e30.e30.e30"):
        client.cookies.set("hub_session", forged)
        r = client.get("/")
        assert r.status_code == 200
        assert "已登录" not in read(r.text).text


def test_an_expired_cookie_is_signed_out(client: TestClient, hub_state: HubState) -> None:
    idp = hub_state.dev_idp
    assert idp is not None
    expired = jwt.encode(
        {
            "iss": idp.issuer,
            "aud": idp.audience,
            "sub": DEMO_CITIZEN.code,
            "holder_kind": "111",
            "name": DEMO_CITIZEN.name,
            "iat": int(time.time()) - 7200,
            "exp": int(time.time()) - 3600,
        },
        idp._key,
        algorithm="ES256",
        headers={"kid": idp.kid},
    )
    client.cookies.set("hub_session", expired)
    assert "已登录" not in read(client.get("/").text).text


@pytest.fixture
def no_dev_provider(hub_state: HubState) -> Iterator[TestClient]:
    with TestClient(create_app(state=replace(hub_state, dev_idp=None)), raise_server_exceptions=False) as c:
        yield c


def test_signin_is_refused_when_the_dev_provider_is_off(
    no_dev_provider: TestClient, hub_state: HubState
) -> None:
    page = read(no_dev_provider.get("/signin").text)
    assert "开发用身份认证已关闭" in page.text
    assert page.value("code") is None  # no form to fill
    # even with this browser's valid CSRF pair, the POST is refused
    cookie = "c" * 43
    no_dev_provider.cookies.set("hub_csrf", cookie)
    form = {"kind": "111", "code": DEMO_CITIZEN.code, "name": DEMO_CITIZEN.name}
    r = no_dev_provider.post(
        "/signin", data=form | {"csrf_token": token_for(hub_state, cookie)}, follow_redirects=False
    )
    assert r.status_code == 403
    assert "开发用身份认证已关闭" in read(r.text).text
    assert "hub_session" not in r.cookies


def test_signin_on_https_sets_a_secure_cookie(hub_state: HubState) -> None:
    settings = hub_state.settings.model_copy(update={"public_url": "https://hub.example"})
    with TestClient(
        create_app(state=replace(hub_state, settings=settings)), base_url="https://testserver"
    ) as client:
        r = client.post("/signin", data=signin_form(client), follow_redirects=False)
    cookies = r.headers.get_list("set-cookie")
    assert any(c.startswith("hub_session=") and "Secure" in c for c in cookies), cookies


# --- CSRF ---------------------------------------------------------------------------------------


def test_signin_without_the_csrf_token_is_refused_and_changes_nothing(client: TestClient) -> None:
    form = signin_form(client)
    del form["csrf_token"]
    r = client.post("/signin", data=form, follow_redirects=False)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "无权操作" in read(r.text).text
    assert "hub_session" not in r.cookies


def test_a_token_of_another_browser_is_refused(client: TestClient, hub_state: HubState) -> None:
    form = signin_form(client)
    with TestClient(create_app(state=hub_state)) as other:
        stranger = signin_form(other)
    r = client.post("/signin", data=form | {"csrf_token": stranger["csrf_token"]}, follow_redirects=False)
    assert r.status_code == 403
    # a planted cookie with its own value but no valid signature is refused too
    client.cookies.set("hub_csrf", "a" * 43)
    r = client.post("/signin", data=form | {"csrf_token": "a" * 43}, follow_redirects=False)
    assert r.status_code == 403


def test_signout_without_the_csrf_token_keeps_the_holder_signed_in(client: TestClient) -> None:
    sign_in(client)
    r = client.post("/signout", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert "已登录" in read(client.get("/").text).text


def test_a_token_from_another_session_is_refused(client: TestClient, hub_state: HubState) -> None:
    """A (cookie, token) pair an attacker got signed out, or in a session of their own, and then
    planted in the victim's browser is no good in the victim's session."""
    sign_in(client)
    cookie = client.cookies["hub_csrf"]
    for session in ("", "an attacker's own session"):
        r = client.post(
            "/signout", data={"csrf_token": token_for(hub_state, cookie, session)}, follow_redirects=False
        )
        assert r.status_code == 403, session
    assert "已登录" in read(client.get("/").text).text
    mine = token_for(hub_state, cookie, client.cookies["hub_session"])
    assert client.post("/signout", data={"csrf_token": mine}, follow_redirects=False).status_code == 303


def test_the_csrf_cookie_is_httponly_and_strict(client: TestClient) -> None:
    r = client.get("/signin")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("hub_csrf="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # the next page keeps the same cookie: the forms of two tabs stay valid
    assert "hub_csrf=" not in " ".join(client.get("/signin").headers.get_list("set-cookie"))


def test_signin_only_redirects_within_the_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = client.post("/signin", data=signin_form(client) | {"next": target}, follow_redirects=False)
        assert r.headers["location"] == "/", target
