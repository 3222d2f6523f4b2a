"""The request's session commits before the answer is sent: a failed commit is never a success answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from catalog.models import Organization
from catalog.organizations import put_organization
from hub import migrate
from hub.app import create_app
from hub.db import make_engine, make_sessionmaker
from hub.deps import SessionDep
from hub.state import HubState
from tests.conftest import DatabaseFactory
from tests.factories import new_uscc

probe = APIRouter()
CODE = new_uscc()


@probe.post("/_probe/org")
def _write(session: SessionDep) -> dict[str, str]:
    put_organization(session, code=CODE, name="提交失败测试", kind="portal")
    return {"status": "written"}


class FailingCommit(Session):
    def commit(self) -> None:
        raise RuntimeError("the database went away at commit")


def test_failed_commit_is_an_error_answer_and_keeps_nothing(
    hub_state: HubState, connection: Connection
) -> None:
    failing = sessionmaker(bind=connection, class_=FailingCommit, join_transaction_mode="create_savepoint")
    app = create_app(state=hub_state.with_sessions(failing))
    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/_probe/org")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    with Session(bind=connection) as s:
        assert s.scalar(select(Organization).where(Organization.code == CODE)) is None


def test_successful_request_is_committed_before_the_answer(
    hub_state: HubState, connection: Connection
) -> None:
    app = create_app(state=hub_state)
    app.include_router(probe)
    with TestClient(app) as c:
        assert c.post("/_probe/org").status_code == 200
    with Session(bind=connection) as s:
        assert s.scalar(select(Organization).where(Organization.code == CODE)) is not None


def test_sqlite_reads_never_wait_for_a_writer(databases: DatabaseFactory) -> None:
    """A batch holding the SQLite write lock must not stall verification or catalog reads."""
    engine = make_engine(databases.create("sqlite"))

    @event.listens_for(engine, "connect")
    def _no_waiting(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=0")  # needing a lock now fails at once instead of waiting

    try:
        migrate.upgrade(engine)
        writer = make_sessionmaker(engine)()
        writer.execute(
            text(
                "INSERT INTO organizations (code, name, kind, demo, created_at, updated_at) "
                "VALUES ('X', 'x', 'portal', false, '2026-01-01', '2026-01-01')"
            )
        )  # the writer now holds the write lock
        reader = make_sessionmaker(engine, read_only=True)()
        assert reader.scalar(text("SELECT count(*) FROM organizations")) == 0  # the last committed snapshot
        reader.close()
        other_writer = make_sessionmaker(engine)()
        with pytest.raises(OperationalError, match="locked"):
            other_writer.execute(text("SELECT 1"))  # a second writer would queue behind the first
        other_writer.close()
        writer.rollback()
        writer.close()
    finally:
        engine.dispose()
