"""Certificate tables: certificates (one row per version), their events, serial counters, seals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from kernel.db import Base, JSONType, UTCDateTime


class Certificate(Base):
    """电子证照, one row per version. The identifier (GB/T 36904) is the primary key."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("issuer_code", "serial", "version"),
        # "All usable certificates of this holder": one index range scan.
        Index("ix_certificates_holder", "holder_index", "status", "valid_until"),
        Index("ix_certificates_valid_until_status", "valid_until", "status"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type_code: Mapped[str] = mapped_column(ForeignKey("certificate_types.code"), index=True)
    issuer_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"))
    serial: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    predecessor_id: Mapped[str | None] = mapped_column(String(100))
    successor_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(2))
    external_id: Mapped[str] = mapped_column(String(200))
    # Hash of the issuance request, for idempotent repeats.
    content_hash: Mapped[str] = mapped_column(String(64))

    holder_kind: Mapped[str] = mapped_column(String(3))
    holder_name: Mapped[str] = mapped_column(String(200))
    # AES-GCM ciphertext of the holder code; the blind index is an HMAC of it.
    holder_code_enc: Mapped[bytes] = mapped_column(LargeBinary)
    holder_index: Mapped[str] = mapped_column(String(64))

    issued_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    area_code: Mapped[str] = mapped_column(String(6))
    # The face fields in clear: all but the personal ones (certificates.personal), which are sealed
    # together in personal_enc and findable only through their blind index rows.
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    personal_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    personal_index: Mapped[list[PersonalIndex]] = relationship(lazy="raise", cascade="all, delete-orphan")

    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    signature_level: Mapped[str] = mapped_column(String(8))
    # Random verification code (核验码); only its hash is kept.
    verification_code_hash: Mapped[str] = mapped_column(String(64))
    # The code is shown to the issuer and holder; kept encrypted like the holder code.
    verification_code_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PersonalIndex(Base):
    """The blind index of one personal face value of a certificate (an HMAC, never the value)."""

    __tablename__ = "certificate_personal_index"

    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_index: Mapped[str] = mapped_column(String(64), index=True)


class IssuanceKey(Base):
    """Idempotency of issuance: one row per (issuer, external_id)."""

    __tablename__ = "issuance_keys"

    issuer_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"))


class CertificateEvent(Base):
    """Every lifecycle change: who, when, from, to, why."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_id: Mapped[str] = mapped_column(ForeignKey("certificates.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(2))
    to_status: Mapped[str] = mapped_column(String(2))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SerialCounter(Base):
    """Issuer-unique serials: incremented under the row lock."""

    __tablename__ = "serial_counters"

    issuer_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Seal(Base):
    """电子印章: a department's seal certificate; its key lives in the key store under ``key_label``."""

    __tablename__ = "seals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"), index=True)
    key_label: Mapped[str] = mapped_column(String(100))
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(40))
