"""The offline QR code: printed on every rendered certificate, read back from the page as a phone
would (zxing-cpp on the rasterized PDF), checked by the hub and by `hub verify --qr` with no server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.state import HubState
from signing.qr.cose import PREFIX, QRSigner
from signing.qr.image import qr_version
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc


def scan_qr(pdf: bytes, tmp_path: Path) -> str:
    """Rasterize page 1 at 150 dpi and decode the QR code on it."""
    src = tmp_path / "c.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(src), str(tmp_path / "page")], check=True
    )
    found = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    texts = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(texts) == 1, f"expected one QR code on the page, found {len(texts)}"
    return texts[0]


@pytest.fixture
def scanned(
    client: TestClient, hub_state: HubState, session: Session, tmp_path: Path
) -> tuple[str, str, str]:
    dept = add_org(hub_state, session, name="示范市民政局")
    type_code = add_certificate_type(session, definer=dept, issuers=[dept])
    token = client_token(hub_state, session, org=dept)
    r = client.post(
        "/api/v1/certificates", json=issue_body(type_code, new_uscc("91310000")), headers=bearer(token)
    )
    assert r.status_code == 201
    cert_id = r.json()["id"]
    pdf = client.get(f"/api/v1/certificates/{cert_id}/file", headers=bearer(token)).content
    return scan_qr(pdf, tmp_path), cert_id, token


def test_printed_qr_is_a_compact_signed_payload(scanned: tuple[str, str, str]) -> None:
    text, _, _ = scanned
    assert text.startswith(PREFIX)
    # A company holder with an eight-character name: 307–312 characters, version 10 or 11 at level M
    # depending on the (random) ECDSA signature — see docs/qr.md for the measured table.
    assert qr_version(text) <= 11


def test_scanned_qr_verifies_valid(client: TestClient, scanned: tuple[str, str, str]) -> None:
    text, cert_id, _ = scanned
    r = client.post("/api/v1/verify/qr", json={"payload": text})
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == "valid", body
    assert body["certificate"]["id"] == cert_id and body["certificate"]["issuer_name"] == "示范市民政局"


def test_qr_of_revoked_certificate_is_invalid(client: TestClient, scanned: tuple[str, str, str]) -> None:
    text, cert_id, token = scanned
    client.post(
        f"/api/v1/certificates/{cert_id}/status",
        json={"status": "07", "reason": "吊销"},
        headers=bearer(token),
    )
    body = client.post("/api/v1/verify/qr", json={"payload": text}).json()
    assert body["result"] == "invalid" and any("revoked" in p for p in body["problems"])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-6] + ("AAAAAA" if not t.endswith("AAAAAA") else "BBBBBB"),
        lambda t: t[:40],
        lambda t: "HC1:" + t[4:],
        lambda t: "EC1:%%%%",
    ],
    ids=["tampered", "truncated", "foreign-prefix", "garbage"],
)
def test_mangled_qr_is_invalid(client: TestClient, scanned: tuple[str, str, str], mangle) -> None:  # type: ignore[no-untyped-def]
    text, _, _ = scanned
    r = client.post("/api/v1/verify/qr", json={"payload": mangle(text)})
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == "invalid" and body["problems"] and body["certificate"] is None


def test_qr_signed_by_an_unknown_key_is_invalid(client: TestClient, scanned: tuple[str, str, str]) -> None:
    from signing.qr.verify import decode_and_verify
    from signing.trust import TrustList

    text, _, _ = scanned
    # Re-sign the same claims with a key the hub never published.
    from datetime import UTC, datetime

    own = decode_and_verify(text, TrustList.from_api(client.get("/api/v1/trust").json()), datetime.now(UTC))
    assert own.claims is not None
    forged = QRSigner(ec.generate_private_key(ec.SECP256R1())).encode(own.claims)
    body = client.post("/api/v1/verify/qr", json={"payload": forged}).json()
    assert body["result"] == "invalid" and body["problems"]


def test_empty_payload_is_422(client: TestClient) -> None:
    assert client.post("/api/v1/verify/qr", json={"payload": ""}).status_code == 422
    assert client.post("/api/v1/verify/qr", json={}).status_code == 422


def test_cli_verifies_qr_offline_from_the_trust_list(
    client: TestClient, scanned: tuple[str, str, str], tmp_path: Path
) -> None:
    text, cert_id, _ = scanned
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(client.get("/api/v1/trust").json()))
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", "--qr", text, "--trust", str(trust)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["certificate"]["id"] == cert_id
    bad = runner.invoke(cli, ["verify", "--qr", text[:-4] + "ABCD", "--trust", str(trust)])
    assert bad.exit_code == 1
    missing = runner.invoke(cli, ["verify", "--qr", text])
    assert missing.exit_code == 2
