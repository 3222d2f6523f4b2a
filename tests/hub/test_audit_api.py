"""The audit log over HTTP: checkpoints signed and checkable from the trust list alone, proofs that
verify, events for admins only, bad parameters answered 422."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from audit.offline import check_checkpoint, check_extends, check_included
from hub.state import HubState
from signing.trust import TrustList
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc


@pytest.fixture
def tokens(hub_state: HubState, session: Session) -> dict[str, str]:
    dept = add_org(hub_state, session)
    type_code = add_certificate_type(session, definer=dept, issuers=[dept])
    session.commit()
    return {
        "dept": client_token(hub_state, session, org=dept),
        "admin": client_token(hub_state, session, admin=True),
        "type": type_code,
    }


def _issue(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(tokens["type"], new_uscc("91310000")),
        headers=bearer(tokens["dept"]),
    )
    assert r.status_code == 201, r.text


def _checkpoint(client: TestClient, tokens: dict[str, str]) -> dict[str, object]:
    r = client.post("/api/v1/audit/checkpoint", headers=bearer(tokens["admin"]))
    assert r.status_code == 200, r.text
    public = client.get("/api/v1/audit/checkpoint")
    assert public.status_code == 200 and public.json() == r.json()
    return dict(r.json())


def test_a_checkpoint_verifies_with_the_trust_list_alone(
    client: TestClient, tokens: dict[str, str], hub_state: HubState
) -> None:
    _issue(client, tokens)
    checkpoint = _checkpoint(client, tokens)
    trust = TrustList.from_api(client.get("/api/v1/trust").json())
    origin = hub_state.settings.public_url
    assert check_checkpoint(checkpoint, origin, trust.audit_keys) is None
    assert checkpoint["timestamp"]  # timestamped by the hub's TSA over the note
    forged = dict(checkpoint, size=int(checkpoint["size"]) + 1)  # type: ignore[call-overload]
    assert "does not match its fields" in (check_checkpoint(forged, origin, trust.audit_keys) or "")
    forged.pop("note")
    assert "signature does not verify" in (check_checkpoint(forged, origin, trust.audit_keys) or "")
    other_sig = base64.b64encode(b"0" * 70).decode()
    assert check_checkpoint(dict(checkpoint, signature=other_sig), origin, trust.audit_keys) is not None


def test_proofs_tie_entries_and_checkpoints_together(client: TestClient, tokens: dict[str, str]) -> None:
    _issue(client, tokens)
    first = _checkpoint(client, tokens)
    _issue(client, tokens)
    _issue(client, tokens)
    second = _checkpoint(client, tokens)
    assert int(second["size"]) > int(first["size"])  # type: ignore[call-overload]
    r = client.get(f"/api/v1/audit/proof/consistency?first={first['size']}&second={second['size']}")
    assert r.status_code == 200, r.text
    assert check_extends(first, second, r.json()["hashes"]) is None
    assert check_extends(dict(first, root="00" * 32), second, r.json()["hashes"]) is not None
    last = int(second["size"])  # type: ignore[call-overload]
    r = client.get(f"/api/v1/audit/proof/inclusion?seq={last}&size={last}")
    proof = r.json()
    assert check_included(proof["leaf_hash"], last, second, proof["hashes"]) is None
    assert check_included("11" * 32, last, second, proof["hashes"]) is not None


def test_a_checkpoint_with_nothing_new_answers_the_latest(client: TestClient, tokens: dict[str, str]) -> None:
    _issue(client, tokens)
    assert _checkpoint(client, tokens) == _checkpoint(client, tokens)


def test_events_are_for_admins_and_carry_what_recomputes_their_leaves(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _issue(client, tokens)
    assert client.get("/api/v1/audit/events").status_code == 401
    assert client.get("/api/v1/audit/events", headers=bearer(tokens["dept"])).status_code == 403
    r = client.get("/api/v1/audit/events?after=0&limit=1000", headers=bearer(tokens["admin"]))
    assert r.status_code == 200
    body = r.json()
    assert [e["seq"] for e in body["events"]] == list(range(1, min(body["size"], 1000) + 1))
    assert body["events"][-1]["action"].startswith("certificate.") or body["size"] > 1000


@pytest.mark.parametrize(
    "query",
    [
        "proof/inclusion?seq=5&size=2",
        "proof/inclusion?seq=1&size=99999999",
        "proof/inclusion?seq=0&size=1",
        "proof/consistency?first=3&second=2",
        "proof/consistency?first=1&second=9223372036854775808",
        "events?after=-1",
    ],
)
def test_bad_parameters_are_422(client: TestClient, tokens: dict[str, str], query: str) -> None:
    _issue(client, tokens)
    r = client.get(f"/api/v1/audit/{query}", headers=bearer(tokens["admin"]))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
