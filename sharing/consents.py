"""Consent (授权): a holder lets one portal use some certificate types for one item, until a time.

Withdrawal takes effect on the very next call: every sharing decision reads the consents table."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.log import Event, record
from catalog.queries import find_certificate_type, find_organization
from kernel.actor import Actor
from kernel.errors import ValidationFailed
from sharing.errors import ConsentNotFound, TypeNotNeeded
from sharing.holders import HolderRef
from sharing.models import Consent
from sharing.policy import check_types_for_item, needed_item

MAX_DURATION = timedelta(days=366)


def grant(
    session: Session,
    *,
    actor: Actor,
    holder: HolderRef,
    grantee: str,
    item_code: str,
    type_codes: Sequence[str],
    expires_at: datetime,
    now: datetime,
) -> Consent:
    """Record the holder's consent; every reference is checked and named when wrong (422)."""
    org = find_organization(session, grantee)
    if org is None or org.kind != "portal":
        raise ValidationFailed(f"{grantee!r} is not a registered portal", field="grantee")
    item = needed_item(session, item_code)
    if not type_codes:
        raise ValidationFailed("name at least one certificate type", field="type_codes")
    try:
        types = check_types_for_item(item_code, item, type_codes)
    except TypeNotNeeded as e:  # a consent for a type the item does not need is a bad request
        raise ValidationFailed(e.detail, field="type_codes") from None
    for type_code in types:
        ctype = find_certificate_type(session, type_code)
        if ctype is None or ctype.sharing == "none":
            detail = f"certificate type {type_code} is never shared with portals"
            raise ValidationFailed(detail, field="type_codes")
    if expires_at.tzinfo is None:
        raise ValidationFailed("expires_at needs a UTC offset", field="expires_at")
    if expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", field="expires_at")
    if expires_at > now + MAX_DURATION:
        raise ValidationFailed("a consent lasts at most a year", field="expires_at")
    consent = Consent(
        id=secrets.token_hex(8),
        holder_kind=holder.kind,
        holder_index=holder.index,
        grantee_code=org.code,
        item_code=item_code,
        type_codes=types,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(consent)
    session.flush()
    _record(session, "consent.grant", actor, holder, consent)
    return consent


def consents_of(session: Session, holder: HolderRef) -> list[Consent]:
    """Every consent the holder gave, newest first."""
    stmt = select(Consent).where(Consent.holder_index == holder.index).order_by(Consent.created_at.desc())
    return list(session.scalars(stmt))


def withdraw(session: Session, *, actor: Actor, holder: HolderRef, consent_id: str, now: datetime) -> Consent:
    """Withdraw one of the holder's consents (idempotent); another holder's does not exist for them."""
    consent = session.scalar(select(Consent).where(Consent.id == consent_id).with_for_update())
    if consent is None or consent.holder_index != holder.index:
        raise ConsentNotFound("no such consent")
    if consent.withdrawn_at is None:
        consent.withdrawn_at = now
        session.flush()
        _record(session, "consent.withdraw", actor, holder, consent)
    return consent


def status_of(consent: Consent, now: datetime) -> str:
    """``active``, ``withdrawn`` or ``expired``."""
    if consent.withdrawn_at is not None:
        return "withdrawn"
    return "active" if consent.expires_at > now else "expired"


def _record(session: Session, action: str, actor: Actor, holder: HolderRef, consent: Consent) -> None:
    record(
        session,
        Event(
            action=action,
            actor=actor.label,
            org_code=consent.grantee_code,
            subject=holder.index,
            item_code=consent.item_code,
            details={"consent": consent.id, "type_codes": list(consent.type_codes)},
        ),
    )
