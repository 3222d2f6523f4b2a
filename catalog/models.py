"""Catalog tables. A definition's full body (as PUT) is kept as JSON beside the columns we query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from kernel.db import Base, JSONType, UTCDateTime


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Organization(Timestamps, Base):
    """A department (发证部门), portal or operator, keyed by its 统一社会信用代码."""

    __tablename__ = "organizations"

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    demo: Mapped[bool] = mapped_column(Boolean, default=False)


class _Defined(Timestamps):
    """The columns of every catalog entry: its name and its whole definition (the PUT body)."""

    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)


class _CatalogCoded(_Defined):
    """An entry keyed by a catalog code (URL-safe, up to 64 characters)."""

    code: Mapped[str] = mapped_column(String(64), primary_key=True)


class _Owned(_CatalogCoded):
    """An entry that belongs to one organization."""

    org_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"), index=True)


class CertificateType(_Defined, Base):
    """证照类型: face fields, holder kind, validity, sharing level, issuers."""

    __tablename__ = "certificate_types"

    code: Mapped[str] = mapped_column(String(21), primary_key=True)
    holder_kind: Mapped[str] = mapped_column(String(3))
    sharing: Mapped[str] = mapped_column(String(20))


class CertificateTypeIssuer(Base):
    """Which organizations may issue a type (one row each, so the check is an indexed lookup)."""

    __tablename__ = "certificate_type_issuers"

    type_code: Mapped[str] = mapped_column(
        ForeignKey("certificate_types.code", ondelete="CASCADE"), primary_key=True
    )
    org_code: Mapped[str] = mapped_column(ForeignKey("organizations.code"), primary_key=True)


class DataResource(_Owned, Base):
    """数据资源目录: a data set a department shares."""

    __tablename__ = "data_resources"


class Item(_Owned, Base):
    """事项: a service item with its materials and application form."""

    __tablename__ = "items"


class OneThing(_CatalogCoded, Base):
    """一件事: items bundled behind a progressive questionnaire."""

    __tablename__ = "one_things"


class SearchDocument(Base):
    """One searchable catalog entry. ``grams`` holds the text as words plus CJK uni- and bigrams,
    so that one- and two-character Chinese queries match on every embedded backend."""

    __tablename__ = "search_documents"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_grams: Mapped[str] = mapped_column(String)
    body_grams: Mapped[str] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ApiClient(Base):
    """An API client of an organization (or the hub's operators): an opaque bearer token kept only
    as a keyed hash, and the role it acts in."""

    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    org_code: Mapped[str | None] = mapped_column(ForeignKey("organizations.code"), index=True)
    # HMAC-SHA256 of the token's secret part under a key derived from the master key.
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
