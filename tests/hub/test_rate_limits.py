"""Rate limits over real HTTP (hub/ratelimit.py), with the counts in memory and in a real Redis.

A verification costs ~0.35 s of CPU and ``/pki/tsa`` is an open timestamping service: each is
limited per caller — the API client or citizen when a valid token is sent, else the address —
and an address whose tokens are refused too often may not try again for a while. Requests come
from different loopback addresses (127.0.0.1, 127.0.0.2) through real sockets; the Redis counts
live under a key prefix of the test's own, removed at the end. Every test runs on SQLite and on
PostgreSQL, and each rate test with both storages."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.settings import Limits
from hub.state import HubState
from tests.conftest import with_limits
from tests.factories import add_org, bearer, client_token, new_ric
from tests.hub.test_errors import assert_problem
from tests.live import free_port
from tests.served import send_unread, served

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RATES = {"verify_rate": "3/minute", "tsa_rate": "2/minute", "auth_failure_rate": "3/minute"}
UNKNOWN = "/api/v1/verify/1.2.156.3005.2.NOSUCH?code=ABCDEFGH"  # a 404 that costs a verification


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Where the counts are kept: this process's memory, or Redis under a prefix of this test's."""
    if request.param == "memory":
        yield {"rate_storage_url": "memory://"}
        return
    prefix = f"hub-test-{uuid.uuid4().hex}"
    yield {"rate_storage_url": REDIS_URL, "rate_key_prefix": prefix}
    with redis.Redis.from_url(REDIS_URL) as r:
        keys = list(r.scan_iter(f"{prefix}*"))
        if keys:
            r.delete(*keys)


@pytest.fixture
def hub_url(hub_state: HubState, storage: dict[str, str]) -> Iterator[str]:
    """The hub with low limits, served over HTTP on 127.0.0.1."""
    with served(create_app(state=with_limits(hub_state, **RATES, **storage))) as url:
        yield url


def http_from(url: str, address: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z is this machine)."""
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address), **kwargs)


def assert_rate_limited(r: httpx.Response, window_seconds: int = 60) -> None:
    assert assert_problem(r, 429)["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= window_seconds


def test_verification_past_the_limit_is_429_with_retry_after(hub_url: str) -> None:
    with http_from(hub_url) as http:
        assert [http.get(UNKNOWN).status_code for _ in range(3)] == [404, 404, 404]
        assert_rate_limited(http.get(UNKNOWN))
        # the three verification endpoints share the budget, and a refused call is not read
        assert_rate_limited(http.post("/api/v1/verify/qr", json={"payload": "HC1:X"}))
        assert_rate_limited(
            http.post("/api/v1/verify", files={"file": ("a.pdf", b"%PDF-1.7", "application/pdf")})
        )
        # what is not limited still answers
        assert http.get("/api/v1/trust").status_code == 200


def test_addresses_are_counted_apart(hub_url: str) -> None:
    with http_from(hub_url, "127.0.0.1") as first, http_from(hub_url, "127.0.0.2") as second:
        for _ in range(3):
            first.get(UNKNOWN)
        assert_rate_limited(first.get(UNKNOWN))
        assert second.get(UNKNOWN).status_code == 404


def test_x_forwarded_for_from_an_untrusted_address_changes_nothing(hub_url: str) -> None:
    # uvicorn believes the header only from FORWARDED_ALLOW_IPS (default: 127.0.0.1 and ::1)
    with http_from(hub_url, "127.0.0.2") as http:
        for n in range(3):
            http.get(UNKNOWN, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        assert_rate_limited(http.get(UNKNOWN, headers={"X-Forwarded-For": "203.0.113.99"}))


def test_an_authenticated_caller_is_counted_apart_from_its_address(
    hub_url: str, hub_state: HubState, session: Session
) -> None:
    one = client_token(hub_state, session, org=add_org(hub_state, session, kind="portal"))
    other = client_token(hub_state, session, org=add_org(hub_state, session, kind="portal"))
    with http_from(hub_url) as http:
        for _ in range(3):
            http.get(UNKNOWN)
        assert_rate_limited(http.get(UNKNOWN))  # the address has had its share
        assert [http.get(UNKNOWN, headers=bearer(one)).status_code for _ in range(3)] == [404] * 3
        assert_rate_limited(http.get(UNKNOWN, headers=bearer(one)))  # and so has this client
        assert http.get(UNKNOWN, headers=bearer(other)).status_code == 404


def test_a_citizen_is_counted_by_blind_index_never_by_identity_number(
    hub_url: str, hub_state: HubState, storage: dict[str, str]
) -> None:
    assert hub_state.dev_idp is not None
    code = new_ric()
    token = hub_state.dev_idp.token("111", code, "张三")
    with http_from(hub_url) as http:
        assert [http.get(UNKNOWN, headers=bearer(token)).status_code for _ in range(3)] == [404] * 3
        assert_rate_limited(http.get(UNKNOWN, headers=bearer(token)))
        assert (
            http.get(UNKNOWN, headers=bearer(hub_state.dev_idp.token("111", new_ric(), "李四"))).status_code
            == 404
        )
    if "rate_key_prefix" in storage:
        with redis.Redis.from_url(REDIS_URL) as r:
            keys = [k.decode() for k in r.scan_iter(f"{storage['rate_key_prefix']}*")]
        assert keys and not any(code in k for k in keys), keys


def test_the_timestamp_authority_past_the_limit_is_429(hub_url: str) -> None:
    query = {"Content-Type": "application/timestamp-query"}
    with http_from(hub_url) as http, http_from(hub_url, "127.0.0.2") as elsewhere:
        assert [http.post("/pki/tsa", content=b"x", headers=query).status_code for _ in range(2)] == [
            200,
            200,
        ]
        assert_rate_limited(http.post("/pki/tsa", content=b"x", headers=query))
        assert elsewhere.post("/pki/tsa", content=b"x", headers=query).status_code == 200


def test_an_address_failing_to_authenticate_is_locked_out_even_with_a_valid_token(
    hub_url: str, hub_state: HubState, session: Session
) -> None:
    good = client_token(hub_state, session, org=add_org(hub_state, session))
    with http_from(hub_url) as http, http_from(hub_url, "127.0.0.2") as elsewhere:
        assert http.get("/api/v1/certificates/x", headers=bearer(good)).status_code == 404  # it works
        for guess in range(3):
            r = http.get("/api/v1/certificates/x", headers=bearer(f"hub_nobody_{guess}"))
            assert assert_problem(r, 401)["code"] == "invalid_token"
        assert_rate_limited(http.get("/api/v1/certificates/x", headers=bearer(good)))
        assert_rate_limited(http.get("/api/v1/certificates/x", headers=bearer("hub_nobody_3")))
        # a missing token is no attempt: still a plain 401; public endpoints still answer
        assert assert_problem(http.get("/api/v1/certificates/x"), 401)["code"] == "unauthorized"
        assert http.get("/api/v1/trust").status_code == 200
        # another address is not concerned
        assert elsewhere.get("/api/v1/certificates/x", headers=bearer(good)).status_code == 404


def test_a_rate_of_0_turns_the_limit_off(hub_state: HubState) -> None:
    off = with_limits(hub_state, verify_rate="0", auth_failure_rate="")
    with served(create_app(state=off)) as url, http_from(url) as http:
        assert {http.get(UNKNOWN).status_code for _ in range(70)} == {404}  # past the 60/minute default
        assert {
            http.get("/api/v1/me/certificates", headers=bearer("hub_x_y")).status_code for _ in range(12)
        } == {401}


def test_an_unreachable_redis_lets_requests_through(hub_state: HubState) -> None:
    nowhere = with_limits(
        hub_state, rate_storage_url=f"redis://127.0.0.1:{free_port()}/0", verify_rate="1/minute"
    )
    with served(create_app(state=nowhere)) as url, http_from(url) as http:
        assert [http.get(UNKNOWN).status_code for _ in range(2)] == [404, 404]


@pytest.mark.parametrize("value", ["60/minute", "10 per second", "1000/hour", "0", ""])
def test_rates_are_read_in_the_limits_notation(value: str) -> None:
    assert Limits(verify_rate=value).verify_rate == value


@pytest.mark.parametrize("value", ["sixty", "60/fortnight", "-1/minute"])
def test_a_rate_that_is_no_rate_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="verify_rate"):
        Limits(verify_rate=value)


def test_counts_are_kept_only_in_memory_or_redis() -> None:
    with pytest.raises(ValidationError, match="rate_storage_url"):
        Limits(rate_storage_url="mongodb://127.0.0.1:27017")


def test_a_call_past_the_limit_is_refused_before_its_body_is_received(hub_state: HubState) -> None:
    app = create_app(state=with_limits(hub_state, verify_rate="1/minute"))
    headers = [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"5000000")]
    with TestClient(app, raise_server_exceptions=False) as client:
        first_status, _, first_reads = send_unread(client, "POST", "/api/v1/verify", headers)
        assert first_reads > 0 and first_status != 429  # counted, then read
        status, problem, reads = send_unread(client, "POST", "/api/v1/verify", headers)
    assert (status, problem["code"], reads) == (429, "rate_limited", 0)
