"""Issuing and managing certificates: identifiers, idempotency, lifecycle, versions, reads.

Order of work for an issuance: check → identifier → render (unless the department sent its PDF) →
seal → write the blob → add the rows. The caller commits; a blob whose row never commits is an
orphan that ``hub storage gc`` removes after its grace period. Services only flush().
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.models import CertificateType, CertificateTypeIssuer, Organization
from certificates.blobstore import BlobStore
from certificates.identifiers import CertificateIdentifier, parse
from certificates.issuance import IssuanceRequest, check_request
from certificates.lifecycle import CHANGEABLE, Status, effective_status, transition
from certificates.models import Certificate, CertificateEvent, IssuanceKey, SerialCounter
from certificates.privacy import HolderVault
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed

VERIFICATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
VERIFICATION_LENGTH = 10


@dataclass(frozen=True)
class SealedPdf:
    pdf: bytes
    level: str


class Sealing(Protocol):
    """The seam where sealed bytes come back: the hub wires the signing library in here."""

    def seal(
        self, pdf: bytes, *, issuer_code: str, seal_box: tuple[float, float, float, float] | None
    ) -> SealedPdf: ...


@dataclass(frozen=True)
class Draft:
    """Everything the renderer needs to draw one certificate."""

    identifier: str
    type_name: str
    type_fields: list[dict[str, Any]]
    issuer_name: str
    request: IssuanceRequest
    verification_code: str


class Renderer(Protocol):
    def __call__(self, draft: Draft) -> tuple[bytes, tuple[float, float, float, float] | None]: ...


@dataclass
class CertificateServices:
    """What issuance needs from outside the database; built once by the hub."""

    vault: HolderVault
    blobs: BlobStore
    sealing: Sealing
    render: Renderer
    check_upload: Callable[[bytes], None]
    today: Callable[[], date] = lambda: datetime.now(UTC).date()


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    created: bool
    verification_code: str


def hash_verification_code(code: str) -> str:
    return hashlib.sha256(b"hub/verification-code:" + code.upper().encode()).hexdigest()


def new_verification_code() -> str:
    return "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_LENGTH))


def load_type(session: Session, type_code: str) -> CertificateType:
    ctype = session.get(CertificateType, type_code)
    if ctype is None:
        raise ValidationFailed(f"certificate type {type_code} is not in the catalog", field="type_code")
    return ctype


def may_issue(session: Session, type_code: str, org_code: str) -> bool:
    return session.get(CertificateTypeIssuer, (type_code, org_code)) is not None


SERIAL_SEQUENCE = "certificate_serial_seq"  # PostgreSQL, created by migration 0002


def next_serial(session: Session, issuer_code: str) -> str:
    """The issuer's next serial, unique even with many processes issuing at once.

    PostgreSQL: a sequence, which holds no lock for the rest of the transaction, so one issuer's
    certificates are sealed in parallel (serials are then unique across issuers too). SQLite: the
    issuer's counter row, incremented under the database write lock every writer holds anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(select(func.nextval(SERIAL_SEQUENCE))).scalar_one()
        return f"{value:010d}"
    stmt = (
        update(SerialCounter)
        .where(SerialCounter.issuer_code == issuer_code)
        .values(last_value=SerialCounter.last_value + 1)
        .returning(SerialCounter.last_value)
    )
    value = session.execute(stmt).scalar_one_or_none()
    if value is None:
        try:
            with session.begin_nested():
                session.add(SerialCounter(issuer_code=issuer_code, last_value=0))
        except IntegrityError:
            pass  # another transaction created it first
        value = session.execute(stmt).scalar_one()
    return f"{value:010d}"


def issue_certificate(
    session: Session, services: CertificateServices, *, issuer_code: str, request: IssuanceRequest, actor: str
) -> Issued:
    """Issue one certificate, or return the one already issued for this (issuer, external_id)."""
    ctype = load_type(session, request.type_code)
    if not may_issue(session, request.type_code, issuer_code):
        raise Forbidden(
            f"organization {issuer_code} may not issue certificate type {request.type_code}",
            code="not_an_issuer_of_type",
        )
    content_hash = request.content_hash()
    existing = _existing_issuance(session, services, issuer_code, request.external_id, content_hash)
    if existing is not None:
        return existing
    _check(services, request, ctype)

    if request.serial is not None:
        serial = request.serial
        if _serial_used(session, issuer_code, serial):
            raise Conflict(f"serial {serial} is already used by this issuer", code="serial_taken")
    else:
        # A department may have chosen a serial the counter reaches later: skip over it.
        serial = next_serial(session, issuer_code)
        while _serial_used(session, issuer_code, serial):
            serial = next_serial(session, issuer_code)
    identifier = CertificateIdentifier(request.type_code, issuer_code, serial, 1)
    issuer = session.get(Organization, issuer_code)
    assert issuer is not None
    code = new_verification_code()
    cert = _build_version(
        services,
        identifier=identifier,
        ctype=ctype,
        issuer=issuer,
        request=request,
        verification_code=code,
        content_hash=content_hash,
    )
    key = IssuanceKey(
        issuer_code=issuer_code,
        external_id=request.external_id,
        content_hash=content_hash,
        certificate_id=cert.id,
    )
    try:
        with session.begin_nested():
            session.add_all([cert, key])
    except IntegrityError:
        # The same external_id raced us and committed first: answer as a repeat would.
        existing = _existing_issuance(session, services, issuer_code, request.external_id, content_hash)
        if existing is None:
            # Another issuance took the same serial at the same moment (a department-chosen one).
            raise Conflict("a concurrent issuance took this serial; retry", code="serial_taken") from None
        return existing
    _record(session, cert, "issue", None, Status.VALID, actor, None)
    return Issued(cert, True, code)


def _serial_used(session: Session, issuer_code: str, serial: str) -> bool:
    used = select(Certificate.id).where(Certificate.issuer_code == issuer_code, Certificate.serial == serial)
    return session.scalar(used.limit(1)) is not None


def _check(services: CertificateServices, request: IssuanceRequest, ctype: CertificateType) -> None:
    """Everything the type decides about a request, and the department's own PDF if it sent one."""
    check_request(request, ctype.definition, ctype.holder_kind)
    if request.file is not None:
        services.check_upload(request.file)


def _existing_issuance(
    session: Session, services: CertificateServices, issuer_code: str, external_id: str, content_hash: str
) -> Issued | None:
    key = session.get(IssuanceKey, (issuer_code, external_id))
    if key is None:
        return None
    if key.content_hash != content_hash:
        raise Conflict(
            "this external_id was already used with different content", code="external_id_conflict"
        )
    cert = session.get(Certificate, key.certificate_id)
    assert cert is not None
    return Issued(cert, False, services.vault.decrypt(cert.verification_code_enc, purpose=b"verification"))


def _build_version(
    services: CertificateServices,
    *,
    identifier: CertificateIdentifier,
    ctype: CertificateType,
    issuer: Organization,
    request: IssuanceRequest,
    verification_code: str,
    content_hash: str,
    predecessor_id: str | None = None,
) -> Certificate:
    """Render (or take the uploaded PDF), seal and write the blob; return the row, not yet added."""
    draft = Draft(
        identifier=str(identifier),
        type_name=ctype.name,
        type_fields=list(ctype.definition.get("fields", [])),
        issuer_name=issuer.name,
        request=request,
        verification_code=verification_code,
    )
    if request.file is not None:
        pdf, box = request.file, None
    else:
        pdf, box = services.render(draft)
    sealed = services.sealing.seal(pdf, issuer_code=issuer.code, seal_box=box)
    sha256 = services.blobs.put(sealed.pdf)
    cert = Certificate(
        id=str(identifier),
        type_code=ctype.code,
        issuer_code=issuer.code,
        serial=identifier.serial,
        version=identifier.version,
        predecessor_id=predecessor_id,
        status=Status.VALID.value,
        external_id=request.external_id,
        content_hash=content_hash,
        holder_kind=request.holder.kind,
        holder_name=request.holder.name,
        holder_code_enc=services.vault.encrypt(request.holder.code),
        holder_index=services.vault.blind_index(request.holder.kind, request.holder.code),
        issued_on=request.issued_on,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        area_code=request.area_code,
        data=request.data,
        file_sha256=sha256,
        signature_level=sealed.level,
        verification_code_hash=hash_verification_code(verification_code),
        verification_code_enc=services.vault.encrypt(verification_code, purpose=b"verification"),
    )
    return cert


def _record(
    session: Session,
    cert: Certificate,
    action: str,
    from_status: Status | None,
    to_status: Status,
    actor: str,
    reason: str | None,
) -> None:
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


def get_certificate(session: Session, certificate_id: str, *, lock: bool = False) -> Certificate:
    try:
        parse(certificate_id)
    except ValidationFailed:
        raise NotFound("no such certificate", code="certificate_not_found") from None
    stmt = select(Certificate).where(Certificate.id == certificate_id)
    if lock:
        stmt = stmt.with_for_update()
    cert = session.scalar(stmt)
    if cert is None:
        raise NotFound("no such certificate", code="certificate_not_found")
    return cert


def change_status(
    session: Session,
    *,
    certificate_id: str,
    caller_org: str | None,
    target: str,
    reason: str | None,
    actor: str,
    today: date,
) -> Certificate:
    """Move a certificate along the lifecycle under a row lock; only its issuer may."""
    cert = get_certificate(session, certificate_id, lock=True)
    if cert.issuer_code != caller_org:
        raise Forbidden("only the issuing department changes a certificate's status", code="not_the_issuer")
    try:
        to = Status(target)
    except ValueError:
        raise ValidationFailed(f"unknown status code {target!r}", field="status") from None
    if to is Status.OTHER and not (reason and reason.strip()):
        raise ValidationFailed("status 99 needs a reason describing it", field="reason")
    if cert.successor_id is not None:
        raise Conflict("this version was replaced by a newer one", code="invalid_transition")
    current = effective_status(cert.status, cert.valid_until, today)
    if current is Status.EXPIRED and Status(cert.status) is not Status.EXPIRED:
        # Expired by date but not yet recorded: record it first, so the history stays true.
        _record(session, cert, "expire", Status(cert.status), Status.EXPIRED, "system", "validity ended")
        cert.status = Status.EXPIRED.value
    action = transition(current, to)
    cert.status = to.value
    _record(session, cert, action, current, to, actor, reason)
    return cert


def expire_due(session: Session, *, today: date, actor: str = "system") -> int:
    """Record status 05 for every certificate whose validity has ended (``hub certificates expire``)."""
    due = session.scalars(
        select(Certificate)
        .where(
            Certificate.valid_until < today,
            Certificate.status.in_([Status.VALID.value, Status.WITHHELD.value]),
        )
        .with_for_update()
    ).all()
    for cert in due:
        _record(session, cert, "expire", Status(cert.status), Status.EXPIRED, actor, "validity ended")
        cert.status = Status.EXPIRED.value
    session.flush()
    return len(due)


def new_version(
    session: Session,
    services: CertificateServices,
    *,
    certificate_id: str,
    caller_org: str | None,
    request: IssuanceRequest,
    actor: str,
) -> Issued:
    """A change (变更): a new version with version + 1; the old one stops being usable and points to it."""
    old = get_certificate(session, certificate_id, lock=True)
    if old.issuer_code != caller_org:
        raise Forbidden("only the issuing department changes a certificate", code="not_the_issuer")
    if old.successor_id is not None:
        raise Conflict("this version was already replaced", code="invalid_transition")
    current = effective_status(old.status, old.valid_until, services.today())
    if current not in CHANGEABLE:
        raise Conflict(
            f"a certificate in status {current.value} cannot be changed", code="invalid_transition"
        )
    ctype = load_type(session, old.type_code)
    _check(services, request, ctype)
    issuer = session.get(Organization, old.issuer_code)
    assert issuer is not None
    identifier = parse(old.id).next_version()
    code = new_verification_code()
    cert = _build_version(
        services,
        identifier=identifier,
        ctype=ctype,
        issuer=issuer,
        request=request,
        verification_code=code,
        content_hash=request.content_hash(),
        predecessor_id=old.id,
    )
    session.add(cert)
    session.flush()
    old.successor_id = cert.id
    _record(session, old, "change", current, current, actor, f"replaced by version {identifier.version_text}")
    _record(
        session, cert, "issue", None, Status.VALID, actor, f"change of version {parse(old.id).version_text}"
    )
    return Issued(cert, True, code)


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
    if usable_only:
        stmt = stmt.where(
            Certificate.status == Status.VALID.value,
            Certificate.successor_id.is_(None),
            Certificate.valid_from <= today,
            (Certificate.valid_until.is_(None)) | (Certificate.valid_until >= today),
        )
    yield from session.scalars(stmt.order_by(Certificate.created_at))
