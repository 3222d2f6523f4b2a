"""Writing and reading the audit log. ``record`` is the one write path of every domain.

Each entry is a leaf of the log's Merkle tree (``audit.merkle``, RFC 9162) the moment it is
written: ``record`` locks the head row, takes the next sequence number, hashes the entry and
extends the head's frontier, all in the caller's transaction. Concurrent writers queue on that
lock from their ``record`` until their commit, which keeps the numbers gapless and the tree one
line; call ``record`` as the transaction's last write, so no lock is taken after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.entries import entry_bytes
from audit.merkle import Frontier, leaf_hash
from audit.models import AuditEvent, AuditHead
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
    outcome: str = "ok"


def record(session: Session, event: Event, *, at: datetime | None = None) -> AuditEvent:
    """Append ``event`` in the caller's transaction: it commits, or vanishes, with what it records."""
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        raise RuntimeError("the audit log has no head row: run the database migrations")
    moment = at or utcnow()
    row = AuditEvent(
        seq=head.size + 1,
        at=moment,
        action=event.action,
        actor=event.actor,
        org_code=event.org_code,
        subject=event.subject,
        certificate_id=event.certificate_id,
        item_code=event.item_code,
        use_cause=event.use_cause,
        details=event.details,
        outcome=event.outcome,
    )
    leaf = leaf_hash(canonical(row))
    row.leaf_hash = leaf.hex()
    frontier = Frontier(head.size, [bytes.fromhex(node) for node in head.frontier])
    frontier.append(leaf)
    head.size, head.root = frontier.size, frontier.root().hex()
    head.frontier = [node.hex() for node in frontier.nodes]
    session.add(row)
    session.flush()
    return row


def canonical(row: AuditEvent) -> bytes:
    """The bytes of ``row`` its leaf hashes (``audit.entries``)."""
    return entry_bytes(
        seq=row.seq,
        at=row.at,
        action=row.action,
        actor=row.actor,
        org_code=row.org_code,
        subject=row.subject,
        certificate_id=row.certificate_id,
        item_code=row.item_code,
        use_cause=row.use_cause,
        outcome=row.outcome,
        details=row.details or {},
    )


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


def events_after(session: Session, after: int, limit: int) -> tuple[int, list[AuditEvent]]:
    """The log's size and its entries numbered after ``after``, oldest first (at most ``limit``)."""
    head = session.get(AuditHead, 1)
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(limit)
    )
    return (head.size if head else 0), list(rows)
