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


def _hub_with(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(tmp_path / "var"), **variables)
    return subprocess.run(
        [hub_executable(), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


REFUSED_SETTINGS: dict[str, tuple[dict[str, str], str]] = {
    "storage-backend": (
        {"HUB_STORAGE__BACKEND": "foo"},
        "HUB_STORAGE__BACKEND: must be one of local, s3 (got 'foo')",
    ),
    "log-level": (
        {"HUB_LOG_LEVEL": "LOUD"},
        "HUB_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'LOUD')",
    ),
    "public-url": (
        {"HUB_PUBLIC_URL": "notaurl"},
        "HUB_PUBLIC_URL: must be an http(s) URL such as https://hub.example.gov.cn (got 'notaurl')",
    ),
    "public-url-query": (
        {"HUB_PUBLIC_URL": "https://hub.example.gov.cn/?x=1"},
        "HUB_PUBLIC_URL: must have no query or fragment (got 'https://hub.example.gov.cn/?x=1')",
    ),
    "database-url": (
        {"HUB_DATABASE_URL": "notaurl"},
        "HUB_DATABASE_URL: must be a database URL such as postgresql://user:password@host:5432/hub",
    ),
    "environment": ({"HUB_ENV": "prod"}, "HUB_ENV: must be one of development, production (got 'prod')"),
    "misspelt": ({"HUB_STORAGE__BAKEND": "s3"}, "HUB_STORAGE__BAKEND: is not a setting (check its spelling)"),
    "not-json": (
        {"HUB_IDENTITY__ALGORITHMS": "ES256"},
        "HUB_IDENTITY or one of its HUB_IDENTITY__… variables: could not be read (a list or a section is "
        """JSON, e.g. HUB_IDENTITY__ALGORITHMS='["ES256"]')""",
    ),
    "production": (
        {"HUB_ENV": "production"},
        "HUB_MASTER_KEY must be set to a random value of at least 32 characters; the development "
        "identity provider must be off (HUB_IDENTITY__DEV_PROVIDER=false)",
    ),
}


@pytest.mark.parametrize("refused", REFUSED_SETTINGS.values(), ids=REFUSED_SETTINGS)
def test_a_refused_setting_is_one_line_naming_the_variable(
    tmp_path: Path, refused: tuple[dict[str, str], str]
) -> None:
    variables, says = refused
    r = _hub_with(tmp_path, "db", "upgrade", **variables)
    assert (r.returncode, r.stderr.splitlines(), r.stdout) == (2, [f"error: {says}"], "")
    assert not (tmp_path / "var").exists()


COMMANDS = {
    "serve": ["serve", "--port", "9"],
    "demo": ["demo"],
    "clients": ["clients", "create", "--admin", "--name", "x"],
    "dev-token": ["dev", "token", "--kind", "111", "--code", "110101199003074514", "--name", "张三"],
    "audit": ["audit", "verify"],
}


@pytest.mark.parametrize("variable", ["HUB_STORAGE__BACKEND", "HUB_LOG_LEVEL"])
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS)
def test_every_command_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, command: list[str], variable: str
) -> None:
    choices = {"HUB_STORAGE__BACKEND": "local, s3", "HUB_LOG_LEVEL": "DEBUG, INFO, WARNING, ERROR, CRITICAL"}
    r = _hub_with(tmp_path, *command, **{variable: "LOUD"})
    assert (r.returncode, r.stderr.splitlines(), r.stdout) == (
        2,
        [f"error: {variable}: must be one of {choices[variable]} (got 'LOUD')"],
        "",
    )


@pytest.mark.parametrize("level", ["debug", "Warning", "ERROR", " critical "])
def test_log_levels_are_case_insensitive(level: str) -> None:
    assert Settings(log_level=level).log_level == level.strip().upper()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://hub.example.gov.cn/", "https://hub.example.gov.cn"),
        ("https://Hub.Example.gov.cn:443/ecert/", "https://hub.example.gov.cn/ecert"),
    ],
)
def test_the_public_url_is_normalised(given: str, kept: str) -> None:
    assert Settings(public_url=given).public_url == kept


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "ftp://hub.example.gov.cn",
        "http://",
        "https://hub.example.gov.cn/#x",
        "https://u:p@hub.example.gov.cn",
    ],
)
def test_a_public_url_verifiers_cannot_use_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=url)
