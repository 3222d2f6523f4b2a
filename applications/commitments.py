"""告知承诺, followed up (事中事后监管): a commitment stands in for a material until its due date; the
department lists the open and overdue ones and marks each fulfilled (with a certificate or a file)
or breached (with a reason). A breach is recorded on the application and in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from applications.errors import CommitmentNotFound, InvalidTransition, NotYourTask
from applications.events import COMMITMENT_BREACHED, COMMITMENT_FULFILLED, record_step
from applications.models import Commitment
from applications.repository import get_application
from applications.status import BREACHED, COMMITMENT_STATUSES, FULFILLED, OPEN, OVERDUE
from certificates.blobstore import BlobStore
from certificates.errors import CertificateNotFound
from certificates.lifecycle import usability
from certificates.repository import get_certificate
from kernel.actor import Actor, Role
from kernel.errors import DomainError, Forbidden, ValidationFailed
from sharing.policy import needed_item

MAX_REASON = 500


def _department(actor: Actor) -> str:
    if actor.role is not Role.DEPARTMENT or actor.org_code is None:
        raise Forbidden("this needs the role department", code="forbidden")
    return actor.org_code


def list_commitments(
    session: Session, *, actor: Actor, status: str | None, now: datetime, limit: int, offset: int
) -> list[Commitment]:
    """The department's own commitments; ``overdue`` means open and past the due date."""
    org = _department(actor)
    if status is not None and status not in (*COMMITMENT_STATUSES, OVERDUE):
        raise ValidationFailed(
            f"status must be one of {', '.join((*COMMITMENT_STATUSES, OVERDUE))}", field="status"
        )
    stmt = select(Commitment).where(Commitment.org_code == org)
    if status == OVERDUE:
        stmt = stmt.where(Commitment.status == OPEN, Commitment.due_on < now.date())
    elif status is not None:
        stmt = stmt.where(Commitment.status == status)
    stmt = stmt.order_by(Commitment.due_on, Commitment.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def _open_commitment(session: Session, actor: Actor, commitment_id: str) -> Commitment:
    org = _department(actor)
    commitment = session.get(Commitment, commitment_id)
    if commitment is None:
        raise CommitmentNotFound("no such commitment")
    if commitment.org_code != org:
        raise NotYourTask("only the department the commitment was made to may settle it")
    get_application(session, commitment.application_id, lock=True)
    session.refresh(commitment)
    if commitment.status != OPEN:
        raise InvalidTransition(f"the commitment is {commitment.status}")
    return commitment


def fulfil(
    session: Session,
    blobs: BlobStore,
    *,
    actor: Actor,
    commitment_id: str,
    certificate_id: str | None,
    file: bytes | None,
    check_upload: Callable[[bytes], None],
    now: datetime,
) -> Commitment:
    """The material has come: a certificate of the holder of an accepted type, usable now, or a PDF."""
    if (certificate_id is None) == (file is None):
        raise ValidationFailed("give either certificate_id or file", field="certificate_id")
    commitment = _open_commitment(session, actor, commitment_id)
    app = get_application(session, commitment.application_id)
    if certificate_id is not None:
        item = needed_item(session, commitment.item_code, field="certificate_id")
        material = next((m for m in item.materials if m.code == commitment.material_code), None)
        try:
            cert = get_certificate(session, certificate_id)
        except CertificateNotFound:
            raise ValidationFailed(
                "no such certificate of this holder", field="certificate_id", code="certificate_not_found"
            ) from None
        if cert.holder_index != app.holder_index:
            raise ValidationFailed(
                "no such certificate of this holder", field="certificate_id", code="certificate_not_found"
            )
        if (
            material is not None
            and material.certificate_types
            and cert.type_code not in material.certificate_types
        ):
            raise ValidationFailed(
                "the material does not accept this certificate type",
                field="certificate_id",
                code="certificate_not_accepted",
            )
        if not usability(cert, now.date()).usable:
            raise ValidationFailed(
                "the certificate is not usable now", field="certificate_id", code="certificate_not_usable"
            )
        commitment.certificate_id = cert.id
    else:
        assert file is not None
        try:
            check_upload(file)
        except DomainError as e:
            e.field = "file"
            raise
        commitment.file_sha256 = blobs.put(file)
    commitment.status = FULFILLED
    commitment.closed_at = now
    commitment.closed_by = actor.client_id
    record_step(
        session,
        app,
        COMMITMENT_FULFILLED,
        actor=actor.label,
        org_code=commitment.org_code,
        item_code=commitment.item_code,
        certificate_id=commitment.certificate_id,
        details={
            "commitment": commitment.id,
            "material": commitment.material_code,
            "by": "certificate" if certificate_id else "file",
        },
    )
    session.flush()
    return commitment


def breach(
    session: Session, *, actor: Actor, commitment_id: str, reason: str | None, now: datetime
) -> Commitment:
    """The commitment was not kept: recorded on the application and in the audit log."""
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("a breach needs a reason", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"reason must be at most {MAX_REASON} characters", field="reason")
    commitment = _open_commitment(session, actor, commitment_id)
    app = get_application(session, commitment.application_id)
    commitment.status = BREACHED
    commitment.reason = text
    commitment.closed_at = now
    commitment.closed_by = actor.client_id
    app.breached = True
    record_step(
        session,
        app,
        COMMITMENT_BREACHED,
        actor=actor.label,
        org_code=commitment.org_code,
        item_code=commitment.item_code,
        details={"commitment": commitment.id, "material": commitment.material_code, "reason": text},
    )
    session.flush()
    return commitment
