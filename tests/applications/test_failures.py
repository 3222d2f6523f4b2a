"""What goes wrong, and the clear answer each time: a failed pre-review creates nothing; one decision
per task, by its own department; storage down at issuance leaves the application approved until a
later try completes it, with nothing issued twice."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certificates.blobstore_s3 import S3BlobStore
from hub.app import create_app
from hub.demo import BIRTH_CERTIFICATE
from hub.state import HubState
from tests.applications.story import (
    BIRTH_ITEM,
    VACCINATION_CARD,
    VACCINATION_ITEM,
    Story,
    application,
    load_story,
)
from tests.factories import new_ric
from tests.live import free_port


def _problems(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "pre_review_failed", r.text
    return list(r.json()["problems"])


def _nothing_created(client: TestClient, s: Story) -> None:
    assert client.get("/api/v1/me/applications", headers=s.citizen).json() == {"applications": []}
    log = client.get("/api/v1/me/access-log", params={"limit": 200}, headers=s.citizen).json()["entries"]
    # A pre-review is a recorded use of her data; nothing of the failed intake is left.
    assert not [
        e for e in log if e["action"].startswith("application.") and e["action"] != "application.pre_review"
    ]
    assert client.get("/api/v1/tasks", headers=s.health).json() == {"tasks": []}


def test_a_missing_required_material_fails_pre_review_and_creates_nothing(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    s = load_story(hub_state, session)
    body = application(materials=[{"item_code": BIRTH_ITEM, "code": "M04", "commitment": True}])
    r = client.post("/api/v1/applications/pre-review", json=body, headers=s.portal)
    assert r.status_code == 200 and r.json()["ok"] is False
    found = [(p["item_code"], p["material"], p["code"]) for p in r.json()["problems"]]
    assert found == [(BIRTH_ITEM, "M03", "material_missing")]
    problems = _problems(client.post("/api/v1/applications", json=body, headers=s.portal))
    assert [(p["item_code"], p["material"], p["code"]) for p in problems] == [
        (BIRTH_ITEM, "M03", "material_missing")
    ]
    _nothing_created(client, s)


def test_a_changed_prefilled_value_fails_pre_review(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    s = load_story(hub_state, session)
    body = application()
    body["form"][BIRTH_ITEM]["mother_name"] = "王芳"  # prefilled from her identity card
    problems = _problems(client.post("/api/v1/applications", json=body, headers=s.portal))
    assert [(p["field"], p["code"]) for p in problems] == [
        (f"form.{BIRTH_ITEM}.mother_name", "field_mismatch")
    ]
    _nothing_created(client, s)


def test_a_strangers_certificate_is_as_unknown_as_a_made_up_one(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    s = load_story(hub_state, session)
    stranger = {
        "type_code": BIRTH_CERTIFICATE,
        "external_id": "stranger-birth",
        "holder": {"name": "陈静", "kind": "111", "code": new_ric()},
        "issued_on": "2025-06-01",
        "valid_from": "2025-06-01",
        "area_code": "310104",
        "data": {
            "certificate_number": "Q310000001",
            "child_name": "陈小雨",
            "child_gender": "女",
            "birth_date": "2025-05-30",
            "birth_place": "示范市",
            "mother_name": "陈静",
            "mother_id_number": new_ric(),
            "institution": "示范市妇幼保健院（演示）",
        },
    }
    r = client.post("/api/v1/certificates", json=stranger, headers=s.health)
    assert r.status_code == 201, r.text
    answers = []
    for certificate_id in (r.json()["id"], r.json()["id"][:-1] + ("X" if r.json()["id"][-1] != "X" else "Y")):
        body = application()
        body["materials"].append(
            {"item_code": VACCINATION_ITEM, "code": "M01", "certificate_id": certificate_id}
        )
        problems = _problems(client.post("/api/v1/applications", json=body, headers=s.portal))
        answers.append([(p["item_code"], p["material"], p["code"], p["detail"]) for p in problems])
    assert answers[0] == answers[1] == [(VACCINATION_ITEM, "M01", "certificate_not_found", answers[0][0][3])]
    _nothing_created(client, s)


def _birth_task(client: TestClient, s: Story, external_id: str = "portal-0001") -> tuple[str, str]:
    r = client.post("/api/v1/applications", json=application(external_id), headers=s.portal)
    assert r.status_code == 201, r.text
    task = next(t for t in r.json()["tasks"] if t["item_code"] == BIRTH_ITEM)
    return r.json()["id"], task["id"]


def test_one_decision_per_task_by_its_own_department(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    s = load_story(hub_state, session)
    app_id, task_id = _birth_task(client, s)
    url = f"/api/v1/tasks/{task_id}/decision"
    r = client.post(url, json={"decision": "approve"}, headers=s.police)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = client.post(url, json={"decision": "approve"}, headers=s.portal)
    assert r.status_code == 403
    r = client.post(url, json={"decision": "reject"}, headers=s.health)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = client.post(url, json={"decision": "supplement", "requested": ["M99"]}, headers=s.health)
    assert r.status_code == 422 and r.json()["field"] == "requested[0]"
    r = client.post(
        "/api/v1/tasks/0123456789abcdef0123456789abcdef/decision",
        json={"decision": "approve"},
        headers=s.health,
    )
    assert r.status_code == 404 and r.json()["code"] == "task_not_found"
    r = client.post(url, json={"decision": "reject", "reason": "材料不实"}, headers=s.health)
    assert r.status_code == 200 and r.json()["application_status"] == "rejected", r.text
    r = client.post(url, json={"decision": "approve"}, headers=s.health)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    # A rejected application's open commitment is cancelled; the holder may still rate the service.
    app_id = (
        r.json().get("application_id")
        or client.get("/api/v1/me/applications", headers=s.citizen).json()["applications"][0]["id"]
    )
    app = client.get(f"/api/v1/applications/{app_id}", headers=s.citizen).json()
    assert app["status"] == "rejected" and [c["status"] for c in app["commitments"]] == ["cancelled"]
    assert (
        client.post(f"/api/v1/applications/{app_id}/rating", json={"score": 2}, headers=s.citizen).status_code
        == 201
    )


def test_withdrawn_before_a_decision(client: TestClient, hub_state: HubState, session: Session) -> None:
    s = load_story(hub_state, session)
    app_id, task_id = _birth_task(client, s)
    assert client.delete(f"/api/v1/applications/{app_id}", headers=s.other_portal).status_code == 404
    assert client.delete(f"/api/v1/applications/{app_id}", headers=s.health).status_code == 403
    r = client.delete(f"/api/v1/applications/{app_id}", headers=s.citizen)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn", r.text
    assert {t["status"] for t in r.json()["tasks"]} == {"approved", "cancelled"}
    r = client.post(f"/api/v1/tasks/{task_id}/decision", json={"decision": "approve"}, headers=s.health)
    assert r.status_code == 409
    r = client.post(f"/api/v1/applications/{app_id}/rating", json={"score": 3}, headers=s.citizen)
    assert r.status_code == 409 and r.json()["code"] == "not_decided"
    assert client.delete(f"/api/v1/applications/{app_id}", headers=s.portal).status_code == 409


def test_storage_down_at_issuance_leaves_it_approved_until_a_later_try(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    s = load_story(hub_state, session)
    app_id, task_id = _birth_task(client, s)
    # Object storage that does not answer: sealing the certificate cannot store its file.
    dead = S3BlobStore(f"127.0.0.1:{free_port()}", "hub", "hub-secret", "hub", connect_timeout=0.5, retries=0)
    with TestClient(create_app(state=replace(hub_state, blobs=dead)), raise_server_exceptions=False) as down:
        r = down.post(f"/api/v1/tasks/{task_id}/decision", json={"decision": "approve"}, headers=s.health)
    assert r.status_code == 200, r.text  # the decision is kept
    assert r.json()["status"] == "approved" and r.json()["application_status"] == "approved"
    app = client.get(f"/api/v1/applications/{app_id}", headers=s.citizen).json()
    assert app["status"] == "approved" and app["certificates"] == []

    # The next decision (on another application) completes the one left approved.
    _, other_task = _birth_task(client, s, "portal-0002")
    r = client.post(f"/api/v1/tasks/{other_task}/decision", json={"decision": "approve"}, headers=s.health)
    assert r.status_code == 200 and r.json()["application_status"] == "completed", r.text
    app = client.get(f"/api/v1/applications/{app_id}", headers=s.citizen).json()
    assert app["status"] == "completed" and len(app["certificates"]) == 1

    # Nothing was issued twice: one 预防接种证 per application.
    from hub.services import complete_application

    assert complete_application(hub_state, app_id).issued == []
    mine = client.get("/api/v1/me/certificates", headers=s.citizen).json()["certificates"]
    assert sum(1 for c in mine if c["type_code"] == VACCINATION_CARD) == 2
