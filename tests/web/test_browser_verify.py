"""/verify in a real browser, as a verifier uses it: a genuine certificate PDF chosen in the file
input is 有效 with its issuer, a copy with one byte changed inside the signed range is 无效 with a
reason, an identifier and its verification code are 有效 — and the upload works with JavaScript
off. On SQLite and PostgreSQL (``web_hub``), the network cut to the hub."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from catalog.organizations import get_organization
from certificates.identifiers import parse
from certificates.repository import get_certificate
from hub.demo import BIRTH_CERTIFICATE
from signing.qr.image import qr_png
from tests.hub.test_verify_qr import scan_qr
from tests.web.browser import BrowserLog, WebHub, another_chromium, cut_off_page


@dataclass(frozen=True)
class Genuine:
    id: str
    code: str
    pdf: bytes
    issuer: str  # the issuing department's name


def genuine_of(web_hub: WebHub) -> Genuine:
    """The demo citizen's birth certificate as issued: its file, verification code and issuer."""
    cert_id = next(i for i in web_hub.certificates if parse(i).type_code == BIRTH_CERTIFICATE)

    def read(session: Session) -> Genuine:
        cert = get_certificate(session, cert_id)
        return Genuine(
            id=cert_id,
            code=web_hub.state.vault.decrypt(cert.verification_code_enc, purpose=b"verification"),
            pdf=web_hub.state.blobs.get(cert.file_sha256),
            issuer=get_organization(session, cert.issuer_code).name,
        )

    return web_hub.in_session(read)


@pytest.fixture(scope="module")
def genuine(web_hub: WebHub) -> Genuine:
    return genuine_of(web_hub)


def tampered(pdf: bytes) -> bytes:
    """``pdf`` with one byte of its first page content stream changed: inside the range the seal
    signs (before the signature's /Contents), so the seal no longer matches."""
    start = pdf.index(b"stream", pdf.index(b"/Contents")) + len(b"stream\n")
    signature_at = pdf.rindex(b"/ByteRange")
    changed = bytearray(pdf)
    at = start + 20
    assert at < signature_at  # inside the signed range
    changed[at] ^= 0x01
    return bytes(changed)


def upload(page: Page, hub_url: str, pdf: bytes, tmp_path: Path) -> None:
    """Open /verify, choose ``pdf`` in the file input as a user does, press 核验文件."""
    chosen = tmp_path / "证照.pdf"
    chosen.write_bytes(pdf)
    page.goto(f"{hub_url}/verify")
    page.get_by_label("电子证照文件（PDF）").set_input_files(chosen)
    page.get_by_role("button", name="核验文件").click()


def test_a_genuine_certificate_pdf_is_valid_with_its_issuer(
    page: Page, web_hub: WebHub, genuine: Genuine, tmp_path: Path
) -> None:
    upload(page, web_hub.url, genuine.pdf, tmp_path)
    answer = page.get_by_role("status").filter(has=page.locator("#answer-title"))
    expect(answer.get_by_role("heading", level=2)).to_have_text(re.compile(r"核验结果：\s*有效"))
    expect(answer).to_contain_text(genuine.id)
    expect(answer).to_contain_text(genuine.issuer)
    expect(answer.get_by_role("heading", name="原因")).to_have_count(0)
    expect(answer.get_by_role("heading", name="电子印章")).to_be_visible()


def test_a_tampered_copy_is_invalid_with_a_reason(
    page: Page, web_hub: WebHub, genuine: Genuine, tmp_path: Path
) -> None:
    upload(page, web_hub.url, tampered(genuine.pdf), tmp_path)
    answer = page.get_by_role("status").filter(has=page.locator("#answer-title"))
    expect(answer.get_by_role("heading", level=2)).to_have_text(re.compile(r"核验结果：\s*无效"))
    expect(answer.get_by_role("heading", name="原因")).to_be_visible()
    expect(answer.locator(".problems li").first).to_be_visible()
    expect(answer.locator(".problems")).to_contain_text(re.compile("篡改|改动"))


def test_an_identifier_and_its_code_are_valid(page: Page, web_hub: WebHub, genuine: Genuine) -> None:
    page.goto(f"{web_hub.url}/verify")
    page.get_by_label("证照标识", exact=True).fill(genuine.id)
    page.get_by_label("核验码", exact=True).fill(genuine.code)
    page.locator("form").filter(has=page.get_by_label("核验码", exact=True)).get_by_role(
        "button", name="核验"
    ).click()
    answer = page.get_by_role("status").filter(has=page.locator("#answer-title"))
    expect(answer.get_by_role("heading", level=2)).to_have_text(re.compile(r"核验结果：\s*有效"))
    expect(answer).to_contain_text(genuine.issuer)


def test_a_wrong_code_finds_nothing(
    page: Page, web_hub: WebHub, genuine: Genuine, browser_log: BrowserLog
) -> None:
    # the answer is a 404 page, which Chromium reports on the console
    browser_log.allow(r"status of 404")
    page.goto(f"{web_hub.url}/verify")
    page.get_by_label("证照标识", exact=True).fill(genuine.id)
    page.get_by_label("核验码", exact=True).fill("000000")
    page.locator("form").filter(has=page.get_by_label("核验码", exact=True)).get_by_role(
        "button", name="核验"
    ).click()
    expect(page.get_by_role("alert")).to_contain_text("没有找到这张证照")
    expect(page.locator("#answer")).to_have_count(0)
    expect(page.get_by_label("证照标识", exact=True)).to_have_value(genuine.id)


def test_the_upload_works_without_javascript(
    no_js_page: Page, web_hub: WebHub, genuine: Genuine, tmp_path: Path
) -> None:
    page = no_js_page
    upload(page, web_hub.url, genuine.pdf, tmp_path)
    expect(page.locator("#answer-title")).to_have_text(re.compile(r"核验结果：\s*有效"))
    expect(page.locator("#answer")).to_contain_text(genuine.issuer)
    # the camera section is shown by its script only: without JavaScript it stays hidden
    expect(page.locator("#scan")).to_be_hidden()


# --- the camera ----------------------------------------------------------------------------------

FRAME_W, FRAME_H = 640, 480


def qr_video(text: str, path: Path) -> None:
    """A Y4M video (4:2:0) of ``text``'s QR code drawn as the hub draws it, on white: the grey image
    is the luma plane, the chroma planes are neutral (128). Chromium's fake camera plays it."""
    code = Image.open(io.BytesIO(qr_png(text, scale=1)))
    scale = max(1, min(FRAME_W, FRAME_H) * 9 // 10 // code.width)
    code = code.resize((code.width * scale, code.height * scale), Image.Resampling.NEAREST)
    frame = Image.new("L", (FRAME_W, FRAME_H), 255)
    frame.paste(code, ((FRAME_W - code.width) // 2, (FRAME_H - code.height) // 2))
    chroma = bytes([128]) * (FRAME_W // 2 * FRAME_H // 2 * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{FRAME_W} H{FRAME_H} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            out.write(b"FRAME\n" + frame.tobytes() + chroma)


@pytest.fixture(scope="module")
def camera_browser(
    browser: Browser, genuine: Genuine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """A chromium whose camera films the genuine certificate's QR code."""
    folder = tmp_path_factory.mktemp("camera")
    (folder / "c.pdf").write_bytes(genuine.pdf)
    video = folder / "qr.y4m"
    qr_video(scan_qr(genuine.pdf, folder), video)
    args = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    with another_chromium(browser, args) as launched:
        yield launched


def test_the_camera_scans_the_qr_code(
    camera_browser: Browser, web_hub: WebHub, genuine: Genuine, browser_log: BrowserLog
) -> None:
    with cut_off_page(camera_browser, web_hub.url, browser_log, permissions=["camera"]) as page:
        page.goto(f"{web_hub.url}/verify")
        scan = page.get_by_role("region", name="用摄像头扫描二维码")
        expect(scan).to_be_visible()  # shown by its script: the page is a secure context (loopback)
        scan.get_by_role("button", name="打开摄像头扫描").click()
        # the code read in the browser is put in the QR form and submitted: the hub's answer
        expect(page.locator("#answer-title")).to_have_text(re.compile(r"核验结果：\s*有效"))
        expect(page.locator("#answer")).to_contain_text(genuine.id)
        expect(page.get_by_label("二维码中的文字（用任意扫码工具读出后粘贴）")).not_to_be_empty()
    problems = browser_log.problems()
    assert not problems, "\n".join(problems)
