"""The whole sharing story over HTTP on the demo data, on SQLite and PostgreSQL.

A citizen grants consent; a portal plans 新生儿出生一件事 for her, sees which materials are on file,
gets the form prefilled, fetches an annotated copy once, verifies submitted data; the citizen sees
every one of those uses in her access log; after withdrawal the portal is refused and the plan no
longer lists the conditional materials as on file. Another portal and another citizen are refused
throughout."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certificates.identifiers import parse
from certificates.seals import pem
from hub.demo import BIRTH_CERTIFICATE, DEMO_CITIZEN, DEMO_CONSENTS, DEMO_PORTAL, ID_CARD
from hub.state import HubState
from tests.factories import bearer
from tests.pdfsig import Pdfsig
from tests.sharing.demo_world import load_demo_world

HOLDER = {"kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code}
CAUSE = "办理新生儿出生一件事：出生医学证明"
PLAN = {
    "holder": HOLDER,
    "use_cause": CAUSE,
    "one_thing": "OT-NEWBORN",
    "answers": {"hukou": "elsewhere", "mother_insured": "no"},
}
LOOKUP = {"holder": HOLDER, "item_code": "WJ-BIRTH-CERTIFICATE", "use_cause": CAUSE, "type_codes": [ID_CARD]}


def _materials(plan: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["item_code"], m["code"]): m for m in plan["materials"]}


def _form(plan: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["item_code"], f["name"]): f for f in plan["form"]}


def test_the_whole_sharing_story(
    client: TestClient, hub_state: HubState, session: Session, tmp_path: Path
) -> None:
    world = load_demo_world(hub_state, session)
    id_card, birth = world.certificates[0], world.certificates[1]
    citizen, portal = bearer(world.citizen_token), bearer(world.portal_token)
    other_portal, other_citizen = bearer(world.other_portal_token), bearer(world.other_citizen_token)

    # Before any consent: conditional types are neither released nor on file.
    r = client.post("/api/v1/sharing/lookup", json=LOOKUP, headers=portal)
    assert r.status_code == 403 and r.json()["code"] == "consent_required", r.text
    r = client.post("/api/v1/sharing/plan", json=PLAN, headers=portal)
    assert r.status_code == 200, r.text
    assert _materials(r.json())[("WJ-BIRTH-CERTIFICATE", "M01")]["state"] == "upload"

    # The citizen grants the demo portal what the two items need.
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    granted = []
    for item_code, types in DEMO_CONSENTS.items():
        body = {"grantee": DEMO_PORTAL, "item_code": item_code, "type_codes": types, "expires_at": expires}
        r = client.post("/api/v1/me/consents", json=body, headers=citizen)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "active"
        granted.append(r.json()["id"])
    listed = client.get("/api/v1/me/consents", headers=citizen).json()["consents"]
    assert sorted(c["id"] for c in listed) == sorted(granted)

    # The plan: the checklist with what is on file, and the form prefilled with its sources.
    r = client.post("/api/v1/sharing/plan", json=PLAN, headers=portal)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["items"] == ["WJ-BIRTH-CERTIFICATE", "WJ-VACCINATION"] and plan["complete"] is True
    materials = _materials(plan)
    assert materials[("WJ-BIRTH-CERTIFICATE", "M01")] | {} == {
        "item_code": "WJ-BIRTH-CERTIFICATE", "code": "M01", "name": "母亲身份证明", "required": True,
        "state": "on_file", "certificate_id": id_card, "data_resource": None,
    }  # fmt: skip
    assert materials[("WJ-BIRTH-CERTIFICATE", "M03")]["state"] == "upload"
    assert materials[("WJ-VACCINATION", "M01")]["certificate_id"] == birth
    form = _form(plan)
    assert form[("WJ-BIRTH-CERTIFICATE", "mother_name")]["value"] == DEMO_CITIZEN.name
    source = form[("WJ-BIRTH-CERTIFICATE", "mother_name")]["source"]
    assert source == {"certificate_id": id_card, "field": "name"}
    assert form[("WJ-BIRTH-CERTIFICATE", "child_name")]["source"] is None
    assert form[("WJ-VACCINATION", "child_name")]["source"]["certificate_id"] == birth

    # Lookup: usable certificates of the asked type, the holder code masked.
    r = client.post("/api/v1/sharing/lookup", json=LOOKUP, headers=portal)
    assert r.status_code == 200, r.text
    found = r.json()["certificates"]
    assert [c["id"] for c in found] == [id_card]
    assert found[0]["holder"]["code"] != DEMO_CITIZEN.code and "*" in found[0]["holder"]["code"]
    assert found[0]["verification_code"] is None

    # An annotated copy, once; pdfsig accepts it.
    body = {"certificate_id": id_card, "item_code": "WJ-BIRTH-CERTIFICATE", "use_cause": CAUSE}
    r = client.post("/api/v1/sharing/copies", json=body, headers=portal)
    assert r.status_code == 201, r.text
    path = r.json()["url"].removeprefix(hub_state.settings.public_url)
    first = client.get(path)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    second = client.get(path)
    assert second.status_code == 410 and second.json()["code"] == "copy_gone"
    report = Pdfsig(tmp_path, pem(hub_state.signing.pki.root_cert))(first.content, online=False)
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
    upload = {"file": ("copy.pdf", first.content, "application/pdf")}
    verified = client.post("/api/v1/verify", files=upload).json()  # anyone can check a copy too
    assert verified["result"] == "valid" and verified["certificate"]["id"] == id_card, verified
    trusted = client.get("/api/v1/trust").json()["seals"]
    assert hub_state.settings.signing.operator_code in {s["org"] for s in trusted}  # offline verifiers too

    # Data verification: right data is 0, a wrong value is 7 naming the field, never the true value.
    check = {"certificate_id": id_card, "item_code": "WJ-BIRTH-CERTIFICATE", "use_cause": CAUSE}
    right, wrong = check | {"data": {"name": DEMO_CITIZEN.name}}, check | {"data": {"name": "王五"}}
    r = client.post("/api/v1/sharing/verify-data", json=right, headers=portal)
    assert r.status_code == 200 and r.json() == {"result": 0, "mismatched": []}, r.text
    r = client.post("/api/v1/sharing/verify-data", json=wrong, headers=portal)
    assert r.json() == {"result": 7, "mismatched": ["name"]}
    assert DEMO_CITIZEN.name not in r.text

    # Another portal gets nothing out of her consents.
    r = client.post("/api/v1/sharing/lookup", json=LOOKUP, headers=other_portal)
    assert r.status_code == 403 and r.json()["code"] == "consent_required"
    r = client.post("/api/v1/sharing/plan", json=PLAN, headers=other_portal)
    assert all(m["state"] != "on_file" for m in r.json()["materials"] if m["certificate_id"] is None)
    assert not any(m["certificate_id"] for m in r.json()["materials"])
    assert not any(f["source"] for f in r.json()["form"])
    r = client.post("/api/v1/sharing/copies", json=body, headers=other_portal)
    assert r.status_code == 404 and r.json()["code"] == "certificate_not_found"
    r = client.post("/api/v1/sharing/verify-data", json=wrong, headers=other_portal)
    assert r.json() == {"result": 5, "mismatched": []}

    # The citizen sees every use, newest first; another citizen sees none of it.
    log = client.get("/api/v1/me/access-log", headers=citizen).json()
    actions = [e["action"] for e in log["entries"]]
    for action in ("plan", "lookup", "copy", "copy_fetched", "verify_data"):
        assert f"sharing.{action}" in actions, actions
    # The other portal's plan is on record too — as a call that was given nothing; its refusals left none.
    theirs = [e for e in log["entries"] if e["organization"]["code"] != DEMO_PORTAL]
    assert [(e["action"], e["organization"]["code"]) for e in theirs] == [
        ("sharing.plan", world.other_portal),
        ("sharing.plan", world.other_portal),
    ]
    assert all(e["certificates"] == [] for e in theirs)
    assert {e["use_cause"] for e in log["entries"]} == {CAUSE}
    ours = [e["action"] for e in log["entries"] if e["organization"]["code"] == DEMO_PORTAL]
    assert ours[0] == "sharing.verify_data" and ours[-1] == "sharing.plan"  # newest first
    assert log["total"] == len(log["entries"])
    assert client.get("/api/v1/me/access-log", headers=other_citizen).json()["total"] == 0
    mine = client.get("/api/v1/me/certificates", headers=citizen).json()["certificates"]
    assert set(world.certificates) <= {c["id"] for c in mine}
    assert mine[0]["holder"]["code"] == DEMO_CITIZEN.code  # unmasked for the holder
    assert client.get("/api/v1/me/certificates", headers=other_citizen).json()["certificates"] == []
    assert client.delete(f"/api/v1/me/consents/{granted[0]}", headers=other_citizen).status_code == 404

    # Withdrawal takes effect on the very next call.
    assert client.delete(f"/api/v1/me/consents/{granted[0]}", headers=citizen).status_code == 204
    r = client.post("/api/v1/sharing/lookup", json=LOOKUP, headers=portal)
    assert r.status_code == 403 and r.json()["code"] == "consent_required"
    materials = _materials(client.post("/api/v1/sharing/plan", json=PLAN, headers=portal).json())
    assert materials[("WJ-BIRTH-CERTIFICATE", "M01")]["state"] == "upload"
    assert materials[("WJ-VACCINATION", "M01")]["state"] == "on_file"  # the other consent stands


def test_only_holders_use_the_holder_paths_and_only_portals_the_sharing_ones(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    world = load_demo_world(hub_state, session)
    for path in ("/api/v1/me/certificates", "/api/v1/me/access-log", "/api/v1/me/consents"):
        assert client.get(path, headers=bearer("not.a.jwt")).status_code == 401
        assert client.get(path).status_code == 401
        r = client.get(path, headers=bearer(world.department_token))
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/api/v1/sharing/lookup", json=LOOKUP, headers=bearer(world.department_token))
    assert r.status_code == 403
    r = client.post("/api/v1/sharing/lookup", json=LOOKUP, headers=bearer(world.citizen_token))
    assert r.status_code == 403


def test_a_portal_may_not_fish_for_types_the_item_does_not_need(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    world = load_demo_world(hub_state, session)
    body = LOOKUP | {"type_codes": [BIRTH_CERTIFICATE]}  # the birth certificate item does not ask for it
    r = client.post("/api/v1/sharing/lookup", json=body, headers=bearer(world.portal_token))
    assert r.status_code == 403 and r.json()["code"] == "type_not_needed"


def test_a_copy_the_portal_may_not_have_is_refused_as_for_a_certificate_nobody_issued(
    client: TestClient, hub_state: HubState, session: Session
) -> None:
    """Without the holder's consent, or for an item that does not need its type, a certificate does
    not exist for the portal: the answer tells neither that it exists nor of what type it is."""
    world = load_demo_world(hub_state, session)
    id_card, birth = world.certificates[0], world.certificates[1]

    def answer(certificate_id: str) -> tuple[int, dict[str, Any]]:
        body = {"certificate_id": certificate_id, "item_code": "WJ-BIRTH-CERTIFICATE", "use_cause": CAUSE}
        r = client.post("/api/v1/sharing/copies", json=body, headers=bearer(world.portal_token))
        problem = r.json()
        problem.pop("request_id")  # names the request, not the certificate: differs on every call
        return r.status_code, problem

    made_up = answer(str(replace(parse(id_card), serial="9" * 20)))
    assert made_up[0] == 404 and made_up[1]["code"] == "certificate_not_found"
    assert answer(id_card) == made_up  # the item needs the identity card; the holder has not consented
    assert answer(birth) == made_up  # the item does not need a birth certificate
