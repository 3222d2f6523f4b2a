"""Use cases that span packages (catalog + certificates + signing), called by routers and the CLI.

The rules live in the domains; this module only hands them the hub's wiring."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from catalog.models import Organization
from catalog.organizations import put_organization
from certificates import maintenance
from hub.state import HubState
from kernel.db import unit_of_work


def register_organization(
    state: HubState,
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    demo: bool = False,
    actor: str = "system",
) -> Organization:
    """Register or update an organization; a department gets its seal."""
    org = put_organization(session, code=code, name=name, kind=kind, demo=demo, actor=actor)
    if org.kind == "department":
        state.signing.ensure_seal(session, org.code, org.name)
    return org


def collect_garbage(state: HubState, *, cutoff: datetime) -> int:
    """Delete blobs older than ``cutoff`` that no certificate row points to."""
    return maintenance.collect_garbage(partial(unit_of_work, state.sessions), state.blobs, cutoff=cutoff)


def upgrade_signatures(state: HubState) -> tuple[int, int]:
    """Raise files sealed below the configured level (e.g. while the timestamp authority was down)."""
    return maintenance.upgrade_signatures(
        partial(unit_of_work, state.sessions),
        state.blobs,
        state.signing.sealing_for,
        target=state.settings.signing.level,
    )
