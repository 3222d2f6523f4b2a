"""Who calls, decided before a request's body is received.

FastAPI receives and parses a body before it solves an endpoint's dependencies: an anonymous
60 MB JSON body to ``POST /api/v1/certificates`` took the server from 261 MB to 1.75 GB before
it answered 401. An ``AdmissionRoute`` admits the request first — it authenticates the bearer
token when the route's dependencies ask for a caller (``get_caller``; ``get_optional_caller``
only when a token is sent) — and only then lets FastAPI read the body. What it found waits on
``request.state`` for the dependencies, which never authenticate twice.

A route of another class still works: its dependencies admit the request themselves, after the
body (the old order). Every router of the hub uses ``AdmissionRoute`` (tests/hub/test_admission.py
checks each endpoint of the app).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from catalog.clients import authenticate_client
from hub.state import HubState
from kernel.actor import Actor
from kernel.errors import Unauthorized


class CallerNeed(Enum):
    NONE = "none"
    OPTIONAL = "optional"  # a token is checked when one is sent
    REQUIRED = "required"


@dataclass(frozen=True)
class Admission:
    """What a route asks of a request before its body: a caller or not."""

    caller: CallerNeed = CallerNeed.NONE

    @property
    def asks_nothing(self) -> bool:
        return self.caller is CallerNeed.NONE


@dataclass
class Admitted:
    """What admission found for one request (kept on ``request.state.admitted``)."""

    caller_checked: bool = False
    caller: Actor | None = None


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, read as ``HTTPBearer`` reads it."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def authenticate(state: HubState, token: str) -> Actor:
    """The actor a bearer token stands for: a citizen JWT or an API client's key; else Unauthorized."""
    if token.count(".") == 2:
        return Actor.for_citizen(state.verifier.verify(token))
    session = state.read_sessions()
    try:
        client = authenticate_client(session, state.token_hash_key, token)
        return Actor.for_client(client.role, client.id, client.org_code)
    finally:
        # End the look-up's read transaction now: no snapshot is held while the endpoint works.
        session.rollback()
        session.close()


def admit(request: Request, admission: Admission) -> Admitted:
    """Check what ``admission`` asks of the request, once; later calls reuse the answer.

    Blocking (a database look-up for client keys): called in a worker thread."""
    admitted: Admitted | None = getattr(request.state, "admitted", None)
    if admitted is None:
        admitted = Admitted()
        request.state.admitted = admitted
    if admission.caller is not CallerNeed.NONE and not admitted.caller_checked:
        token = bearer_token(request)
        if token is not None:
            state: HubState = request.app.state.hub
            admitted.caller = authenticate(state, token)
        admitted.caller_checked = True
    if admission.caller is CallerNeed.REQUIRED and admitted.caller is None:
        raise Unauthorized("a bearer token is required", code="unauthorized")
    return admitted


# Declared so that OpenAPI documents the bearer scheme; admission reads the header itself.
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

CALLER_REQUIRED = Admission(caller=CallerNeed.REQUIRED)
CALLER_OPTIONAL = Admission(caller=CallerNeed.OPTIONAL)


def get_caller(request: Request, _credentials: Credentials) -> Actor:
    """The authenticated caller (401 without a valid bearer token)."""
    caller = admit(request, CALLER_REQUIRED).caller
    assert caller is not None  # admit refuses a required caller that is missing
    return caller


def get_optional_caller(request: Request, _credentials: Credentials) -> Actor | None:
    """The caller when a bearer token is sent (which must then be valid), else None."""
    return admit(request, CALLER_OPTIONAL).caller


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def admission_of(dependant: Dependant) -> Admission:
    """What a route's dependency tree asks of a request before its body."""
    calls = set(_calls(dependant))
    if get_caller in calls:
        return CALLER_REQUIRED
    if get_optional_caller in calls:
        return CALLER_OPTIONAL
    return Admission()


class AdmissionRoute(APIRoute):
    """A route that admits a request (``admit``) before FastAPI receives and parses its body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        admission = admission_of(self.dependant)  # once per route, not per request
        if admission.asks_nothing:
            return handler

        async def admit_then_handle(request: Request) -> Response:
            await run_in_threadpool(admit, request, admission)
            return await handler(request)

        return admit_then_handle
