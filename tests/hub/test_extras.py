"""A setting that asks for an optional backend whose extra is not installed is refused in one line
naming the extra. The hub runs as a subprocess in which the backend's package cannot be imported
(``sys.modules[name] = None`` before anything else, as if it were not installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.extras import EXTRAS

MASTER_KEY = "x" * 48
SETTINGS = {
    "s3": {"HUB_STORAGE__BACKEND": "s3"},
    "elasticsearch": {
        "HUB_SEARCH__BACKEND": "elasticsearch",
        "HUB_SEARCH__ELASTICSEARCH_URL": "http://127.0.0.1:9",
    },
    "pkcs11": {"HUB_SIGNING__KEYSTORE": "pkcs11", "HUB_SIGNING__PKCS11_PIN": "1234"},
}
# Run the hub with the packages named (comma-separated) in argv[1] unimportable.
WITHOUT = """
import sys
sys.modules.update(dict.fromkeys(sys.argv.pop(1).split(",")))
from hub.cli import main
sys.argv[0] = "hub"
main()
"""
TOKEN = ("dev", "token", "--kind", "111", "--code", "110101199003074514", "--name", "张三")


def _hub_without(modules: list[str], tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(tmp_path), HUB_MASTER_KEY=MASTER_KEY, **settings)
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, ",".join(modules), *TOKEN],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_a_backend_without_its_extra_is_refused_in_one_line_naming_the_extra(
    extra: str, tmp_path: Path
) -> None:
    module, setting = EXTRAS[extra]
    assert setting.split("=")[0] in SETTINGS[extra]
    r = _hub_without([module], tmp_path, **SETTINGS[extra])
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [f"error: {setting} needs the {extra} extra: pip install 'hub[{extra}]'"]


def test_the_default_backends_need_none_of_the_extras(tmp_path: Path) -> None:
    """Local files, the embedded search and key files: a runtime-only install serves."""
    r = _hub_without([module for module, _setting in EXTRAS.values()], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().count(".") == 2  # a JWT
