"""Verification for anyone: PDF upload, identifier + code, the trust list — the whole matrix.

Each case gets `valid`, `invalid` or `indeterminate` with a problem in plain words, never a 5xx.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.generic import ArrayObject, StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.orm import Session

from hub.state import HubState
from signing.filekeys import FileKeyStore
from signing.pades import Sealer, SealIdentity
from signing.pki.authority import HubPKI
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc


@dataclass
class Issued:
    id: str
    code: str
    pdf: bytes
    dept_token: str
    dept: str


@pytest.fixture
def issued(client: TestClient, hub_state: HubState, session: Session) -> Issued:
    dept = add_org(hub_state, session, name="示范市市场监督管理局")
    type_code = add_certificate_type(session, definer=dept, issuers=[dept])
    token = client_token(hub_state, session, org=dept)
    r = client.post(
        "/api/v1/certificates", json=issue_body(type_code, new_uscc("91310000")), headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    cert = r.json()
    pdf = client.get(f"/api/v1/certificates/{cert['id']}/file", headers=bearer(token)).content
    return Issued(cert["id"], cert["verification_code"], pdf, token, dept)


def _verify(client: TestClient, pdf: bytes, name: str = "c.pdf") -> dict[str, object]:
    r = client.post("/api/v1/verify", files={"file": (name, pdf, "application/pdf")})
    assert r.status_code == 200, r.text
    return r.json()


def _problems(body: dict[str, object]) -> str:
    return " / ".join(body["problems"])  # type: ignore[arg-type]


def test_issued_certificate_is_valid(client: TestClient, issued: Issued, hub_state: HubState) -> None:
    body = _verify(client, issued.pdf)
    assert body["result"] == "valid", body
    sig = body["signature"]
    assert sig["intact"] and sig["trusted"] and sig["signed_by"] == "示范市市场监督管理局"  # type: ignore[index]
    assert sig["level"] == hub_state.settings.signing.level  # type: ignore[index]
    assert sig["timestamped"] is True  # type: ignore[index]
    assert body["certificate"]["id"] == issued.id  # type: ignore[index]
    assert body["certificate"]["status"] == "01"  # type: ignore[index]
    assert body["problems"] == []


@pytest.mark.parametrize(("status", "word"), [("07", "revoked"), ("02", "withheld"), ("03", "withdrawn")])
def test_certificate_not_in_force_is_invalid_though_seal_is_intact(
    client: TestClient, issued: Issued, status: str, word: str
) -> None:
    r = client.post(
        f"/api/v1/certificates/{issued.id}/status",
        json={"status": status, "reason": "测试"},
        headers=bearer(issued.dept_token),
    )
    assert r.status_code == 200
    body = _verify(client, issued.pdf)
    assert body["result"] == "invalid"
    assert body["signature"]["intact"] is True  # type: ignore[index]
    assert word in _problems(body)


def test_replaced_version_is_invalid(client: TestClient, issued: Issued) -> None:
    change = {k: v for k, v in issue_body("x", "y").items() if k not in ("type_code", "holder")}
    r = client.post(
        f"/api/v1/certificates/{issued.id}/versions", json=change, headers=bearer(issued.dept_token)
    )
    assert r.status_code == 201
    body = _verify(client, issued.pdf)
    assert body["result"] == "invalid" and "replaced" in _problems(body)


def test_flipped_byte_in_signed_range_is_invalid(client: TestClient, issued: Issued) -> None:
    data = bytearray(issued.pdf)
    pos = data.index(b"/Subject") + 12  # inside the first (signed) revision
    data[pos] ^= 0x01
    body = _verify(client, bytes(data))
    assert body["result"] == "invalid"


def _append_visible_text(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    extra = writer.add_object(StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (VOID) Tj ET"))
    page["/Contents"] = ArrayObject([page.raw_get("/Contents"), extra])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_content_added_after_signing_is_invalid(client: TestClient, issued: Issued) -> None:
    body = _verify(client, _append_visible_text(issued.pdf))
    assert body["result"] == "invalid"
    assert body["signature"]["intact"] is True  # type: ignore[index]
    assert body["problems"]


def _plain_pdf(text: str = "no seal here") -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(72, 700, text)
    c.save()
    return buf.getvalue()


def test_unsigned_pdf_is_invalid(client: TestClient) -> None:
    body = _verify(client, _plain_pdf())
    assert body["result"] == "invalid" and "seal" in _problems(body)
    assert body["certificate"] is None


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n garbage", b"hello world", bytes(range(256)) * 10, b"%PDF-"],
    ids=["truncated", "text", "binary", "header-only"],
)
def test_corrupt_or_non_pdf_upload_is_invalid_not_5xx(client: TestClient, data: bytes) -> None:
    body = _verify(client, data)
    assert body["result"] == "invalid" and body["problems"]


def test_empty_upload_is_422(client: TestClient) -> None:
    r = client.post("/api/v1/verify", files={"file": ("e.pdf", b"", "application/pdf")})
    assert r.status_code == 422 and r.json()["field"] == "file"


def test_missing_file_field_is_422(client: TestClient) -> None:
    r = client.post("/api/v1/verify", data={"nofile": "x"})
    assert r.status_code == 422


def test_document_signed_by_another_ca_is_not_valid(
    client: TestClient, issued: Issued, tmp_path: Path
) -> None:
    other = HubPKI.open_or_create(
        tmp_path / "pki",
        b"another hub's master key, 32 bytes",
        org_name="外省某局",
        base_url="http://127.0.0.1:9",
    )
    keys = FileKeyStore(tmp_path / "keys", b"another hub's master key, 32 bytes")
    cert = other.issue_seal_certificate(keys.ensure_key("impostor"), "示范市市场监督管理局", issued.dept)
    forged = Sealer(other, keys, timestamper=None, level="B-B").seal(
        _plain_pdf(), SealIdentity("impostor", cert, "示范市市场监督管理局", issued.dept)
    )
    body = _verify(client, forged.pdf)
    assert body["result"] in ("invalid", "indeterminate")
    assert body["signature"]["trusted"] is False  # type: ignore[index]
    assert body["problems"]


def test_hub_seal_on_a_document_the_registry_does_not_know_is_indeterminate(
    client: TestClient, issued: Issued, hub_state: HubState, session: Session
) -> None:
    identity = hub_state.signing.identity(session, issued.dept)
    with hub_state.signing.using(session):
        sealed = hub_state.signing.sealer.seal(_plain_pdf("某个文件"), identity)
    body = _verify(client, sealed.pdf)
    assert body["result"] == "indeterminate"
    assert "registry" in _problems(body)


def test_signature_after_seal_revocation_is_invalid(
    client: TestClient, issued: Issued, hub_state: HubState, session: Session
) -> None:
    identity = hub_state.signing.identity(session, issued.dept)
    hub_state.signing.revoke_seal(session, issued.dept)
    # The hub's own sealer refuses a revoked seal (it checks the seal's status before signing); a
    # thief holding the key would sign without asking, as this bare B-B sealer does.
    with hub_state.signing.using(session):
        with pytest.raises(Exception, match="could not be validated"):
            hub_state.signing.sealer.seal(_plain_pdf("after"), identity)
    thief = Sealer(hub_state.signing.pki, hub_state.signing.keystore, timestamper=None, level="B-B")
    late = thief.seal(_plain_pdf("after"), identity)
    body = _verify(client, late.pdf)
    assert body["result"] == "invalid"
    assert body["signature"]["indication"] == "TOTAL_FAILED"  # type: ignore[index]


def test_new_seal_after_revocation_issues_valid_certificates(
    client: TestClient, issued: Issued, hub_state: HubState, session: Session
) -> None:
    old = hub_state.signing.identity(session, issued.dept).cert
    old_serial, old_key = old.serial_number, old.public_key.dump()
    hub_state.signing.revoke_seal(session, issued.dept)
    type_code = issued.id.split(".")[5]
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(type_code, new_uscc("91310000")),
        headers=bearer(issued.dept_token),
    )
    assert r.status_code == 201
    new = hub_state.signing.identity(session, issued.dept).cert
    assert new.serial_number != old_serial
    assert new.public_key.dump() != old_key  # a revoked seal's key is never used again
    pdf = client.get(f"/api/v1/certificates/{r.json()['id']}/file", headers=bearer(issued.dept_token)).content
    assert _verify(client, pdf)["result"] == "valid"


def test_identifier_and_code(client: TestClient, issued: Issued) -> None:
    r = client.get(f"/api/v1/verify/{issued.id}", params={"code": issued.code})
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == "valid" and body["certificate"]["id"] == issued.id
    assert body.get("signature") is None
    assert (
        client.get(f"/api/v1/verify/{issued.id}", params={"code": issued.code.lower()}).json()["result"]
        == "valid"
    )


def test_wrong_code_is_404_like_an_unknown_identifier(client: TestClient, issued: Issued) -> None:
    wrong = client.get(f"/api/v1/verify/{issued.id}", params={"code": "WRONGCODE2"})
    assert wrong.status_code == 404 and wrong.json()["code"] == "certificate_not_found"
    unknown = client.get(
        "/api/v1/verify/1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        params={"code": issued.code},
    )
    assert unknown.status_code == 404 and unknown.json()["detail"] == wrong.json()["detail"]
    assert client.get("/api/v1/verify/garbage", params={"code": "x"}).status_code == 404
    assert client.get(f"/api/v1/verify/{issued.id}").status_code == 422


def test_identifier_and_code_of_revoked_certificate_is_invalid(client: TestClient, issued: Issued) -> None:
    client.post(
        f"/api/v1/certificates/{issued.id}/status",
        json={"status": "07", "reason": "吊销"},
        headers=bearer(issued.dept_token),
    )
    body = client.get(f"/api/v1/verify/{issued.id}", params={"code": issued.code}).json()
    assert body["result"] == "invalid" and "revoked" in _problems(body)


def test_verification_code_is_stored_hashed(issued: Issued, session: Session) -> None:
    from certificates.models import Certificate

    row = session.get(Certificate, issued.id)
    assert row is not None
    assert issued.code not in row.verification_code_hash
    assert issued.code.encode() not in row.verification_code_enc
    assert len(issued.code) >= 8


def test_trust_list(client: TestClient, issued: Issued) -> None:
    trust = client.get("/api/v1/trust").json()
    assert trust["roots"][0].startswith("-----BEGIN CERTIFICATE-----")
    assert len(trust["intermediates"]) == 1
    assert any(s["org"] == issued.dept and s["name"] == "示范市市场监督管理局" for s in trust["seals"])
    assert trust["qr_keys"] and {"kid", "alg", "jwk"} <= set(trust["qr_keys"][0])


def test_uploaded_pdf_base64_roundtrip_verifies(client: TestClient, issued: Issued) -> None:
    # The department's own PDF, sealed by the hub, verifies like a rendered one.
    type_code = issued.id.split(".")[5]
    body = issue_body(type_code, new_uscc("91310000"), file=base64.b64encode(_plain_pdf("部门自带")).decode())
    r = client.post("/api/v1/certificates", json=body, headers=bearer(issued.dept_token))
    assert r.status_code == 201
    pdf = client.get(f"/api/v1/certificates/{r.json()['id']}/file", headers=bearer(issued.dept_token)).content
    assert _verify(client, pdf)["result"] == "valid"


def test_the_same_file_verified_again_sees_a_status_change(client: TestClient, issued: Issued) -> None:
    """Nothing of a verdict is kept between calls: the registry is asked every time."""
    assert _verify(client, issued.pdf)["result"] == "valid"
    r = client.post(
        f"/api/v1/certificates/{issued.id}/status",
        json={"status": "02", "reason": "暂扣"},
        headers=bearer(issued.dept_token),
    )
    assert r.status_code == 200
    body = _verify(client, issued.pdf)
    assert body["result"] == "invalid" and "withheld" in _problems(body)
    r = client.post(
        f"/api/v1/certificates/{issued.id}/status",
        json={"status": "01", "reason": "恢复"},
        headers=bearer(issued.dept_token),
    )
    assert r.status_code == 200
    assert _verify(client, issued.pdf)["result"] == "valid"
