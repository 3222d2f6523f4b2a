"""Use cases that span packages (catalog + certificates + signing), called by routers and the CLI."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog.models import Organization
from catalog.organizations import put_organization
from hub.state import HubState


def register_organization(
    state: HubState, session: Session, *, code: str, name: str, kind: str, demo: bool = False
) -> Organization:
    """Register or update an organization; a department gets its seal."""
    org = put_organization(session, code=code, name=name, kind=kind, demo=demo)
    return org
