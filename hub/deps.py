"""FastAPI dependencies: the request's DB session and the caller. Short aliases keep endpoints short."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from catalog.access import check_may_edit
from certificates.access import check_may_issue
from hub.admission import RateLimit, get_caller, get_optional_caller
from hub.openapi import answers
from hub.state import HubState
from kernel.actor import Actor, Role
from kernel.db import unit_of_work
from kernel.errors import Forbidden


def get_state(request: Request) -> HubState:
    state: HubState = request.app.state.hub
    return state


StateDep = Annotated[HubState, Depends(get_state)]


@answers(503)  # the database is down, or (SQLite) still locked after the busy timeout
def get_session(state: StateDep) -> Iterator[Session]:
    """One session per request: commit when the endpoint returns, roll back when it raises.

    The commit runs before the response is sent, so a failed commit is an error answer, never a
    success answer for data that was not kept.
    """
    with unit_of_work(state.sessions) as session:
        yield session


# scope="function": the exit code (the commit) runs before the response is sent. FastAPI's default
# for yield dependencies runs it after, which would acknowledge data that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@answers(503)
def get_read_session(state: StateDep) -> Iterator[Session]:
    """A session for requests that only read; it never holds the SQLite write lock."""
    session = state.read_sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

# The caller is authenticated before the body is received (hub/admission.py, AdmissionRoute).
CallerDep = Annotated[Actor, Depends(get_caller)]
OptionalCallerDep = Annotated[Actor | None, Depends(get_optional_caller)]


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency admitting only callers of these roles (403 for the others)."""

    @answers(403)
    def check(caller: CallerDep) -> Actor:
        if caller.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}", code="forbidden")
        return caller

    return Depends(check)


@answers(403)
def _issuer(caller: CallerDep) -> Actor:
    return check_may_issue(caller)


@answers(403)
def _catalog_editor(caller: CallerDep) -> Actor:
    return check_may_edit(caller)


AdminDep = Annotated[Actor, require(Role.ADMIN)]
# The rules are the domains' (certificates/access.py, catalog/access.py); the caller they check was
# authenticated before the body was received (hub/admission.py).
DepartmentDep = Annotated[Actor, Depends(_issuer)]
CatalogEditorDep = Annotated[Actor, Depends(_catalog_editor)]

# Rate limits per caller (HUB_LIMITS__VERIFY_RATE, __TSA_RATE), counted before the body is received.
VerifyRate = Depends(RateLimit("verify"))
TimestampRate = Depends(RateLimit("tsa"))
