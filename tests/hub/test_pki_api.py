"""The hub's PKI services over HTTP (RFC 3161 TSA, OCSP, CRLs, CA certificates) and signature upgrades."""

from __future__ import annotations

import hashlib
import os

from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certificates.models import Certificate
from hub.services import upgrade_signatures
from hub.state import HubState, build_state
from tests.conftest import make_settings
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc


def _seal_cert(hub_state: HubState, session: Session, org: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(hub_state.signing.identity(session, org).cert.dump())


def _ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    return req.public_bytes(serialization.Encoding.DER)


def test_timestamp_authority_grants_rfc3161_tokens(client: TestClient) -> None:
    digest = hashlib.sha256(b"some document").digest()
    nonce = int.from_bytes(os.urandom(8), "big")
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    r = client.post("/pki/tsa", content=req.dump(), headers={"Content-Type": "application/timestamp-query"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/timestamp-reply"
    resp = tsp.TimeStampResp.load(r.content)
    assert resp["status"]["status"].native == "granted"
    info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == nonce


def test_timestamp_authority_rejects_garbage(client: TestClient) -> None:
    r = client.post(
        "/pki/tsa", content=b"not a request", headers={"Content-Type": "application/timestamp-query"}
    )
    assert r.status_code == 200
    # A rejection carries no token, which asn1crypto's TimeStampResp insists on: read the status alone.
    from asn1crypto.core import Sequence

    status = tsp.PKIStatusInfo.load(Sequence.load(r.content)[0].dump())
    assert status["status"].native == "rejection"


def test_ocsp_says_good_then_revoked_and_crl_lists_the_revoked_seal(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    dept = add_org(hub_state, session)
    cert = _seal_cert(hub_state, session, dept)
    issuer = x509.load_der_x509_certificate(client.get("/pki/ca.crt").content)
    der = _ocsp_request(cert, issuer)

    good = ocsp.load_der_ocsp_response(
        client.post("/pki/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"}).content
    )
    assert good.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD

    hub_state.signing.revoke_seal(session, dept)
    revoked = ocsp.load_der_ocsp_response(client.post("/pki/ocsp", content=der).content)
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED

    import base64

    via_get = ocsp.load_der_ocsp_response(client.get("/pki/ocsp/" + base64.b64encode(der).decode()).content)
    assert via_get.certificate_status is ocsp.OCSPCertStatus.REVOKED

    crl = x509.load_der_x509_crl(client.get("/pki/crl").content)
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]


def test_ocsp_malformed_request_gets_an_ocsp_error_not_a_5xx(client: TestClient) -> None:
    r = client.post("/pki/ocsp", content=b"\x30\x03garbage")
    assert r.status_code == 200
    assert ocsp.load_der_ocsp_response(r.content).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ca_certificates_and_root_crl(client: TestClient) -> None:
    root = x509.load_der_x509_certificate(client.get("/pki/root.crt").content)
    issuing = x509.load_der_x509_certificate(client.get("/pki/ca.crt").content)
    assert issuing.issuer == root.subject
    crl = x509.load_der_x509_crl(client.get("/pki/crl/root").content)
    assert crl.issuer == root.subject and crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]


def test_unreachable_tsa_issues_at_b_b_and_upgrade_raises_to_the_configured_level(
    hub_state: HubState,
    session: Session,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    # A hub whose external TSA is down (a closed port) still issues, at B-B, and records it.
    down = build_state(
        make_settings(
            hub_state.settings.data_dir,
            database_url=str(engine.url),
            signing={"tsa_url": "http://127.0.0.1:9/tsa"},
        )
    )
    try:
        down = down.with_sessions(hub_state.sessions)
        from hub.app import create_app

        dept = add_org(hub_state, session)
        type_code = add_certificate_type(session, definer=dept, issuers=[dept])
        token = client_token(hub_state, session, org=dept)
        session.commit()
        with TestClient(create_app(state=down)) as c:
            r = c.post(
                "/api/v1/certificates",
                json=issue_body(type_code, new_uscc("91310000")),
                headers=bearer(token),
            )
        assert r.status_code == 201, r.text
        assert r.json()["signature_level"] == "B-B"
    finally:
        down.close()

    # Back with the hub's own authority: `hub signatures upgrade` raises the file.
    done, failed = upgrade_signatures(hub_state)
    assert failed == 0 and done >= 1
    row = session.get(Certificate, r.json()["id"])
    session.refresh(row)
    assert row is not None and row.signature_level == hub_state.settings.signing.level
    pdf = hub_state.blobs.get(row.file_sha256)
    report = hub_state.signing.validate(session, pdf)
    assert report.passed and report.timestamped, report.problems
