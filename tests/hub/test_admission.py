"""A caller is authenticated before the body is received (hub/admission.py).

FastAPI parses a body before it solves dependencies: an anonymous 60 MB JSON body to
``POST /api/v1/certificates`` once took the server from 261 MB to 1.75 GB before it answered 401.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hub.admission import AdmissionRoute
from hub.app import create_app
from hub.deps import OptionalCallerDep
from hub.state import HubState
from tests.conftest import with_limits
from tests.factories import add_org, bearer, client_token
from tests.hub.test_errors import assert_problem
from tests.served import post_head_only, send_unread, served

SIXTY_MB = 60 * 1024 * 1024

# Endpoints that take a body from anyone: a token, when sent, names the caller (rate limits).
PUBLIC_WITH_BODY = {("POST", "/api/v1/verify"), ("POST", "/api/v1/verify/qr"), ("POST", "/pki/tsa")}


def _endpoints_with_a_caller_and_a_body(app: Any) -> Iterator[tuple[str, str, str]]:
    """(method, path with its parameters filled, content type) of every operation of the public
    contract (OpenAPI) that takes a body and names the bearer scheme."""
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation or not operation.get("security"):
                continue
            if (method.upper(), path) in PUBLIC_WITH_BODY:
                continue
            content_type = next(iter(operation["requestBody"]["content"]))
            yield method.upper(), re.sub(r"\{[^}]+\}", "x", path), content_type


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer hub_nobody_secret", "Bearer e30.e30.e30"],
    ids=["no-token", "unknown-client-key", "forged-jwt"],
)
def test_every_endpoint_needing_a_caller_refuses_a_stranger_before_reading_the_body(
    hub_state: HubState, authorization: str | None
) -> None:
    # each endpoint looks at the token: the lockout after failed authentications off
    app = create_app(state=with_limits(hub_state, auth_failure_rate="0"))
    with TestClient(app, raise_server_exceptions=False) as client:
        _check_every_endpoint_refuses_unread(client, authorization)


def _check_every_endpoint_refuses_unread(client: TestClient, authorization: str | None) -> None:
    auth = [(b"authorization", authorization.encode())] if authorization else []
    checked = []
    for method, path, content_type in _endpoints_with_a_caller_and_a_body(client.app):
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(SIXTY_MB).encode())]
        status, problem, reads = send_unread(client, method, path, [*headers, *auth])
        assert (status, reads) == (401, 0), (method, path, problem)
        checked.append(path)
    # issuance, versions, status, batch, sharing, consents, catalog writes, audit checkpoints
    assert len(checked) >= 10, checked


def test_a_strangers_body_over_http_is_answered_401_before_it_is_sent(hub_state: HubState) -> None:
    with served(create_app(state=hub_state)) as url:
        response, body = post_head_only(
            url, "/api/v1/certificates", announced=SIXTY_MB, headers={"Content-Type": "application/json"}
        )
    assert response.status == 401
    assert response.getheader("Content-Type", "").startswith("application/problem+json")
    assert json.loads(body)["code"] == "unauthorized"


def test_a_callers_body_over_the_limit_over_http_is_413_before_it_is_sent(
    hub_state: HubState, session: Session
) -> None:
    token = client_token(hub_state, session, org=add_org(hub_state, session))
    with served(create_app(state=hub_state)) as url:
        response, body = post_head_only(
            url,
            "/api/v1/certificates",
            announced=SIXTY_MB,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
    assert response.status == 413
    assert json.loads(body)["code"] == "payload_too_large"


probe = APIRouter(route_class=AdmissionRoute)


@probe.post("/_probe/optional")
def _optional(body: dict[str, Any], caller: OptionalCallerDep) -> dict[str, Any]:
    return {"role": caller.role if caller else None, "keys": sorted(body)}


@pytest.fixture
def probe_client(hub_state: HubState) -> Iterator[TestClient]:
    app = create_app(state=hub_state)
    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_an_optional_caller_is_anyone_without_a_token(probe_client: TestClient) -> None:
    r = probe_client.post("/_probe/optional", json={"a": 1})
    assert r.json() == {"role": None, "keys": ["a"]}
    basic = probe_client.post("/_probe/optional", json={}, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.json()["role"] is None


def test_an_optional_callers_token_is_checked_when_sent(
    probe_client: TestClient, hub_state: HubState, session: Session
) -> None:
    token = client_token(hub_state, session, org=add_org(hub_state, session, kind="portal"))
    assert probe_client.post("/_probe/optional", json={}, headers=bearer(token)).json()["role"] == "portal"
    r = probe_client.post("/_probe/optional", json={}, headers=bearer(token[:-2] + "xx"))
    assert assert_problem(r, 401)["code"] == "invalid_token"


def test_an_optional_callers_bad_token_is_refused_before_the_body(probe_client: TestClient) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(SIXTY_MB).encode()),
        (b"authorization", b"Bearer hub_nobody_secret"),
    ]
    status, problem, reads = send_unread(probe_client, "POST", "/_probe/optional", headers)
    assert (status, problem["code"], reads) == (401, "invalid_token", 0)
