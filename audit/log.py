"""Writing and reading the audit log. ``record`` is the one write path of every domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent
from kernel.clock import utcnow


@dataclass(frozen=True)
class Event:
    """What a domain records: the action, who acted, and whose data it touched."""

    action: str
    actor: str
    org_code: str | None = None
    subject: str | None = None
    certificate_id: str | None = None
    item_code: str | None = None
    use_cause: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def record(session: Session, event: Event, *, at: datetime | None = None) -> AuditEvent:
    """Append ``event`` in the caller's transaction: it commits, or vanishes, with what it records."""
    row = AuditEvent(
        at=at or utcnow(),
        action=event.action,
        actor=event.actor,
        org_code=event.org_code,
        subject=event.subject,
        certificate_id=event.certificate_id,
        item_code=event.item_code,
        use_cause=event.use_cause,
        details=event.details,
    )
    session.add(row)
    session.flush()
    return row


def events_about(
    session: Session, subject: str, *, actions: Sequence[str] | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[AuditEvent]]:
    """The events about ``subject``, newest first, and how many there are in all."""
    where = [AuditEvent.subject == subject]
    if actions is not None:
        where.append(AuditEvent.action.in_(list(actions)))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    rows = session.scalars(
        select(AuditEvent).where(*where).order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)
    ).all()
    return total, list(rows)
