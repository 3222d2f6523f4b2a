"""The catalog's pages: search on the home page, an item's guide, and a one-thing's questionnaire
walked step by step to its checklist (一次告知), with what the signed-in holder has on file.
Plain GET round-trips (no JavaScript), on SQLite and PostgreSQL, over the demo world."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hub.state import HubState
from tests.applications.story import BIRTH_ITEM, VACCINATION_ITEM, load_story
from tests.web.html import Page, assert_no_inline_script, read
from tests.web.test_foundation import assert_headers, sign_in


@pytest.fixture
def demo(hub_state: HubState, session: Session) -> None:
    load_story(hub_state, session)


def test_search_on_submit_finds_a_one_thing_and_links_its_guide(client: TestClient, demo: None) -> None:
    r = client.get("/", params={"q": "出生"})
    assert r.status_code == 200
    assert_headers(r)
    page = assert_no_inline_script(r.text)
    assert "新生儿出生一件事" in page.text
    assert "/guide/OT-NEWBORN" in page.links
    assert f"/items/{BIRTH_ITEM}" in page.links


@pytest.mark.parametrize("query", ["证", "出生"], ids=["one-character", "two-characters"])
def test_one_and_two_character_queries_find_entries(client: TestClient, demo: None, query: str) -> None:
    page = read(client.get("/", params={"q": query}).text)
    assert "共找到 0 条" not in page.text
    assert any(link.startswith(("/guide/", "/items/")) for link in page.links), page.text


def test_the_home_page_loads_its_search_script_from_the_hub(client: TestClient) -> None:
    page = assert_no_inline_script(client.get("/").text)
    assert [s["src"] for s in page.scripts] == ["/static/search.js"]
    js = client.get("/static/search.js")
    assert js.status_code == 200 and "/api/v1/search" in js.text
    assert "innerHTML" not in js.text  # hits are built as DOM nodes, never parsed as HTML


def test_a_query_too_long_is_a_422_page(client: TestClient) -> None:
    r = client.get("/", params={"q": "证" * 201})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")


def test_an_item_page_shows_department_limit_and_materials(client: TestClient, demo: None) -> None:
    r = client.get(f"/items/{BIRTH_ITEM}")
    page = assert_no_inline_script(r.text)
    assert r.status_code == 200
    for words in ("办理部门", "办理时限", "审核方式", "申请材料"):
        assert words in page.text
    assert client.get("/items/NO-SUCH-ITEM", headers={"Accept": "text/html"}).status_code == 404


def test_the_guide_lists_the_one_things(client: TestClient, demo: None) -> None:
    page = read(client.get("/guide").text)
    assert "/guide/OT-NEWBORN" in page.links


def _next_step(client: TestClient, page: Page, path: str) -> Page:
    """Answer the page's question with its first option, as a browser submits the GET form."""
    radios = [i for i in page.inputs if i.get("type") == "radio"]
    hidden = {str(i["name"]): str(i["value"]) for i in page.inputs if i.get("type") == "hidden"}
    answer = radios[0]
    r = client.get(path, params=hidden | {str(answer["name"]): str(answer["value"])})
    assert r.status_code == 200
    return assert_no_inline_script(r.text)


def walk(client: TestClient, code: str) -> tuple[Page, str]:
    """Walk the questionnaire of ``code`` one step at a time; the checklist and its URL."""
    path = f"/guide/{code}"
    page = assert_no_inline_script(client.get(path).text)
    steps = 0
    while "一次告知" not in page.text:
        assert any(i.get("type") == "radio" for i in page.inputs), page.text
        page = _next_step(client, page, path)
        steps += 1
        assert steps < 20
    return page, path


def test_the_guide_walks_the_newborn_questionnaire_to_its_checklist(client: TestClient, demo: None) -> None:
    first = read(client.get("/guide/OT-NEWBORN").text)
    assert "第 1 步" in first.text
    page, _ = walk(client, "OT-NEWBORN")
    assert "一次告知" in page.text
    assert "出生医学证明" in page.text
    for words in ("办理部门", "办理时限", "审核方式", "必需"):
        assert words in page.text
    assert (
        "我的情况" not in page.text and "已有（免提交）" not in page.text
    )  # signed out: nothing about anyone
    assert "登录" in page.text


def test_the_checklist_names_tolerated_and_commitment_materials(client: TestClient, demo: None) -> None:
    page = read(client.get("/guide/OT-NEWBORN", params={"hukou": "elsewhere", "mother_insured": "no"}).text)
    assert "一次告知" in page.text
    assert "告知承诺" in page.text  # M04 of the birth certificate item may be replaced by a commitment


def test_signed_in_the_checklist_shows_materials_on_file(client: TestClient, demo: None) -> None:
    sign_in(client)
    r = client.get("/guide/OT-NEWBORN", params={"hukou": "elsewhere", "mother_insured": "no"})
    page = assert_no_inline_script(r.text)
    assert "已有（免提交）" in page.text, page.text
    assert "需提交" in page.text  # and what she still has to bring
    assert VACCINATION_ITEM in page.text


def test_an_invalid_answer_is_ignored_and_asked_again(client: TestClient, demo: None) -> None:
    page = read(client.get("/guide/OT-NEWBORN", params={"hukou": "nonsense"}).text)
    assert "无效" in page.text
    assert "第 1 步" in page.text


def test_an_unknown_one_thing_is_a_404_page(client: TestClient, demo: None) -> None:
    r = client.get("/guide/OT-NOTHING")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")


def test_signing_in_from_the_checklist_comes_back_to_it(client: TestClient, demo: None) -> None:
    page, path = walk(client, "OT-NEWBORN")
    signin_link = next(link for link in page.links if link.startswith("/signin"))
    target = dict(parse_qsl(urlsplit(signin_link).query))["next"]
    assert target.startswith(path + "?")
