"""Reading and recording certificates: the queries other modules of this package share."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.log import Event
from audit.log import record as audit_record
from certificates.errors import CertificateNotFound
from certificates.identifiers import parse
from certificates.lifecycle import Status, usability
from certificates.models import Certificate, CertificateEvent
from certificates.privacy import HolderVault
from kernel.errors import ValidationFailed


def get_certificate(session: Session, certificate_id: str, *, lock: bool = False) -> Certificate:
    """The certificate version ``certificate_id`` (row-locked with ``lock``), or CertificateNotFound."""
    try:
        parse(certificate_id)
    except ValidationFailed:
        raise CertificateNotFound("no such certificate") from None
    stmt = select(Certificate).where(Certificate.id == certificate_id)
    if lock:
        stmt = stmt.with_for_update()
    cert = session.scalar(stmt)
    if cert is None:
        raise CertificateNotFound("no such certificate")
    return cert


def find_by_file(session: Session, sha256: str) -> Certificate | None:
    """The certificate whose sealed file has this SHA-256, if any."""
    return session.scalar(select(Certificate).where(Certificate.file_sha256 == sha256).limit(1))


def first_of_issuer(session: Session, issuer_code: str) -> Certificate | None:
    """The issuer's certificate with the lowest identifier (the demo's example), if any."""
    stmt = select(Certificate).where(Certificate.issuer_code == issuer_code).order_by(Certificate.id)
    return session.scalars(stmt.limit(1)).first()


def holder_certificates(
    session: Session,
    vault: HolderVault,
    *,
    holder_kind: str,
    holder_code: str,
    today: date,
    usable_only: bool,
) -> Iterator[Certificate]:
    """All (usable) certificates of a holder: one range scan on the blind-index index."""
    stmt = select(Certificate).where(Certificate.holder_index == vault.blind_index(holder_kind, holder_code))
    for cert in session.scalars(stmt.order_by(Certificate.created_at)):
        if not usable_only or usability(cert, today).usable:
            yield cert


def record_event(
    session: Session,
    cert: Certificate,
    action: str,
    from_status: Status | None,
    to_status: Status,
    actor: str,
    reason: str | None,
) -> None:
    """Append one entry to the certificate's history (certificate_events) and to the audit log."""
    session.add(
        CertificateEvent(
            certificate_id=cert.id,
            action=action,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value,
            actor=actor,
            reason=reason,
        )
    )
    session.flush()
    details: dict[str, object] = {"to": to_status.value}
    if from_status is not None:
        details["from"] = from_status.value
    if reason:
        details["reason"] = reason
    audit_record(
        session,
        Event(
            action=f"certificate.{action}",
            actor=actor,
            org_code=cert.issuer_code,
            subject=cert.holder_index,
            certificate_id=cert.id,
            details=details,
        ),
    )
