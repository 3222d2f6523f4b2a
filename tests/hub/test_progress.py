"""The long ``hub`` commands say what they are doing on stderr while stdout stays pure JSON: a
``rich`` progress bar on a terminal, a line per phase in a pipe or a log."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import DatabaseFactory

HUB = str(Path(sys.executable).parent / "hub")
MASTER_KEY = "progress-test-master-key-0123456789abcdef0123456"


@pytest.fixture(scope="module")
def hub_env(
    backend: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATA_DIR=str(tmp_path_factory.mktemp(f"progress-{backend}")),
        HUB_DATABASE_URL=databases.create(backend),
        HUB_MASTER_KEY=MASTER_KEY,
    )
    r = subprocess.run(
        [HUB, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    return env


def _piped(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([HUB, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return r


def _on_a_terminal(env: dict[str, str], *args: str) -> tuple[str, str]:
    """Run with stderr on a pseudo-terminal (as in a shell) and stdout piped: (stdout, stderr)."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's last writer is gone
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen(
            [HUB, *args],
            env={**env, "TERM": "xterm-256color", "COLUMNS": "120"},
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        stdout, _ = proc.communicate(timeout=300)
        reader.join(timeout=30)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    return stdout.decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["search", "reindex"], "search: indexing in the database"),
        (["certificates", "expire"], "certificates: expiring those past their validity"),
        (["storage", "gc"], "storage: looking for files nothing points to"),
        (["storage", "encrypt"], "storage: sealing files stored in clear"),
        (["signatures", "upgrade"], "signatures: raising stored files to"),
    ],
)
def test_piped_each_phase_is_one_line_on_stderr_and_stdout_stays_json(
    hub_env: dict[str, str], args: list[str], says: str
) -> None:
    r = _piped(hub_env, *args)
    assert isinstance(json.loads(r.stdout), dict)
    lines = r.stderr.splitlines()
    assert any(line.startswith(says) for line in lines), r.stderr
    assert "\x1b[" not in r.stderr  # no bar redrawn into a file


def test_on_a_terminal_a_progress_bar_is_drawn_and_stdout_stays_json(hub_env: dict[str, str]) -> None:
    stdout, terminal = _on_a_terminal(hub_env, "search", "reindex")
    assert json.loads(stdout)["indexed"] >= 0
    assert "search: indexing in the database" in terminal
    assert "━" in terminal  # rich's bar
