"""Certificate revocation lists (RFC 5280 § 5).

The library keeps no revocation state: the caller (the hub, from its database) passes the revoked
certificates in, and publishes the DER it gets back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from signing.filekeys import PrivateKey
from signing.pki.convert import to_crypto

__all__ = ["RevocationInfo", "RevokedCertificate", "build_crl"]


@dataclass(frozen=True)
class RevocationInfo:
    """When and why a certificate was revoked. ``reason`` is an RFC 5280 reason name, e.g.
    ``"key_compromise"``, ``"cessation_of_operation"``, ``"superseded"``; None = unspecified."""

    revoked_at: datetime
    reason: str | None = None

    @property
    def reason_flag(self) -> x509.ReasonFlags | None:
        if self.reason is None:
            return None
        aliases = {"keyCompromise": "key_compromise", "cessationOfOperation": "cessation_of_operation"}
        return x509.ReasonFlags[aliases.get(self.reason, self.reason)]


@dataclass(frozen=True)
class RevokedCertificate:
    """One entry of a CRL."""

    serial: int
    info: RevocationInfo


def build_crl(
    issuer_cert: asn1_x509.Certificate,
    issuer_key: PrivateKey,
    revoked: Iterable[RevokedCertificate | tuple[int, datetime, str | None]],
    *,
    this_update: datetime,
    next_update: datetime,
    crl_number: int | None = None,
) -> bytes:
    """A DER CRL signed by ``issuer_key``, listing ``revoked``.

    ``crl_number`` defaults to ``this_update`` in seconds, which only grows as time goes on.
    """
    issuer = to_crypto(issuer_cert)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(
            x509.CRLNumber(crl_number if crl_number is not None else int(this_update.timestamp())),
            critical=False,
        )
    )
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    except x509.ExtensionNotFound:
        pass
    for entry in revoked:
        if not isinstance(entry, RevokedCertificate):
            entry = RevokedCertificate(entry[0], RevocationInfo(entry[1], entry[2]))
        item = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.info.revoked_at)
        )
        flag = entry.info.reason_flag
        if flag is not None and flag is not x509.ReasonFlags.unspecified:
            item = item.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(item.build())
    crl = builder.sign(issuer_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)
