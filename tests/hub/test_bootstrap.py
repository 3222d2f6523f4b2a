"""Start-up on a fresh data directory: migrate, create keys and the CA — idempotently, and safely when
two processes start at once. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from alembic.script import ScriptDirectory

from hub import migrate
from hub.bootstrap import prepare
from hub.settings import Settings
from hub.state import HubState
from tests.conftest import DatabaseFactory, make_settings

HEAD = ScriptDirectory(migrate.SCRIPT_LOCATION).get_current_head()
HUB = str(Path(sys.executable).parent / "hub")
KEY_FILES = (
    "root.crt.pem",
    "root.key.pem",
    "issuing.crt.pem",
    "issuing.key.pem",
    "tsa.key.pem",
    "qr.key.pem",
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(data_dir: Path) -> dict[str, str]:
    """Every file the hub keeps in its data directory (keys, CA, dev identity key), by content hash."""
    out = {}
    for path in sorted(data_dir.rglob("*")):
        if (
            path.is_file()
            and not path.name.startswith(".")
            and path.suffix not in (".db", ".db-wal", ".db-shm")
        ):
            if "-wal" in path.name or "-shm" in path.name:
                continue
            out[str(path.relative_to(data_dir))] = _digest(path)
    return out


class Fresh(NamedTuple):
    """A data directory that does not exist yet, an empty database, and the master key given.

    On SQLite the database lies in the data directory (the embedded default) and no master key is
    given: development generates var/master.key, which racing processes must agree on. A
    PostgreSQL database needs HUB_MASTER_KEY (every server must derive the same keys)."""

    data_dir: Path
    url: str
    master_key: str | None

    def settings(self) -> Settings:
        return make_settings(self.data_dir, database_url=self.url, master_key=self.master_key)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(HUB_DATA_DIR=str(self.data_dir), HUB_DATABASE_URL=self.url, HUB_LOG_LEVEL="WARNING")
        if self.master_key is not None:
            env.update(HUB_MASTER_KEY=self.master_key)
        return env


def _check_ready(state: HubState) -> None:
    assert migrate.current(state.engine) == HEAD
    assert migrate.drift(state.engine) == []
    for probe in state.readiness_probes().values():
        probe()


@pytest.fixture
def fresh(backend: str, databases: DatabaseFactory, tmp_path: Path) -> Fresh:
    data_dir = tmp_path / "var"
    if backend == "sqlite":
        return Fresh(data_dir, f"sqlite:///{data_dir / 'hub.db'}", None)
    return Fresh(data_dir, databases.create(backend), "bootstrap-test-master-key-0123456789abcdef")


def test_prepare_twice_is_idempotent(fresh: Fresh) -> None:
    data_dir = fresh.data_dir
    first = prepare(fresh.settings())
    try:
        _check_ready(first)
        root_pem = (data_dir / "pki" / "root.crt.pem").read_bytes()
        root_der = first.signing.pki.root_cert.dump()
    finally:
        first.close()
    files = _snapshot(data_dir)
    for name in KEY_FILES:
        assert f"pki/{name}" in files, files
    assert ("master.key" in files) is (fresh.master_key is None)

    second = prepare(fresh.settings())
    try:
        _check_ready(second)
        if fresh.master_key is None:
            assert second.master_key == (data_dir / "master.key").read_text().strip().encode()
        assert second.signing.pki.root_cert.dump() == root_der
    finally:
        second.close()
    assert (data_dir / "pki" / "root.crt.pem").read_bytes() == root_pem
    assert _snapshot(data_dir) == files  # nothing regenerated, nothing added


_PREPARE_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path
    go = Path(sys.argv[1])
    Path(sys.argv[2]).touch()
    while not go.exists():
        time.sleep(0.005)
    from hub.bootstrap import prepare
    from hub import migrate
    from hub.settings import Settings
    state = prepare(Settings())
    pki = Settings().pki_directory
    print(json.dumps({
        "root": hashlib.sha256((pki / "root.crt.pem").read_bytes()).hexdigest(),
        "issuing": hashlib.sha256((pki / "issuing.crt.pem").read_bytes()).hexdigest(),
        "master": hashlib.sha256(state.master_key).hexdigest(),
        "revision": migrate.current(state.engine),
    }))
    state.close()
    """
)


def _race(
    tmp_path: Path, commands: list[list[str]], env: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command, let each get ready, then release them at the same instant."""
    go = tmp_path / "go"
    procs = []
    for i, cmd in enumerate(commands):
        ready = tmp_path / f"ready-{i}"
        procs.append(
            subprocess.Popen(
                [*cmd, str(go), str(ready)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{i}").exists() for i in range(len(commands))):
        assert time.monotonic() < deadline, "the racing processes did not start"
        time.sleep(0.01)
    go.touch()
    results = []
    for cmd, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return results


def test_two_processes_preparing_at_once_agree(fresh: Fresh, tmp_path: Path) -> None:
    data_dir = fresh.data_dir
    script = [sys.executable, "-c", _PREPARE_SCRIPT]
    results = _race(tmp_path, [script, script, script], fresh.env())
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
    reports = [json.loads(r.stdout) for r in results]
    assert all(rep == reports[0] for rep in reports), reports
    assert reports[0]["revision"] == HEAD
    assert reports[0]["root"] == _digest(data_dir / "pki" / "root.crt.pem")
    assert not list((data_dir / "pki").glob("*.tmp")) and not list(data_dir.glob("*.tmp"))

    state = prepare(fresh.settings())
    try:
        _check_ready(state)
        assert hashlib.sha256(state.master_key).hexdigest() == reports[0]["master"]
        with state.sessions() as session:
            trust = state.signing.trust_list(session)
        assert len(trust["roots"]) == 1
    finally:
        state.close()


_UPGRADE_SCRIPT = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    go = Path(sys.argv[1])
    Path(sys.argv[2]).touch()
    while not go.exists():
        time.sleep(0.005)
    sys.exit(subprocess.run([HUB_COMMAND, "db", "upgrade"]).returncode)
    """
)


def test_two_db_upgrades_at_once(fresh: Fresh, tmp_path: Path) -> None:
    script = [sys.executable, "-c", _UPGRADE_SCRIPT.replace("HUB_COMMAND", repr(HUB))]
    results = _race(tmp_path, [script, script], fresh.env())
    for r in results:
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"database at revision {HEAD}"
    state = prepare(fresh.settings())
    try:
        _check_ready(state)
    finally:
        state.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_hub_serves_on_a_fresh_data_dir(fresh: Fresh, servers: list[subprocess.Popen[str]]) -> None:
    """``hub serve`` twice at once on nothing: both migrate-or-wait, create-or-load the CA, and answer."""
    data_dir = fresh.data_dir
    ports = [_free_port(), _free_port()]
    for port in ports:
        servers.append(
            subprocess.Popen(
                [HUB, "serve", "--port", str(port)],
                # two servers of one hub: one public URL (else each would name its own port)
                env={**fresh.env(), "HUB_PUBLIC_URL": "https://hub.example.gov.cn"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    roots = []
    for port, proc in zip(ports, servers, strict=True):
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "hub serve did not become ready"
            time.sleep(0.2)
        assert r.json()["checks"]["database"] == "ok"
        trust = httpx.get(f"http://127.0.0.1:{port}/api/v1/trust", timeout=10).json()
        assert len(trust["roots"]) == 1
        roots.append(trust["roots"][0])
    assert roots[0] == roots[1]
    root_file = (data_dir / "pki" / "root.crt.pem").read_text()
    assert roots[0].strip() == root_file.strip()


def test_what_the_hub_writes_is_owner_only(tmp_path: Path) -> None:
    # hub.db, its WAL and every blob were 0644 in the data directory: identity numbers readable by
    # any local user. Whatever umask the hub is started with, they are 0600 in 0700 directories now.
    old = os.umask(0o022)
    try:
        state = prepare(make_settings(tmp_path / "data"))
        try:
            digest = state.blobs.put(b"%PDF-1.7 a certificate")
            with state.engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x)")
        finally:
            state.close()
    finally:
        os.umask(old)
    data = tmp_path / "data"
    assert data.stat().st_mode & 0o777 == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "hub.db" for p in files) and any(p.name == digest for p in files)
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}
    assert {oct(p.stat().st_mode & 0o777) for p in data.rglob("*") if p.is_dir()} == {"0o700"}
