"""/guide/OT-NEWBORN in a real browser, as a citizen uses it: the questionnaire answered one step
at a time by clicking the answers, down to the checklist (一次告知) with its items and materials;
signed in through /signin from the checklist's link, the materials on file say 已有. With
JavaScript on and off (the guide is plain GET forms). On SQLite and PostgreSQL (``web_hub``), the
network cut to the hub."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from hub.demo import DEMO_CITIZEN
from tests.web.browser import WebHub

ONE_THING = "OT-NEWBORN"
ANSWERS = [  # (the question, the answer clicked), in the order the questionnaire asks them
    ("新生儿是否在本市申报户口？", "否，回户籍地落户"),
    ("母亲是否参加本市职工基本医疗保险（生育保险）？", "否"),
]
ITEMS = {
    "WJ-BIRTH-CERTIFICATE": ("出生医学证明办理", ["母亲身份证明", "新生儿姓名确认书", "父母婚姻状况证明"]),
    "WJ-VACCINATION": ("预防接种证办理", ["出生医学证明", "监护人身份证明"]),
}


def walk_to_the_checklist(page: Page, hub_url: str) -> Locator:
    """Answer the questionnaire step by step as a user does; the checklist's section."""
    page.goto(f"{hub_url}/guide/{ONE_THING}")
    expect(page.get_by_role("heading", level=1)).to_have_text("新生儿出生一件事")
    for step, (question, answer) in enumerate(ANSWERS, start=1):
        expect(page.get_by_role("group", name=f"第 {step} 步：{question}")).to_be_visible()
        page.get_by_label(answer, exact=True).check()
        page.get_by_role("button", name="下一步").click()
        # the answer is kept in "您的情况"
        expect(page.get_by_role("region", name="您的情况")).to_contain_text(answer)
    checklist = page.get_by_role("region", name="一次告知：需要办理的事项和材料")
    expect(checklist).to_be_visible()
    expect(page.get_by_role("button", name="下一步")).to_have_count(0)
    return checklist


def material_row(checklist: Locator, item_code: str, material: str) -> Locator:
    """The row of ``material`` (named in its first cell) in the table of ``item_code``."""
    item = checklist.locator(f'article[aria-labelledby="item-{item_code}"]')
    return item.get_by_role("row").filter(has=checklist.page.locator("td:first-child", has_text=material))


def assert_the_items_and_materials(checklist: Locator) -> None:
    for code, (name, materials) in ITEMS.items():
        item = checklist.get_by_role("article", name=f"{name} {code}")
        expect(item.get_by_role("heading", level=3)).to_contain_text(name)
        for material in materials:
            expect(item.get_by_role("cell").filter(has_text=material).first).to_be_visible()
    # the questionnaire's answers added nothing else (no 户口 item when settling elsewhere)
    expect(checklist.get_by_role("article")).to_have_count(len(ITEMS))


def test_the_questionnaire_walks_to_the_checklist(page: Page, web_hub: WebHub) -> None:
    checklist = walk_to_the_checklist(page, web_hub.url)
    assert_the_items_and_materials(checklist)
    # signed out: no column says what is on file, a link offers to sign in
    expect(checklist.get_by_text("已有（免提交）")).to_have_count(0)
    expect(checklist.get_by_role("link", name="登录")).to_be_visible()


def test_signed_in_the_materials_on_file_say_so(page: Page, web_hub: WebHub) -> None:
    checklist = walk_to_the_checklist(page, web_hub.url)
    here = page.url
    checklist.get_by_role("link", name="登录").click()
    expect(page.get_by_label("姓名")).to_have_value(DEMO_CITIZEN.name)
    page.get_by_role("button", name="登录").click()
    # back on the checklist she came from, signed in
    expect(page).to_have_url(here)
    checklist = page.get_by_role("region", name="一次告知：需要办理的事项和材料")
    assert_the_items_and_materials(checklist)
    # her birth certificate and identity card are on file; the name confirmation is not
    for code, material in [
        ("WJ-VACCINATION", "出生医学证明"),
        ("WJ-VACCINATION", "监护人身份证明"),
        ("WJ-BIRTH-CERTIFICATE", "母亲身份证明"),
    ]:
        expect(material_row(checklist, code, material)).to_contain_text("已有（免提交）")
    expect(material_row(checklist, "WJ-BIRTH-CERTIFICATE", "新生儿姓名确认书")).to_contain_text("需提交")
    # and the checklist ends in 提交申请
    expect(page.get_by_role("button", name="提交申请")).to_be_visible()


def test_the_guide_works_without_javascript(no_js_page: Page, web_hub: WebHub) -> None:
    checklist = walk_to_the_checklist(no_js_page, web_hub.url)
    assert_the_items_and_materials(checklist)
