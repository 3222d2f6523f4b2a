"""Admin actions are entries of the audit log in the transaction that makes them: API clients
created and revoked, seals created and revoked (catalog and organization changes: test_catalog_api)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.models import AuditEvent
from catalog.clients import create_client, revoke_client
from certificates.seals import revoke_seal
from hub.state import HubState
from tests.factories import add_org


def _entries(session: Session, org_code: str) -> list[tuple[str, str, dict[str, object]]]:
    session.commit()  # entries are numbered, and written, when their transaction commits
    rows = session.scalars(select(AuditEvent).where(AuditEvent.org_code == org_code).order_by(AuditEvent.seq))
    return [(row.action, row.actor, row.details) for row in rows]


def test_creating_and_revoking_a_client_are_entries_without_its_token(
    hub_state: HubState, session: Session
) -> None:
    org = add_org(hub_state, session, kind="portal")
    issued = create_client(session, hub_state.token_hash_key, name="一网通办", org_code=org, admin=False)
    revoke_client(session, issued.client_id)
    revoke_client(session, issued.client_id)  # already revoked: nothing more to record
    entries = [e for e in _entries(session, org) if e[0].startswith("client.")]
    assert [(action, actor) for action, actor, _ in entries] == [
        ("client.create", "operator"),
        ("client.revoke", "operator"),
    ]
    assert entries[0][2] == {"client_id": issued.client_id, "name": "一网通办", "role": "portal"}
    assert issued.token.split("_")[-1] not in repr(entries)


def test_a_seal_made_and_revoked_are_entries(hub_state: HubState, session: Session) -> None:
    org = add_org(hub_state, session, name="示范市公安局")
    seal = hub_state.signing.ensure_seal(session, org, "示范市公安局")
    revoke_seal(session, org, reason="key_compromise", now=datetime.now(UTC))
    entries = _entries(session, org)
    actions = [(action, details) for action, _, details in entries if action.startswith("seal.")]
    assert [a for a, _ in actions] == ["seal.create", "seal.revoke"]
    assert actions[1][1] == {"serial_number": seal.serial_number, "reason": "key_compromise"}
