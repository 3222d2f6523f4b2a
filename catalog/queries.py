"""What other domains ask the catalog: a certificate type's face, an organization's name and kind.

Answers are frozen views, never the catalog's rows, so no other package writes catalog tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import CertificateType, CertificateTypeIssuer, Item, Organization


@dataclass(frozen=True)
class CertificateTypeView:
    """A certificate type as issuance and verification need it."""

    code: str
    name: str
    holder_kind: str  # 111 resident identity number, 001 USCC
    sharing: str
    fields: tuple[dict[str, Any], ...]  # the face fields, as in the catalog file
    validity_years: int | None

    @property
    def personal_fields(self) -> frozenset[str]:
        """The face fields holding personal data: encrypted at rest, masked for most readers."""
        return personal_fields(self.fields)


@dataclass(frozen=True)
class OrganizationView:
    code: str
    name: str
    kind: str  # department | portal | operator


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    org_code: str  # the department that handles the item


def personal_fields(fields: Iterable[dict[str, Any]]) -> frozenset[str]:
    """Names of the fields of type ``identity_number`` or flagged ``personal``."""
    return frozenset(f["name"] for f in fields if f.get("type") == "identity_number" or f.get("personal"))


def find_certificate_type(session: Session, code: str) -> CertificateTypeView | None:
    """The certificate type ``code``, or None when the catalog has none."""
    row = session.get(CertificateType, code)
    return None if row is None else _type_view(row)


def _type_view(row: CertificateType) -> CertificateTypeView:
    years = row.definition.get("validity_years")
    return CertificateTypeView(
        code=row.code,
        name=row.name,
        holder_kind=row.holder_kind,
        sharing=row.sharing,
        fields=tuple(row.definition.get("fields", [])),
        validity_years=int(years) if years else None,
    )


def personal_fields_by_type(session: Session) -> dict[str, frozenset[str]]:
    """Every certificate type's personal face fields, by type code."""
    rows = session.execute(select(CertificateType.code, CertificateType.definition))
    return {code: personal_fields(definition.get("fields", [])) for code, definition in rows}


def demo_issuable_types(session: Session) -> list[tuple[CertificateTypeView, str]]:
    """Each certificate type a demonstration department issues, with its first issuer, by code."""
    rows = session.execute(
        select(CertificateType, func.min(CertificateTypeIssuer.org_code))
        .join(CertificateTypeIssuer, CertificateTypeIssuer.type_code == CertificateType.code)
        .join(Organization, Organization.code == CertificateTypeIssuer.org_code)
        .where(Organization.demo.is_(True))
        .group_by(CertificateType.code)
        .order_by(CertificateType.code)
    ).all()
    return [(_type_view(row), issuer) for row, issuer in rows]


def find_organization(session: Session, code: str) -> OrganizationView | None:
    """The organization ``code``, or None when it is not registered."""
    row = session.get(Organization, code)
    return None if row is None else OrganizationView(row.code, row.name, row.kind)


def portals(session: Session) -> list[OrganizationView]:
    """The registered portals (the organizations a holder may give consent to), by name."""
    rows = session.scalars(
        select(Organization).where(Organization.kind == "portal").order_by(Organization.name)
    )
    return [OrganizationView(row.code, row.name, row.kind) for row in rows]


def find_items(session: Session, codes: Iterable[str]) -> dict[str, ItemView]:
    """The service items among ``codes`` that the catalog holds, by code (one query)."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.scalars(select(Item).where(Item.code.in_(wanted)))
    return {row.code: ItemView(row.code, row.name, row.org_code) for row in rows}


def organization_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Names of the registered organizations among ``codes``, by code (one query)."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.execute(select(Organization.code, Organization.name).where(Organization.code.in_(wanted)))
    return {code: name for code, name in rows}
