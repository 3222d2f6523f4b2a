"""What the hub reads from a PDF it has no reason to trust: its seal's report and the identifier it
declares — the functions the hub runs in its bounded worker processes (``hub/isolation.py``).

They take and return plain data (DER bytes, dataclasses), since they cross a process boundary, and
this module imports only what they need, since every worker imports it when it starts.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import x509 as asn1_x509
from pypdf import PdfReader

from signing.crl import RevocationInfo
from signing.validation import SignatureReport, validate_pdf

# A GB/T 36904 identifier, as a certificate the hub rendered declares it in its /Subject.
IDENTIFIER = re.compile(r"1\.2\.156\.3005\.2\.[0-9A-Z]{21}\.[0-9A-Z]{18}\.[0-9A-Z]{7,32}\.\d{3}\.[0-9A-Z]")


@dataclass(frozen=True)
class TrustAnchors:
    """The certificates a seal must chain to (``roots``) and may chain through, as DER."""

    roots: tuple[bytes, ...]
    intermediates: tuple[bytes, ...] = ()


@lru_cache(maxsize=8)
def _certificates(ders: tuple[bytes, ...]) -> tuple[asn1_x509.Certificate, ...]:
    """Parsed once per process: every validation of a worker shares the same objects."""
    return tuple(asn1_x509.Certificate.load(der) for der in ders)


def seal_report(
    pdf: bytes, anchors: TrustAnchors, revoked: Mapping[int, RevocationInfo]
) -> SignatureReport:
    """``signing.validation.validate_pdf`` against ``anchors``; ``revoked`` (by serial number) is
    what the caller's registry says of seal certificates that were revoked."""
    return validate_pdf(
        pdf,
        _certificates(anchors.roots),
        intermediates=_certificates(anchors.intermediates),
        revocation_lookup=(lambda cert: revoked.get(int(cert.serial_number))) if revoked else None,
    )


def declared_identifier(pdf: bytes) -> str | None:
    """The certificate identifier the file declares in its document information, if any."""
    try:
        metadata = PdfReader(io.BytesIO(pdf)).metadata
        subject = str(metadata.get("/Subject") or "") if metadata is not None else ""
    except Exception:  # an unreadable file has no identifier to find
        return None
    match = IDENTIFIER.search(subject)
    return match.group(0) if match else None
