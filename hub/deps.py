"""FastAPI dependencies: the request's DB session and the caller. Short aliases keep endpoints short."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from catalog.errors import Forbidden, Unauthorized
from hub.clients import authenticate_client
from hub.db import unit_of_work
from hub.identity import Citizen
from hub.state import HubState


def get_state(request: Request) -> HubState:
    state: HubState = request.app.state.hub
    return state


StateDep = Annotated[HubState, Depends(get_state)]


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


def get_read_session(state: StateDep) -> Iterator[Session]:
    """A session for requests that only read; it never holds the SQLite write lock."""
    session = state.read_sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API client (role + organization) or a citizen."""

    role: str  # department | portal | admin | citizen
    client_id: str | None = None
    org_code: str | None = None
    citizen: Citizen | None = None

    @property
    def actor(self) -> str:
        if self.citizen is not None:
            return "citizen"
        return f"client:{self.client_id}"


def get_caller(
    state: StateDep,
    session: ReadSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("a bearer token is required", code="unauthorized")
    token = credentials.credentials
    if token.count(".") == 2:
        citizen = state.verifier.verify(token)
        return Caller(role="citizen", citizen=citizen)
    try:
        client = authenticate_client(session, state.token_hash_key, token)
        return Caller(role=client.role, client_id=client.id, org_code=client.org_code)
    finally:
        # End the look-up's read transaction now: no snapshot is held while the endpoint works,
        # and it never nests around the endpoint's own write transaction.
        session.rollback()


def get_optional_caller(
    state: StateDep,
    session: ReadSessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    if credentials is None:
        return None
    return get_caller(state, session, credentials)


CallerDep = Annotated[Caller, Depends(get_caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(get_optional_caller)]


def require(*roles: str):  # type: ignore[no-untyped-def]
    def check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}", code="forbidden")
        return caller

    return Depends(check)


AdminDep = Annotated[Caller, require("admin")]
DepartmentDep = Annotated[Caller, require("department")]
