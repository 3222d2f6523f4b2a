"""/me in a real browser, as the demo citizen uses it: signed in through /signin (the form is
prefilled with her), she sees her certificates, grants a portal a consent with the two-step form
(an item, then the portal, the types and the last day), sees it listed, withdraws it and sees it
withdrawn. On SQLite and PostgreSQL (``web_hub``), the network cut to the hub."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Locator, Page, expect

from hub.demo import DEMO_CITIZEN
from tests.web.browser import WebHub

ITEM = "预防接种证办理"  # WJ-VACCINATION: its shareable type is the birth certificate
PORTAL = "示范市政务服务中心综合窗口受理系统（演示）"  # not the demo portal her seeded consents name


def sign_in_to_me(page: Page, hub_url: str) -> None:
    """Open /me signed out, follow its link to /signin, submit the prefilled form: back on /me."""
    page.goto(f"{hub_url}/me")
    page.get_by_role("main").get_by_role("link", name="登录").click()
    expect(page.get_by_label("证件号码")).to_have_value(DEMO_CITIZEN.code)
    expect(page.get_by_label("姓名")).to_have_value(DEMO_CITIZEN.name)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{hub_url}/me")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的")


def consent_row(page: Page) -> Locator:
    table = page.get_by_role("region", name="我的授权").get_by_role("table")
    return table.get_by_role("row").filter(has_text=PORTAL).filter(has_text=ITEM)


def test_she_sees_her_certificates(page: Page, web_hub: WebHub) -> None:
    sign_in_to_me(page, web_hub.url)
    expect(page.get_by_role("banner")).to_contain_text(DEMO_CITIZEN.name)
    mine = page.get_by_role("region", name="我的证照")
    for certificate_id in web_hub.certificates:
        row = mine.get_by_role("row").filter(has_text=certificate_id)
        expect(row.first).to_be_visible()
        expect(row.first.get_by_role("link", name="下载 PDF")).to_have_attribute(
            "href", f"/me/certificates/{certificate_id}/file"
        )


def test_she_grants_a_consent_and_withdraws_it(page: Page, web_hub: WebHub) -> None:
    last_day = web_hub.state.today() + timedelta(days=100)
    sign_in_to_me(page, web_hub.url)
    expect(consent_row(page)).to_have_count(0)

    # step 1: the item (a GET form)
    page.get_by_label("第 1 步：选择事项").select_option(label=ITEM)
    page.get_by_role("button", name="选择此事项").click()
    expect(page.get_by_text(f"第 2 步：授权办理 {ITEM}")).to_be_visible()
    # step 2: the portal, the types, the last day
    page.get_by_label("被授权平台").select_option(label=PORTAL)
    types = page.get_by_role("group", name="可调用的证照类型").get_by_role("checkbox")
    expect(types).not_to_have_count(0)
    for box in types.all():
        box.check()
    page.get_by_label("有效至（含当日）").fill(last_day.isoformat())
    page.get_by_role("button", name="授权", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("已授权。")
    granted = consent_row(page)
    expect(granted).to_have_count(1)
    expect(granted).to_contain_text("生效中")
    expect(granted).to_contain_text(f"{last_day.isoformat()} 23:59")
    expect(granted).to_contain_text("出生医学证明")

    granted.get_by_role("button", name=f"撤回对{PORTAL}办理{ITEM}的授权").click()
    expect(page.get_by_role("status")).to_contain_text("已撤回授权")
    withdrawn = consent_row(page)
    expect(withdrawn).to_contain_text("已撤回")
    expect(withdrawn.get_by_role("button")).to_have_count(0)


def lines_of(cell: Locator) -> int:
    """How many lines the browser lays the cell's text out on."""
    return int(
        cell.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e);"
            " return r.getClientRects().length; }"
        )
    )


def test_the_certificate_table_reads_at_desktop_width(page: Page, web_hub: WebHub) -> None:
    # A certificate identifier is one long word: unbroken, it took the table's width and squeezed
    # the other columns to a character a line (证/照/类/型). It breaks anywhere instead, and the
    # headings stay on one line.
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in_to_me(page, web_hub.url)
    table = page.get_by_role("region", name="我的证照").get_by_role("table")
    for header in ("证照类型", "发证机关", "证照标识", "状态", "有效期"):
        assert lines_of(table.get_by_role("columnheader", name=header)) == 1, header
    rows = table.get_by_role("row").all()[1:]
    assert rows
    for row in rows:
        type_name, issuer = row.get_by_role("cell").nth(0), row.get_by_role("cell").nth(1)
        assert lines_of(type_name) <= 2 and lines_of(issuer) <= 2, row.inner_text()
