"""Writing and reading the audit log. ``record`` is the one write path of every domain.

Each entry is a leaf of the log's Merkle tree (``audit.merkle``, RFC 9162). ``record`` keeps the
entry with the caller's session; when that transaction commits, ``append_pending`` (run by a
``before_commit`` hook) locks the head row, numbers the entries, hashes them, extends the head's
frontier and inserts them — in the same transaction, so they commit, or vanish, with what they
record, and an entry recorded in a savepoint that rolls back vanishes with it. Concurrent writers
queue on the head's lock only for that last step and their commit, which keeps the numbers
gapless and the tree one line without serialising the rest of their work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from audit.entries import entry_bytes
from audit.merkle import Frontier, leaf_hash
from audit.models import AuditEvent, AuditHead, AuditNode
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


_PENDING = "audit.pending"  # session.info key: [(transaction recorded in, entry)]


def record(session: Session, event: Event, *, at: datetime | None = None) -> AuditEvent:
    """Append ``event`` in the caller's transaction: it commits, or vanishes, with what it records.

    The entry gets its number and leaf when the transaction commits (``append_pending``)."""
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
        outcome=event.outcome,
    )
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, row))
    return row


def append_pending(session: Session) -> list[AuditEvent]:
    """Number, hash and insert the entries recorded in this session so far, under the head's lock."""
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return []
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        raise RuntimeError("the audit log has no head row: run the database migrations")
    frontier = Frontier(head.size, [bytes.fromhex(node) for node in head.frontier])
    rows = []
    nodes = []
    for _, row in pending:
        row.seq = frontier.size + 1
        leaf = leaf_hash(canonical(row))
        row.leaf_hash = leaf.hex()
        nodes += [AuditNode(level=lv, idx=i, hash=h.hex()) for lv, i, h in frontier.append(leaf)]
        rows.append(row)
    head.size, head.root = frontier.size, frontier.root().hex()
    head.frontier = [node.hex() for node in frontier.nodes]
    session.add_all(rows)
    session.add_all(nodes)
    session.flush()
    return rows


@event.listens_for(Session, "before_commit")
def _append_on_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # the hook runs for savepoints too: wait for the commit
        append_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(t, row) for t, row in pending if not _within(t, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the session's transaction ended (closed, rolled back): none left
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


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
