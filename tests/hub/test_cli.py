"""The ``hub`` command, run as operators run it: a subprocess with ``HUB_*`` settings in its environment.

Every test runs against a fresh SQLite and a fresh PostgreSQL database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from catalog.models import ApiClient
from hub import migrate
from hub.app import create_app
from hub.cli import app as cli_app
from hub.state import HubState, build_state
from tests.conftest import DatabaseFactory, make_settings
from tests.factories import bearer, new_ric, new_uscc

HUB = str(Path(sys.executable).parent / "hub")
MASTER_KEY = "cli-test-master-key-0123456789abcdef0123456789"

# The commands of the public contract's CLI table (api.md).
CONTRACT_COMMANDS = ["serve", "db", "orgs", "clients", "dev", "catalog", "demo", "verify", "search", "audit"]


@dataclass
class Hub:
    """A data directory and a database, as ``hub`` commands and a running hub would share them."""

    data_dir: Path
    database_url: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(
            HUB_DATA_DIR=str(self.data_dir),
            HUB_DATABASE_URL=self.database_url,
            HUB_MASTER_KEY=MASTER_KEY,
            HUB_LOG_LEVEL="WARNING",
        )
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HUB, *args], env=self.env(**env), capture_output=True, text=True, timeout=180, check=False
        )

    def ok(self, *args: str, **env: str) -> str:
        r = self.run(*args, **env)
        assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        return r.stdout

    def state(self, **overrides: object) -> HubState:
        return build_state(
            make_settings(self.data_dir, database_url=self.database_url, master_key=MASTER_KEY, **overrides)
        )


@pytest.fixture(scope="module")
def hub(backend: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Hub:
    """One fresh data directory and database per backend, upgraded by the command itself."""
    h = Hub(tmp_path_factory.mktemp(f"cli-{backend}"), databases.create(backend))
    out = h.ok("db", "upgrade")
    assert out.startswith("database at revision ")
    return h


@pytest.fixture
def app_client(hub: Hub) -> Iterator[TestClient]:
    """The API over the same data directory and database the commands wrote to."""
    state = hub.state()
    try:
        with TestClient(create_app(state=state), raise_server_exceptions=False) as c:
            yield c
    finally:
        state.close()


def _head() -> str:
    head = ScriptDirectory(migrate.SCRIPT_LOCATION).get_current_head()
    assert head is not None
    return head


def _wrong_check_character(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


@pytest.fixture
def in_process_logging() -> Iterator[None]:
    """The command configures the root logger (JSON to stderr): put the test runner's back afterwards."""
    import logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("uvicorn.access").disabled = saved[2]


def test_db_upgrade_reaches_head_and_is_idempotent(hub: Hub) -> None:
    head = _head()
    assert hub.ok("db", "upgrade").strip() == f"database at revision {head}"
    assert hub.ok("db", "upgrade").strip() == f"database at revision {head}"
    state = hub.state()
    try:
        assert migrate.current(state.engine) == head
        assert migrate.drift(state.engine) == []
    finally:
        state.close()


@pytest.mark.parametrize("kind", ["department", "portal", "operator"])
def test_orgs_add_prints_json(hub: Hub, app_client: TestClient, kind: str) -> None:
    code = new_uscc("11310000" if kind == "department" else "12310000")
    out = hub.ok("orgs", "add", "--code", code, "--name", f"示范市{kind}", "--kind", kind)
    assert json.loads(out) == {"code": code, "name": f"示范市{kind}", "kind": kind}
    assert "\\u" not in out  # Chinese as is
    r = app_client.get(f"/api/v1/organizations/{code}")
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == kind
    if kind == "department":
        seals = app_client.get("/api/v1/trust").json()["seals"]
        assert any(s["org"] == code for s in seals)
    # again: idempotent
    assert (
        json.loads(hub.ok("orgs", "add", "--code", code, "--name", f"示范市{kind}", "--kind", kind))["code"]
        == code
    )


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (_wrong_check_character(new_uscc()), "checksum"),
        ("91310000MA1FL8TQ3", "length"),
        ("not-a-uscc-at-all!", "valid"),
    ],
    ids=["checksum", "length", "garbage"],
)
def test_orgs_add_with_an_invalid_uscc_exits_2_saying_why(hub: Hub, code: str, says: str) -> None:
    r = hub.run("orgs", "add", "--code", code, "--name", "某局", "--kind", "department")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert "统一社会信用代码" in r.stderr
    assert says in r.stderr.lower()
    assert "Traceback" not in r.stderr


def test_orgs_add_with_a_bad_kind_exits_2(hub: Hub) -> None:
    r = hub.run("orgs", "add", "--code", new_uscc(), "--name", "某局", "--kind", "ministry")
    assert r.returncode == 2
    assert "kind" in r.stderr and "Traceback" not in r.stderr


def test_clients_create_prints_a_token_once_that_authenticates(hub: Hub, app_client: TestClient) -> None:
    dept = new_uscc()
    hub.ok("orgs", "add", "--code", dept, "--name", "示范市市场监督管理局", "--kind", "department")
    out = json.loads(hub.ok("clients", "create", "--org", dept, "--name", "审批系统"))
    assert set(out) == {"client_id", "token"}
    token = out["token"]
    assert token.startswith(f"hub_{out['client_id']}_")

    # the token works, with its role: a department may issue (here: 422 for an empty body, past auth)
    r = app_client.post("/api/v1/certificates", json={}, headers=bearer(token))
    assert r.status_code == 422, r.text
    # a wrong token is 401; the right token of the wrong role is 403
    assert (
        app_client.post("/api/v1/certificates", json={}, headers=bearer(token[:-1] + "x")).status_code == 401
    )
    target = new_uscc("12310000")
    put = app_client.put(
        f"/api/v1/organizations/{target}", json={"name": "某门户", "kind": "portal"}, headers=bearer(token)
    )
    assert put.status_code == 403, put.text

    # shown once: stored only as a hash, and a second client gets a different token
    again = json.loads(hub.ok("clients", "create", "--org", dept, "--name", "审批系统"))
    assert again["token"] != token and again["client_id"] != out["client_id"]
    state = hub.state()
    try:
        with state.sessions() as session:
            row = session.scalar(select(ApiClient).where(ApiClient.id == out["client_id"]))
            assert row is not None and row.role == "department" and row.org_code == dept
            secret = token.split("_", 2)[2]
            assert secret not in row.token_hash and token not in row.token_hash
    finally:
        state.close()


def test_clients_create_admin(hub: Hub, app_client: TestClient) -> None:
    out = json.loads(hub.ok("clients", "create", "--admin", "--name", "运维"))
    target = new_uscc("12310000")
    r = app_client.put(
        f"/api/v1/organizations/{target}",
        json={"name": "示范市政务服务网", "kind": "portal"},
        headers=bearer(out["token"]),
    )
    assert r.status_code in (200, 201), r.text
    assert app_client.get(f"/api/v1/organizations/{target}").json()["name"] == "示范市政务服务网"


def test_clients_create_refusals(hub: Hub) -> None:
    r = hub.run("clients", "create", "--name", "x")
    assert r.returncode == 2 and "--org" in r.stderr and "--admin" in r.stderr
    r = hub.run("clients", "create", "--org", new_uscc(), "--name", "x")
    assert r.returncode == 2 and "not registered" in r.stderr
    assert "Traceback" not in r.stderr


def test_dev_token_prints_a_jwt_the_hub_accepts(hub: Hub, app_client: TestClient) -> None:
    ric = new_ric()
    token = hub.ok("dev", "token", "--kind", "111", "--code", ric, "--name", "张三").strip()
    assert token.count(".") == 2 and "\n" not in token
    state = hub.state()
    try:
        citizen = state.verifier.verify(token)
    finally:
        state.close()
    assert (citizen.holder_kind, citizen.holder_code, citizen.name) == ("111", ric, "张三")
    # over HTTP: authenticated (an unknown certificate is 404), where a forged one is 401
    assert app_client.get("/api/v1/certificates/nope", headers=bearer(token)).status_code == 404
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert app_client.get("/api/v1/certificates/nope", headers=bearer(forged)).status_code == 401


def test_dev_token_refuses_a_bad_kind(hub: Hub) -> None:
    r = hub.run("dev", "token", "--kind", "999", "--code", new_ric(), "--name", "张三")
    assert r.returncode == 2 and "--kind" in r.stderr


def test_dev_token_refuses_when_the_provider_is_off(hub: Hub) -> None:
    r = hub.run(
        "dev",
        "token",
        "--kind",
        "111",
        "--code",
        new_ric(),
        "--name",
        "张三",
        HUB_IDENTITY__DEV_PROVIDER="false",
    )
    assert r.returncode != 0
    assert r.stdout == ""
    assert "switched off" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.usefixtures("in_process_logging")
def test_help_lists_the_contract_commands() -> None:
    result = CliRunner().invoke(cli_app, ["--help"], env={"HUB_DATA_DIR": "/nonexistent-hub-dir"})
    assert result.exit_code == 0, result.output
    listed = {
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and len(line.split()) > 1
    }
    missing = [c for c in CONTRACT_COMMANDS if c not in listed]
    assert not missing, result.output
    for group, sub in (
        ("db", "upgrade"),
        ("orgs", "add"),
        ("clients", "create"),
        ("dev", "token"),
        ("catalog", "load"),
    ):
        r = CliRunner().invoke(cli_app, [group, "--help"])
        assert r.exit_code == 0 and sub in r.output, (group, r.output)


@pytest.mark.usefixtures("in_process_logging")
def test_missing_option_is_a_usage_error_not_a_trace() -> None:
    r = CliRunner().invoke(cli_app, ["orgs", "add", "--code", new_uscc()])
    assert r.exit_code == 2
    assert "Traceback" not in r.output
