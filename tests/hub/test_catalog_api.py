"""The catalog's HTTP endpoints and ``hub catalog load`` / ``hub search reindex``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from catalog.models import Organization
from hub.db import make_engine
from hub.state import HubState
from tests.conftest import DatabaseFactory
from tests.factories import add_org, bearer, client_token, new_uscc

# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def admin(hub_state: HubState, session: Session) -> dict[str, str]:
    return bearer(client_token(hub_state, session, admin=True))


@pytest.fixture
def org(hub_state: HubState, session: Session) -> str:
    return add_org(hub_state, session)


def type_body(org: str, **over: Any) -> dict[str, Any]:
    body = {
        "name": "营业执照",
        "holder_kind": "001",
        "issuers": [org],
        "sharing": "unconditional",
        "validity_years": None,
        "fields": [{"name": "company_name", "label": "名称", "type": "string", "required": True}],
    }
    return {**body, **over}


def resource_body(org: str, **over: Any) -> dict[str, Any]:
    body = {
        "name": "企业登记信息",
        "org": org,
        "sharing": "conditional",
        "fields": [{"name": "company_name", "label": "名称"}],
        "update_frequency": "daily",
    }
    return {**body, **over}


def item_body(org: str, type_code: str, **over: Any) -> dict[str, Any]:
    body = {
        "name": "食品经营许可（餐饮服务）",
        "org": org,
        "materials": [
            {"code": "M01", "name": "营业执照", "certificate_types": [type_code], "data_resources": []}
        ],
        "form": [
            {
                "name": "company_name",
                "label": "企业名称",
                "from": {"type_code": type_code, "field": "company_name"},
            }
        ],
    }
    return {**body, **over}


def one_thing_body(*items: str, extra: str | None = None) -> dict[str, Any]:
    return {
        "name": "开办餐饮店一件事",
        "items": list(items),
        "questions": [
            {
                "id": "signboard",
                "text": "是否设置户外招牌？",
                "when": {},
                "options": [
                    {"value": "yes", "label": "是", "add_items": [extra] if extra else []},
                    {"value": "no", "label": "否", "add_items": []},
                ],
            }
        ],
    }


def put(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.put(f"/api/v1/{path}", json=body, headers=headers)


@pytest.fixture
def catalog(client: TestClient, admin: dict[str, str], org: str) -> dict[str, str]:
    """A small catalog: a type, a resource, two items and a one-thing."""
    type_code = org + "001"
    assert put(client, f"certificate-types/{type_code}", type_body(org), admin).status_code == 201
    assert put(client, "data-resources/DR-REG", resource_body(org), admin).status_code == 201
    assert put(client, "items/IT-FOOD", item_body(org, type_code), admin).status_code == 201
    sign = item_body(org, type_code, name="户外招牌设置备案", materials=[], form=[])
    assert put(client, "items/IT-SIGN", sign, admin).status_code == 201
    body = one_thing_body("IT-FOOD", extra="IT-SIGN")
    assert put(client, "one-things/OT-FOOD", body, admin).status_code == 201
    return {"org": org, "type": type_code}


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()  # type: ignore[no-any-return]


# -- PUT / GET --------------------------------------------------------------------------------


def test_put_creates_then_get_returns_what_was_stored(
    client: TestClient, admin: dict[str, str], org: str
) -> None:
    code = org + "001"
    r = put(client, f"certificate-types/{code}", type_body(org), admin)
    assert r.status_code == 201
    stored = r.json()
    assert stored["code"] == code and stored["name"] == "营业执照" and stored["issuers"] == [org]
    got = client.get(f"/api/v1/certificate-types/{code}")
    assert got.status_code == 200 and got.json() == stored


def test_put_of_the_same_body_changes_nothing(client: TestClient, admin: dict[str, str], org: str) -> None:
    code = org + "001"
    first = put(client, f"certificate-types/{code}", type_body(org), admin).json()
    again = put(client, f"certificate-types/{code}", type_body(org), admin)
    assert again.status_code == 200
    assert again.json() == first


def test_put_replaces_the_entry(client: TestClient, admin: dict[str, str], org: str) -> None:
    code = org + "001"
    put(client, f"certificate-types/{code}", type_body(org), admin)
    r = put(client, f"certificate-types/{code}", type_body(org, name="营业执照（电子）"), admin)
    assert r.status_code == 200 and r.json()["name"] == "营业执照（电子）"
    assert client.get(f"/api/v1/certificate-types/{code}").json()["name"] == "营业执照（电子）"


def test_every_kind_round_trips(client: TestClient, catalog: dict[str, str]) -> None:
    item = client.get("/api/v1/items/IT-FOOD").json()
    assert item["form"][0]["from"] == {"type_code": catalog["type"], "field": "company_name"}
    assert item["materials"][0]["certificate_types"] == [catalog["type"]]
    assert client.get("/api/v1/data-resources/DR-REG").json()["update_frequency"] == "daily"
    one = client.get("/api/v1/one-things/OT-FOOD").json()
    assert one["items"] == ["IT-FOOD"] and one["questions"][0]["when"] == {}


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("certificate-types/11310000MB0000001X001", "certificate_type_not_found"),
        ("data-resources/NOPE", "data_resource_not_found"),
        ("items/NOPE", "item_not_found"),
        ("one-things/NOPE", "one_thing_not_found"),
    ],
)
def test_unknown_entries_are_404_with_their_code(client: TestClient, path: str, code: str) -> None:
    assert problem(client.get(f"/api/v1/{path}"), 404)["code"] == code


# -- auth ---------------------------------------------------------------------------------------


def test_writes_need_a_token(client: TestClient, org: str) -> None:
    r = client.put(f"/api/v1/certificate-types/{org}001", json=type_body(org))
    assert problem(r, 401)["code"] == "unauthorized"


@pytest.mark.parametrize("role", ["department", "portal"])
def test_writes_need_the_admin_role(
    client: TestClient, hub_state: HubState, session: Session, org: str, role: str
) -> None:
    own = org if role == "department" else add_org(hub_state, session, kind="portal")
    token = bearer(client_token(hub_state, session, org=own))
    for path, body in [
        (f"certificate-types/{org}001", type_body(org)),
        ("data-resources/DR", resource_body(org)),
        (f"organizations/{new_uscc()}", {"name": "某部门", "kind": "department"}),
    ]:
        assert problem(put(client, path, body, token), 403)["code"] == "forbidden"


def test_reads_are_public(client: TestClient, catalog: dict[str, str]) -> None:
    assert client.get(f"/api/v1/certificate-types/{catalog['type']}").status_code == 200
    assert client.get("/api/v1/items").status_code == 200


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"holder_kind": "999"}, "holder_kind"),
        ({"sharing": "always"}, "sharing"),
        ({"fields": [{"name": "Company Name", "label": "名称"}]}, "fields[0].name"),
        ({"fields": [{"name": "a", "label": "A", "type": "blob"}]}, "fields[0].type"),
        ({"nmae": "typo"}, "nmae"),
        ({"issuers": ["not-a-uscc"]}, "issuers[0]"),
        ({"name": "营业\x00执照"}, "name"),  # NUL: PostgreSQL refuses it, a 500 there
        ({"name": "营业执照\x1b[31m"}, "name"),  # a terminal escape, into every log and CLI
        ({"fields": [{"name": "a", "label": "名\n称"}]}, "fields[0].label"),
        ({"description": "说明\x07"}, "description"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient, admin: dict[str, str], org: str, change: dict[str, Any], field: str
) -> None:
    r = put(client, f"certificate-types/{org}001", type_body(org, **change), admin)
    body = problem(r, 422)
    assert body["code"] == "validation_failed" and body["field"] == field


def test_errors_below_a_list_name_the_element(client: TestClient, admin: dict[str, str], org: str) -> None:
    r = put(client, f"certificate-types/{org}001", type_body(org, issuers=[org, org]), admin)
    assert problem(r, 422)["field"] == "issuers[1]"
    bad = one_thing_body("IT-X")
    bad["questions"][0]["when"] = {"later": "yes"}
    assert problem(put(client, "one-things/OT", bad, admin), 422)["field"] == "questions[0].when.later"


def test_bad_code_in_the_url_is_422(client: TestClient, admin: dict[str, str], org: str) -> None:
    r = put(client, "certificate-types/123", type_body(org), admin)
    assert problem(r, 422)["field"] == "type_code"
    r = put(client, "data-resources/has space", resource_body(org), admin)
    assert problem(r, 422)["field"] == "code"


def test_non_json_body_is_422(client: TestClient, admin: dict[str, str], org: str) -> None:
    r = client.put(f"/api/v1/certificate-types/{org}001", content=b"{not json", headers=admin)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("path", "make", "field"),
    [
        ("certificate-types/{org}001", lambda c: type_body(new_uscc()), "issuers[0]"),
        ("data-resources/DR-X", lambda c: resource_body(new_uscc()), "org"),
        (
            "items/IT-X",
            lambda c: item_body(c["org"], new_uscc() + "001"),
            "materials[0].certificate_types[0]",
        ),
        (
            "items/IT-X",
            lambda c: {
                **item_body(c["org"], c["type"]),
                "materials": [{"code": "M", "name": "n", "data_resources": ["NO"]}],
            },
            "materials[0].data_resources[0]",
        ),
        (
            "items/IT-X",
            lambda c: {
                **item_body(c["org"], c["type"]),
                "form": [{"name": "x", "label": "X", "from": {"type_code": c["type"], "field": "nope"}}],
            },
            "form[0].from.field",
        ),
        ("one-things/OT-X", lambda c: one_thing_body("IT-NOPE"), "items[0]"),
        (
            "one-things/OT-X",
            lambda c: one_thing_body("IT-FOOD", extra="IT-NOPE"),
            "questions[0].options[0].add_items[0]",
        ),
    ],
)
def test_unknown_references_are_422_naming_the_reference(
    client: TestClient, admin: dict[str, str], catalog: dict[str, str], path: str, make: Any, field: str
) -> None:
    r = put(client, path.format(org=catalog["org"]), make(catalog), admin)
    body = problem(r, 422)
    assert body["code"] == "unknown_reference" and body["field"] == field


# -- lists ----------------------------------------------------------------------------------


def test_lists_page_by_code(client: TestClient, admin: dict[str, str], org: str) -> None:
    for code in ("DR-C", "DR-A", "DR-B"):
        put(client, f"data-resources/{code}", resource_body(org), admin)
    first = client.get("/api/v1/data-resources?limit=2").json()
    rest = client.get("/api/v1/data-resources?limit=2&offset=2").json()
    assert first["total"] == rest["total"] == 3
    assert [e["code"] for e in first["items"] + rest["items"]] == ["DR-A", "DR-B", "DR-C"]


@pytest.mark.parametrize("path", ["certificate-types", "data-resources", "items", "one-things"])
def test_every_list_answers_total_and_items(client: TestClient, catalog: dict[str, str], path: str) -> None:
    page = client.get(f"/api/v1/{path}").json()
    assert page["total"] >= 1 and len(page["items"]) == page["total"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("offset=9223372036854775808", "offset"),  # was a 500: OverflowError binding the value
    ],
)
@pytest.mark.parametrize("path", ["items", "certificate-types", "data-resources", "one-things"])
def test_bad_paging_is_422(client: TestClient, query: str, field: str, path: str) -> None:
    assert problem(client.get(f"/api/v1/{path}?{query}"), 422)["field"] == field


# -- organizations --------------------------------------------------------------------------


def test_put_organization_registers_then_updates(client: TestClient, admin: dict[str, str]) -> None:
    code = new_uscc("12310000")
    r = put(client, f"organizations/{code}", {"name": "示范门户", "kind": "portal"}, admin)
    assert r.status_code == 201 and r.json() == {
        "code": code,
        "name": "示范门户",
        "kind": "portal",
        "demo": False,
    }
    r = put(client, f"organizations/{code}", {"name": "示范门户（新）", "kind": "portal"}, admin)
    assert r.status_code == 200
    assert client.get(f"/api/v1/organizations/{code}").json()["name"] == "示范门户（新）"


def test_put_organization_checks_code_and_kind(client: TestClient, admin: dict[str, str]) -> None:
    r = put(client, "organizations/123456789012345679", {"name": "x", "kind": "portal"}, admin)
    assert problem(r, 422)["field"] == "code"
    r = put(client, f"organizations/{new_uscc()}", {"name": "x", "kind": "ministry"}, admin)
    assert problem(r, 422)["field"] == "kind"


# -- search ---------------------------------------------------------------------------------


def test_search_finds_two_and_one_character_queries(client: TestClient, catalog: dict[str, str]) -> None:
    r = client.get("/api/v1/search", params={"q": "执照"}).json()
    assert r["hits"][0] == {"kind": "certificate-type", "code": catalog["type"], "name": "营业执照"}
    codes = {h["code"] for h in client.get("/api/v1/search", params={"q": "餐"}).json()["hits"]}
    assert {"OT-FOOD", "IT-FOOD"} <= codes


def test_search_by_kind(client: TestClient, catalog: dict[str, str]) -> None:
    r = client.get("/api/v1/search", params={"q": "餐", "kind": "one-thing"}).json()
    assert r == {"total": 1, "hits": [{"kind": "one-thing", "code": "OT-FOOD", "name": "开办餐饮店一件事"}]}


def test_search_follows_writes(client: TestClient, admin: dict[str, str], catalog: dict[str, str]) -> None:
    put(client, "data-resources/DR-REG", resource_body(catalog["org"], name="法人库"), admin)
    assert client.get("/api/v1/search", params={"q": "法人库"}).json()["total"] == 1
    assert client.get("/api/v1/search", params={"q": "登记信息"}).json()["total"] == 0


@pytest.mark.parametrize("q", ['"', "*", "OR", "(", '执照" OR "x', "' OR 1=1 --", "NEAR(a b)"])
def test_search_survives_hostile_queries(client: TestClient, catalog: dict[str, str], q: str) -> None:
    r = client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 200 and r.json()["total"] == len(r.json()["hits"])


@pytest.mark.parametrize(("query", "field"), [("", "q"), ("q=a&kind=bogus", "kind"), ("q=" + "a" * 201, "q")])
def test_bad_search_requests_are_422(client: TestClient, query: str, field: str) -> None:
    assert problem(client.get(f"/api/v1/search?{query}"), 422)["field"] == field


# -- questionnaire ----------------------------------------------------------------------------


def test_questionnaire_asks_then_adds_items(client: TestClient, catalog: dict[str, str]) -> None:
    url = "/api/v1/one-things/OT-FOOD/questionnaire"
    start = client.post(url, json={"answers": {}}).json()
    assert start["complete"] is False and start["items"] == ["IT-FOOD"]
    assert [q["id"] for q in start["next_questions"]] == ["signboard"]
    done = client.post(url, json={"answers": {"signboard": "yes"}}).json()
    assert done["complete"] is True and done["items"] == ["IT-FOOD", "IT-SIGN"]
    assert done["item_details"][1] == {"code": "IT-SIGN", "name": "户外招牌设置备案", "org": catalog["org"]}


def test_questionnaire_reports_ignored_answers(client: TestClient, catalog: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/one-things/OT-FOOD/questionnaire", json={"answers": {"signboard": "maybe", "x": "y"}}
    )
    errors = {(e["code"], e["question_id"]) for e in r.json()["errors"]}
    assert errors == {("invalid_option", "signboard"), ("unknown_question", "x")}


def test_questionnaire_bad_input(client: TestClient, catalog: dict[str, str]) -> None:
    url = "/api/v1/one-things/OT-FOOD/questionnaire"
    assert problem(client.post(url, json={"answers": {"signboard": 1}}), 422)["field"] == "answers.signboard"
    r = client.post("/api/v1/one-things/NOPE/questionnaire", json={"answers": {}})
    assert problem(r, 404)["code"] == "one_thing_not_found"


def test_openapi_describes_the_catalog(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/certificate-types/{type_code}",
        "/api/v1/data-resources/{code}",
        "/api/v1/items/{item_code}",
        "/api/v1/one-things/{code}",
        "/api/v1/one-things/{code}/questionnaire",
        "/api/v1/organizations/{code}",
        "/api/v1/search",
        "/api/v1/items",
    ):
        assert path in paths
    assert "put" in paths["/api/v1/certificate-types/{type_code}"]


def test_openapi_operations_keep_their_ids_and_models(client: TestClient) -> None:
    """Generated clients name their calls after the operation ids: the route builder keeps them."""
    paths = client.get("/openapi.json").json()["paths"]
    for kind, collection, code, model in [
        ("certificate_type", "certificate-types", "type_code", "CertificateType"),
        ("data_resource", "data-resources", "code", "DataResource"),
        ("item", "items", "item_code", "Item"),
        ("one_thing", "one-things", "code", "OneThing"),
    ]:
        base = f"/api/v1/{collection}"
        entry = paths[f"{base}/{{{code}}}"]
        stem = f"api_v1_{collection.replace('-', '_')}"
        assert entry["put"]["operationId"] == f"put_{kind}_{stem}__{code}__put"
        assert entry["get"]["operationId"] == f"get_{kind}_{stem}__{code}__get"
        assert paths[base]["get"]["operationId"] == f"list_{kind}s_{stem}_get"
        assert [p["name"] for p in entry["get"]["parameters"]] == [code]
        for operation, schema in [(entry["get"], f"{model}Out"), (paths[base]["get"], f"{model}Page")]:
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{schema}"
        body = entry["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body == f"#/components/schemas/{model}In"
    assert paths["/api/v1/search"]["get"]["operationId"] == "search_api_v1_search_get"
    questionnaire = paths["/api/v1/one-things/{code}/questionnaire"]["post"]["operationId"]
    assert questionnaire == "answer_questionnaire_api_v1_one_things__code__questionnaire_post"
    assert paths["/api/v1/organizations/{code}"]["put"]["operationId"] == (
        "put_organization_api_v1_organizations__code__put"
    )


# -- hub catalog load / hub search reindex ----------------------------------------------------


def _run(args: list[str], env: dict[str, str]) -> Any:
    from hub.cli import app

    return CliRunner().invoke(app, args, env=env)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_env(request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path) -> dict[str, str]:
    return {
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_DATABASE_URL": databases.create(request.param),
        "HUB_MASTER_KEY": "catalog-cli-test-master-key-0123456789abcdef",
    }


def _count_orgs(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Organization)).scalar_one())
    finally:
        engine.dispose()


def test_catalog_load_writes_the_file_once(fresh_env: dict[str, str]) -> None:
    from catalog.demo import demo_catalog_path

    first = _run(["catalog", "load", str(demo_catalog_path())], fresh_env)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["changed"] is True and report["sections"]["one_things"]["created"] == 3
    again = _run(["catalog", "load", str(demo_catalog_path())], fresh_env)
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["changed"] is False
    assert all(c["created"] == c["updated"] == 0 for c in report["sections"].values())

    reindex = _run(["search", "reindex"], fresh_env)
    assert reindex.exit_code == 0, reindex.output
    assert json.loads(reindex.stdout) == {"indexed": 49, "backend": "embedded"}


def test_catalog_load_rejects_a_bad_file_whole(fresh_env: dict[str, str], tmp_path: Path) -> None:
    org = new_uscc()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f'organizations:\n  - {{code: "{org}", name: 部门, kind: department}}\n'
        "items:\n"
        "  - code: IT-1\n"
        f'    org: "{org}"\n'
        "    name: 事项\n"
        "    materials:\n"
        '      - {code: M1, name: 材料, certificate_types: ["' + new_uscc() + '001"]}\n',
        encoding="utf-8",
    )
    r = _run(["catalog", "load", str(bad)], fresh_env)
    assert r.exit_code == 2
    assert "items[0]" in r.stderr and "IT-1" in r.stderr and "line 4" in r.stderr
    assert "certificate_types[0]" in r.stderr
    assert _count_orgs(fresh_env["HUB_DATABASE_URL"]) == 0


def test_catalog_load_of_a_missing_file_is_exit_2(tmp_path: Path) -> None:
    r = _run(["catalog", "load", str(tmp_path / "nope.yaml")], {"HUB_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "no such file" in r.stderr


def test_catalog_changes_are_audit_entries_by_their_editor(
    client: TestClient, admin: dict[str, str], org: str, session: Session
) -> None:
    from audit.models import AuditEvent
    from audit.verify import verify_log

    code = f"{org}001"
    assert put(client, f"certificate-types/{code}", type_body(org), admin).status_code == 201
    assert put(client, f"certificate-types/{code}", type_body(org), admin).status_code == 200  # no change
    renamed = type_body(org, name="营业执照（副本）")
    assert put(client, f"certificate-types/{code}", renamed, admin).status_code == 200
    catalog_entries = select(AuditEvent).where(AuditEvent.action.like("catalog.%")).order_by(AuditEvent.seq)
    mine = [e for e in session.scalars(catalog_entries) if e.details.get("code") == code]
    assert [e.action for e in mine] == ["catalog.create", "catalog.update"]
    assert all(e.actor and e.actor != "system" for e in mine)
    assert verify_log(session).ok
