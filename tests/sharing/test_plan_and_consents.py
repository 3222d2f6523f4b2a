"""The plan's finer points, and the checks a consent must pass."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certificates.models import Certificate
from certificates.personal import face_of
from hub.demo import DEMO_CITIZEN, DEMO_PORTAL, ID_CARD
from hub.state import HubState
from tests.factories import bearer, client_token
from tests.sharing.demo_world import DemoWorld, load_demo_world

HOLDER = {"kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code}


def _consent(client: TestClient, world: DemoWorld, **changes: Any) -> Any:
    body = {
        "grantee": DEMO_PORTAL,
        "item_code": "WJ-BIRTH-CERTIFICATE",
        "type_codes": [ID_CARD],
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    } | changes
    return client.post("/api/v1/me/consents", json=body, headers=bearer(world.citizen_token))


def test_the_newest_certificate_wins_and_the_plan_says_which_lost(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    world = load_demo_world(hub_state, session)
    old = session.get(Certificate, world.certificates[0])
    assert old is not None and old.type_code == ID_CARD
    issued_on = old.issued_on + timedelta(days=30)
    newer = {
        "type_code": ID_CARD,
        "external_id": "a-newer-identity-card",
        "holder": {"name": DEMO_CITIZEN.name, "kind": "111", "code": DEMO_CITIZEN.code},
        "issued_on": issued_on.isoformat(),
        "valid_from": issued_on.isoformat(),
        "valid_until": (issued_on + timedelta(days=3650)).isoformat(),
        "area_code": "310104",
        "data": face_of(hub_state.vault, old) | {"name": "林晓梅（更名）"},
    }
    dept = client_token(hub_state, session, org=old.issuer_code)
    r = client.post("/api/v1/certificates", json=newer, headers=bearer(dept))
    assert r.status_code == 201, r.text
    assert _consent(client, world).status_code == 201
    body = {"holder": HOLDER, "use_cause": "办理出生医学证明", "items": ["WJ-BIRTH-CERTIFICATE"]}
    plan = client.post("/api/v1/sharing/plan", json=body, headers=bearer(world.portal_token)).json()
    mother = next(f for f in plan["form"] if f["name"] == "mother_name")
    assert mother["value"] == "林晓梅（更名）"
    assert mother["source"] == {"certificate_id": r.json()["id"], "field": "name"}
    assert mother["overridden"] == [old.id]
    m01 = next(m for m in plan["materials"] if m["code"] == "M01")
    assert m01["certificate_id"] == r.json()["id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"grantee": "11310000DEM000011T"}, "grantee"),  # a department, not a portal
        ({"item_code": "NO-SUCH-ITEM"}, "item_code"),
        ({"type_codes": []}, "type_codes"),
        ({"type_codes": ["11310000DEM0000144001"]}, "type_codes"),  # the item does not need it
        ({"expires_at": "2020-01-01T00:00:00+00:00"}, "expires_at"),
        ({"expires_at": (date.today() + timedelta(days=800)).isoformat() + "T00:00:00+00:00"}, "expires_at"),
    ],
)
def test_a_bad_consent_is_refused_naming_the_field(
    client: TestClient, hub_state: HubState, session: Session, changes: dict[str, Any], field: str
) -> None:
    world = load_demo_world(hub_state, session)
    r = _consent(client, world, **changes)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"one_thing": "OT-NO-SUCH"}, "one_thing"),
        ({"one_thing": "OT-NEWBORN", "answers": {"no_such_question": "x"}}, "answers.no_such_question"),
        ({"one_thing": "OT-NEWBORN", "answers": {"hukou": "mars"}}, "answers.hukou"),
        ({"items": ["NO-SUCH-ITEM"]}, "items"),
        ({}, "one_thing"),
    ],
)
def test_unknown_items_questions_and_answers_are_422(
    client: TestClient, hub_state: HubState, session: Session, body: dict[str, Any], field: str
) -> None:
    world = load_demo_world(hub_state, session)
    full = {"holder": HOLDER, "use_cause": "办理新生儿出生一件事"} | body
    r = client.post("/api/v1/sharing/plan", json=full, headers=bearer(world.portal_token))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
