"""核验: is a certificate authentic, intact, issued by whom, usable now? Answers are data, never exceptions.

Three ways in: a PDF (its seal checked by ``signing.validation`` and its registry entry looked up),
an identifier with its verification code, or an offline QR payload. In every case ``valid`` needs
the registry to say the certificate is usable now; for a PDF also an intact seal that chains to
the hub's trust list, by the certificate's own issuer, and nothing changed after sealing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Literal

from sqlalchemy.orm import Session

from catalog.queries import find_certificate_type, find_organization
from certificates.blobstore import digest_of
from certificates.codes import hash_verification_code
from certificates.errors import CertificateNotFound
from certificates.identifiers import parse
from certificates.lifecycle import Status, usability
from certificates.models import Certificate
from certificates.personal import face_of
from certificates.privacy import HolderVault
from certificates.repository import find_by_file
from certificates.untrusted_pdf import declared_identifier
from kernel.errors import ValidationFailed
from signing.qr.verify import decode_and_verify
from signing.trust import TrustList
from signing.validation import Coverage, Indication, SignatureReport

Result = Literal["valid", "invalid", "indeterminate"]

STATUS_WORDS = {
    Status.WITHHELD: "the certificate is withheld (暂扣) by its issuer",
    Status.WITHDRAWN: "the certificate was withdrawn (撤销) by its issuer",
    Status.CANCELLED: "the certificate was cancelled (注销)",
    Status.EXPIRED: "the certificate has expired (失效)",
    Status.TRANSFERRED: "the certificate was transferred out (迁出)",
    Status.REVOKED: "the certificate was revoked (吊销)",
    Status.OTHER: "the certificate is not in force (其他)",
}


@dataclass(frozen=True)
class CertificateSummary:
    """A certificate as any verifier is shown it: no holder code, no face data."""

    id: str
    status: str
    type_name: str
    issuer_name: str
    issuer_code: str
    holder_name: str
    valid_until: date | None


@dataclass(frozen=True)
class Verification:
    result: Result
    certificate: CertificateSummary | None
    signature: SignatureReport | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)


def summary(session: Session, cert: Certificate, today: date) -> CertificateSummary:
    ctype = find_certificate_type(session, cert.type_code)
    issuer = find_organization(session, cert.issuer_code)
    return CertificateSummary(
        id=cert.id,
        status=usability(cert, today).status.value,
        type_name=ctype.name if ctype else cert.type_code,
        issuer_name=issuer.name if issuer else cert.issuer_code,
        issuer_code=cert.issuer_code,
        holder_name=cert.holder_name,
        valid_until=cert.valid_until,
    )


def registry_problems(cert: Certificate, today: date) -> list[str]:
    """Why the registry says this certificate is not usable now (empty when it is)."""
    state = usability(cert, today)
    problems = []
    if state.replaced_by is not None:
        problems.append(f"this version was replaced by a newer one ({state.replaced_by})")
    if state.status is not Status.VALID:
        problems.append(STATUS_WORDS[state.status])
    elif state.not_yet_valid:
        problems.append("the certificate is not valid yet")
    return problems


def find_certificate_for_pdf(
    session: Session, pdf: bytes, declared: Callable[[], str | None]
) -> Certificate | None:
    """The registry entry for a file: by its exact hash, else by the identifier it declares
    (``declared`` reads it from the file, and is called only when the hash finds nothing)."""
    cert = find_by_file(session, digest_of(pdf))
    if cert is not None:
        return cert
    identifier = declared()
    return session.get(Certificate, identifier) if identifier else None


def verify_pdf(
    session: Session,
    pdf: bytes,
    report: SignatureReport,
    today: date,
    *,
    copy_sealer: str | None = None,
    declared: Callable[[], str | None] | None = None,
) -> Verification:
    """Combine the seal's report with the registry.

    ``copy_sealer``: the USCC in the hub's own seal; a document it sealed that names a certificate
    is that certificate's annotated copy (加注件), sealed by the hub instead of the issuer.
    ``declared``: reads the identifier the file declares; by default ``declared_identifier`` here —
    the hub passes one that reads an uploaded file in a bounded worker."""
    read = declared or partial(declared_identifier, pdf)
    cert = find_certificate_for_pdf(session, pdf, read) if report.signed else None
    info = summary(session, cert, today) if cert is not None else None
    result, problems = pdf_verdict(report, cert, today, copy_sealer=copy_sealer)
    return Verification(result, info, report, problems)


def seal_verdict(report: SignatureReport) -> tuple[Result, list[str]]:
    """What the seal alone says (its validation, and whether the file changed after sealing), before
    the registry or a trust list has its say; an unsealed file is ``invalid``."""
    problems = list(report.problems)
    if not report.signed:
        return "invalid", problems or ["the document carries no seal"]
    result: Result
    if report.indication is Indication.TOTAL_FAILED or not report.intact:
        result = "invalid"
    elif report.indication is Indication.INDETERMINATE:
        result = "indeterminate"
    else:
        result = "valid"
    if report.coverage is Coverage.MODIFIED or report.modified_after_signing:
        result = "invalid"
        if not any("after" in p for p in problems):
            problems.append("the document was changed after it was sealed")
    return result, problems


def pdf_verdict(
    report: SignatureReport, cert: Certificate | None, today: date, *, copy_sealer: str | None = None
) -> tuple[Result, tuple[str, ...]]:
    """The answer for a PDF from its seal's report and its registry entry (None when there is none)."""
    result, problems = seal_verdict(report)
    if not report.signed:
        return result, tuple(problems)
    if cert is None:
        if result == "valid":
            result = "indeterminate"
        problems.append("the hub's registry holds no certificate for this document")
    else:
        sealers = {cert.issuer_code, copy_sealer} - {None}
        if report.signer_uscc is not None and report.signer_uscc not in sealers:
            result = "invalid"
            problems.append("the seal is not the issuing department's")
        registry = registry_problems(cert, today)
        if registry:
            result = "invalid" if result != "indeterminate" else result
            problems.extend(registry)
    return result, tuple(problems)


def verify_by_code(session: Session, certificate_id: str, code: str, today: date) -> Verification:
    """Identifier + verification code: a wrong code is NotFound, exactly like an unknown identifier."""
    try:
        parse(certificate_id)
    except ValidationFailed:
        raise CertificateNotFound("no certificate with this identifier and code") from None
    cert = session.get(Certificate, certificate_id)
    expected = cert.verification_code_hash if cert is not None else "0" * 64
    if not hmac.compare_digest(expected, hash_verification_code(code or "")) or cert is None:
        raise CertificateNotFound("no certificate with this identifier and code")
    problems = registry_problems(cert, today)
    return Verification(
        "invalid" if problems else "valid", summary(session, cert, today), None, tuple(problems)
    )


def verify_qr(
    session: Session, vault: HolderVault, text: str, trust: TrustList, now: datetime
) -> Verification:
    """A scanned QR payload: its signature against the trust list, then what the registry says."""
    checked = decode_and_verify(text, trust, now)
    if not checked.ok or checked.claims is None:
        return Verification("invalid", None, None, checked.problems)
    claims = checked.claims
    problems = list(checked.problems)
    today = now.date()
    cert = session.get(Certificate, claims.identifier)
    if cert is None:
        return Verification(
            "indeterminate", None, None, (*problems, "the hub's registry holds no such certificate")
        )
    info = summary(session, cert, today)
    if not claims.matches_face(face_of(vault, cert)) or claims.holder_name != cert.holder_name:
        problems.append("the QR code does not match the certificate in the registry")
    problems.extend(p for p in registry_problems(cert, today) if p not in problems)
    return Verification("invalid" if problems else "valid", info, None, tuple(problems))


def offline_verdict(report: SignatureReport, seals_in_force: set[int]) -> tuple[Result, tuple[str, ...]]:
    """The answer for a PDF checked against a published trust list alone, without the registry:
    ``seals_in_force`` are the serial numbers of the seal certificates the list publishes (those
    not revoked when it was fetched). ``valid`` means sealed, intact, chaining to the list's roots
    by a seal in force; whether the certificate itself is still in force only the hub can say."""
    result, problems = seal_verdict(report)
    if not report.signed:
        return result, tuple(problems)
    if report.signer_serial is not None and report.signer_serial not in seals_in_force:
        result = "invalid" if result == "invalid" else "indeterminate"
        problems.append(
            "the seal is not among the trust list's seals in force "
            "(revoked since, or the list is older than the seal)"
        )
    return result, tuple(problems)
