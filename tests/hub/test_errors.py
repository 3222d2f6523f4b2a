"""Every error is an RFC 9457 problem; no bad input ever gets a 5xx or a stack trace.

Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.state import HubState, build_state
from tests.conftest import make_settings, with_limits
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_ric, new_uscc

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
SMALL_LIMIT = 2048


def assert_problem(r: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with our machine code, and nothing that looks like a trace."""
    if status is not None:
        assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert PROBLEM_KEYS <= body.keys(), body
    assert body["status"] == r.status_code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["code"]), body["code"]
    assert body["type"].endswith(body["code"])
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


@dataclass
class World:
    dept_token: str
    type_code: str


@pytest.fixture
def world(hub_state: HubState, session: Session) -> World:
    dept = add_org(hub_state, session)
    type_code = add_certificate_type(session, definer=dept, issuers=[dept])
    return World(dept_token=client_token(hub_state, session, org=dept), type_code=type_code)


# --- problem shape for routing errors ---------------------------------------------------------


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["code"] == "not_found"
    assert_problem(client.post("/nowhere", json={}), 404)


def test_wrong_method_is_a_405_problem(client: TestClient) -> None:
    r = client.delete("/healthz")
    body = assert_problem(r, 405)
    assert body["code"] == "method_not_allowed"
    assert "GET" in r.headers.get("allow", "")
    assert_problem(client.put("/api/v1/verify", json={}), 405)


def test_unknown_organization_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get(f"/api/v1/organizations/{new_uscc()}"), 404)
    assert body["code"].endswith("not_found")


def test_missing_token_is_a_401_problem(client: TestClient, world: World) -> None:
    r = client.post("/api/v1/certificates", json=issue_body(world.type_code, new_uscc("91310000")))
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


# --- bodies that are not what they claim to be ------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"type_code": ', b"{'single': 'quotes'}", b"\xff\xfe\x00garbage", b"[1, 2,]", b"NaN", b"{}}"],
    ids=["truncated", "single-quotes", "invalid-utf8", "trailing-comma", "nan", "extra-brace"],
)
def test_malformed_json_is_a_4xx_problem(client: TestClient, world: World, raw: bytes) -> None:
    r = client.post(
        "/api/v1/certificates",
        content=raw,
        headers={**bearer(world.dept_token), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert_problem(r)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data", ""],
)
def test_json_endpoint_with_another_content_type_is_a_4xx_problem(
    client: TestClient, world: World, content_type: str
) -> None:
    body = json.dumps(issue_body(world.type_code, new_uscc("91310000"))).encode()
    headers = {**bearer(world.dept_token)}
    if content_type:
        headers["Content-Type"] = content_type
    r = client.post("/api/v1/certificates", content=body, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert_problem(r)


def test_upload_endpoint_with_json_is_a_422_naming_the_file(client: TestClient) -> None:
    body = assert_problem(client.post("/api/v1/verify", json={"file": "JVBERi0xLjcK"}), 422)
    assert body["field"] == "file"
    body = assert_problem(client.post("/api/v1/verify", data={"file": "not a file"}), 422)
    assert body["field"] == "file"


# --- validation errors name the field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holder": {"name": "某公司", "kind": "001"}}, "holder.code"),
        ({"holder": {"name": "某公司", "kind": "999", "code": "x"}}, "holder.kind"),
        ({"issued_on": "2025-02-30"}, "issued_on"),
        ({"type_code": "short"}, "type_code"),
        ({"unexpected": 1}, "unexpected"),
        ({"data": ["not", "an", "object"]}, "data"),
    ],
    ids=["holder.code-missing", "holder.kind", "impossible-date", "type_code-length", "unknown-key", "data"],
)
def test_validation_error_names_the_field(
    client: TestClient, world: World, change: dict[str, object], field: str
) -> None:
    body = issue_body(world.type_code, new_uscc("91310000"))
    body.update(change)
    problem = assert_problem(
        client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token)), 422
    )
    assert problem["code"] == "validation_failed"
    assert problem["field"] == field
    assert field in problem["detail"]
    assert any(e["field"] == field for e in problem["errors"])


def test_batch_item_of_the_wrong_type_is_named_by_index(client: TestClient, world: World) -> None:
    good = issue_body(world.type_code, new_uscc("91310000"))
    r = client.post(
        "/api/v1/certificates/batch", json={"items": [good, 42]}, headers=bearer(world.dept_token)
    )
    problem = assert_problem(r, 422)
    assert problem["field"] == "items[1]"


def test_missing_query_parameter_is_named(client: TestClient) -> None:
    assert assert_problem(client.get("/api/v1/search"), 422)["field"] == "q"
    assert (
        assert_problem(client.get("/api/v1/search", params={"q": "x", "limit": "many"}), 422)["field"]
        == "limit"
    )
    assert assert_problem(client.get("/api/v1/verify/anything"), 422)["field"] == "code"


# --- body size limit --------------------------------------------------------------------------


@pytest.fixture
def small_client(hub_state: HubState, engine: Engine) -> Iterator[TestClient]:
    """The same hub with ``limits.max_body_bytes`` set small (as HUB_LIMITS__MAX_BODY_BYTES would)."""
    small = build_state(
        make_settings(
            hub_state.settings.data_dir,
            database_url=str(engine.url),
            limits={"max_body_bytes": SMALL_LIMIT},
        )
    )
    try:
        with TestClient(
            create_app(state=small.with_sessions(hub_state.sessions)), raise_server_exceptions=False
        ) as c:
            yield c
    finally:
        small.close()


def _big_body(world: World, size: int) -> dict[str, object]:
    return issue_body(world.type_code, new_uscc("91310000"), data={"company_name": "公" * size})


def test_body_under_the_limit_is_read(small_client: TestClient, world: World) -> None:
    r = small_client.post("/api/v1/certificates", json={"type_code": "x"}, headers=bearer(world.dept_token))
    assert_problem(r, 422)


def test_body_over_the_limit_with_content_length_is_413(small_client: TestClient, world: World) -> None:
    raw = json.dumps(_big_body(world, SMALL_LIMIT)).encode()
    r = small_client.post(
        "/api/v1/certificates",
        content=raw,
        headers={**bearer(world.dept_token), "Content-Type": "application/json"},
    )
    assert assert_problem(r, 413)["code"] == "payload_too_large"
    # without a token: who calls is checked before the size of what they send
    assert_problem(small_client.post("/api/v1/certificates", content=raw), 401)


def test_streamed_body_over_the_limit_is_413(small_client: TestClient, world: World) -> None:
    raw = json.dumps(_big_body(world, SMALL_LIMIT)).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(raw), 500):
            yield raw[i : i + 500]

    r = small_client.post(
        "/api/v1/certificates",
        content=chunks(),
        headers={**bearer(world.dept_token), "Content-Type": "application/json"},
    )
    assert "content-length" not in r.request.headers
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert assert_problem(r, 413)["code"] == "payload_too_large"


def test_streamed_upload_over_the_limit_is_413(small_client: TestClient) -> None:
    boundary = "hubboundary"
    raw = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + b"%PDF-1.7\n"
        + b"0" * (SMALL_LIMIT * 4)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(raw), 700):
            yield raw[i : i + 700]

    r = small_client.post(
        "/api/v1/verify",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(r, 413)


def test_streamed_body_over_the_limit_at_the_asgi_level(
    hub_state: HubState, engine: Engine, world: World
) -> None:
    """Straight through ASGI, as a server streams a chunked body: many small ``http.request`` messages."""
    small = build_state(
        make_settings(
            hub_state.settings.data_dir, database_url=str(engine.url), limits={"max_body_bytes": 1000}
        )
    )
    app = create_app(state=small.with_sessions(hub_state.sessions))
    parts = [b'{"data": {"company_name": "', *([b"x" * 100] * 30), b'"}}']
    messages = [{"type": "http.request", "body": p, "more_body": True} for p in parts]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/certificates",
        "raw_path": b"/api/v1/certificates",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {world.dept_token}".encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    try:
        with TestClient(app) as running:  # the app's lifespan: its state and rate limits
            running.portal.call(app, scope, receive, send)  # type: ignore[union-attr]
    finally:
        small.close()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 413, body
    assert dict(start["headers"])[b"content-type"].startswith(b"application/problem+json")
    assert json.loads(body)["code"] == "payload_too_large"


# --- hostile input never breaks the hub -------------------------------------------------------

HOSTILE_STRINGS = [
    "",
    " ",
    "A" * 20_000,
    "\x00",
    "a\x00b",
    "😀" * 50,
    "𠀀𪚥",
    "\u202e\u200b\ufeff",
    "../../../etc/passwd",
    "' OR 1=1 --",
    "%",
    "%00",
    "%ff%fe",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "\\",
    "\r\nX-Injected: 1",
    "%E4%B8",
]

RAW_PATH_SEGMENTS = ["%00", "%ff%fe", "%C3%28", "a%00b", "%E4%B8", "..%2F..%2Fetc", "%25", "😀"]


def _ok(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.request.method, str(r.request.url)[:200], r.status_code, r.text[:500])
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        assert_problem(r)


def test_hostile_path_and_query_values(client: TestClient) -> None:
    for value in HOSTILE_STRINGS:
        seg = quote(value, safe="")
        _ok(client.get(f"/api/v1/organizations/{seg}"))
        _ok(client.get("/api/v1/search", params={"q": value}))
        _ok(client.get("/api/v1/search", params={"q": "执照", "kind": value}))
        _ok(client.get(f"/api/v1/verify/{seg}", params={"code": value}))
        _ok(client.get(f"/api/v1/verify/{new_uscc()}0010001", params={"code": value}))
        _ok(client.get(f"/api/v1/certificates/{seg}"))
        _ok(client.get(f"/pki/ocsp/{seg}"))
    for seg in RAW_PATH_SEGMENTS:
        for path in (
            f"/api/v1/organizations/{seg}",
            f"/api/v1/search?q={seg}",
            f"/api/v1/verify/{seg}?code={seg}",
            f"/api/v1/certificate-types/{seg}",
            f"/api/v1/one-things/{seg}",
        ):
            _ok(client.get(path))


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


GARBAGE_JSON: list[bytes] = [
    b"null",
    b"[]",
    b'"just a string"',
    b"1e309",
    b"-0",
    b"true",
    _nested(5_000).encode(),
    b"[" * 100_000 + b"]" * 100_000,
    json.dumps({"type_code": {"$ne": None}}).encode(),
    b'{"type_code": "\\u0000\\u0000"}',
    b'{"external_id": "\\ud800"}',
]


def _garbage_bodies(world: World) -> list[dict[str, object]]:
    base = issue_body(world.type_code, new_uscc("91310000"))
    out: list[dict[str, object]] = []
    for s in HOSTILE_STRINGS:
        out.append({**base, "external_id": s})
        out.append({**base, "holder": {"name": s, "kind": "001", "code": s}})
        out.append({**base, "area_code": s})
        out.append({**base, "serial": s})
        # Not a long Latin run in a rendered field: certificates.rendering.wrap is cubic in it (reported).
        d = s if len(s) < 1000 else "公" * len(s)
        out.append({**base, "data": {"company_name": d, s[:50] or "k": d}})
        out.append({**base, "file": s})
    out += [
        {**base, "holder": {"name": "张三", "kind": "111", "code": "110101199003071234"}},  # bad checksum
        {**base, "holder": "110101199003074514"},
        {**base, "holder": None},
        {**base, "issued_on": "9999-99-99"},
        {**base, "valid_until": "2000-01-01"},
        {**base, "issued_on": 20251125},
        {**base, "data": {"capital": "a lot", "established": "yesterday", "chain": "maybe"}},
        {**base, "data": {"capital": 1e308, "company_name": ["x"]}},
        {**base, "data": {"company_name": "公" * 100_000}},
        {**base, "file": base64.b64encode(b"not a pdf at all").decode()},
        {**base, "file": base64.b64encode(b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()},
        {**base, "type_code": "9" * 21},
        {**base, "type_code": "\x00" * 21},
    ]
    return out


def test_hostile_certificate_bodies(client: TestClient, world: World) -> None:
    headers = {**bearer(world.dept_token), "Content-Type": "application/json"}
    for raw in GARBAGE_JSON:
        _ok(client.post("/api/v1/certificates", content=raw, headers=headers))
        _ok(client.post("/api/v1/certificates/batch", content=raw, headers=headers))
    for body in _garbage_bodies(world):
        _ok(client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token)))
    r = client.post(
        "/api/v1/certificates/batch",
        json={"items": _garbage_bodies(world)[:40]},
        headers=bearer(world.dept_token),
    )
    _ok(r)
    if r.status_code == 200:
        assert all(item["status"] < 500 for item in r.json()["results"])


def test_hostile_bearer_tokens(hub_state: HubState) -> None:
    # Every token is looked at: the lockout after failed authentications (test_rate_limits.py) off.
    app = create_app(state=with_limits(hub_state, auth_failure_rate="0"))
    with TestClient(app, raise_server_exceptions=False) as client:
        for value in [*HOSTILE_STRINGS, "a.b.c", "hub_", "hub__", "hub_x_y", "e30.e30.", "...."]:
            raw = ("Bearer " + value.replace("\r", "").replace("\n", "")).encode()
            r = client.get("/api/v1/certificates/x", headers={"Authorization": raw})
            _ok(r)
            assert r.status_code == 401, (value[:20], r.text)
        _ok(client.get("/api/v1/certificates/x", headers={"Authorization": "Basic dXNlcjpwYXNz"}))


GARBAGE_FILES: list[tuple[str, bytes, str]] = [
    ("random.pdf", bytes(range(256)) * 40, "application/pdf"),
    ("header-only.pdf", b"%PDF-1.7\n", "application/pdf"),
    ("truncated.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R", "application/pdf"),
    (
        "broken-xref.pdf",
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\nxref\n0 99999999\ntrailer<</Root 1 0 R>>\n%%EOF",
        "application/pdf",
    ),
    ("nul.pdf", b"\x00" * 5000, "application/pdf"),
    ("emoji 😀.pdf", "😀".encode() * 100, "text/plain"),
    (
        "deep.pdf",
        b"%PDF-1.7\n1 0 obj " + b"[" * 50_000 + b"]" * 50_000 + b" endobj\n%%EOF",
        "application/pdf",
    ),
    ("../../etc/passwd", b"%PDF-1.7\n%%EOF", "application/octet-stream"),
    ("", b"x", ""),
]


def test_hostile_uploads(client: TestClient) -> None:
    for name, data, ctype in GARBAGE_FILES:
        r = client.post("/api/v1/verify", files={"file": (name, data, ctype)})
        _ok(r)
        if r.status_code == 200:
            assert r.json()["result"] in ("invalid", "indeterminate")
    _ok(client.post("/api/v1/verify", files={"file": ("empty.pdf", b"", "application/pdf")}))
    _ok(client.post("/api/v1/verify", files={"other": ("a.pdf", b"%PDF", "application/pdf")}))
    _ok(
        client.post(
            "/api/v1/verify",
            content=b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
    )
    _ok(client.post("/api/v1/verify", content=b"garbage", headers={"Content-Type": "multipart/form-data"}))
    for path, ctype in (
        ("/pki/tsa", "application/timestamp-query"),
        ("/pki/ocsp", "application/ocsp-request"),
    ):
        for _, data, _ in GARBAGE_FILES:
            _ok(client.post(path, content=data, headers={"Content-Type": ctype}))


def test_identity_number_in_a_bad_request_is_not_echoed(client: TestClient, world: World) -> None:
    """A refused body's values stay out of the problem: only the field and the rule are named."""
    ric = new_ric()
    body = issue_body(
        world.type_code, new_uscc("91310000"), holder={"name": "张三", "kind": "111", "code": ric}
    )
    body["issued_on"] = "not-a-date"
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert_problem(r, 422)
    assert ric not in r.text


def test_nul_character_is_bad_input_on_every_backend(client: TestClient, world: World) -> None:
    """PostgreSQL refuses NUL in text: that is the caller's bad value (4xx), not a hub failure (5xx)."""
    assert_problem(client.get("/api/v1/organizations/a%00b"))
    _ok(client.get("/api/v1/search", params={"q": "执照\x00"}))
    body = issue_body(world.type_code, new_uscc("91310000"), external_id="ext\x00nul")
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert 400 <= r.status_code < 500, r.text
    assert_problem(r)
    # the session rolled back cleanly: the next request on the same client works
    assert client.get("/healthz").status_code == 200
