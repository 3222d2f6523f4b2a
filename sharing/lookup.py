"""Lookup (查询): which usable certificates of these types a holder has, for one item and use cause."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from certificates.models import Certificate
from certificates.privacy import HolderVault
from certificates.repository import holder_certificates
from kernel.actor import Actor
from sharing.holders import HolderRef
from sharing.policy import (
    check_types_for_item,
    check_use_cause,
    needed_item,
    portal_of,
    releasable,
    require_releasable,
)
from sharing.uses import LOOKUP, record_use


def usable_certificates(
    session: Session, vault: HolderVault, holder: HolderRef, *, now: datetime
) -> list[Certificate]:
    """Every certificate of the holder usable now, newest first (one range scan on the blind index)."""
    certs = holder_certificates(
        session, vault, holder_kind=holder.kind, holder_code=holder.code, today=now.date(), usable_only=True
    )
    return newest_first(certs)


def newest_first(certs: Iterable[Certificate]) -> list[Certificate]:
    """Certificates by issue date, then by when the hub recorded them, the newest first."""
    return sorted(certs, key=lambda c: (c.issued_on, c.created_at), reverse=True)


def lookup(
    session: Session,
    vault: HolderVault,
    *,
    actor: Actor,
    holder: HolderRef,
    item_code: str,
    use_cause: str,
    type_codes: Sequence[str],
    now: datetime,
) -> list[Certificate]:
    """The holder's usable certificates of the asked types; refused (403) for anything not releasable."""
    portal = portal_of(actor)
    cause = check_use_cause(use_cause)
    item = needed_item(session, item_code)
    wanted = check_types_for_item(item_code, item, type_codes)
    decision = releasable(
        session, portal=portal, holder_index=holder.index, item_code=item_code, types=wanted, now=now
    )
    require_releasable(decision)
    usable = usable_certificates(session, vault, holder, now=now)
    found = [c for c in usable if c.type_code in decision.allowed]
    record_use(
        session,
        action=LOOKUP,
        portal=portal,
        holder_index=holder.index,
        item_code=item_code,
        use_cause=cause,
        certificate_ids=[c.id for c in found],
        details={"type_codes": wanted},
    )
    return found
