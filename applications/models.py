"""Application tables: the application, one task per item, the materials it was given, the
commitments (告知承诺) it made, and the holder's rating (好差评)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, JSONType, UTCDateTime


class Application(Base):
    """One application for one one-thing (一表申请), filed by a portal for a holder."""

    __tablename__ = "applications"
    __table_args__ = (
        # Idempotency: a portal's own reference names one application.
        UniqueConstraint("portal_code", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    one_thing: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, str]] = mapped_column(JSONType)
    portal_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    client_id: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    holder_kind: Mapped[str] = mapped_column(String(3))
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_code_enc: Mapped[bytes] = mapped_column(LargeBinary)
    holder_index: Mapped[str] = mapped_column(String(64), index=True)  # the holder's blind index
    use_cause: Mapped[str] = mapped_column(String(200))
    area_code: Mapped[str] = mapped_column(String(6))
    # The whole form, {item: {field: value}}, as JSON sealed by the vault: it holds personal data.
    form_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(24), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it became approved/rejected
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)  # a commitment was breached
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Task(Base):
    """One item of an application, routed to the item's department (后台分类审批)."""

    __tablename__ = "application_tasks"
    __table_args__ = (Index("ix_application_tasks_org_status", "org_code", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(64))
    org_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    status: Mapped[str] = mapped_column(String(24))
    due_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))  # "auto" or the deciding client's id
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rule: Mapped[str | None] = mapped_column(String(64))  # the rule that decided
    reason: Mapped[str | None] = mapped_column(String(500))
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # risks for the clerk
    requested: Mapped[list[str]] = mapped_column(JSONType, default=list)  # materials asked for
    certificate_id: Mapped[str | None] = mapped_column(String(100))  # issued on approval (统一发证)


class SuppliedMaterial(Base):
    """How one material of one item was satisfied, at intake (round 0) or by a supplement (1, 2 …)."""

    __tablename__ = "application_materials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(64))
    material_code: Mapped[str] = mapped_column(String(64))
    # certificate | data_resource | file | commitment | tolerated
    kind: Mapped[str] = mapped_column(String(16))
    certificate_id: Mapped[str | None] = mapped_column(String(100))
    data_resource: Mapped[str | None] = mapped_column(String(64))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    supplied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Commitment(Base):
    """A written commitment (告知承诺) standing in for a material until ``due_on`` (事中事后监管)."""

    __tablename__ = "commitments"
    __table_args__ = (Index("ix_commitments_org_status", "org_code", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(64))
    material_code: Mapped[str] = mapped_column(String(64))
    org_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # open | fulfilled | breached | cancelled
    certificate_id: Mapped[str | None] = mapped_column(String(100))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))


class Rating(Base):
    """The holder's rating of a decided application (好差评): once per application."""

    __tablename__ = "ratings"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
