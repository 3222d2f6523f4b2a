"""``hub verify FILE`` away from any hub: a sealed PDF checked against a published trust list
(``GET /api/v1/trust``, from a file or fetched from a hub), creating nothing on disk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

from certificates.untrusted_pdf import declared_identifier
from certificates.verification import offline_verdict
from signing.trust import TrustList, TrustListError
from signing.validation import validate_pdf

TRUST_PATH = "/api/v1/trust"
NOTE = "checked offline against the trust list; the certificate's current status needs the hub"


class TrustSourceError(ValueError):
    """The trust list could not be had (unreachable hub, not a trust list); one line for people."""


def fetch_trust_list(url: str, *, timeout: float = 10.0) -> TrustList:
    """The trust list a hub publishes at ``url`` (its base URL, or the trust list's own)."""
    import httpx

    target = url.rstrip("/")
    if not target.endswith(TRUST_PATH):
        target += TRUST_PATH
    try:
        response = httpx.get(target, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as e:
        raise TrustSourceError(f"cannot fetch the trust list from {target}: {e}") from None
    try:
        return TrustList.from_json(response.content)
    except TrustListError as e:
        raise TrustSourceError(f"{target} is not a trust list: {e}") from None


def _certificate(text: str) -> asn1_x509.Certificate:
    data = text.encode()
    if asn1_pem.detect(data):
        _, _, data = asn1_pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko logs a warning for every chain it cannot build; the report already says why, once."""
    logger = logging.getLogger("pyhanko")
    saved = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(saved)


def verify_offline(pdf: bytes, trust: TrustList, today: date) -> dict[str, Any]:
    """The verdict on ``pdf`` against ``trust`` alone, as ``hub verify`` prints it."""
    try:
        roots = [_certificate(p) for p in trust.roots]
        intermediates = [_certificate(p) for p in trust.intermediates]
        seals = {str(s.get("org")): s for s in trust.seals}
        in_force = {int(_certificate(str(s.get("certificate"))).serial_number) for s in trust.seals}
    except (ValueError, TypeError) as e:
        raise TrustSourceError(f"the trust list holds a certificate that cannot be read: {e}") from None
    if not roots:
        raise TrustSourceError("the trust list names no root certificate")
    with _quiet_pyhanko():
        report = validate_pdf(pdf, roots, intermediates=intermediates)
    result, problems = offline_verdict(report, in_force)
    issuer = seals.get(report.signer_uscc or "")
    return {
        "result": result,
        "signature": None
        if not report.signed
        else {
            "intact": report.intact,
            "trusted": report.trusted,
            "signed_by": report.signed_by,
            "signed_at": report.signed_at.isoformat() if report.signed_at else None,
            "timestamped": report.timestamped,
            "level": report.level,
            "indication": report.indication.value,
            "sub_indication": report.sub_indication,
        },
        "certificate": None
        if not report.signed
        else {
            "id": declared_identifier(pdf),
            "issuer_code": report.signer_uscc,
            "issuer_name": issuer.get("name") if issuer else None,
        },
        "problems": list(problems),
        "checked_on": today.isoformat(),
        "note": NOTE,
    }
