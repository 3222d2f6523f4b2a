"""The whole application story over HTTP on the demo data, on SQLite and PostgreSQL.

A citizen with a birth certificate on file applies for 新生儿出生一件事 through the demo portal;
pre-review passes; the auto-reviewed item (预防接种证办理) is approved at once and the manual one
(出生医学证明办理) waits in the 卫健委's queue; the department asks for a supplement, the portal
supplies it, the department approves; the 预防接种证 is issued, sealed (pdfsig accepts it) and listed
in /me/certificates; the commitment is open, then fulfilled; the citizen rates the service and sees
every step in her access log."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from certificates.seals import pem
from hub.demo import DEMO_CITIZEN
from hub.state import HubState
from tests.applications.story import (
    BIRTH_ITEM,
    HEALTH,
    VACCINATION_CARD,
    VACCINATION_ITEM,
    application,
    load_story,
    pdf_b64,
)
from tests.pdfsig import Pdfsig


def test_the_whole_application_story(
    client: TestClient, hub_state: HubState, session: Session, tmp_path: Path
) -> None:
    s = load_story(hub_state, session)
    body = application()

    # 智能预审: passes, and says which item will be decided without a clerk.
    r = client.post("/api/v1/applications/pre-review", json=body, headers=s.portal)
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["ok"] is True and review["problems"] == [], review
    assert review["auto_decidable"] == [VACCINATION_ITEM]
    flags = {i["item_code"]: [f["code"] for f in i["flags"]] for i in review["items"]}
    assert flags[BIRTH_ITEM] == ["commitment_used"]

    # 一表申请, 一口受理.
    r = client.post("/api/v1/applications", json=body, headers=s.portal)
    assert r.status_code == 201, r.text
    app = r.json()
    app_id = app["id"]
    assert app["status"] == "in_review" and app["certificates"] == []
    tasks = {t["item_code"]: t for t in app["tasks"]}
    assert tasks[VACCINATION_ITEM]["status"] == "approved"
    assert tasks[VACCINATION_ITEM]["decided_by"] == "auto"
    assert tasks[VACCINATION_ITEM]["rule"] == "auto:all_materials_on_file"
    birth = tasks[BIRTH_ITEM]
    assert birth["status"] == "pending" and birth["decided_by"] is None and birth["org"] == HEALTH
    assert birth["due_on"] == (date.today() + timedelta(days=5)).isoformat()
    assert [f["code"] for f in birth["flags"]] == ["commitment_used"]
    assert app["holder"]["code"] != DEMO_CITIZEN.code  # masked for the portal
    (commitment,) = app["commitments"]
    assert commitment["material"] == "M04" and commitment["status"] == "open"
    assert commitment["due_on"] == (date.today() + timedelta(days=30)).isoformat()

    # Submitting again is the same application.
    again = client.post("/api/v1/applications", json=body, headers=s.portal)
    assert again.status_code == 200 and again.json()["id"] == app_id

    # The manual item waits in its department's queue.
    r = client.get("/api/v1/tasks", params={"status": "pending"}, headers=s.health)
    assert r.status_code == 200, r.text
    assert [t["id"] for t in r.json()["tasks"]] == [birth["id"]]
    assert client.get("/api/v1/tasks", headers=s.police).json()["tasks"] == []

    # The department asks for a supplement; the portal supplies it; the task is pending again.
    decision = {"decision": "supplement", "reason": "新生儿姓名确认书不清晰", "requested": ["M03"]}
    r = client.post(f"/api/v1/tasks/{birth['id']}/decision", json=decision, headers=s.health)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "supplement_required"
    assert r.json()["application_status"] == "supplement_required"
    supplement = {"materials": [{"item_code": BIRTH_ITEM, "code": "M03", "file": pdf_b64()}]}
    r = client.post(f"/api/v1/applications/{app_id}/supplements", json=supplement, headers=s.portal)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_review"
    assert {t["item_code"]: t["status"] for t in r.json()["tasks"]}[BIRTH_ITEM] == "pending"
    assert [m["round"] for m in r.json()["materials"] if m["code"] == "M03"] == [0, 1]

    # The department approves: every task approved, the certificate is issued, the application completed.
    r = client.post(f"/api/v1/tasks/{birth['id']}/decision", json={"decision": "approve"}, headers=s.health)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["application_status"] == "completed"
    app = client.get(f"/api/v1/applications/{app_id}", headers=s.citizen).json()
    assert app["status"] == "completed" and app["holder"]["code"] == DEMO_CITIZEN.code
    (issued,) = app["certificates"]
    assert issued["item_code"] == VACCINATION_ITEM
    mine = client.get("/api/v1/me/certificates", headers=s.citizen).json()["certificates"]
    card = next(c for c in mine if c["id"] == issued["certificate_id"])
    assert card["type_code"] == VACCINATION_CARD and card["issuer_code"] == HEALTH
    assert card["data"]["vaccination_unit"] == "示范市徐汇区社区卫生服务中心（演示）"
    pdf = client.get(card["links"]["file"], headers=s.citizen)
    assert pdf.status_code == 200
    report = Pdfsig(tmp_path, pem(hub_state.signing.pki.root_cert))(pdf.content, online=False)
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report

    # The commitment is followed up: open, then fulfilled with her marriage certificate.
    r = client.get("/api/v1/commitments", params={"status": "open"}, headers=s.health)
    assert [c["id"] for c in r.json()["commitments"]] == [commitment["id"]]
    r = client.post(
        f"/api/v1/commitments/{commitment['id']}/fulfil",
        json={"certificate_id": s.marriage_certificate},
        headers=s.health,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "fulfilled"
    assert client.get("/api/v1/commitments", params={"status": "open"}, headers=s.health).json() == {
        "commitments": []
    }

    # 好差评: once.
    r = client.post(
        f"/api/v1/applications/{app_id}/rating", json={"score": 5, "comment": "一次办好"}, headers=s.citizen
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/applications/{app_id}/rating", json={"score": 1}, headers=s.citizen)
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    r = client.get("/api/v1/ratings", params={"item_code": VACCINATION_ITEM}, headers=s.admin)
    assert r.json() == {"count": 1, "average": 5.0, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
    assert client.get("/api/v1/ratings", headers=s.health).json()["count"] == 1  # its own items
    assert client.get("/api/v1/ratings", params={"org": HEALTH}, headers=s.police).status_code == 403

    # The holder sees her application and every step in her access log.
    mine = client.get("/api/v1/me/applications", headers=s.citizen).json()["applications"]
    assert [a["id"] for a in mine] == [app_id] and mine[0]["rating"]["score"] == 5
    log = client.get("/api/v1/me/access-log", params={"limit": 200}, headers=s.citizen).json()["entries"]
    actions = [
        e["action"]
        for e in log
        if e["details"].get("application") == app_id or e["action"].startswith("application.")
    ]
    for step in (
        "application.pre_review",
        "application.intake",
        "application.submitted",
        "application.decided",
        "application.supplemented",
        "application.certificate_issued",
        "application.completed",
        "application.commitment_fulfilled",
        "application.rated",
    ):
        assert step in actions, (step, actions)
    assert sum(1 for e in log if e["action"] == "application.decided") == 3  # auto, supplement, approve


def test_a_department_sees_only_its_part(client: TestClient, hub_state: HubState, session: Session) -> None:
    s = load_story(hub_state, session)
    body = application(
        answers={"hukou": "local", "social_security_card": "no", "mother_insured": "no"},
        materials=[
            {"item_code": BIRTH_ITEM, "code": "M03", "file": pdf_b64()},
            {"item_code": BIRTH_ITEM, "code": "M04", "commitment": True},
            {"item_code": "GA-BIRTH-HUKOU", "code": "M01", "file": pdf_b64()},
            {"item_code": "GA-BIRTH-HUKOU", "code": "M02", "file": pdf_b64()},
            {"item_code": "GA-BIRTH-HUKOU", "code": "M03", "file": pdf_b64()},
            {"item_code": "GA-BIRTH-HUKOU", "code": "M04", "commitment": True},
            {"item_code": "YB-RESIDENT-ENROLMENT", "code": "M01", "tolerated": True},
            {"item_code": "YB-RESIDENT-ENROLMENT", "code": "M02", "file": pdf_b64()},
        ],
    )
    r = client.post("/api/v1/applications", json=body, headers=s.portal)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    police_view = client.get(f"/api/v1/applications/{app_id}", headers=s.police).json()
    assert {t["item_code"] for t in police_view["tasks"]} == {"GA-BIRTH-HUKOU"}
    assert set(police_view["form"]) <= {"GA-BIRTH-HUKOU"}
    assert {m["item_code"] for m in police_view["materials"]} == {"GA-BIRTH-HUKOU"}
    assert police_view["holder"]["code"] == DEMO_CITIZEN.code  # it handles the application
    # 医保 (auto) used a tolerated material: a clerk must look.
    tasks = {t["item_code"]: t for t in r.json()["tasks"]}
    assert tasks["YB-RESIDENT-ENROLMENT"]["status"] == "pending"
    assert "tolerated_used" in [f["code"] for f in tasks["YB-RESIDENT-ENROLMENT"]["flags"]]
    # Strangers learn nothing.
    for headers in (s.other_portal, s.other_citizen):
        r = client.get(f"/api/v1/applications/{app_id}", headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "application_not_found"
    admin_view = client.get(f"/api/v1/applications/{app_id}", headers=s.admin).json()
    assert admin_view["form"] == {} and admin_view["holder"]["code"] != DEMO_CITIZEN.code
