"""``hub verify FILE`` where there is no hub: against a trust list from a file or fetched from a
hub, creating nothing on disk, saying nothing but its answer — and refusing, in one line, to guess
when it has no trust list at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from certificates.models import Certificate
from hub.app import create_app
from hub.state import build_state
from tests.conftest import make_settings
from tests.served import served

HUB = str(Path(sys.executable).parent / "hub")
MASTER_KEY = "verify-offline-test-master-key-0123456789abcdef"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(extra)
    return env


def _hub(data_dir: Path, *args: str) -> None:
    r = subprocess.run(
        [HUB, *args],
        env=_env(HUB_DATA_DIR=str(data_dir), HUB_MASTER_KEY=MASTER_KEY),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr


def _trust_list(data_dir: Path) -> tuple[str, bytes | None]:
    """The trust list of the hub in ``data_dir`` and one of its sealed files (None without any)."""
    state = build_state(make_settings(data_dir, master_key=MASTER_KEY))
    try:
        with state.sessions() as session:
            trust = json.dumps(state.signing.trust_list(session))
            cert = session.scalars(select(Certificate).limit(1)).first()
            pdf = state.blobs.get(cert.file_sha256) if cert is not None else None
    finally:
        state.close()
    return trust, pdf


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """A hub's sealed certificate, its trust list, another hub's trust list, and the first hub's dir."""
    out = tmp_path_factory.mktemp("published")
    ours, theirs = out / "ours", out / "theirs"
    _hub(ours, "demo", "--certificates", "1")
    _hub(theirs, "db", "upgrade")
    trust, pdf = _trust_list(ours)
    assert pdf is not None
    other, _ = _trust_list(theirs)
    (out / "cert.pdf").write_bytes(pdf)
    (out / "trust.json").write_text(trust)
    (out / "other-trust.json").write_text(other)
    return out / "cert.pdf", out / "trust.json", out / "other-trust.json", ours


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    return cwd


def _verify(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, "verify", *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120, check=False
    )


def test_without_a_trust_list_it_says_so_in_one_line_and_creates_nothing(
    published: tuple[Path, Path, Path, Path], empty_dir: Path
) -> None:
    cert, _, _, _ = published
    r = _verify(empty_dir, str(cert))
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "--trust" in r.stderr and "--url" in r.stderr
    assert list(empty_dir.iterdir()) == []  # no ./var, no key, no database


def test_against_its_hubs_trust_list_a_sealed_certificate_is_valid_and_nothing_is_created(
    published: tuple[Path, Path, Path, Path], empty_dir: Path
) -> None:
    cert, trust, _, _ = published
    r = _verify(empty_dir, str(cert), "--trust", str(trust))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no pyHanko warnings, no progress: the JSON answer alone
    out = json.loads(r.stdout)
    assert out["result"] == "valid" and out["problems"] == []
    assert out["signature"]["trusted"] and out["signature"]["level"] == "B-LT"
    assert out["certificate"]["id"].startswith("1.2.156.3005.2.") and out["certificate"]["issuer_name"]
    assert list(empty_dir.iterdir()) == []


def test_against_another_hubs_trust_list_it_is_indeterminate_with_reasons(
    published: tuple[Path, Path, Path, Path], empty_dir: Path
) -> None:
    cert, _, other, _ = published
    r = _verify(empty_dir, str(cert), "--trust", str(other))
    assert r.returncode == 1 and r.stderr == ""
    out = json.loads(r.stdout)
    assert out["result"] == "indeterminate" and out["signature"]["trusted"] is False
    assert any("trusted authority" in p for p in out["problems"])


def test_a_changed_file_is_invalid(published: tuple[Path, Path, Path, Path], empty_dir: Path) -> None:
    cert, trust, _, _ = published
    tampered = bytearray(cert.read_bytes())
    tampered[tampered.index(b"/Subject") + 12] ^= 0x01
    path = empty_dir / "tampered.pdf"
    path.write_bytes(bytes(tampered))
    r = _verify(empty_dir, str(path), "--trust", str(trust))
    assert r.returncode == 1 and r.stderr == ""
    assert json.loads(r.stdout)["result"] == "invalid"
    assert sorted(p.name for p in empty_dir.iterdir()) == ["tampered.pdf"]


@pytest.fixture
def hub_url(published: tuple[Path, Path, Path, Path]) -> Iterator[str]:
    state = build_state(make_settings(published[3], master_key=MASTER_KEY))
    try:
        with served(create_app(state=state)) as url:
            yield url
    finally:
        state.close()


def test_the_trust_list_fetched_from_a_hub(
    published: tuple[Path, Path, Path, Path], empty_dir: Path, hub_url: str
) -> None:
    cert, _, _, _ = published
    r = _verify(empty_dir, str(cert), "--url", hub_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["result"] == "valid"
    assert list(empty_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--url", "http://127.0.0.1:9"], "cannot fetch the trust list"),
        (["--trust", "missing.json"], "no such file"),
        (["--trust", "cert.pdf"], "not JSON"),
    ],
)
def test_an_unusable_trust_source_is_one_line_exit_2(
    published: tuple[Path, Path, Path, Path], empty_dir: Path, args: list[str], says: str
) -> None:
    cert, _, _, _ = published
    args = [str(cert) if a == "cert.pdf" else a for a in args]
    r = _verify(empty_dir, str(cert), *args)
    assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert list(empty_dir.iterdir()) == []
