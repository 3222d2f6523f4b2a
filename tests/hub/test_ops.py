"""Operations endpoints: liveness, readiness (503 when a dependency is down), Prometheus metrics.

Every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from hub.app import create_app
from hub.state import HubState, build_state
from tests.conftest import make_settings, pg_admin_url
from tests.factories import new_uscc


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out.append((dict(sample.labels), sample.value))
    return out


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_when_everything_answers(client: TestClient, hub_state: HubState) -> None:
    """Also while a write transaction is open (the test's own): on SQLite the probe must not queue."""
    hub_state.blobs.ensure_root()  # type: ignore[attr-defined]  # what `hub serve` does first
    start = time.monotonic()
    r = client.get("/readyz")
    assert time.monotonic() - start < 5
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] == "ok"


@pytest.fixture(params=["sqlite-missing-dir", "postgresql-closed-port"])
def unreachable_db_client(
    request: pytest.FixtureRequest, tmp_path: Path, data_dir: Path
) -> Iterator[TestClient]:
    if request.param == "sqlite-missing-dir":
        url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'hub.db'}"
    else:
        url = make_url(pg_admin_url()).set(host="127.0.0.1", port=_closed_port()).render_as_string(False)
    state = build_state(make_settings(data_dir, database_url=url))
    state.blobs.ensure_root()  # type: ignore[attr-defined]
    try:
        with TestClient(create_app(state=state), raise_server_exceptions=False) as c:
            yield c
    finally:
        state.close()


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_db_client: TestClient) -> None:
    r = unreachable_db_client.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    body = r.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["storage"] == "ok"
    assert "database" in body["detail"]
    # the connection string (host, port, password) is not told to the world
    assert "127.0.0.1" not in r.text and "sqlite" not in r.text
    # the process itself is still alive
    assert unreachable_db_client.get("/healthz").status_code == 200


def test_database_down_is_never_a_trace(unreachable_db_client: TestClient) -> None:
    r = unreachable_db_client.get(f"/api/v1/organizations/{new_uscc()}")
    assert r.status_code == 503  # our outage, not the caller's fault: retry later
    assert r.json()["code"] == "database_unavailable" and int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in r.text and "OperationalError" not in r.text


def test_readyz_is_503_when_storage_is_unreachable(data_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the blob root should be")
    state = build_state(
        make_settings(
            data_dir, database_url=f"sqlite:///{tmp_path / 'hub.db'}", storage={"directory": blocker}
        )
    )
    try:
        with TestClient(create_app(state=state)) as c:
            r = c.get("/readyz")
        assert r.status_code == 503
        checks = r.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["storage"].startswith("unreachable")
        assert str(blocker) not in r.text
    finally:
        state.close()


def test_metrics_are_prometheus_text_by_route_template(client: TestClient) -> None:
    code = new_uscc()
    client.get(f"/api/v1/organizations/{code}")  # 404: unknown
    client.get(f"/api/v1/organizations/{code}")
    client.get("/healthz")
    client.get("/api/v1/search", params={"q": "执照"})
    client.get(f"/no/such/route/{code}")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE hub_http_requests_total counter" in text
    assert "# TYPE hub_http_request_duration_seconds histogram" in text

    requests = _samples(text, "hub_http_requests_total")
    org = [(labels, v) for labels, v in requests if labels["route"] == "/api/v1/organizations/{code}"]
    assert org and sum(v for labels, v in org if labels["status"] == "404" and labels["method"] == "GET") >= 2
    assert any(labels["route"] == "/healthz" and labels["status"] == "200" for labels, _ in requests)
    assert any(labels["route"] == "/api/v1/search" for labels, _ in requests)
    # concrete values never become labels: no unbounded cardinality, no codes in the metrics
    assert code not in text
    assert "执照" not in text

    buckets = _samples(text, "hub_http_request_duration_seconds_bucket")
    org_buckets = [(labels, v) for labels, v in buckets if labels["route"] == "/api/v1/organizations/{code}"]
    assert {labels["le"] for labels, _ in org_buckets} >= {"0.005", "0.1", "1.0", "+Inf"}
    inf = next(v for labels, v in org_buckets if labels["le"] == "+Inf")
    assert inf >= 2
    counts = _samples(text, "hub_http_request_duration_seconds_count")
    assert any(labels["route"] == "/api/v1/organizations/{code}" and v >= 2 for labels, v in counts)
    sums = _samples(text, "hub_http_request_duration_seconds_sum")
    assert any(labels["route"] == "/api/v1/organizations/{code}" and v > 0 for labels, v in sums)


def test_metrics_count_each_request(client: TestClient) -> None:
    def healthz_count() -> float:
        samples = _samples(client.get("/metrics").text, "hub_http_requests_total")
        return sum(v for labels, v in samples if labels["route"] == "/healthz" and labels["status"] == "200")

    before = healthz_count()
    for _ in range(3):
        client.get("/healthz")
    assert healthz_count() == before + 3


def test_operations_are_described_where_they_belong(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/healthz" in paths and "/readyz" in paths
