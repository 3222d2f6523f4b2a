"""Moving a certificate along the lifecycle table (暂扣, 撤销, 注销, 吊销 …) and recording expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.access import CertificateAccess
from certificates.errors import InvalidTransition
from certificates.lifecycle import Status, effective_status, transition
from certificates.models import Certificate
from certificates.repository import get_certificate, record_event
from kernel.actor import SYSTEM, Actor
from kernel.errors import ValidationFailed


def change_status(
    session: Session,
    access: CertificateAccess,
    *,
    certificate_id: str,
    actor: Actor,
    target: str,
    reason: str | None,
    today: date,
) -> Certificate:
    """Move a certificate along the lifecycle under a row lock; only its issuer may."""
    cert = access.check_change(actor, get_certificate(session, certificate_id, lock=True))
    try:
        to = Status(target)
    except ValueError:
        raise ValidationFailed(f"unknown status code {target!r}", field="status") from None
    if to is Status.OTHER and not (reason and reason.strip()):
        raise ValidationFailed("status 99 needs a reason describing it", field="reason")
    if cert.successor_id is not None:
        raise InvalidTransition("this version was replaced by a newer one")
    current = effective_status(cert.status, cert.valid_until, today)
    if current is Status.EXPIRED and Status(cert.status) is not Status.EXPIRED:
        # Expired by date but not yet recorded: record it first, so the history stays true.
        _expire(session, cert, SYSTEM)
    action = transition(current, to)
    cert.status = to.value
    record_event(session, cert, action, current, to, actor.label, reason)
    return cert


def expire_due(
    session: Session,
    *,
    today: date,
    actor: str = SYSTEM,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Record status 05 for every certificate whose validity has ended (``hub certificates expire``)."""
    due = session.scalars(
        select(Certificate)
        .where(
            Certificate.valid_until < today,
            Certificate.status.in_([Status.VALID.value, Status.WITHHELD.value]),
        )
        .with_for_update()
    ).all()
    for n, cert in enumerate(due):
        if progress is not None:
            progress(n, len(due))
        _expire(session, cert, actor)
    session.flush()
    if progress is not None:
        progress(len(due), len(due))
    return len(due)


def _expire(session: Session, cert: Certificate, actor: str) -> None:
    record_event(session, cert, "expire", Status(cert.status), Status.EXPIRED, actor, "validity ended")
    cert.status = Status.EXPIRED.value
