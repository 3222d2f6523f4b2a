"""Shared fixtures: a real database per worker (SQLite and PostgreSQL), a rolled-back transaction
per test, and a hub application bound to that transaction.

PostgreSQL comes from ``HUB_TEST_DATABASE_URL`` (default: the local server); each worker gets a
database of its own, migrated once with Alembic, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub import migrate
from hub.app import create_app
from hub.db import make_engine
from hub.settings import Settings
from hub.state import HubState, build_state

pytest_plugins = ["tests.seaweed", "tests.softhsm", "tests.live"]

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


def pg_admin_url() -> str:
    return os.environ.get("HUB_TEST_DATABASE_URL") or DEFAULT_PG


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class DatabaseFactory:
    """Creates throwaway databases on either backend and drops them at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    def create(self, backend: str) -> str:
        name = f"hub_test_{_worker()}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        admin = make_engine(pg_admin_url())
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as e:  # pragma: no cover - a broken environment, not a test result
            raise RuntimeError(
                f"PostgreSQL at {pg_admin_url()} is not usable ({type(e).__name__}); "
                "start it or set HUB_TEST_DATABASE_URL"
            ) from e
        finally:
            admin.dispose()
        self.created.append(name)
        return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = make_engine(pg_admin_url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, databases: DatabaseFactory) -> Iterator[Engine]:
    """A database of this worker's own, migrated to head once."""
    eng = make_engine(databases.create(backend))
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A transaction that is rolled back after the test: no test sees another's rows."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    s = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield s
    s.close()


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 0 for one test: a file the code does not restrict itself would be world-writable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory per worker: keys and the CA are made once, not per test."""
    return tmp_path_factory.mktemp("hubdata")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    env = {
        "data_dir": data_dir,
        "master_key": "test-master-key-0123456789abcdef0123456789abcdef",
    }
    env.update(overrides)
    return Settings(**env)  # type: ignore[arg-type]


def with_limits(state: HubState, **limits: object) -> HubState:
    """``state`` with some ``Limits`` changed (as ``HUB_LIMITS__…`` would), validated."""
    changed = type(state.settings.limits).model_validate({**state.settings.limits.model_dump(), **limits})
    return replace(state, settings=state.settings.model_copy(update={"limits": changed}))


@pytest.fixture(scope="session")
def base_state(data_dir: Path, engine: Engine) -> Iterator[HubState]:
    state = build_state(make_settings(data_dir, database_url=str(engine.url)))
    yield state
    state.close()


@pytest.fixture
def hub_state(base_state: HubState, connection: Connection) -> HubState:
    """The worker's hub state with its sessions joined to the test's transaction."""
    joined = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    return base_state.with_sessions(joined)


@pytest.fixture
def client(hub_state: HubState) -> Iterator[TestClient]:
    """The hub over ASGI. Rate limits keep the defaults; each app counts from zero (memory storage),
    so no test inherits another's calls."""
    with TestClient(create_app(state=hub_state), raise_server_exceptions=False) as c:
        yield c
