"""The /verify page: a PDF upload, an identifier + verification code, pasted QR text — plain forms,
no JavaScript — answered in words (有效 / 无效 / 无法确认) with the reasons, the certificate as an
anonymous verifier is shown it and the seal's details; the API's upload and rate limits; the
camera scan's script and the vendored QR decoder (provably npm's jsqr). On SQLite and PostgreSQL,
over the demo world."""

from __future__ import annotations

import base64
import hashlib
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certificates.identifiers import parse
from certificates.repository import get_certificate
from hub.app import create_app
from hub.demo import BIRTH_CERTIFICATE
from hub.settings import UPLOAD_ENVELOPE_BYTES
from hub.state import HubState
from hub.web.templating import STATIC
from tests.applications.story import load_story
from tests.conftest import with_limits
from tests.hub.test_verify_qr import scan_qr
from tests.web.html import Page, assert_no_inline_script, read
from tests.web.test_foundation import assert_headers

VENDOR = STATIC / "vendor" / "jsqr"
TARBALL = Path(__file__).parent / "vendor" / "jsqr-1.4.0.tgz"


@dataclass(frozen=True)
class Genuine:
    id: str
    code: str
    pdf: bytes
    type_name: str
    holder_name: str


@pytest.fixture
def genuine(hub_state: HubState, session: Session) -> Genuine:
    """The demo citizen's birth certificate: its file as issued, its verification code."""
    story = load_story(hub_state, session)
    cert_id = next(i for i in story.world.certificates if parse(i).type_code == BIRTH_CERTIFICATE)
    cert = get_certificate(session, cert_id)
    return Genuine(
        id=cert_id,
        code=hub_state.vault.decrypt(cert.verification_code_enc, purpose=b"verification"),
        pdf=hub_state.blobs.get(cert.file_sha256),
        type_name="出生医学证明",
        holder_name=cert.holder_name,
    )


def answer_of(response: Any) -> Page:
    """The page as a browser reads it, after checking it is a page with the headers and no inline
    script."""
    assert response.headers["content-type"].startswith("text/html")
    assert_headers(response)
    return assert_no_inline_script(response.text)


def upload(client: TestClient, pdf: bytes) -> Any:
    return client.post("/verify/pdf", files={"file": ("证照.pdf", pdf, "application/pdf")})


# --- the page and its forms ---------------------------------------------------------------------


def test_the_page_offers_four_ways_as_plain_forms(client: TestClient) -> None:
    r = client.get("/verify")
    assert r.status_code == 200
    page = answer_of(r)
    names = {str(i.get("name")) for i in page.inputs}
    assert {"file", "id", "code", "payload"} <= names
    forms = read_forms(r.text)
    assert forms == {
        ("post", "/verify/pdf", "multipart/form-data"),
        ("post", "/verify/code", None),
        ("post", "/verify/qr", None),
    }
    # a verification changes nothing: its forms carry no CSRF token
    assert page.value("csrf_token") is None
    # the camera scan is a script of the hub's, its section hidden until the script shows it
    assert [s["src"] for s in page.scripts] == ["/static/verify-scan.js"]
    assert 'id="scan" hidden' in r.text


def read_forms(html: str) -> set[tuple[str, str, str | None]]:
    from html.parser import HTMLParser

    found: set[tuple[str, str, str | None]] = set()

    class Forms(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "form" and a.get("action", "").startswith("/verify"):  # type: ignore[union-attr]
                found.add((str(a.get("method")), str(a.get("action")), a.get("enctype")))

    Forms().feed(html)
    return found


# --- a PDF ---------------------------------------------------------------------------------------


def test_a_genuine_certificate_pdf_is_valid_with_issuer_and_seal(
    client: TestClient, genuine: Genuine
) -> None:
    r = upload(client, genuine.pdf)
    assert r.status_code == 200
    page = answer_of(r)
    assert "核验结果： 有效" in page.text
    assert "原因" not in page.text
    for words in (genuine.id, genuine.type_name, genuine.holder_name, "发证部门", "证照状态 有效"):
        assert words in page.text, words
    for words in ("盖章单位", "盖章时间", "时间戳", "PAdES 级别 B-", "签名内容完整 是", "印章受信任 是"):
        assert words in page.text, words
    # as the API shows an anonymous verifier: never the holder's identity number
    assert genuine.holder_name and "身份证" not in page.text


def test_what_the_page_says_is_what_the_api_says(client: TestClient, genuine: Genuine) -> None:
    api = client.post("/api/v1/verify", files={"file": ("c.pdf", genuine.pdf, "application/pdf")}).json()
    page = answer_of(upload(client, genuine.pdf))
    cert = api["certificate"]
    for value in (
        cert["id"],
        cert["type_name"],
        cert["holder_name"],
        cert["issuer_name"],
        cert["issuer_code"],
    ):
        assert value in page.text
    assert api["signature"]["signed_by"] in page.text


def test_a_pdf_changed_inside_the_signed_range_is_invalid_with_a_reason(
    client: TestClient, genuine: Genuine
) -> None:
    tampered = bytearray(genuine.pdf)
    tampered[tampered.index(b"/Subject") + 12] ^= 0x01
    page = answer_of(upload(client, bytes(tampered)))
    assert "核验结果： 无效" in page.text
    assert "原因" in page.text
    assert "篡改" in page.text or "改动" in page.text, page.text


def test_a_pdf_with_bytes_appended_is_invalid(client: TestClient, genuine: Genuine) -> None:
    page = answer_of(upload(client, genuine.pdf + b"\n% added after the seal\n"))
    assert "核验结果： 无效" in page.text
    assert "盖章之后" in page.text, page.text


def test_an_unsealed_pdf_is_invalid(client: TestClient) -> None:
    unsealed = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    r = upload(client, unsealed)
    assert r.status_code == 200
    page = answer_of(r)
    assert "核验结果： 无效" in page.text
    assert "电子印章" in page.text or "PDF" in page.text


def test_an_empty_file_is_a_clear_answer(client: TestClient) -> None:
    r = upload(client, b"")
    assert r.status_code == 422
    assert "请选择要核验的 PDF 文件" in answer_of(r).text


# --- identifier and verification code ---------------------------------------------------------------


def test_identifier_and_the_right_code_is_valid(client: TestClient, genuine: Genuine) -> None:
    r = client.post("/verify/code", data={"id": genuine.id, "code": genuine.code})
    assert r.status_code == 200
    page = answer_of(r)
    assert "核验结果： 有效" in page.text
    assert genuine.type_name in page.text and "证照状态 有效" in page.text
    assert "盖章单位" not in page.text  # no seal without a file, as the API


def test_a_wrong_code_is_a_clear_answer_like_an_unknown_identifier(
    client: TestClient, genuine: Genuine
) -> None:
    wrong = client.post("/verify/code", data={"id": genuine.id, "code": genuine.code + "X"})
    unknown = client.post("/verify/code", data={"id": "1.2.156.3005.2.nothing", "code": genuine.code})
    for r in (wrong, unknown):
        assert r.status_code == 404
        page = answer_of(r)
        assert "证照标识或核验码不正确" in page.text
        assert genuine.type_name not in page.text and genuine.holder_name not in page.text


def test_a_missing_code_is_a_422_page_not_an_error(client: TestClient) -> None:
    r = client.post("/verify/code", data={"id": "1.2.156.3005.2.x"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")


# --- QR text ----------------------------------------------------------------------------------------


def test_the_qr_text_of_a_genuine_certificate_is_valid(
    client: TestClient, genuine: Genuine, tmp_path: Path
) -> None:
    r = client.post("/verify/qr", data={"payload": scan_qr(genuine.pdf, tmp_path)})
    assert r.status_code == 200
    page = answer_of(r)
    assert "核验结果： 有效" in page.text
    assert genuine.id in page.text and genuine.type_name in page.text


def test_qr_text_that_is_not_the_hubs_is_invalid_in_chinese(client: TestClient) -> None:
    page = answer_of(client.post("/verify/qr", data={"payload": "https://example.org/"}))
    assert "核验结果： 无效" in page.text
    assert "不是本平台证照的二维码" in page.text


def test_altered_qr_text_is_invalid(client: TestClient, genuine: Genuine, tmp_path: Path) -> None:
    text = scan_qr(genuine.pdf, tmp_path)
    altered = text[:-6] + ("A" if text[-6] != "A" else "B") + text[-5:]
    page = answer_of(client.post("/verify/qr", data={"payload": altered}))
    assert "核验结果： 无效" in page.text


# --- the API's limits ---------------------------------------------------------------------------------


MAX_PDF = 200_000


@pytest.fixture
def small_limits(hub_state: HubState) -> Iterator[TestClient]:
    """The hub with a low upload limit and a verify rate of 2 a minute."""
    state = with_limits(hub_state, max_pdf_bytes=MAX_PDF, verify_rate="2/minute")
    with TestClient(create_app(state=state), raise_server_exceptions=False) as c:
        yield c


def test_an_upload_over_the_limit_is_refused_before_it_is_read(small_limits: TestClient) -> None:
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"0" * 65536, "more_body": True}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/verify/pdf",
        "raw_path": b"/verify/pdf",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"accept", b"text/html"),
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", str(MAX_PDF + UPLOAD_ENVELOPE_BYTES + 1).encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    small_limits.portal.call(small_limits.app, scope, receive, send)  # type: ignore[union-attr]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 413
    assert dict(start["headers"])[b"content-type"].startswith(b"text/html")
    assert "文件太大" in read(body.decode()).text
    assert reads == 0


def test_a_file_over_the_limit_within_the_envelope_is_a_413_page(small_limits: TestClient) -> None:
    r = upload(small_limits, b"%PDF-1.7\n" + b"0" * MAX_PDF)
    assert r.status_code == 413
    assert "文件太大" in answer_of(r).text


def test_verifications_share_the_apis_rate_limit(small_limits: TestClient) -> None:
    assert small_limits.post("/verify/qr", data={"payload": "x"}).status_code == 200
    # the API's endpoints count on the same counter
    assert small_limits.post("/api/v1/verify/qr", json={"payload": "x"}).status_code == 200
    r = small_limits.post("/verify/code", data={"id": "1.2.156.3005.2.x", "code": "x"})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert "核验次数太多" in answer_of(r).text
    # the page with the forms is not a verification: it is never refused
    assert small_limits.get("/verify").status_code == 200


# --- the camera scan and its decoder --------------------------------------------------------------------


def test_the_scan_script_uses_the_camera_and_the_local_decoder(client: TestClient) -> None:
    js = client.get("/static/verify-scan.js")
    assert js.status_code == 200
    assert_headers(js)
    for needed in ("getUserMedia", "BarcodeDetector", "/static/vendor/jsqr/jsQR.js", "qr-form"):
        assert needed in js.text, needed
    assert "innerHTML" not in js.text and "http" not in js.text.replace("https", "")  # no CDN
    decoder = client.get("/static/vendor/jsqr/jsQR.js")
    assert decoder.status_code == 200 and len(decoder.content) == (VENDOR / "jsQR.js").stat().st_size


def test_the_vendored_decoder_is_npms_jsqr() -> None:
    """The lock records the npm registry's integrity of jsqr; the tarball kept beside the tests has
    exactly that sha512, and the served jsQR.js and its LICENSE are its files byte for byte."""
    lock = json.loads((VENDOR / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/jsqr"]
    manifest = json.loads((VENDOR / "package.json").read_text())
    assert manifest["dependencies"]["jsqr"] == entry["version"] == "1.4.0"
    algorithm, _, digest = entry["integrity"].partition("-")
    assert algorithm == "sha512"
    assert base64.b64encode(hashlib.sha512(TARBALL.read_bytes()).digest()).decode() == digest
    with tarfile.open(TARBALL) as tar:
        for member, vendored in (("package/dist/jsQR.js", "jsQR.js"), ("package/LICENSE", "LICENSE")):
            packed = tar.extractfile(member)
            assert packed is not None
            assert packed.read() == (VENDOR / vendored).read_bytes(), vendored
