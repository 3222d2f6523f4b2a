"""The audit log's one table: events, numbered in the order they were committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
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

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
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
