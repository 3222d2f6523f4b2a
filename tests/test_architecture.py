"""Imports point one way: hub > applications > sharing > certificates > catalog > kernel;
hub/certificates -> signing, which imports none of ours; migrations never import hub; only hub
knows HTTP. Checked twice: by import-linter's contracts, and by reading every file."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "hub",
    "kernel",
    "audit",
    "catalog",
    "certificates",
    "sharing",
    "applications",
    "signing",
    "migrations",
)
HTTP = ("fastapi", "starlette", "uvicorn")

# package -> the top-level packages it must never import (directly, lazily inside a function, or under
# TYPE_CHECKING)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "signing": (
        "hub",
        "kernel",
        "audit",
        "catalog",
        "certificates",
        "sharing",
        "applications",
        "migrations",
        *HTTP,
    ),
    "kernel": (
        "hub",
        "audit",
        "catalog",
        "certificates",
        "sharing",
        "applications",
        "signing",
        "migrations",
        *HTTP,
    ),
    "catalog": ("hub", "certificates", "sharing", "applications", *HTTP),
    "certificates": ("hub", "sharing", "applications", *HTTP),
    "audit": ("hub", "catalog", "certificates", "sharing", "applications", *HTTP),
    "sharing": ("hub", "applications", *HTTP),
    "applications": ("hub", *HTTP),
    "migrations": ("hub",),
}


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module ``path`` (under ``root``) imports, absolute, with its line; relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_parts = list(path.relative_to(root).with_suffix("").parts)
    if module_parts[-1] == "__init__":
        module_parts.pop()
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                is_package = path.name == "__init__.py"
                base = module_parts[: len(module_parts) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append((node.lineno, arg.value))
    return out


def _files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found for {package}"
    return files


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout
    for contract in (
        "Layers: hub > applications > sharing > certificates > catalog > audit > kernel",
        "signing imports none of ours",
        "migrations gather the tables without the hub",
        "domain packages never import HTTP frameworks",
    ):
        assert f"{contract} KEPT" in r.stdout, r.stdout


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_import_in_any_file(package: str) -> None:
    forbidden = FORBIDDEN[package]
    found = []
    for path in _files(package):
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not found, "\n".join(found)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The walk finds imports inside functions and resolves relative ones (so it cannot be dodged)."""
    (tmp_path / "signing").mkdir()
    probe = tmp_path / "signing" / "probe.py"
    probe.write_text(
        "def f():\n"
        "    import fastapi.routing\n"
        "    from ..hub import app\n"
        "    from . import pki\n"
        "    __import__('catalog.db')\n"
    )
    names = sorted(name for _, name in _imports(probe, tmp_path))
    assert names == ["catalog.db", "fastapi.routing", "hub", "signing"]


def test_only_hub_has_http_routers() -> None:
    """HTTP lives in hub: no other package declares FastAPI routes or Starlette responses by name."""
    for package in ("kernel", "audit", "catalog", "certificates", "sharing", "applications", "signing"):
        for path in _files(package):
            text = path.read_text(encoding="utf-8")
            assert "APIRouter" not in text, path


# Which tables each domain package owns: the package whose ``models`` module declares them.
DOMAINS = ("audit", "catalog", "certificates", "sharing", "applications")
QUERY_BUILDERS = {"select", "update", "delete", "insert", "func"}
SESSION_QUERIES = {"get", "query", "merge", "add", "add_all", "delete"}


def _queried_names(tree: ast.AST) -> set[str]:
    """Names used as the table of a query: ``select(X…)``, ``update(X)``, ``session.get(X, …)`` …"""
    used: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        builder = isinstance(func, ast.Name) and func.id in QUERY_BUILDERS
        session_call = isinstance(func, ast.Attribute) and func.attr in SESSION_QUERIES
        if builder or session_call:
            for arg in node.args:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Name):
                        used.add(sub.id)
    return used


@pytest.mark.parametrize("package", DOMAINS)
def test_a_domain_queries_no_other_domains_tables(package: str) -> None:
    """Each package queries only its own tables and calls the others' services (catalog.queries …);
    another domain's row classes may appear in annotations, never in a query."""
    found = []
    for path in _files(package):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        foreign: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] in DOMAINS and parts[0] != package and "models" in parts[1:]:
                    foreign |= {alias.asname or alias.name for alias in node.names}
        for name in sorted(foreign & _queried_names(tree)):
            found.append(f"{path.relative_to(ROOT)} queries {name}, a table of another package")
    assert not found, "\n".join(found)


def test_the_query_check_sees_a_query_on_a_foreign_table() -> None:
    source = "def f(s):\n    return s.get(Item, 'x'), select(Row.code), f(Other)\n"
    assert _queried_names(ast.parse(source)) == {"Item", "Row"}


def test_the_hub_builds_no_queries() -> None:
    """Routers, the CLI and the wiring call domain services; no SQL is built in hub/."""
    found = []
    for path in _files("hub"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
                builders = {alias.name for alias in node.names} & QUERY_BUILDERS
                if builders:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {sorted(builders)}")
    assert not found, "\n".join(found)
