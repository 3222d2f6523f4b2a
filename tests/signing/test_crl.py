"""CRLs list what the caller says is revoked, signed by the issuer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from signing.crl import RevocationInfo, RevokedCertificate, build_crl
from signing.pki.convert import to_crypto
from tests.signing.conftest import HubEnv

NOW = datetime(2030, 1, 2, tzinfo=UTC)


def _crl(hub: HubEnv, revoked: list[RevokedCertificate]) -> x509.CertificateRevocationList:
    der = build_crl(
        hub.pki.issuing_cert,
        hub.pki.issuing_key,
        revoked,
        this_update=NOW,
        next_update=NOW + timedelta(days=7),
    )
    return x509.load_der_x509_crl(der)


def test_lists_revoked_serials_with_dates_and_reasons(hub: HubEnv) -> None:
    crl = _crl(
        hub,
        [
            RevokedCertificate(1234, RevocationInfo(NOW - timedelta(days=1), "key_compromise")),
            RevokedCertificate(5678, RevocationInfo(NOW - timedelta(days=2))),
        ],
    )
    entry = crl.get_revoked_certificate_by_serial_number(1234)
    assert entry is not None and entry.revocation_date_utc == NOW - timedelta(days=1)
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        is x509.ReasonFlags.key_compromise
    )
    assert crl.get_revoked_certificate_by_serial_number(5678) is not None
    assert crl.get_revoked_certificate_by_serial_number(9999) is None


def test_accepts_plain_tuples(hub: HubEnv) -> None:
    der = build_crl(
        hub.pki.issuing_cert,
        hub.pki.issuing_key,
        [(42, NOW, "superseded")],
        this_update=NOW,
        next_update=NOW + timedelta(days=1),
    )
    assert x509.load_der_x509_crl(der).get_revoked_certificate_by_serial_number(42) is not None


def test_empty_crl_is_valid(hub: HubEnv) -> None:
    assert len(_crl(hub, [])) == 0


def test_signed_by_the_issuer_with_dates_and_number(hub: HubEnv) -> None:
    crl = _crl(hub, [])
    issuer = to_crypto(hub.pki.issuing_cert)
    public = issuer.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(public)
    assert crl.issuer == issuer.subject
    assert (crl.last_update_utc, crl.next_update_utc) == (NOW, NOW + timedelta(days=7))
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == int(NOW.timestamp())
