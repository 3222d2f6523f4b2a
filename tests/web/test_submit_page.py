"""提交申请 at the end of the guide: the signed-in holder files 新生儿出生一件事 through the demo
portal with a multipart form (CSRF, a nonce per form), the intake the API runs deciding. HTTP-level,
on SQLite and PostgreSQL, over the demo world; what was filed is read back through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hub.state import HubState
from tests.applications.story import BIRTH_ITEM, VACCINATION_ITEM, Story, load_story
from tests.hostile import plain
from tests.sharing.demo_world import load_demo_world
from tests.web.html import Page, assert_no_inline_script
from tests.web.test_foundation import sign_in

CHECKLIST = "/guide/OT-NEWBORN?hukou=elsewhere&mother_insured=no"
APPLY = "/guide/OT-NEWBORN/apply"
UNIT = "示范市徐汇区社区卫生服务中心（演示）"


@pytest.fixture
def story(hub_state: HubState, session: Session) -> Story:
    return load_story(hub_state, session)


def checklist(client: TestClient) -> Page:
    r = client.get(CHECKLIST)
    assert r.status_code == 200, r.text
    return assert_no_inline_script(r.text)


def form_of(page: Page, **fields: str) -> dict[str, str]:
    """The 提交申请 form as a browser sends it: its hidden inputs, plus ``fields`` typed in."""
    hidden = {
        str(i["name"]): str(i["value"])
        for i in page.inputs
        if i.get("type") == "hidden" and str(i["name"]).startswith(("a:", "nonce", "csrf_token"))
    }
    assert "nonce" in hidden and "a:hukou" in hidden
    return hidden | fields


def full_form(page: Page) -> dict[str, str]:
    return form_of(
        page,
        **{
            f"field:{BIRTH_ITEM}:child_name": "林小满",
            f"field:{VACCINATION_ITEM}:vaccination_unit": UNIT,
            f"way:{BIRTH_ITEM}:M04": "commitment",
        },
    )


def upload() -> dict[str, Any]:
    return {f"file:{BIRTH_ITEM}:M03": ("新生儿姓名确认书.pdf", plain(), "application/pdf")}


def my_applications(client: TestClient, story: Story) -> list[dict[str, Any]]:
    r = client.get("/api/v1/me/applications", headers=story.citizen)
    assert r.status_code == 200, r.text
    apps: list[dict[str, Any]] = r.json()["applications"]
    return apps


def test_signed_in_the_checklist_ends_in_the_submit_form(client: TestClient, story: Story) -> None:
    sign_in(client)
    page = checklist(client)
    assert "提交申请" in page.text
    names = {i.get("name") for i in page.inputs}
    assert f"file:{BIRTH_ITEM}:M03" in names  # the 新生儿姓名确认书 is not on file
    # 父母婚姻状况证明: the portal may not see the marriage certificate, so a commitment is offered
    assert f"way:{BIRTH_ITEM}:M04" in names
    assert f"field:{BIRTH_ITEM}:child_name" in names
    assert "（必填）" in page.text
    assert "授权门户使用" not in page.text  # the demo consents are in force


def test_without_the_demo_portal_the_signed_in_guide_ends_at_its_checklist(
    client: TestClient, story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub whose catalog has no demo portal (not the demo) still shows the checklist, with what is
    on file, and no form to file through a portal it does not have."""
    monkeypatch.setattr("hub.web.apply.DEMO_PORTAL", "91310000MA1FL0000X")  # registered nowhere
    sign_in(client)
    page = checklist(client)
    assert "已有" in page.text and "需提交" in page.text
    assert not any(str(i.get("name", "")).startswith("nonce") for i in page.inputs)


def test_signed_out_there_is_no_submit_form(client: TestClient, story: Story) -> None:
    page = checklist(client)
    assert not any(str(i.get("name", "")).startswith("nonce") for i in page.inputs)


def test_submitting_files_the_application_auto_item_approved(client: TestClient, story: Story) -> None:
    sign_in(client)
    r = client.post(APPLY, data=full_form(checklist(client)), files=upload())
    assert r.status_code == 200, r.text
    page = assert_no_inline_script(r.text)
    assert "申请已提交" in page.text and "/me" in page.links
    [app] = my_applications(client, story)
    assert app["id"] in page.text
    assert app["one_thing"] == "OT-NEWBORN"
    tasks = {t["item_code"]: t for t in app["tasks"]}
    assert tasks[VACCINATION_ITEM]["status"] == "approved" and tasks[VACCINATION_ITEM]["decided_by"] == "auto"
    assert tasks[BIRTH_ITEM]["status"] == "pending"
    kinds = {(m["item_code"], m["code"]): m["kind"] for m in app["materials"]}
    assert kinds[(BIRTH_ITEM, "M03")] == "file" and kinds[(BIRTH_ITEM, "M04")] == "commitment"
    assert app["form"][BIRTH_ITEM]["child_name"] == "林小满"


def test_a_missing_required_field_shows_the_form_again_and_files_nothing(
    client: TestClient, story: Story
) -> None:
    sign_in(client)
    form = full_form(checklist(client))
    del form[f"field:{BIRTH_ITEM}:child_name"]
    r = client.post(APPLY, data=form, files=upload())
    assert r.status_code == 422
    page = assert_no_inline_script(r.text)
    assert "智能预审未通过" in page.text
    assert "必填项未填写" in page.text  # next to the field, in words
    assert f"field:{BIRTH_ITEM}:child_name" in {i.get("name") for i in page.inputs}
    assert page.value(f"field:{VACCINATION_ITEM}:vaccination_unit") == UNIT  # what she typed is kept
    assert my_applications(client, story) == []


def test_without_the_csrf_token_nothing_is_filed(client: TestClient, story: Story) -> None:
    sign_in(client)
    form = full_form(checklist(client))
    del form["csrf_token"]
    r = client.post(APPLY, data=form, files=upload())
    assert r.status_code == 403
    assert my_applications(client, story) == []


def test_a_double_submit_files_one_application(client: TestClient, story: Story) -> None:
    sign_in(client)
    form = full_form(checklist(client))
    first = client.post(APPLY, data=form, files=upload())
    second = client.post(APPLY, data=form, files=upload())
    assert first.status_code == second.status_code == 200, second.text
    assert len(my_applications(client, story)) == 1


def test_without_consent_the_page_asks_for_it_and_filing_is_refused(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    load_demo_world(hub_state, session)  # the demo world without the demo citizen's consents
    session.flush()
    sign_in(client)
    page = checklist(client)
    assert "授权门户使用" in page.text and BIRTH_ITEM in page.text
    r = client.post(APPLY, data=full_form(page), files=upload())
    assert r.status_code == 422  # the portal may not use her certificates: the pre-review fails
    assert "智能预审未通过" in r.text
    consent_form = {k: v for k, v in full_form(page).items() if k.startswith(("a:", "csrf_token"))}
    assert client.post("/guide/OT-NEWBORN/consents", data={"a:hukou": "elsewhere"}).status_code == 403
    granted = client.post("/guide/OT-NEWBORN/consents", data=consent_form, follow_redirects=False)
    assert granted.status_code == 303
    assert "授权门户使用" not in checklist(client).text
