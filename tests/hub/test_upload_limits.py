"""A PDF over ``limits.max_pdf_bytes`` is refused with a 413 problem before it is read whole.

``/verify`` takes the file as multipart (spooled to a temporary file as it arrives), issuance and
new versions as base64 in JSON: each endpoint's body is bounded by what one PDF of the limit needs
(``Limits.pdf_routes``), so a 20 MB upload is answered from its headers, never received, spooled,
parsed and decoded first — once the caller is known: an endpoint that needs one authenticates
before it looks at the body (hub/admission.py). Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.settings import JSON_ENVELOPE_BYTES, UPLOAD_ENVELOPE_BYTES, Limits
from hub.state import HubState, build_state
from tests.conftest import make_settings
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc
from tests.hub.test_errors import World, assert_problem
from tests.served import send_unread

MAX_PDF = 200_000  # above a rendered certificate (~70 KB), far below the default 10 MiB


@pytest.fixture
def limited(hub_state: HubState, engine: Engine) -> Iterator[HubState]:
    """The test's hub with ``limits.max_pdf_bytes`` set low (as HUB_LIMITS__MAX_PDF_BYTES would)."""
    state = build_state(
        make_settings(
            hub_state.settings.data_dir, database_url=str(engine.url), limits={"max_pdf_bytes": MAX_PDF}
        )
    )
    try:
        yield state.with_sessions(hub_state.sessions)
    finally:
        state.close()


@pytest.fixture
def client(limited: HubState) -> Iterator[TestClient]:
    with TestClient(create_app(state=limited), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(limited: HubState, session: Session) -> World:
    dept = add_org(limited, session)
    type_code = add_certificate_type(session, definer=dept, issuers=[dept])
    return World(dept_token=client_token(limited, session, org=dept), type_code=type_code)


def _pdf(size: int) -> bytes:
    head, tail = b"%PDF-1.7\n", b"\n%%EOF\n"
    return head + b"0" * (size - len(head) - len(tail)) + tail


def test_a_20_mb_upload_is_refused_from_its_headers_unread(client: TestClient, world: World) -> None:
    twenty_mb = str(20 * 1024 * 1024).encode()
    token = f"Bearer {world.dept_token}".encode()
    for method, path, content_type, auth in [
        ("POST", "/api/v1/verify", b"multipart/form-data; boundary=x", []),
        ("POST", "/api/v1/certificates", b"application/json", [(b"authorization", token)]),
        (
            "POST",
            "/api/v1/certificates/1.2.156.3005.2.X/versions",
            b"application/json",
            [(b"authorization", token)],
        ),
    ]:
        status, problem, reads = send_unread(
            client, method, path, [(b"content-type", content_type), (b"content-length", twenty_mb), *auth]
        )
        assert (status, problem["code"], reads) == (413, "payload_too_large", 0), path


def test_an_anonymous_20_mb_upload_is_401_before_its_size_is_looked_at(client: TestClient) -> None:
    # who calls is checked before what they send: a stranger learns nothing of the limits
    status, problem, reads = send_unread(
        client,
        "POST",
        "/api/v1/certificates",
        [(b"content-type", b"application/json"), (b"content-length", str(20 * 1024 * 1024).encode())],
    )
    assert (status, problem["code"], reads) == (401, "unauthorized", 0)


def test_the_route_limits_hold_one_pdf_of_the_limit() -> None:
    limits = Limits(max_pdf_bytes=MAX_PDF)
    routes = {path: limit for _, path, limit in limits.pdf_routes()}
    assert routes["/api/v1/verify"] == MAX_PDF + UPLOAD_ENVELOPE_BYTES
    assert routes["/api/v1/certificates"] >= len(base64.b64encode(_pdf(MAX_PDF))) + JSON_ENVELOPE_BYTES
    assert routes["/api/v1/certificates/[^/]+/versions"] == routes["/api/v1/certificates"]
    # other endpoints keep the general limit (a batch carries many items)
    assert "/api/v1/certificates/batch" not in routes


def test_verify_refuses_a_file_over_the_limit_inside_the_envelope(client: TestClient) -> None:
    r = client.post("/api/v1/verify", files={"file": ("big.pdf", _pdf(MAX_PDF + 1000), "application/pdf")})
    assert assert_problem(r, 413)["code"] == "payload_too_large"


def test_verify_refuses_a_streamed_upload_over_the_route_limit(client: TestClient) -> None:
    boundary = "hubboundary"
    raw = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + _pdf(MAX_PDF + 2 * UPLOAD_ENVELOPE_BYTES)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(raw), 16384):
            yield raw[i : i + 16384]

    r = client.post(
        "/api/v1/verify",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in r.request.headers
    assert assert_problem(r, 413)["code"] == "payload_too_large"


def test_verify_reads_a_file_of_exactly_the_limit(client: TestClient) -> None:
    r = client.post("/api/v1/verify", files={"file": ("max.pdf", _pdf(MAX_PDF), "application/pdf")})
    assert r.status_code == 200, r.text
    assert r.json()["result"] == "invalid"  # read and checked: not a readable sealed PDF


def test_issuance_refuses_a_base64_file_over_the_route_limit(client: TestClient, world: World) -> None:
    body = issue_body(
        world.type_code,
        new_uscc("91310000"),
        file=base64.b64encode(_pdf(MAX_PDF + 2 * JSON_ENVELOPE_BYTES)).decode(),
    )
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **bearer(world.dept_token)}
    r = client.post("/api/v1/certificates", content=raw, headers=headers)
    assert assert_problem(r, 413)["code"] == "payload_too_large"


def test_issuance_refuses_a_file_over_the_limit_before_decoding_it(client: TestClient, world: World) -> None:
    # the body fits the route's envelope, the file does not fit the limit: the answer
    # check_uploaded_pdf gives, from the base64 length
    body = issue_body(
        world.type_code, new_uscc("91310000"), file=base64.b64encode(_pdf(MAX_PDF + 3)).decode()
    )
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    problem = assert_problem(r, 413)
    assert (problem["code"], problem["field"]) == ("pdf_too_large", "file")


def test_issuance_decodes_a_file_of_exactly_the_limit(client: TestClient, world: World) -> None:
    body = issue_body(world.type_code, new_uscc("91310000"), file=base64.b64encode(_pdf(MAX_PDF)).decode())
    r = client.post("/api/v1/certificates", json=body, headers=bearer(world.dept_token))
    assert assert_problem(r, 422)["code"] == "pdf_unreadable"  # decoded and checked, not refused for size


def test_a_batch_item_with_a_file_over_the_limit_fails_alone(client: TestClient, world: World) -> None:
    big = issue_body(world.type_code, new_uscc("91310000"), file=base64.b64encode(_pdf(MAX_PDF + 3)).decode())
    bad = issue_body(world.type_code, new_uscc("91310000"), file="not base64!")
    r = client.post(
        "/api/v1/certificates/batch", json={"items": [big, bad]}, headers=bearer(world.dept_token)
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert (results[0]["status"], results[0]["error"]["code"]) == (413, "pdf_too_large")
    assert (results[1]["status"], results[1]["error"]["code"]) == (422, "validation_failed")


def test_a_qr_body_of_megabytes_is_413_unread_and_a_real_one_is_answered(client: TestClient) -> None:
    # An anonymous 60 MB JSON body to /verify/qr took the server from 261 MB to 1.75 GB.
    r = client.post(
        "/api/v1/verify/qr",
        content=b'{"payload": "' + b"A" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert assert_problem(r, 413)["code"] == "payload_too_large"
    small = client.post("/api/v1/verify/qr", json={"payload": "HC1:NOTAREALCODE"})
    assert small.status_code != 413


@pytest.mark.parametrize("path", ["/pki/tsa", "/pki/ocsp"])
def test_a_pki_request_of_megabytes_is_413_unread(client: TestClient, path: str) -> None:
    # the PKI endpoints read their raw body whole: anyone's 60 MB would have been held in memory
    headers = [(b"content-type", b"application/timestamp-query"), (b"content-length", b"2000000")]
    status, problem, reads = send_unread(client, "POST", path, headers)
    assert (status, problem["code"], reads) == (413, "payload_too_large", 0)


def test_sharing_bodies_are_bounded_too(client: TestClient, limited: HubState, session: Session) -> None:
    portal = client_token(limited, session, org=add_org(limited, session, kind="portal"))
    r = client.post(
        "/api/v1/sharing/lookup",
        content=b'{"x": "' + b"A" * (3 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json", **bearer(portal)},
    )
    assert assert_problem(r, 413)["code"] == "payload_too_large"
