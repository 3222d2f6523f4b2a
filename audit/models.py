"""The audit log's tables: events numbered without gaps, the head of their Merkle tree, and the
signed checkpoints published of it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Index, Integer, String, Text, and_, or_
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, JSONType, UTCDateTime


class AuditEvent(Base):
    """One thing that happened: who did what, to whose data, for which service and why."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # "Everything that happened to this holder's data, newest first": one index range scan.
        Index("ix_audit_events_subject_seq", "subject", "seq"),
    )

    # Assigned by ``audit.log.record`` under the head's row lock: 1, 2, 3, … with no gaps.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))  # Actor.label: never a personal identity number
    org_code: Mapped[str | None] = mapped_column(String(18))  # the acting organization
    # Whose data: a holder's blind index (never the identity number itself).
    subject: Mapped[str | None] = mapped_column(String(64))
    certificate_id: Mapped[str | None] = mapped_column(String(100))
    item_code: Mapped[str | None] = mapped_column(String(64))
    use_cause: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    # RFC 9162 leaf hash (hex) of the entry's canonical bytes (``audit.entries``).
    leaf_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The one row that says how long the log is and what its tree's complete subtrees are.

    Every append locks it (``SELECT … FOR UPDATE``), which is what keeps sequence numbers gapless
    under concurrent writers; its frontier makes the current root computable in O(log n)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
    frontier: Mapped[list[str]] = mapped_column(JSONType, default=list)  # hex, largest subtree first
    root: Mapped[str] = mapped_column(String(64))


class AuditNode(Base):
    """An interior node of the log's Merkle tree, stored when its subtree is complete: it never
    changes after, and proofs read O(log n) of them instead of every leaf. Level 0 (the leaves) is
    ``AuditEvent.leaf_hash``; the node at ``level`` L, ``idx`` i covers entries i·2^L+1 … (i+1)·2^L."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


def nodes_in(keys: Iterable[tuple[int, int]]) -> ColumnElement[bool]:
    """``(level, idx) IN keys`` as one ``idx IN (…)`` per level: both databases then read the
    primary key (SQLite scans the whole table for a row-value IN list)."""
    by_level: dict[int, list[int]] = {}
    for level, idx in keys:
        by_level.setdefault(level, []).append(idx)
    return or_(*(and_(AuditNode.level == level, AuditNode.idx.in_(idxs)) for level, idxs in by_level.items()))


class AuditCheckpoint(Base):
    """A signed, timestamped statement of the log's size and root at a moment (``audit.checkpoints``)."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # base64 DER ECDSA over the checkpoint note
    timestamp: Mapped[str | None] = mapped_column(Text)  # base64 RFC 3161 token over the note
