"""The public URL written into seal certificates: derived from the address ``hub serve`` serves when
``HUB_PUBLIC_URL`` is unset, and never changed under certificates already issued (every command that
prepares the hub refuses another one). Runs ``hub`` as operators do, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from hub.public_url import recorded_public_url
from hub.settings import served_url
from tests.conftest import DatabaseFactory
from tests.live import free_port, hub_environment, hub_executable, new_uscc


def _env(data_dir: Path, database_url: str, public_url: str | None) -> dict[str, str]:
    env = hub_environment(data_dir=data_dir, database_url=database_url, port=0)
    del env["HUB_PUBLIC_URL"]
    if public_url is not None:
        env["HUB_PUBLIC_URL"] = public_url
    return env


def _hub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hub_executable(), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _uris(cert: x509.Certificate) -> list[str]:
    """Every address the certificate sends a verifier to: OCSP, CA issuers, CRL."""
    uris = []
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        uris += [d.access_location.value for d in aia]
        assert {d.access_method for d in aia} == {
            AuthorityInformationAccessOID.OCSP,
            AuthorityInformationAccessOID.CA_ISSUERS,
        }
    except x509.ExtensionNotFound:
        pass
    crl = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    uris += [name.value for point in crl for name in point.full_name or []]
    return uris


@dataclass
class Served:
    """A hub once served on ``port`` without ``HUB_PUBLIC_URL``, with a department registered through
    its API, then stopped."""

    data_dir: Path
    database_url: str
    port: int
    seal: x509.Certificate
    issuing: x509.Certificate

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def served(
    backend: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp(f"public-url-{backend}") / "var"
    database_url = databases.create(backend)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir.parent / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [hub_executable(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_env(data_dir, database_url, None),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + 120
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            # The operator's commands beside it name the URL it serves (they are refused otherwise).
            created = _hub(
                _env(data_dir, database_url, url), "clients", "create", "--admin", "--name", "admin"
            )
            assert created.returncode == 0, created.stderr
            token = created.stdout.split('"token": "')[1].split('"')[0]
            code = new_uscc("11310000")
            r = http.put(
                f"/api/v1/organizations/{code}",
                json={"name": "公共地址测试局", "kind": "department"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 201, r.text
            trust = http.get("/api/v1/trust").json()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    [seal] = [s["certificate"] for s in trust["seals"] if s["org"] == code]
    [issuing] = trust["intermediates"]
    yield Served(
        data_dir,
        database_url,
        port,
        x509.load_pem_x509_certificate(seal.encode()),
        x509.load_pem_x509_certificate(issuing.encode()),
    )


def test_serve_writes_the_address_it_serves_into_seal_certificates(served: Served) -> None:
    # It wrote http://127.0.0.1:8000/pki/… whatever --port said.
    seal_uris = _uris(served.seal)
    assert len(seal_uris) == 3
    assert all(uri.startswith(f"{served.url}/pki/") for uri in seal_uris), seal_uris
    assert _uris(served.issuing) == [f"{served.url}/pki/crl/root"]
    assert recorded_public_url(served.data_dir / "pki") == served.url


@pytest.mark.parametrize(
    "command",
    [["serve", "--host", "127.0.0.1"], ["orgs", "add", "--code", "X", "--name", "x", "--kind", "department"]],
    ids=["serve", "orgs-add"],
)
@pytest.mark.parametrize("setting", ["derived", "set"])
def test_another_public_url_is_refused_in_one_line(served: Served, command: list[str], setting: str) -> None:
    """Served on another port (HUB_PUBLIC_URL unset) or told another URL, the hub would seal new
    certificates pointing elsewhere than the ones it handed out: it says so and does not start."""
    tsa = (served.data_dir / "pki" / "tsa.crt.pem").read_bytes()
    other_port = free_port()
    other = f"http://127.0.0.1:{other_port}" if setting == "derived" else "https://hub.example.gov.cn"
    args = [*command, "--port", str(other_port)] if command[0] == "serve" else command
    if command[0] != "serve" and setting == "derived":
        other = "http://127.0.0.1:8000"  # commands serve nothing: the default
    r = _hub(_env(served.data_dir, served.database_url, None if setting == "derived" else other), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    [line] = r.stderr.splitlines()
    assert line.startswith(f"error: HUB_PUBLIC_URL is {other} but the hub's certificates in ")
    assert f"name {served.url} " in line and f"set HUB_PUBLIC_URL={served.url} " in line
    assert "docs/signing.md" in line
    # Nothing was renewed or re-issued under the other URL.
    assert (served.data_dir / "pki" / "tsa.crt.pem").read_bytes() == tsa
    assert recorded_public_url(served.data_dir / "pki") == served.url


def test_moving_to_another_url_as_docs_signing_says(served: Served, tmp_path: Path) -> None:
    """docs/signing.md: stop the hub, remove pki/tsa.crt.pem, set the new URL; the timestamping
    certificate is issued again on its key, naming the new URL, which the hub then holds to."""
    data_dir = tmp_path / "var"
    shutil.copytree(served.data_dir, data_dir)
    tsa_key = (data_dir / "pki" / "tsa.key.pem").read_bytes()
    (data_dir / "pki" / "tsa.crt.pem").unlink()
    new = "https://ecert.example.gov.cn"
    add = ["orgs", "add", "--code", new_uscc("11310000"), "--name", "迁址测试局", "--kind", "department"]
    r = _hub(_env(data_dir, served.database_url, new), *add)
    assert r.returncode == 0, r.stderr
    assert recorded_public_url(data_dir / "pki") == new
    assert (data_dir / "pki" / "tsa.key.pem").read_bytes() == tsa_key
    back = _hub(_env(data_dir, served.database_url, served.url), *add)
    assert back.returncode == 2
    assert back.stderr.startswith(f"error: HUB_PUBLIC_URL is {served.url} but ")


def test_a_fresh_data_dir_has_no_recorded_url(tmp_path: Path) -> None:
    assert recorded_public_url(tmp_path / "pki") is None


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8021, "http://127.0.0.1:8021"),
        ("hub.example.gov.cn", 443, "http://hub.example.gov.cn:443"),
        ("0.0.0.0", 8000, "http://127.0.0.1:8000"),  # noqa: S104
        ("::", 8000, "http://127.0.0.1:8000"),
        ("::1", 8021, "http://[::1]:8021"),
        ("localhost", 80, "http://localhost"),
    ],
)
def test_the_url_derived_from_the_address_served(host: str, port: int, url: str) -> None:
    assert served_url(host, port) == url
