"""What a holder reads about themselves: their certificates and who used their data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audit.log import events_about
from audit.models import AuditEvent
from catalog.queries import organization_names
from certificates.models import Certificate
from certificates.privacy import HolderVault
from certificates.repository import holder_certificates
from kernel.clock import today
from sharing.holders import HolderRef
from sharing.lookup import newest_first, usable_certificates
from sharing.policy import needed_item
from sharing.uses import ACTIONS


def my_certificates(session: Session, vault: HolderVault, holder: HolderRef) -> list[Certificate]:
    """Every certificate (every version) of the holder, newest first."""
    certs = holder_certificates(
        session, vault, holder_kind=holder.kind, holder_code=holder.code, today=today(), usable_only=False
    )
    return newest_first(certs)


@dataclass(frozen=True)
class AccessEntry:
    """One use of the holder's data: who, when, what for, what they were given."""

    at: datetime
    action: str
    org_code: str | None
    org_name: str | None
    actor: str  # Actor.label
    item_code: str | None
    use_cause: str | None
    certificates: list[str]
    details: dict[str, Any]  # the rest of what was recorded

    @property
    def client_id(self) -> str | None:
        return self.actor.removeprefix("client:") if self.actor.startswith("client:") else None


def access_log(
    session: Session, holder: HolderRef, *, limit: int, offset: int, actions: Sequence[str] = ACTIONS
) -> tuple[int, list[AccessEntry]]:
    """Every use of the holder's data (by default the portals' sharing calls; the hub adds the steps
    of the holder's applications), newest first, and how many there are."""
    total, events = events_about(session, holder.index, actions=actions, limit=limit, offset=offset)
    names = organization_names(session, (e.org_code for e in events if e.org_code))
    return total, [_entry(e, names) for e in events]


def _entry(event: AuditEvent, names: dict[str, str]) -> AccessEntry:
    details = dict(event.details)
    certificates = list(details.pop("certificates", []))
    return AccessEntry(
        at=event.at,
        action=event.action,
        org_code=event.org_code,
        org_name=names.get(event.org_code or ""),
        actor=event.actor,
        item_code=event.item_code,
        use_cause=event.use_cause,
        certificates=certificates,
        details=details,
    )


def my_materials_on_file(
    session: Session, vault: HolderVault, holder: HolderRef, items: Sequence[str], *, now: datetime
) -> dict[tuple[str, str], str]:
    """For the holder's own checklist (一次告知): (item code, material code) → the newest usable
    certificate of the holder that satisfies the material. The holder reads their own certificates,
    so no portal and no consent is involved, and nothing is recorded as a use of their data; data
    resources a department pulls are a portal's business (``sharing.plan``) and are not shown."""
    usable = usable_certificates(session, vault, holder, now=now)  # newest first
    found: dict[tuple[str, str], str] = {}
    for code in items:
        for material in needed_item(session, code, field="items").materials:
            cert = next((c for c in usable if c.type_code in material.certificate_types), None)
            if cert is not None:
                found[(code, material.code)] = cert.id
    return found
