"""``hub audit verify`` and ``hub audit checkpoint`` as an operator and an outsider run them, against
a real server: edits made directly in the database are named; a published history that changes is
caught from outside with nothing but the hub's URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import DatabaseFactory
from tests.live import LiveHubs


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_verify_names_a_direct_edit_and_an_outsider_sees_the_log_grow(
    backend_name: str, live_hubs: LiveHubs, databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = databases.create("postgresql") if backend_name == "postgresql" else None
    hub = live_hubs.start(database_url=url)
    issuer = hub.setup_issuer()
    with hub.client(issuer.token) as http:
        for _ in range(3):
            assert http.post("/api/v1/certificates", json=issuer.body()).status_code == 201

    assert "audit log ok" in hub.cli("audit", "verify").stdout
    signed = hub.cli_json("audit", "checkpoint")
    state = tmp_path / "seen.json"
    first = hub.cli("audit", "verify", "--url", hub.url, "--state", str(state), "--seq", "1")
    assert "audit checkpoint ok" in first.stdout, first.stderr

    with hub.client(issuer.token) as http:
        assert http.post("/api/v1/certificates", json=issuer.body()).status_code == 201
    hub.cli_json("audit", "checkpoint")
    second = hub.cli("audit", "verify", "--url", hub.url, "--state", str(state))
    assert f"extends the one of size {signed['size']}" in second.stdout, second.stderr

    # An operator with database access edits one entry: the next verify names it and exits 1.
    engine = create_engine(hub.effective_database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'nobody' WHERE seq = 2"))
    engine.dispose()
    broken = hub.cli("audit", "verify", check=False)
    assert broken.returncode == 1
    assert "entry 2 does not hash to its leaf" in broken.stderr


def test_a_single_worker_server_signs_checkpoints_by_itself(live_hubs: LiveHubs) -> None:
    # `hub serve` with one worker hands the app its state; the periodic checkpoints once ran only
    # in workers that built their own, so the default server never published one.
    import time

    hub = live_hubs.start(env={"HUB_AUDIT__CHECKPOINT_INTERVAL_SECONDS": "1"})
    issuer = hub.setup_issuer()
    with hub.client(issuer.token) as http:
        assert http.post("/api/v1/certificates", json=issuer.body()).status_code == 201
        deadline = time.monotonic() + 30
        while (r := http.get("/api/v1/audit/checkpoint")).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert r.status_code == 200 and r.json()["size"] >= 1
