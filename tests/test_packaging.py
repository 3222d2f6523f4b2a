"""What a fresh install gets: requirements.lock (the runtime, ``./run demo``), requirements-test.lock
(runtime, every optional backend and the test tools, ``./run tests``) and requirements-backends.lock
(runtime and every optional backend, the Docker image) pin every package with its hashes;
pyproject.toml keeps lower bounds and the optional backends as extras (hub/extras.py)."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hub.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
BACKENDS_LOCK = ROOT / "requirements-backends.lock"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REGENERATE = "regenerate the locks with ./run lock (README, Dependencies)"


class Pin(NamedTuple):
    version: str
    marker: Marker | None
    hashes: int


def _pins(lock: Path) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    for line in lock.read_text().replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split(" --hash=")
        parsed = Requirement(requirement)
        [specifier] = parsed.specifier
        assert specifier.operator == "==", line
        pins[canonicalize_name(parsed.name)] = Pin(specifier.version, parsed.marker, len(options))
    return pins


def _applies(pin: Pin) -> bool:
    return pin.marker is None or pin.marker.evaluate()


def _requirements(extra: str | None) -> list[Requirement]:
    listed = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in listed]


def test_the_installed_versions_are_the_test_locks() -> None:
    wrong = {}
    for name, pin in _pins(TEST_LOCK).items():
        if not _applies(pin):
            continue
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "missing"
        if installed != pin.version:
            wrong[name] = f"{installed}, locked {pin.version}"
    assert not wrong, (
        f"installed versions differ from requirements-test.lock (./run tests installs it): {wrong}"
    )


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, BACKENDS_LOCK], ids=lambda path: path.name)
def test_the_other_locks_pin_what_the_tests_run_with(lock: Path) -> None:
    pins, test = _pins(lock), _pins(TEST_LOCK)
    assert pins, f"{lock.name} pins nothing"
    differing = {
        name: (pin.version, test[name].version if name in test else None)
        for name, pin in pins.items()
        if name not in test or test[name].version != pin.version
    }
    assert not differing, f"{lock.name} vs requirements-test.lock: {differing}: {REGENERATE}"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, TEST_LOCK, BACKENDS_LOCK], ids=lambda path: path.name)
def test_every_pin_carries_its_hashes(lock: Path) -> None:
    assert all(pin.hashes for pin in _pins(lock).values())


@pytest.mark.parametrize(
    ("extra", "lock"),
    [
        (None, RUNTIME_LOCK),
        (None, BACKENDS_LOCK),
        *((extra, BACKENDS_LOCK) for extra in EXTRAS),
        *((extra, TEST_LOCK) for extra in PROJECT["optional-dependencies"]),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else (value or "runtime"),
)
def test_every_dependency_of_pyproject_is_locked_within_its_bounds(extra: str | None, lock: Path) -> None:
    pins = _pins(lock)
    for requirement in _requirements(extra):
        if canonicalize_name(requirement.name) == "hub":  # the test extra names the backend extras
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in {lock.name}: {REGENERATE}"
        assert requirement.specifier.contains(pin.version), (
            f"{lock.name} pins {pin.version} against {requirement}"
        )


def test_the_runtime_installs_neither_test_tools_nor_optional_backends() -> None:
    runtime = _pins(RUNTIME_LOCK)
    needed_at_runtime = {canonicalize_name(r.name) for r in _requirements(None)}
    for extra in PROJECT["optional-dependencies"]:
        for requirement in _requirements(extra):
            name = canonicalize_name(requirement.name)
            if name != "hub" and name not in needed_at_runtime:
                assert name not in runtime, f"{name} (extra {extra}) is in requirements.lock"
    # FastAPI's TestClient is the only user of httpx; hub audit verify --url fetches with urllib.
    assert "httpx" not in runtime


def test_each_optional_backend_is_an_extra_the_tests_install() -> None:
    test_extra = [r for r in _requirements("test") if canonicalize_name(r.name) == "hub"]
    assert [set(r.extras) for r in test_extra] == [set(EXTRAS)]
    providers = importlib.metadata.packages_distributions()
    for extra, (module, _setting) in EXTRAS.items():
        declared = {canonicalize_name(r.name) for r in _requirements(extra)}
        assert {canonicalize_name(d) for d in providers[module]} <= declared, extra
        assert not declared & {canonicalize_name(r.name) for r in _requirements(None)}, extra


def test_run_tests_type_checks_every_package_mypy_is_configured_for() -> None:
    """./run tests runs mypy on the packages it names; each strict package and hub must be among them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    configured = {"hub"} | {
        module.removesuffix(".*") for override in config["overrides"] for module in override["module"]
    }
    [command] = [
        line.split("#", 1)[0].split()
        for line in (ROOT / "run").read_text().splitlines()
        if line.strip().startswith('"$VENV/bin/mypy"')
    ]
    assert configured <= set(command[1:]), f"./run tests leaves out {configured - set(command[1:])}"
