"""Who gets what from every endpoint: one table, every route of the app × every kind of caller.

Each row is one route (a second row for a route says what it varies) with the answer each caller
must get. Callers the hub must not know — no token, a wrong one, citizen tokens forged six ways —
get 401 wherever a caller is needed. Where a caller may not learn that a thing exists (``knows``),
the same request about a made-up one must get the very same answer: no existence oracle.

Every answer must be one /openapi.json declares for the operation. A route without a row fails
``test_every_route_has_a_row``. The world (``tests.hub.world``) is seeded once per module in a
transaction rolled back at the end; every cell runs in a savepoint of its own, so cells change what
they like and never see each other.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Mount

from hub.app import create_app
from hub.state import HubState
from hub.web.routing import PageRoute
from tests.conftest import with_limits
from tests.hostile import plain
from tests.hub.callers import (
    ADMIN,
    ANONYMOUS,
    CALLERS,
    HOLDER,
    ISSUER,
    KNOWN,
    OTHER_DEPARTMENT,
    PORTAL_WITH_CONSENT,
    UNKNOWN,
)
from tests.hub.world import (
    CAUSE,
    ITEM,
    ONE_THING,
    PLAN_ANSWERS,
    REVIEWED_ITEM,
    World,
    application_body,
    encoded_ocsp,
    seed_world,
)

Request = dict[str, Any]  # keyword arguments of TestClient.request
Expected = int | tuple[int, Any]  # a status, or a status and what the row's ``detail`` must read

MADE_UP_CONSENT = "0123456789abcdef"
MADE_UP_COPY = "made-up-copy-token-0123456789abcdefghijklmno"
MADE_UP_ID = "0123456789abcdef0123456789abcdef"  # an application, task or commitment never created


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the route's template, as the app has it
    request: Callable[[World, bool], Request]  # real=False: the same request about a made-up thing
    expect: dict[str, Expected]
    knows: frozenset[str] = frozenset(CALLERS)  # who may learn whether the thing exists
    detail: Callable[[World, httpx.Response], Any] | None = None
    case: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}" + (f" ({self.case})" if self.case else "")


def everyone(expected: Expected = 200) -> dict[str, Expected]:
    """A public endpoint: the same answer whoever asks, with whatever token."""
    return dict.fromkeys(CALLERS, expected)


def anyone_counted(expected: Expected = 200) -> dict[str, Expected]:
    """A public endpoint that counts its callers against a rate limit: anyone gets ``expected``, but a
    token that is sent must be valid (401 otherwise: it would be counted as someone it is not)."""
    return dict.fromkeys(UNKNOWN, 401) | dict.fromkeys([ANONYMOUS, *KNOWN], expected)


def signed_in(default: Expected, **known: Expected) -> dict[str, Expected]:
    """401 for every caller the hub does not know; ``default`` for the known ones not named."""
    assert set(known) <= set(KNOWN), set(known) - set(KNOWN)
    return dict.fromkeys(UNKNOWN, 401) | {caller: known.get(caller, default) for caller in KNOWN}


def get(path: Callable[[World, bool], str], **params: Any) -> Callable[[World, bool], Request]:
    def build(w: World, real: bool) -> Request:
        return {"method": "GET", "url": path(w, real), "params": params or None}

    return build


def fixed(method: str, url: str, **kwargs: Any) -> Callable[[World, bool], Request]:
    return lambda w, real: {"method": method, "url": url, **kwargs}


def cert_path(suffix: str = "") -> Callable[[World, bool], str]:
    def path(w: World, real: bool) -> str:
        return f"/api/v1/certificates/{w.certificate_id if real else w.unknown_certificate_id}{suffix}"

    return path


def put_catalog(prefix: str) -> Callable[[World, bool], Request]:
    def build(w: World, real: bool) -> Request:
        url = next(p for p in w.catalog if p.startswith(prefix + "/"))
        return {"method": "PUT", "url": url, "json": w.catalog[url]}

    return build


def get_catalog(prefix: str) -> Callable[[World, bool], Request]:
    return lambda w, real: {"method": "GET", "url": next(p for p in w.catalog if p.startswith(prefix + "/"))}


def issue(w: World, real: bool) -> Request:
    return {"method": "POST", "url": "/api/v1/certificates", "json": w.certificate}


def batch(w: World, real: bool) -> Request:
    return {"method": "POST", "url": "/api/v1/certificates/batch", "json": {"items": [w.certificate]}}


def change_status(w: World, real: bool) -> Request:
    body = {"status": "02", "reason": "暂扣（测试）"}
    return {"method": "POST", "url": cert_path("/status")(w, real), "json": body}


def new_version(w: World, real: bool) -> Request:
    body = {k: v for k, v in w.certificate.items() if k not in ("type_code", "holder")}
    return {"method": "POST", "url": cert_path("/versions")(w, real), "json": body | {"external_id": "v2"}}


def sharing(path: str, body: Callable[[World, bool], dict[str, Any]]) -> Callable[[World, bool], Request]:
    return lambda w, real: {"method": "POST", "url": f"/api/v1/sharing/{path}", "json": body(w, real)}


def lookup_body(w: World, real: bool) -> dict[str, Any]:
    holder = w.holder if real else w.unknown_holder
    return {"holder": holder, "item_code": ITEM, "use_cause": CAUSE, "type_codes": [w.type_code]}


def plan_body(w: World, real: bool) -> dict[str, Any]:
    holder = w.holder if real else w.unknown_holder
    return {"holder": holder, "use_cause": CAUSE, "one_thing": ONE_THING, "answers": PLAN_ANSWERS}


def copy_body(item: str) -> Callable[[World, bool], dict[str, Any]]:
    def body(w: World, real: bool) -> dict[str, Any]:
        cert = w.certificate_id if real else w.unknown_certificate_id
        return {"certificate_id": cert, "item_code": item, "use_cause": CAUSE}

    return body


def verify_data_body(w: World, real: bool) -> dict[str, Any]:
    data = {"child_name": w.certificate["data"]["child_name"]}
    return copy_body(ITEM)(w, real) | {"data": data}


def grant(w: World, real: bool) -> Request:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    body = {"grantee": w.portal_org, "item_code": ITEM, "type_codes": [w.type_code], "expires_at": expires}
    return {"method": "POST", "url": "/api/v1/me/consents", "json": body}


def withdraw(w: World, real: bool) -> Request:
    return {"method": "DELETE", "url": f"/api/v1/me/consents/{w.consent_id if real else MADE_UP_CONSENT}"}


def verify_code(code: Callable[[World], str]) -> Callable[[World, bool], Request]:
    def build(w: World, real: bool) -> Request:
        url = f"/api/v1/verify/{w.certificate_id if real else w.unknown_certificate_id}"
        return {"method": "GET", "url": url, "params": {"code": code(w)}}

    return build


def holds_the_certificate(w: World, r: httpx.Response) -> bool:
    return w.certificate_id in {c["id"] for c in r.json()["certificates"]}


def catalog_rows(prefix: str, code: str) -> list[Row]:
    return [
        Row("PUT", f"{prefix}/{{{code}}}", put_catalog(prefix), signed_in(403, admin=200)),
        Row("GET", f"{prefix}/{{{code}}}", get_catalog(prefix), everyone()),
        Row("GET", prefix, fixed("GET", prefix), everyone()),
    ]


def applying(path: str) -> Callable[[World, bool], Request]:
    """A new application (or its pre-review) for the holder, or for a holder with nothing on file."""

    def build(w: World, real: bool) -> Request:
        body = application_body(w.holder if real else w.unknown_holder, "matrix-new")
        return {"method": "POST", "url": path, "json": body}

    return build


def on(
    kind: str, which: str, suffix: str = "", method: str = "GET", **kwargs: Any
) -> Callable[[World, bool], Request]:
    """A request about one of the world's applications, tasks or commitments (or a made-up one)."""

    def build(w: World, real: bool) -> Request:
        return {
            "method": method,
            "url": f"/api/v1/{kind}/{getattr(w.applications, which) if real else MADE_UP_ID}{suffix}",
            **kwargs,
        }

    return build


def lists(key: str, which: str) -> Callable[[World, httpx.Response], bool]:
    """Whether a listing holds the world's application, task or commitment."""

    def holds(w: World, r: httpx.Response) -> bool:
        return getattr(w.applications, which) in {entry["id"] for entry in r.json()[key]}

    return holds


# Who may know an application exists: applications/views.py (the submitting portal, its holder,
# a department with a task in it, the operators).
SEES_APPLICATION = frozenset({PORTAL_WITH_CONSENT, HOLDER, ISSUER, ADMIN})
PDF = base64.b64encode(plain()).decode()

# Who may know a certificate exists: certificates/access.py (its issuer, its holder, the operators).
SEES_CERTIFICATE = frozenset({ISSUER, HOLDER, ADMIN})

ROWS: list[Row] = [
    # --- the documents and operations
    *(Row("GET", path, fixed("GET", path), everyone()) for path in ("/openapi.json", "/docs", "/redoc")),
    Row("GET", "/docs/oauth2-redirect", fixed("GET", "/docs/oauth2-redirect"), everyone()),
    Row("GET", "/static/apidocs/{path}", fixed("GET", "/static/apidocs/swagger-init.js"), everyone()),
    Row("GET", "/static/{path}", fixed("GET", "/static/hub.css"), everyone()),  # the pages' own files
    *(Row("GET", path, fixed("GET", path), everyone()) for path in ("/healthz", "/readyz", "/metrics")),
    # --- the catalog: anyone reads, the operators write
    Row(
        "GET",
        "/api/v1/organizations/{code}",
        lambda w, real: {"method": "GET", "url": f"/api/v1/organizations/{w.issuer_org}"},
        everyone(),
    ),
    Row(
        "PUT", "/api/v1/organizations/{code}", put_catalog("/api/v1/organizations"), signed_in(403, admin=200)
    ),
    *catalog_rows("/api/v1/certificate-types", "type_code"),
    *catalog_rows("/api/v1/data-resources", "code"),
    *catalog_rows("/api/v1/items", "item_code"),
    *catalog_rows("/api/v1/one-things", "code"),
    Row("GET", "/api/v1/search", fixed("GET", "/api/v1/search", params={"q": "出生"}), everyone()),
    Row(
        "POST",
        "/api/v1/one-things/{code}/questionnaire",
        fixed("POST", f"/api/v1/one-things/{ONE_THING}/questionnaire", json={"answers": {}}),
        everyone(),
    ),
    # --- certificates: departments issue; issuer, holder and operators read; the issuer changes
    Row("POST", "/api/v1/certificates", issue, signed_in(403, issuer=201)),
    Row(
        "POST",
        "/api/v1/certificates/batch",
        batch,
        # The batch answers 200; each item carries its own status (another department: not its type).
        signed_in(403, issuer=(200, 201), other_department=(200, 403)),
        detail=lambda w, r: r.json()["results"][0]["status"],
    ),
    Row(
        "GET",
        "/api/v1/certificates/{certificate_id}",
        get(cert_path()),
        signed_in(404, issuer=200, holder=200, admin=200),
        knows=SEES_CERTIFICATE,
    ),
    Row(
        "GET",
        "/api/v1/certificates/{certificate_id}/file",
        get(cert_path("/file")),
        # The page prints what admins see masked (personal data): issuer and holder only.
        signed_in(404, issuer=200, holder=200, admin=403),
        knows=SEES_CERTIFICATE,
    ),
    Row(
        "POST",
        "/api/v1/certificates/{certificate_id}/status",
        change_status,
        signed_in(404, issuer=200, holder=403, admin=403),
        knows=SEES_CERTIFICATE,
    ),
    Row(
        "POST",
        "/api/v1/certificates/{certificate_id}/versions",
        new_version,
        # Only departments get as far as the certificate: the others are refused by role.
        signed_in(403, issuer=201, other_department=404),
        knows=SEES_CERTIFICATE,
    ),
    # --- sharing: portals only, within the holder's consent (sharing/policy.py)
    Row(
        "POST",
        "/api/v1/sharing/lookup",
        sharing("lookup", lookup_body),
        signed_in(403, portal_with_consent=200),
        knows=frozenset({PORTAL_WITH_CONSENT}),
    ),
    Row(
        "POST",
        "/api/v1/sharing/plan",
        sharing("plan", plan_body),
        signed_in(403, portal_with_consent=200, portal_without_consent=200),
        knows=frozenset({PORTAL_WITH_CONSENT}),
    ),
    Row(
        "POST",
        "/api/v1/sharing/copies",
        sharing("copies", copy_body(ITEM)),
        signed_in(403, portal_with_consent=201, portal_without_consent=404),
        knows=frozenset({PORTAL_WITH_CONSENT}),
    ),
    Row(
        "POST",
        "/api/v1/sharing/copies",
        sharing("copies", copy_body("WJ-BIRTH-CERTIFICATE")),
        signed_in(403, portal_with_consent=404, portal_without_consent=404),
        knows=frozenset(),
        case="an item that does not need its type",
    ),
    Row(
        "GET",
        "/api/v1/sharing/copies/{token}",
        # The link is the credential: whoever holds it gets the copy (once).
        lambda w, real: {
            "method": "GET",
            "url": f"/api/v1/sharing/copies/{w.copy_token if real else MADE_UP_COPY}",
        },
        everyone(),
    ),
    Row(
        "POST",
        "/api/v1/sharing/verify-data",
        sharing("verify-data", verify_data_body),
        # 0: correct and valid; 5: no such certificate for this portal.
        signed_in(403, portal_with_consent=(200, 0), portal_without_consent=(200, 5)),
        knows=frozenset({PORTAL_WITH_CONSENT}),
        detail=lambda w, r: r.json()["result"],
    ),
    # --- the holder's own view: citizen tokens only, each holder their own
    Row(
        "GET",
        "/api/v1/me/certificates",
        fixed("GET", "/api/v1/me/certificates"),
        signed_in(403, holder=(200, True), other_holder=(200, False)),
        detail=holds_the_certificate,
    ),
    Row(
        "GET",
        "/api/v1/me/access-log",
        fixed("GET", "/api/v1/me/access-log"),
        signed_in(403, holder=(200, True), other_holder=(200, False)),
        detail=lambda w, r: r.json()["total"] > 0,
    ),
    Row("POST", "/api/v1/me/consents", grant, signed_in(403, holder=201, other_holder=201)),
    Row(
        "GET",
        "/api/v1/me/consents",
        fixed("GET", "/api/v1/me/consents"),
        signed_in(403, holder=(200, True), other_holder=(200, False)),
        detail=lambda w, r: w.consent_id in {c["id"] for c in r.json()["consents"]},
    ),
    Row(
        "DELETE",
        "/api/v1/me/consents/{consent_id}",
        withdraw,
        signed_in(403, holder=204, other_holder=404),
        knows=frozenset({HOLDER}),
    ),
    # --- verification: anyone, with the document or the code
    Row(
        "POST",
        "/api/v1/verify",
        lambda w, real: {"method": "POST", "url": "/api/v1/verify", "files": {"file": ("c.pdf", w.pdf)}},
        anyone_counted((200, "valid")),
        detail=lambda w, r: r.json()["result"],
    ),
    Row(
        "GET",
        "/api/v1/verify/{certificate_id}",
        verify_code(lambda w: w.verification_code),
        anyone_counted((200, "valid")),
        detail=lambda w, r: r.json()["result"],
    ),
    Row(
        "GET",
        "/api/v1/verify/{certificate_id}",
        verify_code(lambda w: "WRONG0"),
        anyone_counted(404),
        knows=frozenset(),
        case="a wrong code",
    ),
    Row(
        "POST",
        "/api/v1/verify/qr",
        lambda w, real: {"method": "POST", "url": "/api/v1/verify/qr", "json": {"payload": w.qr_payload}},
        anyone_counted((200, "valid")),
        detail=lambda w, r: r.json()["result"],
    ),
    Row("GET", "/api/v1/trust", fixed("GET", "/api/v1/trust"), everyone()),
    # --- the PKI's public services
    Row(
        "POST",
        "/pki/tsa",
        lambda w, real: {"method": "POST", "url": "/pki/tsa", "content": w.timestamp_request},
        anyone_counted(),
    ),
    Row(
        "POST",
        "/pki/ocsp",
        lambda w, real: {"method": "POST", "url": "/pki/ocsp", "content": w.ocsp_request},
        everyone(),
    ),
    Row(
        "GET",
        "/pki/ocsp/{encoded:path}",
        lambda w, real: {"method": "GET", "url": f"/pki/ocsp/{encoded_ocsp(w.ocsp_request)}"},
        everyone(),
    ),
    *(
        Row("GET", path, fixed("GET", path), everyone())
        for path in ("/pki/crl", "/pki/crl/root", "/pki/ca.crt", "/pki/root.crt")
    ),
    # --- the audit log: proofs for anyone, entries and signing for the operators
    Row("GET", "/api/v1/audit/checkpoint", fixed("GET", "/api/v1/audit/checkpoint"), everyone()),
    Row(
        "POST",
        "/api/v1/audit/checkpoint",
        fixed("POST", "/api/v1/audit/checkpoint"),
        signed_in(403, admin=200),
    ),
    Row(
        "GET",
        "/api/v1/audit/proof/inclusion",
        fixed("GET", "/api/v1/audit/proof/inclusion", params={"seq": 1, "size": 2}),
        everyone(),
    ),
    Row(
        "GET",
        "/api/v1/audit/proof/consistency",
        fixed("GET", "/api/v1/audit/proof/consistency", params={"first": 1, "second": 2}),
        everyone(),
    ),
    Row("GET", "/api/v1/audit/events", fixed("GET", "/api/v1/audit/events"), signed_in(403, admin=200)),
    # --- applications: portals file for holders who consented; departments decide their own tasks
    Row(
        "POST",
        "/api/v1/applications/pre-review",
        applying("/api/v1/applications/pre-review"),
        signed_in(403, portal_with_consent=(200, True), portal_without_consent=(200, False)),
        knows=frozenset({PORTAL_WITH_CONSENT}),
        detail=lambda w, r: r.json()["ok"],
    ),
    Row(
        "POST",
        "/api/v1/applications",
        applying("/api/v1/applications"),
        signed_in(403, portal_with_consent=201, portal_without_consent=422),
        knows=frozenset({PORTAL_WITH_CONSENT}),
    ),
    Row(
        "GET",
        "/api/v1/applications/{application_id}",
        on("applications", "in_review"),
        signed_in(404, portal_with_consent=200, holder=200, issuer=200, admin=200),
        knows=SEES_APPLICATION,
    ),
    Row(
        "POST",
        "/api/v1/applications/{application_id}/supplements",
        on(
            "applications",
            "supplement_required",
            "/supplements",
            "POST",
            json={"materials": [{"item_code": REVIEWED_ITEM, "code": "M03", "file": PDF}]},
        ),
        # Only portals supply; another portal cannot learn the application exists.
        signed_in(403, portal_with_consent=200, portal_without_consent=404),
        knows=SEES_APPLICATION,
    ),
    Row(
        "DELETE",
        "/api/v1/applications/{application_id}",
        on("applications", "in_review", method="DELETE"),
        signed_in(403, portal_with_consent=200, holder=200, portal_without_consent=404, other_holder=404),
        knows=SEES_APPLICATION,
    ),
    Row(
        "POST",
        "/api/v1/applications/{application_id}/rating",
        on("applications", "rejected", "/rating", "POST", json={"score": 4, "comment": "办得快"}),
        signed_in(403, holder=201, other_holder=404),
        knows=SEES_APPLICATION,
    ),
    Row(
        "GET",
        "/api/v1/ratings",
        fixed("GET", "/api/v1/ratings"),
        signed_in(403, issuer=200, other_department=200, admin=200),
    ),
    Row(
        "GET",
        "/api/v1/tasks",
        fixed("GET", "/api/v1/tasks"),
        signed_in(403, issuer=(200, True), other_department=(200, False)),
        detail=lists("tasks", "pending_task"),
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/decision",
        on("tasks", "pending_task", "/decision", "POST", json={"decision": "approve"}),
        signed_in(403, issuer=200, other_department=403),
        knows=frozenset({ISSUER, OTHER_DEPARTMENT}),
    ),
    Row(
        "GET",
        "/api/v1/commitments",
        fixed("GET", "/api/v1/commitments"),
        signed_in(403, issuer=(200, True), other_department=(200, False)),
        detail=lists("commitments", "commitment"),
    ),
    Row(
        "POST",
        "/api/v1/commitments/{commitment_id}/fulfil",
        on("commitments", "commitment", "/fulfil", "POST", json={"file": PDF}),
        signed_in(403, issuer=200, other_department=403),
        knows=frozenset({ISSUER, OTHER_DEPARTMENT}),
    ),
    Row(
        "POST",
        "/api/v1/commitments/{commitment_id}/breach",
        on("commitments", "commitment", "/breach", "POST", json={"reason": "逾期未提交（测试）"}),
        signed_in(403, issuer=200, other_department=403),
        knows=frozenset({ISSUER, OTHER_DEPARTMENT}),
    ),
    Row(
        "GET",
        "/api/v1/me/applications",
        fixed("GET", "/api/v1/me/applications"),
        signed_in(403, holder=(200, True), other_holder=(200, False)),
        detail=lists("applications", "in_review"),
    ),
]

ROW_IDS = [row.id for row in ROWS]
assert len(set(ROW_IDS)) == len(ROW_IDS), "two rows for one route must say what they vary (case)"
assert all(set(row.expect) == set(CALLERS) for row in ROWS)


# --------------------------------------------------------------------------------------------
# The world, once per module; a savepoint per cell
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world_connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture(scope="module")
def world_state(base_state: HubState, world_connection: Connection) -> HubState:
    joined = sessionmaker(
        bind=world_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    # Rate limits off: the matrix sends many refused tokens and verifications from one address on
    # purpose, and asks what each caller gets, not what a counter says (tests/hub/test_rate_limits.py).
    return with_limits(base_state.with_sessions(joined), verify_rate="0", tsa_rate="0", auth_failure_rate="0")


@pytest.fixture(scope="module")
def world(world_state: HubState, world_connection: Connection) -> World:
    with Session(
        bind=world_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        seeded = seed_world(world_state, s)
        s.commit()  # releases the session's savepoint into the module's transaction
    return seeded


@pytest.fixture(scope="module")
def matrix_client(world_state: HubState) -> Iterator[TestClient]:
    with TestClient(create_app(state=world_state), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def cell(world: World, world_connection: Connection) -> Iterator[World]:
    """The world, for one cell: whatever the cell changes is rolled back after it."""
    savepoint = world_connection.begin_nested()
    yield world
    if savepoint.is_active:
        savepoint.rollback()


# --------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------


def call(client: TestClient, row: Row, world: World, caller: str, *, real: bool = True) -> httpx.Response:
    request = row.request(world, real)
    headers = request.pop("headers", {}) | world[caller]
    return client.request(**request, headers=headers)


def fingerprint(r: httpx.Response) -> Any:
    """What a caller learns from an answer (a problem's code and words; a JSON body; the bytes)."""
    content_type = r.headers.get("content-type", "")
    if content_type.startswith("application/problem+json"):
        body = r.json()
        return r.status_code, body["code"], body["detail"], body.get("field")
    if content_type.startswith("application/json"):
        return r.status_code, r.json()
    return r.status_code, r.content


@pytest.fixture(scope="module")
def documented(matrix_client: TestClient) -> dict[str, Any]:
    """The answers /openapi.json declares, by path and method."""
    paths: dict[str, Any] = matrix_client.get("/openapi.json").json()["paths"]
    return paths


def declared(documented: dict[str, Any], row: Row) -> dict[str, Any] | None:
    """The responses the document declares for the row's route (None: a route it leaves out)."""
    path = re.sub(r"{(\w+):\w+}", r"{\1}", row.route)  # /pki/ocsp/{encoded:path} is /pki/ocsp/{encoded}
    operation = documented.get(path, {}).get(row.method.lower())
    return None if operation is None else operation["responses"]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_authorization(
    matrix_client: TestClient, documented: dict[str, Any], cell: World, row: Row, caller: str
) -> None:
    expected = row.expect[caller]
    status, detail = (expected, None) if isinstance(expected, int) else expected
    r = call(matrix_client, row, cell, caller)
    where = f"{row.id} as {caller}: {r.status_code} {r.text[:300]}"
    assert r.status_code == status, where
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", where
    if r.status_code == 401:
        assert r.headers["www-authenticate"] == "Bearer", where
    responses = declared(documented, row)
    if responses is not None:  # every answer is one the document declares, problems as problems
        assert str(r.status_code) in responses, f"undocumented: {where}"
        if r.status_code >= 400:
            assert "application/problem+json" in responses[str(r.status_code)]["content"], where
    if detail is not None:
        assert row.detail is not None and row.detail(cell, r) == detail, where
    if caller not in row.knows:
        assert row.request(cell, False) != row.request(cell, True), f"{row.id}: no made-up request"
        made_up = call(matrix_client, row, cell, caller, real=False)
        assert fingerprint(made_up) == fingerprint(r), (
            f"existence oracle: {where} / made up: {made_up.text[:300]}"
        )


def test_every_route_has_a_row(matrix_client: TestClient) -> None:
    """A new endpoint fails here until the table says who may call it."""
    contexts = list(iter_route_contexts(matrix_client.app.routes))  # type: ignore[attr-defined]
    routes = {
        (method, context.path)
        for context in contexts
        for method in set(context.methods or ()) - {"HEAD"}  # a mount has none: below
        # the web pages take no bearer token (a sign-in cookie; tests/web/test_foundation.py)
        if not isinstance(context.original_route, PageRoute)
    }
    mounts = {c.path for c in contexts if isinstance(c.original_route, Mount)}
    routes |= {("GET", f"{path}/{{path}}") for path in mounts}  # static files answer GET under a mount
    rows = {(row.method, row.route) for row in ROWS}
    assert routes - rows == set(), "routes without a row in the authorization matrix"
    assert rows - routes == set(), "rows for routes the app does not have"
