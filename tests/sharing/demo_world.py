"""The demo catalog and the demo citizen, loaded into a test's transaction, with tokens to act with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog.service import DatabaseLookup, demo_bundle, load_bundle
from hub.demo import DEMO_CITIZEN, DEMO_PORTAL, issue_demo_citizen
from hub.services import register_organization
from hub.state import HubState
from tests.factories import add_org, client_token, new_ric


@dataclass(frozen=True)
class DemoWorld:
    certificates: list[str]  # the demo citizen's
    citizen_token: str
    portal_token: str  # the demo portal's
    other_portal: str
    other_portal_token: str
    other_citizen_token: str
    department_token: str  # the 卫健委, issuer of the birth certificate


def load_demo_world(state: HubState, session: Session) -> DemoWorld:
    bundle = demo_bundle(DatabaseLookup(session))
    load_bundle(session, bundle, put_organization=lambda s, **org: register_organization(state, s, **org))
    ids = issue_demo_citizen(state, session)
    session.flush()
    assert state.dev_idp is not None
    other_portal = add_org(state, session, kind="portal")
    return DemoWorld(
        certificates=ids,
        citizen_token=state.dev_idp.token(DEMO_CITIZEN.kind, DEMO_CITIZEN.code, DEMO_CITIZEN.name),
        portal_token=client_token(state, session, org=DEMO_PORTAL),
        other_portal=other_portal,
        other_portal_token=client_token(state, session, org=other_portal),
        other_citizen_token=state.dev_idp.token("111", new_ric(), "李四"),
        department_token=client_token(state, session, org="11310000DEM0000131"),
    )
