"""/me, the signed-in holder's page: her certificates (downloaded), her consents (granted and
withdrawn through CSRF-protected forms), who used her data, and her applications with the rating
form. HTTP-level, on SQLite and PostgreSQL, over the demo world; what the page did is checked
through the API the holder would otherwise use."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from catalog import service
from hub.demo import BIRTH_CERTIFICATE, DEMO_CITIZEN, ID_CARD
from hub.state import HubState
from tests.applications.story import BIRTH_ITEM, VACCINATION_ITEM, Story, application, load_story
from tests.factories import new_ric
from tests.web.html import Page, assert_no_inline_script, read
from tests.web.test_foundation import assert_headers, sign_in, signin_form

HTML = {"Accept": "text/html,application/xhtml+xml"}
CAUSE = "办理新生儿出生一件事：出生医学证明"


@pytest.fixture
def story(hub_state: HubState, session: Session) -> Story:
    return load_story(hub_state, session)


def me(client: TestClient, **params: Any) -> Page:
    r = client.get("/me", params=params)
    assert r.status_code == 200, r.text
    assert_headers(r)
    return assert_no_inline_script(r.text)


def api_consents(client: TestClient, story: Story) -> list[dict[str, Any]]:
    r = client.get("/api/v1/me/consents", headers=story.citizen)
    assert r.status_code == 200, r.text
    consents: list[dict[str, Any]] = r.json()["consents"]
    return consents


def grant_form(client: TestClient, item: str) -> dict[str, Any]:
    """The grant form as the page fills it after the holder chose ``item``."""
    page = me(client, item=item)
    types = [str(i["value"]) for i in page.inputs if i.get("name") == "type_codes"]
    return {
        "csrf_token": page.value("csrf_token"),
        "item_code": page.value("item_code"),
        "expires_on": page.value("expires_on"),
        "type_codes": types,
    }


# --- signed out --------------------------------------------------------------------------------


def test_signed_out_the_page_links_to_sign_in(client: TestClient) -> None:
    page = me(client)
    assert "/signin?next=/me" in page.links
    assert "我的证照" not in page.text


def test_signed_out_a_download_goes_to_sign_in(client: TestClient, story: Story) -> None:
    cert = story.world.certificates[0]
    r = client.get(f"/me/certificates/{cert}/file", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/signin?next=/me/certificates/{cert}/file"


def test_signed_out_a_grant_is_refused(client: TestClient, story: Story) -> None:
    token = read(client.get("/signin").text).value("csrf_token")  # a CSRF token, but no session
    form = {"csrf_token": token, "grantee": story.world.other_portal, "item_code": BIRTH_ITEM}
    r = client.post("/me/consents", data=form | {"expires_on": "2099-01-01", "type_codes": [ID_CARD]})
    assert r.status_code == 403
    assert len(api_consents(client, story)) == 2  # the demo consents only


# --- certificates ------------------------------------------------------------------------------


def test_signed_in_her_certificates_download_as_pdfs(client: TestClient, story: Story) -> None:
    sign_in(client)
    page = me(client)
    assert DEMO_CITIZEN.name in page.text
    for label in ("我的证照", "我的授权", "用证记录", "居民身份证", "有效"):
        assert label in page.text
    mine = client.get("/api/v1/me/certificates", headers=story.citizen).json()["certificates"]
    assert {c["id"] for c in mine} == set(story.world.certificates)
    for cert in mine:
        link = f"/me/certificates/{cert['id']}/file"
        assert link in page.links
        assert cert["id"] in page.text
        r = client.get(link)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF-")
        assert r.content == client.get(cert["links"]["file"], headers=story.citizen).content


def test_another_holders_certificate_is_a_404_page(client: TestClient, story: Story) -> None:
    form = signin_form(client) | {"code": new_ric(), "name": "李四"}
    assert client.post("/signin", data=form, follow_redirects=False).status_code == 303
    r = client.get(f"/me/certificates/{story.world.certificates[0]}/file", headers=HTML)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text and "%PDF" not in r.text
    assert "/me/certificates/" not in "".join(me(client).links)  # she has none


# --- consents ----------------------------------------------------------------------------------


def test_granting_a_consent_from_the_page(client: TestClient, story: Story) -> None:
    sign_in(client)
    form = grant_form(client, BIRTH_ITEM)
    assert form["item_code"] == BIRTH_ITEM and ID_CARD in form["type_codes"]
    r = client.post("/me/consents", data=form | {"grantee": story.world.other_portal}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me?done=granted#consents"

    granted = [c for c in api_consents(client, story) if c["grantee"] == story.world.other_portal]
    assert len(granted) == 1
    assert granted[0]["item_code"] == BIRTH_ITEM and granted[0]["status"] == "active"
    assert granted[0]["type_codes"] == sorted(form["type_codes"])
    assert granted[0]["expires_at"].startswith(form["expires_on"])
    page = me(client, done="granted")
    assert "已授权" in page.text
    assert f"测试portal{story.world.other_portal[-4:]}" in page.text  # the grantee by name


def test_the_grant_form_offers_the_catalogs_portals_items_and_types(client: TestClient, story: Story) -> None:
    sign_in(client)
    names = {i.get("name") for i in me(client).inputs}
    assert "item" in names and "type_codes" not in names  # the types come once an item is chosen
    chosen = me(client, item=VACCINATION_ITEM)
    assert chosen.value("item_code") == VACCINATION_ITEM
    assert {"grantee", "type_codes", "expires_on", "csrf_token"} <= {i.get("name") for i in chosen.inputs}
    types = {i.get("value") for i in chosen.inputs if i.get("name") == "type_codes"}
    assert {ID_CARD, BIRTH_CERTIFICATE} <= types
    assert "示范市“一网通办”总门户（演示）" in chosen.text
    assert f"测试portal{story.world.other_portal[-4:]}" in chosen.text


def test_withdrawing_a_consent_from_the_page(client: TestClient, story: Story) -> None:
    sign_in(client)
    (first, second) = api_consents(client, story)
    action = f"/me/consents/{first['id']}/withdraw"
    token = me(client).value("csrf_token")
    r = client.post(action, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me?done=withdrawn#consents"
    after = {c["id"]: c["status"] for c in api_consents(client, story)}
    assert after == {first["id"]: "withdrawn", second["id"]: "active"}
    page = me(client, done="withdrawn")
    assert "已撤回" in page.text


def test_grant_and_withdraw_without_the_csrf_token_change_nothing(client: TestClient, story: Story) -> None:
    sign_in(client)
    before = api_consents(client, story)
    form = grant_form(client, BIRTH_ITEM) | {"grantee": story.world.other_portal}
    del form["csrf_token"]
    r = client.post("/me/consents", data=form, headers=HTML)
    assert r.status_code == 403 and "无权操作" in r.text
    r = client.post(f"/me/consents/{before[0]['id']}/withdraw", data={"csrf_token": "forged"}, headers=HTML)
    assert r.status_code == 403
    assert api_consents(client, story) == before


def test_another_holders_consent_cannot_be_withdrawn(client: TestClient, story: Story) -> None:
    (consent, _) = api_consents(client, story)
    form = signin_form(client) | {"code": new_ric(), "name": "李四"}
    client.post("/signin", data=form)
    token = me(client).value("csrf_token")
    r = client.post(f"/me/consents/{consent['id']}/withdraw", data={"csrf_token": token}, headers=HTML)
    assert r.status_code == 404
    assert {c["status"] for c in api_consents(client, story)} == {"active"}


def test_a_refused_grant_is_a_422_page(client: TestClient, story: Story) -> None:
    sign_in(client)
    form = grant_form(client, BIRTH_ITEM) | {"grantee": "91310000MA1FL0000X"}  # not a portal
    r = client.post("/me/consents", data=form, headers=HTML)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert len(api_consents(client, story)) == 2


# --- access log --------------------------------------------------------------------------------


def lookup(client: TestClient, story: Story) -> None:
    body = {
        "holder": {"kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code},
        "item_code": BIRTH_ITEM,
        "use_cause": CAUSE,
        "type_codes": [ID_CARD],
    }
    r = client.post("/api/v1/sharing/lookup", json=body, headers=story.portal)
    assert r.status_code == 200, r.text


def test_the_access_log_lists_who_used_her_data_and_why(
    client: TestClient, story: Story, session: Session
) -> None:
    lookup(client, story)
    sign_in(client)
    page = me(client)
    assert CAUSE in page.text
    assert "示范市“一网通办”总门户（演示）" in page.text and "查询证照" in page.text
    assert service.get_item(session, BIRTH_ITEM).body.name in page.text


def test_the_access_log_is_paginated(client: TestClient, story: Story) -> None:
    for _ in range(21):
        lookup(client, story)
    sign_in(client)
    total = client.get("/api/v1/me/access-log", headers=story.citizen).json()["total"]
    first = me(client)
    assert f"共 {total} 条，第 1–20 条" in first.text
    assert "/me?log=20#access-log" in first.links
    second = me(client, log=20)
    assert f"第 21–{total} 条" in second.text
    assert "/me?log=0#access-log" in second.links


# --- applications ------------------------------------------------------------------------------


def test_without_applications_there_is_no_application_section(client: TestClient, story: Story) -> None:
    sign_in(client)
    assert "我的办件" not in me(client).text


def test_her_application_shows_its_tasks_and_is_rated_once(
    client: TestClient, story: Story, session: Session
) -> None:
    r = client.post("/api/v1/applications", json=application(), headers=story.portal)
    assert r.status_code == 201, r.text
    app = r.json()
    sign_in(client)
    page = me(client)
    for text in (
        "我的办件",
        service.get_one_thing(session, "OT-NEWBORN").body.name,
        service.get_item(session, BIRTH_ITEM).body.name,
        service.get_item(session, VACCINATION_ITEM).body.name,
        "审核中",
        "待审核",
        "智能审批",
        app["id"],
    ):
        assert text in page.text, text
    assert "评价这次办事" not in page.text  # not decided yet

    birth = next(t for t in app["tasks"] if t["item_code"] == BIRTH_ITEM)
    r = client.post(
        f"/api/v1/tasks/{birth['id']}/decision", json={"decision": "approve"}, headers=story.health
    )
    assert r.status_code == 200, r.text
    page = me(client)
    assert "已办结" in page.text and "评价这次办事" in page.text
    issued = client.get(f"/api/v1/applications/{app['id']}", headers=story.citizen).json()["certificates"]
    assert f"/me/certificates/{issued[0]['certificate_id']}/file" in page.links

    action = f"/me/applications/{app['id']}/rating"
    form = {"csrf_token": page.value("csrf_token"), "score": "5", "comment": "很方便"}
    r = client.post(action, data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me?done=rated#applications"
    rating = client.get(f"/api/v1/applications/{app['id']}", headers=story.citizen).json()["rating"]
    assert rating["score"] == 5 and rating["comment"] == "很方便"
    page = me(client, done="rated")
    assert "感谢您的评价" in page.text and "5 分" in page.text and "评价这次办事" not in page.text

    again = client.post(action, data=form | {"score": "1"}, headers=HTML)
    assert again.status_code == 409
    assert (
        client.get(f"/api/v1/applications/{app['id']}", headers=story.citizen).json()["rating"]["score"] == 5
    )


def test_rating_without_the_csrf_token_changes_nothing(client: TestClient, story: Story) -> None:
    app = client.post("/api/v1/applications", json=application(), headers=story.portal).json()
    birth = next(t for t in app["tasks"] if t["item_code"] == BIRTH_ITEM)
    client.post(f"/api/v1/tasks/{birth['id']}/decision", json={"decision": "approve"}, headers=story.health)
    sign_in(client)
    r = client.post(f"/me/applications/{app['id']}/rating", data={"score": "5"}, headers=HTML)
    assert r.status_code == 403
    assert client.get(f"/api/v1/applications/{app['id']}", headers=story.citizen).json()["rating"] is None
