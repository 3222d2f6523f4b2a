from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.settings import Settings, load_master_key


def test_development_defaults_to_embedded_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.effective_database_url == f"sqlite:///{(tmp_path / 'hub.db').resolve()}"
    assert s.storage.backend == "local"
    assert s.blob_directory == tmp_path / "blobs"


def test_nested_sections_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
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
