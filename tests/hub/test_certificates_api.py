"""Certificates over HTTP: issuance, idempotency, batch, reads, lifecycle, versions.

Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates.identifiers import parse
from certificates.models import Certificate, CertificateEvent
from hub.state import HubState
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_ric, new_uscc


@dataclass
class World:
    dept: str
    dept_token: str
    other_dept_token: str
    portal_token: str
    admin_token: str
    type_code: str
    person_type: str


@pytest.fixture
def world(hub_state: HubState, session: Session) -> World:
    dept = add_org(hub_state, session, name="示范市市场监督管理局")
    other = add_org(hub_state, session)
    portal = add_org(hub_state, session, kind="portal")
    type_code = add_certificate_type(session, definer=dept, issuers=[dept])
    person_type = add_certificate_type(
        session,
        definer=dept,
        issuers=[dept],
        holder_kind="111",
        name="结婚证",
        fields=[
            {"name": "spouse", "label": "配偶姓名", "type": "string", "required": True},
            {"name": "spouse_id_number", "label": "配偶公民身份号码", "type": "identity_number"},
            {"name": "spouse_passport", "label": "配偶护照号码", "type": "string", "personal": True},
        ],
    )
    session.commit()
    return World(
        dept=dept,
        dept_token=client_token(hub_state, session, org=dept),
        other_dept_token=client_token(hub_state, session, org=other),
        portal_token=client_token(hub_state, session, org=portal),
        admin_token=client_token(hub_state, session, admin=True),
        type_code=type_code,
        person_type=person_type,
    )


def _issue(client: TestClient, world: World, **over: object) -> dict[str, object]:
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000"), **over),
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_issue_returns_identifier_and_sealed_file(
    client: TestClient, world: World, hub_state: HubState
) -> None:
    cert = _issue(client, world)
    ident = parse(str(cert["id"]))
    assert (ident.type_code, ident.issuer_code, ident.version) == (world.type_code, world.dept, 1)
    assert cert["version"] == "001" and cert["status"] == "01"
    assert len(str(cert["verification_code"])) >= 8
    r = client.get(f"/api/v1/certificates/{cert['id']}/file", headers=bearer(world.dept_token))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    import hashlib

    assert hashlib.sha256(r.content).hexdigest() == cert["sha256"]
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 1
    assert reader.get_fields() and any(f.get("/FT") == "/Sig" for f in reader.get_fields().values())


def test_same_external_id_same_content_is_200_and_same_certificate(client: TestClient, world: World) -> None:
    body = issue_body(world.type_code, new_uscc("91310000"), external_id="same-1")
    first = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    again = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["verification_code"] == first.json()["verification_code"]


def test_same_external_id_other_content_is_409(client: TestClient, world: World) -> None:
    holder = new_uscc("91310000")
    client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, holder, external_id="x-2"),
        headers=bearer(world.dept_token),
    )
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, holder, external_id="x-2", area_code="310102"),
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "external_id_conflict"


def test_type_the_caller_may_not_issue_is_403(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000")),
        headers=bearer(world.other_dept_token),
    )
    assert r.status_code == 403


def test_portal_cannot_issue(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000")),
        headers=bearer(world.portal_token),
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holder": {"name": "某公司", "kind": "001", "code": "91310000MA1FL0000X"}}, "holder.code"),
        ({"holder": {"name": "张三", "kind": "111", "code": "110101199003074514"}}, "holder.kind"),
        ({"data": {"capital": 5}}, "data.company_name"),
        ({"data": {"company_name": "甲", "capital": "many"}}, "data.capital"),
        ({"data": {"company_name": "甲", "established": "2020-13-01"}}, "data.established"),
        ({"data": {"company_name": "甲", "chain": "yes"}}, "data.chain"),
        ({"data": {"company_name": "甲", "colour": "red"}}, "data.colour"),
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"valid_from": "2025-01-01"}, "valid_from"),
        ({"area_code": "31010"}, "area_code"),
        ({"issued_on": "not-a-date"}, "issued_on"),
        ({"serial": "abc"}, "serial"),
        ({"type_code": "11310000MB0000001C999"}, "type_code"),
        ({"file": "%%%not base64"}, "file"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_bad_issuance_is_422_naming_the_field(
    client: TestClient, world: World, session: Session, change: dict[str, object], field: str
) -> None:
    before = session.scalar(select(func.count()).select_from(Certificate))
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000"), **change),
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field
    assert session.scalar(select(func.count()).select_from(Certificate)) == before


def test_person_holder_code_is_masked_for_others_and_plain_for_holder(
    client: TestClient, world: World, hub_state: HubState
) -> None:
    code = new_ric()
    body = issue_body(
        world.person_type, code, holder={"name": "张三", "kind": "111", "code": code}, data={"spouse": "李四"}
    )
    cert = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token)).json()
    assert cert["holder"]["code"] == code  # the issuer sees it
    admin_view = client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(world.admin_token)).json()
    assert admin_view["holder"]["code"] == code[:4] + "*" * 10 + code[-4:]
    assert admin_view["verification_code"] is None
    assert hub_state.dev_idp is not None
    holder_token = hub_state.dev_idp.token("111", code, "张三")
    mine = client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(holder_token)).json()
    assert mine["holder"]["code"] == code and mine["verification_code"] == cert["verification_code"]


def test_identity_number_is_not_stored_in_clear(client: TestClient, world: World, session: Session) -> None:
    code = new_ric()
    body = issue_body(
        world.person_type, code, holder={"name": "张三", "kind": "111", "code": code}, data={"spouse": "李四"}
    )
    cert = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token)).json()
    row = session.get(Certificate, cert["id"])
    assert row is not None
    stored = repr([getattr(row, c.key) for c in Certificate.__table__.columns])
    assert code not in stored and code.encode() not in row.holder_code_enc


def test_others_get_404(client: TestClient, world: World, hub_state: HubState) -> None:
    cert = _issue(client, world)
    for token in (world.other_dept_token, world.portal_token):
        assert client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(token)).status_code == 404
        assert client.get(f"/api/v1/certificates/{cert['id']}/file", headers=bearer(token)).status_code == 404
    assert hub_state.dev_idp is not None
    stranger = hub_state.dev_idp.token("111", new_ric(), "王五")
    assert client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(stranger)).status_code == 404
    assert client.get("/api/v1/certificates/not-an-id", headers=bearer(world.admin_token)).status_code == 404


def test_lifecycle_transitions_and_events(client: TestClient, world: World, session: Session) -> None:
    cert = _issue(client, world)
    url = f"/api/v1/certificates/{cert['id']}/status"
    h = bearer(world.dept_token)
    assert client.post(url, json={"status": "02", "reason": "检查整改"}, headers=h).json()["status"] == "02"
    assert client.post(url, json={"status": "01", "reason": "整改完成"}, headers=h).json()["status"] == "01"
    assert client.post(url, json={"status": "07", "reason": "违法经营"}, headers=h).json()["status"] == "07"
    r = client.post(url, json={"status": "01"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    events = session.scalars(
        select(CertificateEvent)
        .where(CertificateEvent.certificate_id == cert["id"])
        .order_by(CertificateEvent.id)
    ).all()
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("issue", None, "01"),
        ("withhold", "01", "02"),
        ("return", "02", "01"),
        ("revoke", "01", "07"),
    ]
    assert events[1].reason == "检查整改" and events[1].actor.startswith("client:")


def test_only_the_issuer_changes_status(client: TestClient, world: World) -> None:
    cert = _issue(client, world)
    url = f"/api/v1/certificates/{cert['id']}/status"
    # Another department learns nothing, not even that the identifier exists: the same 404 as for
    # a made-up one (it was 403 here and 404 there: an existence oracle).
    made_up = url.replace(str(cert["id"])[-8:], "99999999")
    other = bearer(world.other_dept_token)
    refused = client.post(url, json={"status": "02"}, headers=other)
    unknown = client.post(made_up, json={"status": "02"}, headers=other)
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["code"] == unknown.json()["code"]
    assert client.post(url, json={"status": "02"}, headers=bearer(world.admin_token)).status_code == 403
    assert client.post(url, json={"status": "42"}, headers=bearer(world.dept_token)).status_code == 422


def test_new_version_supersedes_the_old(client: TestClient, world: World) -> None:
    cert = _issue(client, world)
    body = {k: v for k, v in issue_body(world.type_code, "x").items() if k not in ("type_code", "holder")}
    body["data"] = {"company_name": "示范餐饮（集团）有限公司"}
    r = client.post(
        f"/api/v1/certificates/{cert['id']}/versions", json=body, headers=bearer(world.dept_token)
    )
    assert r.status_code == 201, r.text
    new = r.json()
    old_id, new_id = parse(str(cert["id"])), parse(new["id"])
    assert (new_id.type_code, new_id.issuer_code, new_id.serial) == (
        old_id.type_code,
        old_id.issuer_code,
        old_id.serial,
    )
    assert new["version"] == "002" and new["predecessor"] == cert["id"]
    assert new_id.check == parse(new["id"]).check
    old = client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(world.dept_token)).json()
    assert old["successor"] == new["id"]
    again = client.post(
        f"/api/v1/certificates/{cert['id']}/versions", json=body, headers=bearer(world.dept_token)
    )
    assert again.status_code == 409


def test_expired_reads_as_05_at_once(client: TestClient, world: World, hub_state: HubState) -> None:
    from datetime import UTC, datetime

    cert = _issue(client, world, valid_until="2026-01-01")
    hub_state.clock = lambda: datetime(2026, 6, 1, tzinfo=UTC)
    try:
        assert (
            client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(world.dept_token)).json()[
                "status"
            ]
            == "05"
        )
    finally:
        hub_state.clock = lambda: datetime.now(UTC)


def test_expire_command_records_the_expiry(
    session: Session, hub_state: HubState, client: TestClient, world: World
) -> None:
    from datetime import date

    from certificates.status import expire_due

    cert = _issue(client, world, valid_until="2026-01-01")
    assert expire_due(session, today=date(2026, 6, 1)) >= 1
    row = session.get(Certificate, cert["id"])
    assert row is not None and row.status == "05"
    last = session.scalars(
        select(CertificateEvent)
        .where(CertificateEvent.certificate_id == cert["id"])
        .order_by(CertificateEvent.id.desc())
    ).first()
    assert last is not None and (last.action, last.to_status) == ("expire", "05")


def test_batch_bad_item_fails_alone(client: TestClient, world: World, session: Session) -> None:
    good = [issue_body(world.type_code, new_uscc("91310000")) for _ in range(3)]
    bad = issue_body(world.type_code, new_uscc("91310000"), area_code="x")
    r = client.post(
        "/api/v1/certificates/batch",
        json={"items": [good[0], bad, good[1], {"nonsense": 1}, good[2]]},
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 422, 201, 422, 201]
    assert results[1]["error"]["field"] == "area_code"
    ids = [x["certificate"]["id"] for x in results if "certificate" in x]
    assert len(set(ids)) == 3
    for cid in ids:
        assert session.get(Certificate, cid) is not None


def test_batch_limit(client: TestClient, world: World, hub_state: HubState) -> None:
    limit = hub_state.settings.limits.max_batch_items
    r = client.post(
        "/api/v1/certificates/batch", json={"items": [{}] * (limit + 1)}, headers=bearer(world.dept_token)
    )
    assert r.status_code == 422 and r.json()["field"] == "items"


def test_uploaded_pdf_is_sealed_and_kept(client: TestClient, world: World) -> None:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(100, 700, "department's own certificate")
    c.save()
    cert = _issue(client, world, file=base64.b64encode(buf.getvalue()).decode())
    pdf = client.get(f"/api/v1/certificates/{cert['id']}/file", headers=bearer(world.dept_token)).content
    assert pdf.startswith(buf.getvalue()[:8]) and len(pdf) > len(buf.getvalue())


def test_garbage_upload_is_422(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000"), file=base64.b64encode(b"not a pdf").decode()),
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 422 and r.json()["field"] == "file"


def test_face_text_beyond_a_page_is_refused_quickly(client: TestClient, world: World) -> None:
    body = issue_body(world.type_code, new_uscc("91310000"), data={"company_name": "A" * 20000})
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert r.status_code == 422 and r.json()["field"] == "data.company_name"


def test_a_long_unbroken_word_still_renders(client: TestClient, world: World) -> None:
    body = issue_body(world.type_code, new_uscc("91310000"), data={"company_name": "W" * 1500})
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert r.status_code in (201, 422), r.text  # laid out over many lines, or refused as too long for a page
    if r.status_code == 422:
        assert r.json()["code"] == "face_too_long"


def test_control_characters_in_a_batch_fail_their_item_alone(client: TestClient, world: World) -> None:
    good = issue_body(world.type_code, new_uscc("91310000"))
    bad = issue_body(world.type_code, new_uscc("91310000"), data={"company_name": "示范\x00公司"})
    r = client.post(
        "/api/v1/certificates/batch", json={"items": [bad, good]}, headers=bearer(world.dept_token)
    )
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert first["status"] == 422 and first["error"]["field"] == "data.company_name"
    assert second["status"] == 201


def test_batch_results_carry_a_certificate_or_an_error(client: TestClient, world: World) -> None:
    ok = issue_body(world.type_code, new_uscc("91310000"), valid_until=None)
    bad = issue_body(world.type_code, new_uscc("91310000"), area_code="x")
    results = client.post(
        "/api/v1/certificates/batch", json={"items": [ok, bad]}, headers=bearer(world.dept_token)
    ).json()["results"]
    assert set(results[0]) == {"index", "status", "certificate"}
    assert results[0]["certificate"]["valid_until"] is None  # a long-term certificate keeps its null field
    assert set(results[1]) == {"index", "status", "error"}


def test_hub_serials_skip_one_a_department_chose(client: TestClient, world: World, session: Session) -> None:
    from certificates.serials import next_serial

    upcoming = int(next_serial(session, world.dept)) + 1  # the one the hub would hand out next
    chosen = f"{upcoming:010d}"
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000"), serial=chosen),
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 201 and parse(r.json()["id"]).serial == chosen
    auto = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000")),
        headers=bearer(world.dept_token),
    )
    assert auto.status_code == 201, auto.text
    assert parse(auto.json()["id"]).serial != chosen
    taken = client.post(
        "/api/v1/certificates",
        json=issue_body(world.type_code, new_uscc("91310000"), serial=chosen),
        headers=bearer(world.dept_token),
    )
    assert taken.status_code == 409 and taken.json()["code"] == "serial_taken"


def test_an_item_repeated_in_one_batch_is_answered_as_a_repeat(client: TestClient, world: World) -> None:
    item = issue_body(world.type_code, new_uscc("91310000"))
    changed = item | {"area_code": "310104"}  # the same external_id with other content
    r = client.post(
        "/api/v1/certificates/batch", json={"items": [item, item, changed]}, headers=bearer(world.dept_token)
    )
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 200, 409]
    assert results[0]["certificate"]["id"] == results[1]["certificate"]["id"]
    assert results[2]["error"]["code"] == "external_id_conflict"


def test_a_batch_longer_than_a_chunk_keeps_its_order_and_distinct_serials(
    client: TestClient, world: World, session: Session
) -> None:
    from certificates.batch import CHUNK

    items = [issue_body(world.type_code, new_uscc("91310000")) for _ in range(CHUNK + 3)]
    items[CHUNK] = issue_body(world.type_code, new_uscc("91310000"), area_code="x")  # the next chunk's first
    r = client.post("/api/v1/certificates/batch", json={"items": items}, headers=bearer(world.dept_token))
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(CHUNK + 3))
    assert [x["status"] for x in results] == [201] * CHUNK + [422, 201, 201]
    ids = [x["certificate"]["id"] for x in results if "certificate" in x]
    assert len(set(ids)) == CHUNK + 2 and all(session.get(Certificate, i) is not None for i in ids)


def test_a_batch_item_whose_file_cannot_be_stored_fails_alone_and_leaves_no_row(
    client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files are written behind, on other threads, while the next item renders; the chunk's rows
    # commit only after every write has been waited for, and an item whose write failed has none.
    from certificates.blobstore_local import LocalBlobStore
    from certificates.blobstore_s3 import S3BlobStore
    from kernel.errors import Unavailable

    lock, calls, refused = threading.Lock(), [], []

    def put(store: object, data: bytes, *, original: Callable[[object, bytes], str]) -> str:
        with lock:
            calls.append(data)
            if len(calls) == 2:
                refused.append(hashlib.sha256(data).hexdigest())
                raise Unavailable("the disk is full")
        return original(store, data)

    for store in (LocalBlobStore, S3BlobStore):
        monkeypatch.setattr(store, "put", functools.partialmethod(put, original=store.put))
    items = [issue_body(world.type_code, new_uscc("91310000")) for _ in range(4)]
    r = client.post("/api/v1/certificates/batch", json={"items": items}, headers=bearer(world.dept_token))
    results = r.json()["results"]
    assert sorted(x["status"] for x in results) == [201, 201, 201, 503]
    failed = next(x for x in results if x["status"] == 503)
    assert failed["error"]["code"] == "service_unavailable" and "certificate" not in failed
    stored = [session.get(Certificate, x["certificate"]["id"]) for x in results if x["status"] == 201]
    assert all(row is not None and row.file_sha256 not in refused for row in stored)
    orphaned = select(func.count()).select_from(Certificate).where(Certificate.file_sha256.in_(refused))
    assert session.scalar(orphaned) == 0


def test_issuance_and_revocation_are_entries_of_the_audit_log(
    client: TestClient, world: World, session: Session
) -> None:
    from audit.models import AuditEvent
    from audit.verify import verify_log

    cert = _issue(client, world)
    r = client.post(
        f"/api/v1/certificates/{cert['id']}/status",
        json={"status": "03", "reason": "issued in error"},
        headers=bearer(world.dept_token),
    )
    assert r.status_code == 200, r.text
    entries = session.scalars(
        select(AuditEvent).where(AuditEvent.certificate_id == cert["id"]).order_by(AuditEvent.seq)
    ).all()
    assert [e.action.split(".")[0] for e in entries] == ["certificate", "certificate"]
    assert entries[0].action == "certificate.issue"
    assert entries[1].details == {"from": "01", "to": "03", "reason": "issued in error"}
    assert all(e.subject and e.org_code == world.dept for e in entries)
    assert verify_log(session).ok


def _deep(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


def test_a_deeply_nested_face_value_is_422_alone_in_a_batch(
    client: TestClient, world: World, session: Session
) -> None:
    # It was a 500 (RecursionError hashing the request); in a batch the whole call failed after the
    # first item had committed, and the third was never issued.
    deep = issue_body(world.type_code, new_uscc("91310000"))
    deep["data"] = {"company_name": _deep(600)}
    single = client.post("/api/v1/certificates", json=deep, headers=bearer(world.dept_token))
    assert single.status_code == 422 and single.json()["field"] == "data.company_name"
    good = [issue_body(world.type_code, new_uscc("91310000")) for _ in range(2)]
    items = {"items": [good[0], deep, good[1]]}
    r = client.post("/api/v1/certificates/batch", json=items, headers=bearer(world.dept_token))
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == [201, 422, 201]


def _department_pdf() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(100, 700, "department's own certificate")
    c.save()
    return buf.getvalue()


def _looping_prev(pdf: bytes) -> bytes:
    """An incremental update whose trailer's /Prev points back at its own cross-reference table."""
    at = len(pdf)
    size = int(pdf.rsplit(b"/Size ", 1)[1].split()[0])
    root = pdf.rsplit(b"/Root ", 1)[1].split(b"R", 1)[0] + b"R"
    update = (
        b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
    )
    return pdf + update % (size, root, at, at)


@pytest.mark.parametrize(
    "damage",
    [lambda pdf: pdf[: int(len(pdf) * 0.7)], _looping_prev],
    ids=["truncated", "looping-prev"],
)
def test_a_damaged_upload_is_422_before_sealing(
    client: TestClient, world: World, session: Session, damage: Callable[[bytes], bytes]
) -> None:
    # They passed the upload check (pypdf repairs what it can) and failed at sealing: a 500.
    body = issue_body(
        world.type_code, new_uscc("91310000"), file=base64.b64encode(damage(_department_pdf())).decode()
    )
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "pdf_unreadable" and r.json()["field"] == "file"
