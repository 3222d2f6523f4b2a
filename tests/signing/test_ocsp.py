"""OCSP responder: good, revoked, unknown, malformed, foreign issuer, nonce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing.crl import RevocationInfo
from signing.ocsp import CertStatus, build_response, respond
from signing.pki.convert import to_crypto
from tests.signing.conftest import HubEnv

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _request(
    hub: HubEnv, *, nonce: bytes | None = None, algorithm: hashes.HashAlgorithm | None = None
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        to_crypto(hub.seal.cert),
        to_crypto(hub.pki.issuing_cert),
        algorithm or hashes.SHA1(),  # noqa: S303
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _respond(hub: HubEnv, request: bytes, status: CertStatus) -> ocsp.OCSPResponse:
    der = respond(
        request,
        lambda serial: status,
        responder_cert=hub.pki.ocsp_cert,
        responder_key=hub.pki.ocsp_key,
        ca_cert=hub.pki.issuing_cert,
        now=NOW,
    )
    return ocsp.load_der_ocsp_response(der)


def test_good(hub: HubEnv) -> None:
    response = _respond(hub, _request(hub), None)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == int(hub.seal.cert.serial_number)
    assert response.this_update_utc == NOW


def test_revoked(hub: HubEnv) -> None:
    revoked_at = NOW - timedelta(days=3)
    response = _respond(hub, _request(hub), RevocationInfo(revoked_at, "key_compromise"))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == revoked_at
    assert response.revocation_reason is x509.ReasonFlags.key_compromise


def test_unknown(hub: HubEnv) -> None:
    assert _respond(hub, _request(hub), "unknown").certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def test_malformed_request(hub: HubEnv) -> None:
    for garbage in (b"", b"\x30\x03\x02\x01", b"hello"):
        assert _respond(hub, garbage, None).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_request_about_another_ca(hub: HubEnv) -> None:
    other = ocsp.OCSPRequestBuilder().add_certificate(
        to_crypto(hub.pki.issuing_cert),
        to_crypto(hub.pki.root_cert),
        hashes.SHA1(),  # noqa: S303
    )
    request = other.build().public_bytes(serialization.Encoding.DER)
    assert _respond(hub, request, None).response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_nonce_is_echoed(hub: HubEnv) -> None:
    response = _respond(hub, _request(hub, nonce=b"0123456789abcdef"), None)
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"0123456789abcdef"


def test_sha256_cert_ids(hub: HubEnv) -> None:
    response = _respond(hub, _request(hub, algorithm=hashes.SHA256()), None)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD


def test_response_is_signed_by_the_delegated_responder(hub: HubEnv) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    response = _respond(hub, _request(hub), None)
    responder = to_crypto(hub.pki.ocsp_cert)
    assert response.certificates == [responder]
    public = responder.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))


def test_failing_status_callback_gives_internal_error(hub: HubEnv) -> None:
    def broken(serial: int) -> CertStatus:
        raise RuntimeError("database down")

    der = respond(
        _request(hub),
        broken,
        responder_cert=hub.pki.ocsp_cert,
        responder_key=hub.pki.ocsp_key,
        ca_cert=hub.pki.issuing_cert,
        now=NOW,
    )
    assert ocsp.load_der_ocsp_response(der).response_status is ocsp.OCSPResponseStatus.INTERNAL_ERROR


def test_response_without_request_for_embedding(hub: HubEnv) -> None:
    der = build_response(
        hub.pki.tsa_cert,
        None,
        responder_cert=hub.pki.ocsp_cert,
        responder_key=hub.pki.ocsp_key,
        ca_cert=hub.pki.issuing_cert,
        now=NOW,
    )
    response = ocsp.load_der_ocsp_response(der)
    assert response.serial_number == int(hub.pki.tsa_cert.serial_number)
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
