"""Real hub servers for tests: ``hub serve`` (uvicorn) as a subprocess on a free loopback port.

Register with ``pytest_plugins = ["tests.live"]`` in the root ``tests/conftest.py``; then the
``live_hubs`` fixture (function scope) starts servers and always kills them at the end::

    def test_something(live_hubs, databases):
        hub = live_hubs.start(database_url=databases.create("postgresql"))
        issuer = hub.setup_issuer()                    # a department, a certificate type, a token
        r = hub.client(issuer.token).post("/api/v1/certificates", json=issuer.body())
        hub.kill()                                     # SIGKILL the whole process group
        hub.restart()                                  # same data dir, database and (if free) port

``HubServer`` itself needs no pytest, so benchmarks start hubs with it too (``bench/issuance.py``).
Each server runs in its own process group; ``stop``/``kill`` signal the group, so nothing is left
running. The server's output goes to ``<data dir>/../<name>.log``; a server that does not answer
``/healthz`` in time fails the test with the tail of that log.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from certificates.envelope import EnvelopeCipher, MasterKeyWrap, is_sealed

MASTER_KEY = "live-test-master-key-0123456789abcdef0123456789"
STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 10.0
CLI_TIMEOUT_SECONDS = 120.0

FIELDS = [
    {"name": "company_name", "label": "名称", "type": "string", "required": True},
    {"name": "capital", "label": "注册资本（万元）", "type": "number", "required": False},
]

_counter = itertools.count(1)


class LiveHubError(RuntimeError):
    """A hub process did not start, or a CLI command failed; the message carries the log tail."""


class PortTaken(LiveHubError):
    """Another process bound the chosen port between choosing it and the server binding it."""


def hub_executable() -> str:
    """The ``hub`` console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "hub"
    if candidate.is_file():
        return str(candidate)
    raise LiveHubError(f"no `hub` command next to {sys.executable}: install the project (pip install -e .)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def new_uscc(prefix: str = "11310000") -> str:
    """A valid 统一社会信用代码, unique across processes (random) and calls."""
    from stdnum.cn import uscc

    body = f"{prefix}LW{uuid.uuid4().int % 10**7:07d}"[:17]
    return body + uscc.calc_check_digit(body)


def hub_environment(
    *,
    data_dir: Path,
    database_url: str | None,
    port: int,
    extra: Mapping[str, str] | None = None,
    public_url: str | None = None,
) -> dict[str, str]:
    """The process environment of a hub: ours without any ``HUB_*`` variable, then the hub's own."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HUB_")}
    env.update(
        {
            "HUB_DATA_DIR": str(data_dir),
            "HUB_MASTER_KEY": MASTER_KEY,
            "HUB_PUBLIC_URL": public_url or f"http://127.0.0.1:{port}",
            "HUB_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database_url:
        env["HUB_DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


@dataclass
class Issuer:
    """A department that may issue one certificate type, and its API token."""

    org_code: str
    type_code: str
    token: str

    def body(self, external_id: str | None = None, **over: Any) -> dict[str, Any]:
        """An issuance body for this issuer's type (organization holder, rendered by the hub)."""
        body: dict[str, Any] = {
            "type_code": self.type_code,
            "external_id": external_id or f"live-{uuid.uuid4().hex[:12]}",
            "holder": {"name": "示范餐饮有限公司", "kind": "001", "code": new_uscc("91310000")},
            "issued_on": "2025-11-25",
            "valid_from": "2025-11-25",
            "valid_until": "2035-11-24",
            "area_code": "310101",
            "data": {"company_name": "示范餐饮有限公司", "capital": 100},
        }
        body.update(over)
        return body


@dataclass
class HubServer:
    """One ``hub serve`` process; ``start``/``stop``/``kill``/``restart`` keep data dir and database."""

    data_dir: Path
    database_url: str | None = None
    env_overrides: dict[str, str] = field(default_factory=dict)
    name: str = "hub"
    serve_args: list[str] = field(default_factory=list)  # e.g. ["--workers", "2"]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Written into the PKI's certificates at the first start and kept when the port changes (the
    # hub refuses to start with another): the first port's URL unless given.
    public_url: str = ""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        if not self.public_url:
            self.public_url = f"http://127.0.0.1:{self.port}"

    # -- addresses and environment ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-{self.name}.log"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def stored_file(self, stored: bytes, sha256: str) -> bytes:
        """The plain bytes of a file as the hub stored it (sealed at rest, certificates.envelope)."""
        assert is_sealed(stored), "a stored file is not encrypted at rest"
        return EnvelopeCipher(MasterKeyWrap(MASTER_KEY.encode())).open(sha256, stored)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'hub.db').resolve()}"

    def environment(self) -> dict[str, str]:
        return hub_environment(
            data_dir=self.data_dir,
            database_url=self.database_url,
            port=self.port,
            extra=self.env_overrides,
            public_url=self.public_url,
        )

    # -- process ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> HubServer:
        """Start ``hub serve`` and wait until ``/healthz`` answers (keeps the port when it is free)."""
        for attempt in range(3):
            self.launch()
            try:
                self.wait_ready(timeout)
                return self
            except PortTaken:
                if attempt == 2:
                    raise
                self.port = free_port()  # lost the race for the port to another process: next one
        raise AssertionError("unreachable")

    def launch(self) -> None:
        """Start the process without waiting (``wait_ready`` waits): lets several start at once."""
        if self.running:
            raise LiveHubError(f"{self.name} is already running on {self.url}")
        if self.starts and not _port_is_free(self.port):
            self.port = free_port()  # someone took it meanwhile; the public URL stays
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start #{self.starts} on port {self.port} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    hub_executable(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self.serve_args,
                ],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: killpg reaches everything it started
            )

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(base_url=self.url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    tail = log_tail(self.log_path, 10).lower()
                    taken = "address already in use" in tail or "errno 98" in tail
                    raise (PortTaken if taken else LiveHubError)(
                        f"{self.name} ({self.url}) exited with status {self.process.returncode} before "
                        f"answering /healthz.\nlog tail ({self.log_path}):\n{log_tail(self.log_path)}"
                    )
                try:
                    r = http.get("/healthz")
                    if r.status_code == 200:
                        return
                    last = f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    last = type(e).__name__
                time.sleep(0.1)
        self.kill()
        raise LiveHubError(
            f"{self.name} ({self.url}) did not answer /healthz within {timeout:.0f}s (last: {last}).\n"
            f"log tail ({self.log_path}):\n{log_tail(self.log_path)}"
        )

    def kill(self) -> None:
        """SIGKILL the process group: no shutdown handlers, no flushing — a crash."""
        self._signal_and_wait(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it lingers."""
        self._signal_and_wait(signal.SIGTERM)

    def restart(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> HubServer:
        self.stop()
        return self.start(timeout)

    def _signal_and_wait(self, sig: signal.Signals) -> None:
        process = self.process
        if process is None:
            return
        # Forget the process first: a later call must never signal a group id the kernel reused.
        self.process = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        # Anything the server started in its group goes with it (the group id cannot be reused
        # while members remain).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    # -- HTTP -------------------------------------------------------------------------------------

    def client(self, token: str | None = None, timeout: float = 120.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    # -- CLI with this server's configuration -----------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``hub ARGS`` with this server's environment (data dir, database, storage)."""
        result = subprocess.run(
            [hub_executable(), *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise LiveHubError(
                f"`hub {' '.join(args)}` exited with {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result

    def cli_json(self, *args: str) -> Any:
        out = self.cli(*args).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError as e:
            raise LiveHubError(f"`hub {' '.join(args)}` did not print JSON:\n{out[-4000:]}") from e

    def register_org(
        self, *, kind: str = "department", name: str | None = None, code: str | None = None
    ) -> str:
        """``hub orgs add``; returns the organization's code (a department also gets its seal)."""
        prefix = {"department": "11310000", "portal": "12310000", "operator": "12310000"}[kind]
        code = code or new_uscc(prefix)
        self.cli_json(
            "orgs", "add", "--code", code, "--name", name or f"实况测试{kind}{code[-5:]}", "--kind", kind
        )
        return code

    def create_token(self, *, org: str | None = None, admin: bool = False) -> str:
        """``hub clients create``; returns the bearer token it prints."""
        args = ["clients", "create", "--name", f"live-{next(_counter)}"]
        args += ["--admin"] if admin else ["--org", str(org)]
        return str(self.cli_json(*args)["token"])

    def load_catalog(self, catalog: Mapping[str, Any]) -> Any:
        """``hub catalog load`` with ``catalog`` written to a JSON file."""
        path = self.data_dir.parent / f"catalog-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(catalog, ensure_ascii=False))
        try:
            return self.cli_json("catalog", "load", str(path))
        finally:
            path.unlink(missing_ok=True)

    def put_certificate_type(
        self, *, definer: str, issuers: list[str] | None = None, suffix: str = "001", name: str = "营业执照"
    ) -> str:
        """A certificate type (organization holders, ``FIELDS``) via ``hub catalog load``; its code."""
        code = f"{definer}{suffix}"
        self.load_catalog(
            {
                "certificate_types": [
                    {
                        "code": code,
                        "name": name,
                        "holder_kind": "001",
                        "issuers": issuers or [definer],
                        "sharing": "conditional",
                        "validity_years": None,
                        "fields": FIELDS,
                    }
                ]
            }
        )
        return code

    def setup_issuer(self) -> Issuer:
        """A department with its seal, a certificate type it issues, and a token — two CLI runs."""
        org = new_uscc("11310000")
        type_code = f"{org}001"
        self.load_catalog(
            {
                "organizations": [{"code": org, "name": f"实况测试局{org[-5:]}", "kind": "department"}],
                "certificate_types": [
                    {
                        "code": type_code,
                        "name": "营业执照",
                        "holder_kind": "001",
                        "issuers": [org],
                        "sharing": "conditional",
                        "validity_years": None,
                        "fields": FIELDS,
                    }
                ],
            }
        )
        return Issuer(org_code=org, type_code=type_code, token=self.create_token(org=org))


class LiveHubs:
    """Starts hub servers and remembers them, so ``close`` leaves nothing running."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.servers: list[HubServer] = []

    def server(
        self,
        *,
        data_dir: Path | None = None,
        database_url: str | None = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> HubServer:
        """A server, not started yet (``launch``/``wait_ready`` start several at once)."""
        index = len(self.servers) + 1
        data_dir = Path(data_dir or self.base_dir / f"data-{index}")
        # Servers of one hub (one data dir, one PKI) share its public URL: the hub refuses another.
        same = [s.public_url for s in self.servers if s.data_dir == data_dir]
        server = HubServer(
            data_dir=data_dir,
            database_url=database_url,
            env_overrides=dict(env or {}),
            name=name or f"hub{index}",
            public_url=same[0] if same else "",
        )
        self.servers.append(server)
        return server

    def start(
        self,
        *,
        data_dir: Path | None = None,
        database_url: str | None = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> HubServer:
        return self.server(data_dir=data_dir, database_url=database_url, env=env, name=name).start()

    def start_many(self, servers: list[HubServer]) -> list[HubServer]:
        """Launch all, then wait for each: they prepare (migrate, create keys) at the same time."""
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        return servers

    def close(self) -> None:
        errors = []
        for server in self.servers:
            try:
                server.kill()
            except Exception as e:  # keep killing the others
                errors.append(e)
        if errors:
            raise errors[0]


@contextlib.contextmanager
def live_hubs_in(base_dir: Path) -> Iterator[LiveHubs]:
    hubs = LiveHubs(base_dir)
    try:
        yield hubs
    finally:
        hubs.close()


try:  # the fixture, when loaded as a pytest plugin
    import pytest

    @pytest.fixture
    def live_hubs(tmp_path: Path) -> Iterator[LiveHubs]:
        """Hub servers for this test, all killed (whole process groups) at teardown, pass or fail."""
        with live_hubs_in(tmp_path / "live") as hubs:
            yield hubs

except ImportError:  # pragma: no cover - bench scripts without pytest
    pass
