"""A fresh SoftHSM2 token per test, for tests that need a real PKCS#11 device.

Use it by importing the fixture into a test module (or a conftest)::

    from tests.softhsm import softhsm_token  # noqa: F401  (pytest fixture)

    def test_something(softhsm_token: SoftHSMToken) -> None:
        lib_path, label, pin = softhsm_token

SoftHSM reads ``SOFTHSM2_CONF`` when the library is initialised (``C_Initialize``), and the
library is initialised once per process however many ``pkcs11.lib`` objects refer to it. So the
fixture re-initialises it after pointing the variable at the new token directory, and finalises
it afterwards: every session opened during the test is gone once the test ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pkcs11
import pytest

SOFTHSM_LIB_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
TOKEN_LABEL = "hub-test"
USER_PIN = "1234"
SO_PIN = "5678"


class SoftHSMToken(NamedTuple):
    lib_path: str
    label: str
    pin: str


def softhsm_lib_path() -> str | None:
    """Where the SoftHSM2 PKCS#11 module is, honouring ``SOFTHSM2_LIB`` first."""
    for candidate in (os.environ.get("SOFTHSM2_LIB"), *SOFTHSM_LIB_CANDIDATES):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def write_softhsm_conf(directory: Path) -> Path:
    """A softhsm2.conf keeping tokens under ``directory/tokens``; returns its path."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    return conf


@pytest.fixture
def softhsm_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHSMToken]:
    """An initialised, empty SoftHSM2 token in ``tmp_path``; yields (lib_path, label, user pin)."""
    lib_path = softhsm_lib_path()
    if lib_path is None or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is missing: ./run tests installs softhsm2")
    conf = write_softhsm_conf(tmp_path / "softhsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            SO_PIN,
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    # Make the in-process library read the new configuration (see the module docstring).
    pkcs11.lib(lib_path).reinitialize()
    try:
        yield SoftHSMToken(lib_path, TOKEN_LABEL, USER_PIN)
    finally:
        pkcs11.lib(lib_path).finalize()
