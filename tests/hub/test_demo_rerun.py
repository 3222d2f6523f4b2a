"""``hub demo`` run twice, as ``./run demo`` does on every start: the second run adds no row anywhere
and prints the same API tokens, and what it prints is enough to use the API as each party."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from hub.app import create_app
from hub.db import make_engine
from hub.state import build_state
from kernel.db import Base
from tests.conftest import DatabaseFactory, make_settings

HUB = str(Path(sys.executable).parent / "hub")
MASTER_KEY = "demo-rerun-test-master-key-0123456789abcdef0123"


@pytest.fixture(scope="module")
def demo_hub(
    backend: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    return tmp_path_factory.mktemp(f"demo-{backend}"), databases.create(backend)


def _demo(data_dir: Path, database_url: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(data_dir), HUB_DATABASE_URL=database_url, HUB_MASTER_KEY=MASTER_KEY)
    r = subprocess.run(
        [HUB, "demo", "--certificates", "8"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0 and "Traceback" not in r.stderr, (r.stdout, r.stderr)
    out: dict[str, Any] = json.loads(r.stdout)  # stdout is the JSON alone; progress went to stderr
    return out


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables
        }


def _without_jwts(value: Any) -> Any:
    """The output with the citizen JWTs left out: they carry their issuing time, so differ per run."""
    if isinstance(value, dict):
        return {k: _without_jwts(v) for k, v in value.items() if k != "jwt"}
    if isinstance(value, list):
        return [_without_jwts(v) for v in value]
    return value


@pytest.fixture(scope="module")
def two_runs(
    demo_hub: tuple[Path, str],
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, int], dict[str, int]]]:
    data_dir, url = demo_hub
    engine = make_engine(url)
    try:
        first = _demo(data_dir, url)
        after_first = _rows(engine)
        second = _demo(data_dir, url)
        yield first, second, after_first, _rows(engine)
    finally:
        engine.dispose()


def test_a_second_demo_run_adds_no_row_and_prints_the_same_tokens(two_runs: Any) -> None:
    first, second, after_first, after_second = two_runs
    assert after_second == after_first
    assert second["tokens"] == first["tokens"]
    assert after_first["api_clients"] == 4  # admin, portal, two departments
    assert _without_jwts(second) == _without_jwts(first)


def test_the_demo_prints_persons_and_companies_with_tokens_that_see_their_certificates(
    two_runs: Any, demo_hub: tuple[Path, str]
) -> None:
    _, out, _, _ = two_runs
    citizen = out["persons"][0]
    assert (citizen["name"], citizen["code"]) == ("林晓梅（演示）", "310104199203154523")
    assert out["citizen"]["jwt"] and len(out["citizen"]["certificates"]) == 3
    assert any(p["certificates"] for p in out["persons"][1:]) and out["companies"]
    assert {"admin", "department", "portal", "health"} <= set(out["tokens"])
    data_dir, url = demo_hub
    state = build_state(make_settings(data_dir, database_url=url, master_key=MASTER_KEY))
    try:
        with TestClient(create_app(state=state), raise_server_exceptions=False) as api:
            for holder in (*out["persons"], *out["companies"]):
                r = api.get("/api/v1/me/certificates", headers={"Authorization": f"Bearer {holder['jwt']}"})
                assert r.status_code == 200, r.text
                held = {c["id"] for c in r.json()["certificates"]}
                assert set(holder["certificates"]) <= held and held, holder["name"]
            for name, token in out["tokens"].items():
                r = api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
                # a department's and the admin's token are accepted; the portal has no tasks (403)
                assert r.status_code in (200, 403) and r.status_code != 401, (name, r.text)
            health = {"Authorization": f"Bearer {out['tokens']['health']}"}
            assert api.get("/api/v1/tasks", headers=health).status_code == 200
    finally:
        state.close()
