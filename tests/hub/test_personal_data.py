"""Personal face fields (identity numbers and fields flagged personal): sealed at rest, findable only
by blind index, masked for everyone but the holder and the issuer — certificates/personal.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from catalog.queries import personal_fields_by_type
from certificates.models import Certificate, PersonalIndex
from certificates.personal import certificates_mentioning, face_of, protect_stored
from certificates.privacy import mask
from hub.state import HubState
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_ric
from tests.hub.test_verify_qr import scan_qr

FIELDS = [
    {"name": "spouse", "label": "配偶姓名", "type": "string", "required": True},
    {"name": "spouse_id_number", "label": "配偶公民身份号码", "type": "identity_number", "required": True},
    {"name": "spouse_passport", "label": "配偶护照号码", "type": "string", "personal": True},
]


@pytest.fixture
def marriage(hub_state: HubState, session: Session) -> tuple[str, str, str]:
    """(department token, admin token, type code) of a type with two personal fields."""
    dept = add_org(hub_state, session, name="示范市民政局")
    type_code = add_certificate_type(
        session, definer=dept, issuers=[dept], holder_kind="111", name="结婚证", fields=FIELDS
    )
    session.commit()
    return client_token(hub_state, session, org=dept), client_token(hub_state, session, admin=True), type_code


def _issue(client: TestClient, token: str, type_code: str, holder: str, spouse: str) -> dict[str, object]:
    body = issue_body(
        type_code,
        holder,
        holder={"name": "张三", "kind": "111", "code": holder},
        data={"spouse": "李四", "spouse_id_number": spouse, "spouse_passport": "E12345678"},
    )
    r = client.post("/api/v1/certificates", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _raw_rows(session: Session, certificate_id: str) -> str:
    """Everything the database holds about the certificate, as text: what a stolen copy would show."""
    rows = []
    for table in ("certificates", "certificate_personal_index", "audit_events", "certificate_events"):
        key = "id" if table == "certificates" else "certificate_id"
        query = text(f"SELECT * FROM {table} WHERE {key} = :id")  # noqa: S608 (fixed names)
        rows += session.execute(query, {"id": certificate_id}).all()
    return repr(rows)


def test_personal_values_are_not_in_the_database_in_clear(
    client: TestClient, hub_state: HubState, session: Session, marriage: tuple[str, str, str]
) -> None:
    token, _, type_code = marriage
    holder, spouse = new_ric(), new_ric("19910202")
    cert = _issue(client, token, type_code, holder, spouse)
    stored = _raw_rows(session, str(cert["id"]))
    assert "spouse" in stored  # the clear fields are there ...
    for secret in (holder, spouse, "E12345678"):
        assert secret not in stored  # ... the personal ones are not
    row = session.get(Certificate, cert["id"])
    assert row is not None and set(row.data) == {"spouse"}
    assert face_of(hub_state.vault, row) == {
        "spouse": "李四",
        "spouse_id_number": spouse,
        "spouse_passport": "E12345678",
    }


def test_a_personal_value_is_found_by_blind_index_only(
    client: TestClient, hub_state: HubState, session: Session, marriage: tuple[str, str, str]
) -> None:
    token, _, type_code = marriage
    spouse = new_ric("19920303")
    first = _issue(client, token, type_code, new_ric(), spouse)
    _issue(client, token, type_code, new_ric(), new_ric("19930404"))
    assert certificates_mentioning(session, hub_state.vault, spouse) == [first["id"]]
    assert certificates_mentioning(session, hub_state.vault, spouse.lower()) == [first["id"]]
    assert certificates_mentioning(session, hub_state.vault, new_ric("19940505")) == []


def test_personal_values_are_masked_for_the_admin_and_plain_for_holder_and_issuer(
    client: TestClient, hub_state: HubState, marriage: tuple[str, str, str]
) -> None:
    token, admin, type_code = marriage
    holder, spouse = new_ric(), new_ric("19950606")
    cert = _issue(client, token, type_code, holder, spouse)
    url = f"/api/v1/certificates/{cert['id']}"
    plain = {"spouse": "李四", "spouse_id_number": spouse, "spouse_passport": "E12345678"}
    assert cert["data"] == plain
    assert client.get(url, headers=bearer(token)).json()["data"] == plain
    assert hub_state.dev_idp is not None
    holder_token = hub_state.dev_idp.token("111", holder, "张三")
    assert client.get(url, headers=bearer(holder_token)).json()["data"] == plain
    admin_view = client.get(url, headers=bearer(admin)).json()["data"]
    assert admin_view == {"spouse": "李四", "spouse_id_number": mask(spouse), "spouse_passport": "E123*5678"}
    assert spouse not in repr(admin_view)


def test_an_invalid_identity_number_is_422_naming_the_field_and_not_echoing_it(
    client: TestClient, session: Session, marriage: tuple[str, str, str]
) -> None:
    token, _, type_code = marriage
    holder = new_ric()
    body = issue_body(
        type_code,
        holder,
        holder={"name": "张三", "kind": "111", "code": holder},
        data={"spouse": "李四", "spouse_id_number": "31010119900101123X"},  # a wrong check digit
    )
    r = client.post("/api/v1/certificates", json=body, headers=bearer(token))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "data.spouse_id_number"
    assert "31010119900101123X" not in r.text


def test_a_new_version_keeps_its_personal_values_sealed(
    client: TestClient, hub_state: HubState, session: Session, marriage: tuple[str, str, str]
) -> None:
    token, _, type_code = marriage
    holder, spouse, new_spouse = new_ric(), new_ric("19960707"), new_ric("19970808")
    cert = _issue(client, token, type_code, holder, spouse)
    change = {k: v for k, v in issue_body(type_code, holder).items() if k not in ("type_code", "holder")}
    change["data"] = {"spouse": "王五", "spouse_id_number": new_spouse}
    r = client.post(f"/api/v1/certificates/{cert['id']}/versions", json=change, headers=bearer(token))
    assert r.status_code == 201, r.text
    assert r.json()["data"] == {"spouse": "王五", "spouse_id_number": new_spouse}
    assert new_spouse not in _raw_rows(session, r.json()["id"])
    assert certificates_mentioning(session, hub_state.vault, new_spouse) == [r.json()["id"]]


def test_the_printed_qr_of_a_certificate_with_personal_fields_verifies(
    client: TestClient, marriage: tuple[str, str, str], tmp_path: Path
) -> None:
    token, _, type_code = marriage
    cert = _issue(client, token, type_code, new_ric(), new_ric("19980909"))
    pdf = client.get(f"/api/v1/certificates/{cert['id']}/file", headers=bearer(token)).content
    r = client.post("/api/v1/verify/qr", json={"payload": scan_qr(pdf, tmp_path)})
    assert r.status_code == 200 and r.json()["result"] == "valid", r.text


def test_values_stored_in_clear_before_are_sealed_by_protect_once(
    client: TestClient, hub_state: HubState, session: Session, marriage: tuple[str, str, str]
) -> None:
    token, _, type_code = marriage
    spouse = new_ric("19990101")
    cert = _issue(client, token, type_code, new_ric(), spouse)
    # As a certificate stored before personal fields were sealed: its whole face in clear.
    row = session.get(Certificate, cert["id"])
    assert row is not None
    legacy = face_of(hub_state.vault, row)
    session.execute(delete(PersonalIndex).where(PersonalIndex.certificate_id == row.id))
    row.data, row.personal_enc = legacy, None
    session.flush()
    assert spouse in _raw_rows(session, row.id)

    assert protect_stored(session, hub_state.vault, personal_fields_by_type(session)) == 1
    assert spouse not in _raw_rows(session, row.id)
    assert face_of(hub_state.vault, row) == legacy
    assert certificates_mentioning(session, hub_state.vault, spouse) == [row.id]
    assert protect_stored(session, hub_state.vault, personal_fields_by_type(session)) == 0


def test_only_the_issuer_and_the_holder_download_the_file_that_prints_them(
    client: TestClient, hub_state: HubState, marriage: tuple[str, str, str]
) -> None:
    token, admin, type_code = marriage
    holder = new_ric()
    cert = _issue(client, token, type_code, holder, new_ric("19800101"))
    url = f"/api/v1/certificates/{cert['id']}/file"
    assert hub_state.dev_idp is not None
    holder_token = hub_state.dev_idp.token("111", holder, "张三")
    for reader in (token, holder_token):
        r = client.get(url, headers=bearer(reader))
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    refused = client.get(url, headers=bearer(admin))
    assert refused.status_code == 403 and refused.json()["code"] == "personal_data"
