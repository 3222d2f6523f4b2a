"""What a holder reads about themselves: their certificates and who used their data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from audit.log import events_about
from audit.models import AuditEvent
from certificates.models import Certificate
from certificates.privacy import HolderVault
from certificates.repository import holder_certificates
from kernel.clock import today
from sharing.holders import HolderRef
from sharing.uses import ACTIONS


def my_certificates(session: Session, vault: HolderVault, holder: HolderRef) -> list[Certificate]:
    """Every certificate (every version) of the holder, newest first."""
    certs = holder_certificates(
        session, vault, holder_kind=holder.kind, holder_code=holder.code, today=today(), usable_only=False
    )
    return sorted(certs, key=lambda c: (c.issued_on, c.created_at), reverse=True)


def access_log(
    session: Session, holder: HolderRef, *, limit: int, offset: int
) -> tuple[int, list[AuditEvent]]:
    """Every use of the holder's data by a portal, newest first, and how many there are."""
    return events_about(session, holder.index, actions=ACTIONS, limit=limit, offset=offset)
