"""The request's session commits before the answer is sent: a failed commit is never a success answer."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.models import Organization
from catalog.organizations import put_organization
from hub.app import create_app
from hub.deps import SessionDep
from hub.state import HubState
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
    app = create_app(state=replace(hub_state, sessions=failing))
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
