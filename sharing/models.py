"""Sharing tables: holders' consents to portals, and annotated copies waiting to be fetched."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, JSONType, UTCDateTime


class Consent(Base):
    """A holder's consent (授权): one portal may use these certificate types for one item until a time."""

    __tablename__ = "consents"
    __table_args__ = (
        # "Does this holder let this portal use this for this item?": one index look-up.
        Index("ix_consents_holder_grantee_item", "holder_index", "grantee_code", "item_code"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder_kind: Mapped[str] = mapped_column(String(3))
    holder_index: Mapped[str] = mapped_column(String(64))  # the holder's blind index
    grantee_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    item_code: Mapped[str] = mapped_column(ForeignKey("items.code"))
    type_codes: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnnotatedCopy(Base):
    """A sealed annotated copy (加注件), served once from an unguessable URL before it expires."""

    __tablename__ = "annotated_copies"

    # SHA-256 of the URL's secret: the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), index=True)
    requester_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    client_id: Mapped[str | None] = mapped_column(String(32))
    item_code: Mapped[str] = mapped_column(String(64))
    use_cause: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sealed PDF until it is fetched or expires; then emptied (a copy is for one use only).
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
