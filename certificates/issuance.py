"""Issuing a certificate (签发): check → identifier → render (unless the department sent its PDF) →
seal → write the blob → add the rows.

The caller commits; a blob whose row never commits is an orphan that ``hub storage gc`` removes
after its grace period. Services only flush().
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.queries import CertificateTypeView, OrganizationView, find_certificate_type, find_organization
from catalog.service import can_issue
from certificates.codes import hash_verification_code, new_verification_code
from certificates.errors import ExternalIdConflict, NotAnIssuerOfType, SerialTaken
from certificates.identifiers import CertificateIdentifier
from certificates.lifecycle import Status
from certificates.models import Certificate, IssuanceKey
from certificates.personal import protect
from certificates.ports import CertificateServices, Draft, Issued
from certificates.repository import record_event
from certificates.requests import IssuanceRequest, check_request
from certificates.serials import serial_used, unused_serial
from kernel.db import UnitOfWork
from kernel.errors import ValidationFailed


@dataclass(frozen=True)
class UnitsOfWork:
    """Where each phase of an issuance runs: ``read`` opens a transaction that takes no write lock
    (on SQLite a deferred one), ``write`` a writing one; each commits when its block ends."""

    read: UnitOfWork
    write: UnitOfWork

    @classmethod
    def within(cls, session: Session) -> UnitsOfWork:
        """Every phase in the caller's one transaction (the caller commits)."""
        return cls(read=lambda: nullcontext(session), write=lambda: nullcontext(session))


def issue_certificate(
    session: Session, services: CertificateServices, *, issuer_code: str, request: IssuanceRequest, actor: str
) -> Issued:
    """Issue one certificate in the caller's transaction (see ``issue``)."""
    return issue(
        UnitsOfWork.within(session), lambda _: services, issuer_code=issuer_code, request=request, actor=actor
    )


def issue(
    units: UnitsOfWork,
    services_for: Callable[[Session], CertificateServices],
    *,
    issuer_code: str,
    request: IssuanceRequest,
    actor: str,
) -> Issued:
    """Issue one certificate, or return the one already issued for this (issuer, external_id).

    Four phases, so that the database write lock is held only for a moment, never through
    rendering and sealing (tens of ms of CPU): check (read) → allocate the serial and make sure
    the issuer's seal exists (write) → render, seal and store the file (read: revocation look-ups
    only) → add the rows (write). A failure after the allocation leaves a gap in the serials and
    at most an orphaned blob (``hub storage gc``), never a row.
    """
    with units.read() as session:
        checked = check_issuance(session, services_for(session), issuer_code=issuer_code, request=request)
    if isinstance(checked, Issued):
        return checked
    with units.write() as session:
        (drafted,) = allocate(session, services_for(session), [checked])
    with units.read() as session:
        cert = seal_draft(services_for(session), drafted)
    with units.write() as session:
        return record_issuance(session, services_for(session), drafted, cert, actor=actor)


@dataclass(frozen=True)
class Checked:
    """An issuance request that passed every check and is not a repeat."""

    issuer_code: str
    request: IssuanceRequest
    content_hash: str
    ctype: CertificateTypeView
    issuer: OrganizationView


@dataclass(frozen=True)
class Drafted:
    """A checked request with its identifier and verification code: ready to render and seal."""

    checked: Checked
    identifier: CertificateIdentifier
    verification_code: str


def check_issuance(
    session: Session, services: CertificateServices, *, issuer_code: str, request: IssuanceRequest
) -> Checked | Issued:
    """Phase 1 (reads only): the checks, or the earlier issuance this request repeats."""
    content_hash = request.content_hash()
    ctype = certificate_type(session, request.type_code)
    if not can_issue(session, request.type_code, issuer_code):
        raise NotAnIssuerOfType(
            f"organization {issuer_code} may not issue certificate type {request.type_code}"
        )
    existing = _existing_issuance(session, services, issuer_code, request.external_id, content_hash)
    if existing is not None:
        return existing
    check_against_type(services, request, ctype)
    if request.serial is not None and serial_used(session, issuer_code, request.serial):
        raise SerialTaken(f"serial {request.serial} is already used by this issuer")
    return Checked(issuer_code, request, content_hash, ctype, issuer(session, issuer_code))


def allocate(session: Session, services: CertificateServices, checked: list[Checked]) -> list[Drafted]:
    """Phase 2 (a short write): serials for every request, and each issuer's seal made sure of."""
    drafted = []
    for item in checked:
        serial = item.request.serial or unused_serial(session, item.issuer_code)
        identifier = CertificateIdentifier(item.request.type_code, item.issuer_code, serial, 1)
        drafted.append(Drafted(item, identifier, new_verification_code()))
    for issuer_code in sorted({item.issuer_code for item in checked}):
        services.sealing.prepare(issuer_code)
    return drafted


def seal_draft(services: CertificateServices, drafted: Drafted) -> Certificate:
    """Phase 3 (no write): render, seal and store the file; the row is not yet added."""
    item = drafted.checked
    return build_version(
        services,
        identifier=drafted.identifier,
        ctype=item.ctype,
        issuer=item.issuer,
        request=item.request,
        verification_code=drafted.verification_code,
        content_hash=item.content_hash,
    )


def record_issuance(
    session: Session, services: CertificateServices, drafted: Drafted, cert: Certificate, *, actor: str
) -> Issued:
    """Phase 4 (write): add the certificate, its idempotency key and its event.

    A race lost on the same ``external_id`` answers as a repeat would; one lost on a serial is
    SerialTaken. Other rows of the same transaction are untouched (a savepoint)."""
    item = drafted.checked
    key = IssuanceKey(
        issuer_code=item.issuer_code,
        external_id=item.request.external_id,
        content_hash=item.content_hash,
        certificate_id=cert.id,
    )
    try:
        with session.begin_nested():
            session.add_all([cert, key])
    except IntegrityError:
        external_id = item.request.external_id
        existing = _existing_issuance(session, services, item.issuer_code, external_id, item.content_hash)
        if existing is None:
            # Another issuance took the same serial at the same moment (a department-chosen one).
            raise SerialTaken("a concurrent issuance took this serial; retry") from None
        return existing
    record_event(session, cert, "issue", None, Status.VALID, actor, None)
    return Issued(cert, True, drafted.verification_code)


def certificate_type(session: Session, type_code: str) -> CertificateTypeView:
    """The type a request names, or ValidationFailed on ``type_code``."""
    ctype = find_certificate_type(session, type_code)
    if ctype is None:
        raise ValidationFailed(f"certificate type {type_code} is not in the catalog", field="type_code")
    return ctype


def issuer(session: Session, org_code: str) -> OrganizationView:
    """The issuing organization (it exists: the catalog lists it as an issuer of the type)."""
    org = find_organization(session, org_code)
    assert org is not None, org_code
    return org


def check_against_type(
    services: CertificateServices, request: IssuanceRequest, ctype: CertificateTypeView
) -> None:
    """Everything the type decides about a request, and the department's own PDF if it sent one."""
    check_request(request, ctype.fields, ctype.holder_kind)
    if request.file is not None:
        services.check_upload(request.file)


def _existing_issuance(
    session: Session, services: CertificateServices, issuer_code: str, external_id: str, content_hash: str
) -> Issued | None:
    key = session.get(IssuanceKey, (issuer_code, external_id))
    if key is None:
        return None
    if key.content_hash != content_hash:
        raise ExternalIdConflict("this external_id was already used with different content")
    cert = session.get(Certificate, key.certificate_id)
    assert cert is not None
    return Issued(cert, False, services.vault.decrypt(cert.verification_code_enc, purpose=b"verification"))


def build_version(
    services: CertificateServices,
    *,
    identifier: CertificateIdentifier,
    ctype: CertificateTypeView,
    issuer: OrganizationView,
    request: IssuanceRequest,
    verification_code: str,
    content_hash: str,
    predecessor_id: str | None = None,
) -> Certificate:
    """Render (or take the uploaded PDF), seal and write the blob; return the row, not yet added."""
    draft = Draft(
        identifier=str(identifier),
        type_name=ctype.name,
        type_fields=list(ctype.fields),
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
    vault = services.vault
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
        holder_code_enc=vault.encrypt(request.holder.code),
        holder_index=vault.blind_index(request.holder.kind, request.holder.code),
        issued_on=request.issued_on,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        area_code=request.area_code,
        file_sha256=sha256,
        signature_level=sealed.level,
        verification_code_hash=hash_verification_code(verification_code),
        verification_code_enc=vault.encrypt(verification_code, purpose=b"verification"),
    )
    protect(vault, cert, request.data, ctype.personal_fields)
    return cert
