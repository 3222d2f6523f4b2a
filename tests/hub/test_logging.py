"""Structured logs: one JSON access line per request with its id, and no personal data or secrets
in the logs or, for tokens, in the database.

Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.observability import JsonFormatter, configure_logging
from hub.state import HubState
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc
from tests.served import served

# A valid resident identity number (the README's example).
RIC = "110101199003074514"
VERIFICATION_CODE = "QSTRSECRET7781"


@dataclass
class Captured:
    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def access(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r["logger"] == "hub.access"]


@pytest.fixture
def logs() -> Iterator[Captured]:
    """Everything logged at INFO and above, formatted as the hub formats it in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    # The test client's own library logs every URL it requests: that is the caller's side, not the hub.
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_access_line_is_json_with_request_id_route_status_and_duration(
    client: TestClient, logs: Captured
) -> None:
    code = new_uscc()
    r1 = client.get(f"/api/v1/organizations/{code}")
    r2 = client.get("/healthz")
    r3 = client.get(f"/no/such/{code}")
    access = logs.access()
    assert len(access) == 3, logs.text
    for response, line, route in zip(
        (r1, r2, r3), access, ("/api/v1/organizations/{code}", "/healthz", "unmatched"), strict=True
    ):
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["route"] == route
        assert line["status"] == response.status_code
        assert line["method"] == "GET"
        assert isinstance(line["ms"], int | float) and line["ms"] >= 0
        assert line["level"] == "INFO" and line["ts"]
    assert len({line["request_id"] for line in access}) == 3
    assert code not in logs.text


def test_request_id_is_on_every_line_of_a_request(
    client: TestClient, logs: Captured, session: Session
) -> None:
    client.get("/api/v1/search", params={"q": "执照"})
    records = logs.records()
    assert records and all(r["request_id"] not in ("", "-") for r in records)


# -- the caller's request id ------------------------------------------------------------------

GENERATED_ID = re.compile(r"[0-9a-f]{16}")


def _lines_of(logs: Captured, request_id: str) -> list[dict[str, Any]]:
    return [r for r in logs.records() if r["request_id"] == request_id]


@pytest.mark.parametrize(
    "given", ["portal-7f3a.2026:42", "a1b2c3d4-e5f6-4789-abcd-ef0123456789", "Root=1-x/y+z@w"]
)
def test_a_sane_request_id_of_the_caller_is_kept_echoed_and_logged(
    client: TestClient, logs: Captured, session: Session, given: str
) -> None:
    r = client.get("/api/v1/search", params={"q": "执照"}, headers={"X-Request-ID": given})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == given
    assert [line["request_id"] for line in logs.records()] == [given] * len(logs.records())
    assert [line["request_id"] for line in logs.access()] == [given]


@pytest.mark.parametrize(
    "given",
    [
        b"x" * 129,
        b"",
        b"two words",
        b"<script>alert(1)</script>",
        b'quote"d',
        b"semi;colon",
        "执照".encode(),
        b"tab\there",
    ],
    ids=["too-long", "empty", "space", "markup", "quote", "semicolon", "utf8", "tab"],
)
def test_an_unsafe_request_id_is_replaced_never_echoed(
    client: TestClient, logs: Captured, given: bytes
) -> None:
    r = client.get("/healthz", headers=[(b"X-Request-ID", given)])
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(rid), rid
    assert [line["request_id"] for line in logs.access()] == [rid]
    if given:
        assert given.decode("latin-1") not in logs.text and given.decode("latin-1") not in r.headers.values()


def test_the_first_request_id_counts_and_the_response_has_one(client: TestClient) -> None:
    r = client.get("/healthz", headers=[(b"X-Request-ID", b"first-1"), (b"X-Request-ID", b"second-2")])
    assert r.headers.get_list("x-request-id") == ["first-1"]


def test_without_a_request_id_each_request_gets_its_own(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(GENERATED_ID.fullmatch(rid) for rid in ids)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/route", 404),
        ("DELETE", "/healthz", 405),
        ("GET", "/api/v1/search", 422),
        ("GET", "/api/v1/certificates/x", 401),
        ("GET", "/api/v1/organizations/91310000MA1K000000", 404),
    ],
)
def test_every_problem_names_the_request(client: TestClient, method: str, path: str, status: int) -> None:
    mine = client.request(method, path, headers={"X-Request-ID": "caller-1"})
    theirs = client.request(method, path)
    assert (mine.status_code, theirs.status_code) == (status, status)
    assert mine.headers["content-type"].startswith("application/problem+json")
    assert mine.json()["request_id"] == "caller-1"
    assert theirs.json()["request_id"] == theirs.headers["x-request-id"]


def test_an_unexpected_error_names_the_request_in_its_problem_header_and_every_log_line(
    hub_state: HubState, logs: Captured
) -> None:
    """The 500 is answered by Starlette outside the request-id middleware, and uvicorn logs the
    error after it: both still belong to the request."""
    app = create_app(state=hub_state)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with served(app) as url:
        r = httpx.get(f"{url}/boom", headers={"X-Request-ID": "caller-500"})
    assert r.status_code == 500
    assert r.headers.get_list("x-request-id") == ["caller-500"]
    assert r.json()["code"] == "internal_error" and r.json()["request_id"] == "caller-500"
    lines = _lines_of(logs, "caller-500")
    loggers = [line["logger"] for line in lines]
    assert "hub.errors" in loggers and "hub.access" in loggers and "uvicorn.error" in loggers, lines
    errors = [r for r in logs.records() if r["level"] == "ERROR"]
    assert errors and all(line["request_id"] == "caller-500" for line in errors), errors


@pytest.fixture
def secrets_world(hub_state: HubState, session: Session) -> dict[str, str]:
    dept = add_org(hub_state, session)
    person_type = add_certificate_type(
        session,
        definer=dept,
        issuers=[dept],
        holder_kind="111",
        name="结婚证",
        fields=[{"name": "spouse", "label": "配偶姓名", "type": "string", "required": True}],
    )
    assert hub_state.dev_idp is not None
    return {
        "dept_token": client_token(hub_state, session, org=dept),
        "admin_token": client_token(hub_state, session, admin=True),
        "jwt": hub_state.dev_idp.token("111", RIC, "张三"),
        "person_type": person_type,
    }


def test_no_token_identity_number_or_query_string_in_the_logs(
    client: TestClient, logs: Captured, secrets_world: dict[str, str]
) -> None:
    dept_token, jwt_token = secrets_world["dept_token"], secrets_world["jwt"]
    body = issue_body(
        secrets_world["person_type"],
        RIC,
        holder={"name": "张三", "kind": "111", "code": RIC},
        data={"spouse": "李四"},
    )
    issued = client.post("/api/v1/certificates", json=body, headers=bearer(dept_token))
    assert issued.status_code == 201, issued.text
    cert = issued.json()
    responses = [
        issued,
        client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(jwt_token)),
        client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(dept_token)),
        client.get(f"/api/v1/certificates/{cert['id']}", headers=bearer(dept_token[:-3] + "zzz")),
        client.get(f"/api/v1/verify/{cert['id']}", params={"code": cert["verification_code"]}),
        client.get(f"/api/v1/verify/{cert['id']}", params={"code": VERIFICATION_CODE}),
        client.get("/api/v1/search", params={"q": RIC}),
        client.get(f"/api/v1/organizations/{RIC}"),
        # refused bodies carrying the identity number: the validation problem must not log it either
        client.post("/api/v1/certificates", json={**body, "issued_on": "never"}, headers=bearer(dept_token)),
        client.post("/api/v1/certificates", json={**body, "holder": RIC}, headers=bearer(dept_token)),
        client.get("/api/v1/certificates/x", headers=bearer(secrets_world["admin_token"])),
    ]
    assert [r.status_code for r in responses][:3] == [201, 200, 200]
    access = logs.access()
    assert [line["request_id"] for line in access] == [r.headers["x-request-id"] for r in responses]
    assert [line["status"] for line in access] == [r.status_code for r in responses]

    text = logs.text
    secret_part = dept_token.split("_", 2)[2]
    forbidden = {
        "department token": dept_token,
        "department token secret": secret_part,
        "admin token": secrets_world["admin_token"],
        "citizen JWT": jwt_token,
        "JWT signature": jwt_token.rsplit(".", 1)[1],
        "JWT claims": jwt_token.split(".")[1],
        "identity number": RIC,
        "masked-ish identity number": RIC[-8:],
        "verification code": cert["verification_code"],
        "wrong verification code": VERIFICATION_CODE,
        "query string": "code=",
        "certificate id in a raw path": f"/certificates/{cert['id']}",
        "holder name": "张三",
        "Bearer": "Bearer",
    }
    leaked = [what for what, value in forbidden.items() if value in text]
    assert not leaked, f"found in the logs: {leaked}"
    routes = {line["route"] for line in access}
    assert {"/api/v1/certificates", "/api/v1/certificates/{certificate_id}"} <= routes
    assert any(route.startswith("/api/v1/verify/{") for route in routes)


def test_tokens_are_not_in_the_database_in_clear(
    client: TestClient, hub_state: HubState, session: Session, secrets_world: dict[str, str]
) -> None:
    """Every column of every table, read back as text: neither a token nor its secret part is there."""
    assert (
        client.get("/api/v1/certificates/x", headers=bearer(secrets_world["dept_token"])).status_code == 404
    )
    session.commit()
    metadata = MetaData()
    metadata.reflect(bind=session.connection())
    assert "api_clients" in metadata.tables
    dump: list[str] = []
    for table in metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    dump.append(bytes(value).decode("latin-1"))
                elif value is not None:
                    dump.append(str(value))
    everything = "\n".join(dump)
    for name in ("dept_token", "admin_token"):
        token = secrets_world[name]
        assert token not in everything
        assert token.split("_", 2)[2] not in everything
    assert secrets_world["jwt"] not in everything
    client_rows = session.execute(select(metadata.tables["api_clients"])).mappings().all()
    assert len(client_rows) >= 2
    for client_row in client_rows:
        assert len(client_row["token_hash"]) == 64 and int(client_row["token_hash"], 16) >= 0


def test_configure_logging_emits_json_and_silences_the_raw_access_log() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled)
    try:
        configure_logging("warning")
        assert root.level == logging.WARNING
        assert len(root.handlers) == 1 and isinstance(root.handlers[0].formatter, JsonFormatter)
        assert logging.getLogger("uvicorn.access").disabled
        record = logging.LogRecord("hub.x", logging.WARNING, __file__, 1, "hello %s", ("世界",), None)
        line = json.loads(root.handlers[0].format(record))
        assert line["msg"] == "hello 世界" and line["level"] == "WARNING" and line["request_id"] == "-"
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("uvicorn.access").disabled = saved[2]


@pytest.mark.parametrize(
    ("created", "ts"),
    [
        (1796281442.387, "2026-12-03T07:04:02.387Z"),
        (1798761599.9996, "2026-12-31T23:59:59.999Z"),  # milliseconds cut, never rounded into next year
        (1796281442.0, "2026-12-03T07:04:02.000Z"),
    ],
)
def test_log_times_are_iso_8601_utc_with_milliseconds(created: float, ts: str) -> None:
    """Whatever the server's zone: lines from hubs in two places sort and compare as they are."""
    record = logging.LogRecord("hub.x", logging.INFO, __file__, 1, "hello", None, None)
    record.created = created
    assert json.loads(JsonFormatter().format(record))["ts"] == ts
