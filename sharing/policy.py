"""Who may have what of a holder's data — the one place sharing decides it.

A certificate type's sharing level decides what a portal needs (standards.md, 共享属性):

| level           | a registered portal gets a holder's certificates of the type …                    |
|-----------------|-------------------------------------------------------------------------------------|
| `unconditional` | with a use cause, for an item whose materials accept the type (无条件共享)          |
| `conditional`   | … and a live consent of this holder to this portal for this item and type (有条件共享) |
| `none`          | never (不予共享): only the holder and the issuer see it                              |

Every call names an existing item and a use cause; a portal asking for a type the item does not
need is refused (it may not fish). Only usable certificates are released (lifecycle.usability).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import ItemNotFound
from catalog.queries import find_certificate_type
from catalog.schemas import ItemIn
from catalog.service import get_item
from certificates.errors import CertificateNotFound
from certificates.models import Certificate
from certificates.repository import get_certificate
from kernel.actor import Actor, Role
from kernel.errors import ValidationFailed
from sharing.errors import ConsentRequired, NotShared, PortalsOnly, TypeNotNeeded, UnknownItem
from sharing.models import Consent

MAX_USE_CAUSE = 200


@dataclass(frozen=True)
class Portal:
    """The portal a request comes from (never another one: a portal acts only for itself)."""

    org_code: str
    client_id: str | None
    label: str


def portal_of(actor: Actor) -> Portal:
    """The acting portal, or Forbidden for anyone else."""
    if actor.role is not Role.PORTAL or actor.org_code is None:
        raise PortalsOnly("this needs the role portal", code="forbidden")
    return Portal(actor.org_code, actor.client_id, actor.label)


def check_use_cause(use_cause: str) -> str:
    """The use cause (用证事由), stripped: 1–200 characters."""
    cause = use_cause.strip()
    if not 1 <= len(cause) <= MAX_USE_CAUSE:
        raise ValidationFailed(f"use_cause must be 1–{MAX_USE_CAUSE} characters", field="use_cause")
    return cause


def needed_item(session: Session, item_code: str, *, field: str = "item_code") -> ItemIn:
    """The service item a call names, or a 422 naming the field."""
    try:
        return get_item(session, item_code).body
    except ItemNotFound:
        raise UnknownItem(f"no service item {item_code!r} in the catalog", field=field) from None


def accepted_types(item: ItemIn) -> set[str]:
    """The certificate types any of the item's materials accepts."""
    return {t for m in item.materials for t in m.certificate_types}


def live_consents(
    session: Session, *, holder_index: str, grantee_code: str, item_code: str, now: datetime
) -> list[Consent]:
    """The holder's consents to this portal for this item that are in force now (one index look-up)."""
    rows = session.scalars(
        select(Consent).where(
            Consent.holder_index == holder_index,
            Consent.grantee_code == grantee_code,
            Consent.item_code == item_code,
            Consent.withdrawn_at.is_(None),
        )
    )
    return [c for c in rows if c.expires_at > now]


@dataclass(frozen=True)
class Releasable:
    """Which of some certificate types this portal may have for this holder and item, and why not."""

    allowed: frozenset[str]
    not_shared: frozenset[str]  # sharing level none
    without_consent: frozenset[str]  # conditional, and no live consent


def releasable(
    session: Session,
    *,
    portal: Portal,
    holder_index: str,
    item_code: str,
    types: Iterable[str],
    now: datetime,
) -> Releasable:
    """Decide each type by its sharing level and the holder's consents."""
    consented: set[str] | None = None
    allowed: set[str] = set()
    not_shared: set[str] = set()
    without: set[str] = set()
    for type_code in types:
        ctype = find_certificate_type(session, type_code)
        level = ctype.sharing if ctype is not None else "none"
        if level == "unconditional":
            allowed.add(type_code)
        elif level == "conditional":
            if consented is None:
                consents = live_consents(
                    session,
                    holder_index=holder_index,
                    grantee_code=portal.org_code,
                    item_code=item_code,
                    now=now,
                )
                consented = {t for c in consents for t in c.type_codes}
            (allowed if type_code in consented else without).add(type_code)
        else:
            not_shared.add(type_code)
    return Releasable(frozenset(allowed), frozenset(not_shared), frozenset(without))


def check_types_for_item(item_code: str, item: ItemIn, asked: Iterable[str]) -> list[str]:
    """The asked types (all the item accepts when none are asked); 403 for a type it does not need."""
    accepted = accepted_types(item)
    wanted = sorted(set(asked)) or sorted(accepted)
    extra = [t for t in wanted if t not in accepted]
    if extra:
        raise TypeNotNeeded(f"item {item_code} does not need certificate type {extra[0]}")
    return wanted


def require_releasable(decision: Releasable) -> None:
    """Refuse a request that asks for anything the portal may not have."""
    if decision.not_shared:
        raise NotShared(f"certificate type {min(decision.not_shared)} is not shared with portals")
    if decision.without_consent:
        raise ConsentRequired(
            f"the holder has not consented to this use of certificate type {min(decision.without_consent)}"
        )


@dataclass(frozen=True)
class CertificateUse:
    """A portal's request to use one certificate for one item: checked, and the portal may have it."""

    portal: Portal
    cause: str
    item: ItemIn
    cert: Certificate


def certificate_use(
    session: Session, *, actor: Actor, certificate_id: str, item_code: str, use_cause: str, now: datetime
) -> CertificateUse:
    """Check a request naming one certificate (copies, data checks): the portal, the use cause, the
    item; then the certificate, which must be one the portal may have for this item.

    A certificate it may not have — of a type the item does not need, never shared, or without the
    holder's consent — does not exist for it: CertificateNotFound, exactly as for an identifier
    nobody issued, so that the answer tells neither that it exists nor of what type it is."""
    portal = portal_of(actor)
    cause = check_use_cause(use_cause)
    item = needed_item(session, item_code)
    cert = get_certificate(session, certificate_id)
    if cert.type_code in accepted_types(item):
        decision = releasable(
            session,
            portal=portal,
            holder_index=cert.holder_index,
            item_code=item_code,
            types=[cert.type_code],
            now=now,
        )
        if cert.type_code in decision.allowed:
            return CertificateUse(portal, cause, item, cert)
    raise CertificateNotFound("no such certificate")
