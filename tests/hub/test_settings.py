from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hub.identity import DevIdentityProvider
from hub.settings import Settings, load_master_key
from tests.live import hub_executable


def test_development_defaults_to_embedded_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.effective_database_url == f"sqlite:///{(tmp_path / 'hub.db').resolve()}"
    assert s.storage.backend == "local"
    assert s.blob_directory == tmp_path / "blobs"


def test_nested_sections_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MASTER_KEY", "k" * 40)
    monkeypatch.setenv("HUB_STORAGE__BACKEND", "s3")
    monkeypatch.setenv("HUB_SIGNING__LEVEL", "B-T")
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://x@y/z")
    s = Settings()
    assert s.storage.backend == "s3"
    assert s.signing.level == "B-T"
    assert s.effective_database_url == "postgresql://x@y/z"


def test_unknown_key_in_a_section_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(storage={"backend": "local", "bakend": "s3"})  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [None, "changeme", "secret", "short"])
def test_production_refuses_placeholder_master_key(key: str | None) -> None:
    with pytest.raises(ValidationError, match="HUB_MASTER_KEY"):
        Settings(
            env="production", master_key=key, identity={"dev_provider": False, "jwks_url": "https://idp/jwks"}
        )


def test_production_refuses_the_development_identity_provider() -> None:
    with pytest.raises(ValidationError, match="development identity provider"):
        Settings(env="production", master_key="k" * 40)


def test_production_accepts_real_secrets() -> None:
    s = Settings(
        env="production",
        master_key="a-real-random-master-key-of-enough-length-0123456789",
        identity={"dev_provider": False, "jwks_url": "https://idp.example/jwks"},
    )
    assert s.env == "production"


def test_development_master_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    first = load_master_key(s)
    assert load_master_key(s) == first
    assert len(first) == 64
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0


@pytest.mark.usefixtures("permissive_umask", "no_master_key_in_environment")
def test_a_generated_master_key_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    load_master_key(Settings(data_dir=tmp_path / "var"))
    assert oct((tmp_path / "var" / "master.key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.usefixtures("permissive_umask")
def test_the_development_identity_key_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    DevIdentityProvider(tmp_path / "identity" / "dev-idp.pem", issuer="i", audience="a", ttl_seconds=60)
    assert oct((tmp_path / "identity" / "dev-idp.pem").stat().st_mode & 0o777) == "0o600"


BEYOND_THE_EMBEDDED_DEFAULT: dict[str, tuple[dict[str, Any], str]] = {
    "postgresql": ({"database_url": "postgresql://hub@db.internal/hub"}, "the database is not the embedded"),
    "sqlite-elsewhere": (
        {"database_url": "sqlite:////srv/shared/hub.db"},
        "the database is not the embedded",
    ),
    "s3": ({"storage": {"backend": "s3"}}, "storage is S3"),
    "pkcs11": ({"signing": {"keystore": "pkcs11"}}, "the keystore is PKCS#11"),
}


@pytest.fixture
def no_master_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)


@pytest.mark.usefixtures("no_master_key_in_environment")
@pytest.mark.parametrize("deployment", BEYOND_THE_EMBEDDED_DEFAULT.values(), ids=BEYOND_THE_EMBEDDED_DEFAULT)
def test_a_master_key_is_required_beyond_the_embedded_default(
    tmp_path: Path, deployment: tuple[dict[str, Any], str]
) -> None:
    """A key generated into one server's data directory would not be every server's key."""
    overrides, reason = deployment
    with pytest.raises(ValidationError, match=f"HUB_MASTER_KEY must be set when {reason}"):
        Settings(data_dir=tmp_path, **overrides)
    assert Settings(data_dir=tmp_path, master_key="k" * 40, **overrides).master_key is not None


@pytest.mark.usefixtures("no_master_key_in_environment")
def test_the_embedded_sqlite_named_explicitly_needs_no_master_key(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'sub' / '..' / 'hub.db'}")
    assert load_master_key(s) == (tmp_path / "master.key").read_text().strip().encode()


@pytest.mark.usefixtures("no_master_key_in_environment")
def test_every_reason_is_named_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, database_url="postgresql://x@y/z", storage={"backend": "s3"})
    [error] = refused.value.errors()
    assert "\n" not in error["msg"]
    assert "the database is not the embedded SQLite" in error["msg"] and "storage is S3" in error["msg"]


def test_the_cli_says_what_to_set_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(tmp_path), HUB_DATABASE_URL="postgresql://hub@127.0.0.1:9/hub")
    r = subprocess.run(
        [hub_executable(), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "error: HUB_MASTER_KEY must be set when the database is not the embedded SQLite in the data directory"
    ]
    assert not (tmp_path / "master.key").exists()
