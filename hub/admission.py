"""Who calls, and how often, decided before a request's body is received.

FastAPI receives and parses a body before it solves an endpoint's dependencies: an anonymous
60 MB JSON body to ``POST /api/v1/certificates`` took the server from 261 MB to 1.75 GB before
it answered 401. An ``AdmissionRoute`` admits the request first — it authenticates the bearer
token when the route's dependencies ask for a caller (``get_caller``; ``get_optional_caller``
only when a token is sent) and counts the call against the route's rate limits (``RateLimit``) —
and only then lets FastAPI read the body. What it found waits on ``request.state`` for the
dependencies, which never authenticate or count twice.

An address whose bearer tokens were refused too often (``HUB_LIMITS__AUTH_FAILURE_RATE``) may not
try another, valid or not, until its oldest failure leaves the window (429, ``Retry-After``).

A route of another class still works: its dependencies admit the request themselves, after the
body (the old order). Every router of the hub uses ``AdmissionRoute`` (tests/hub/test_admission.py
checks each endpoint of the app).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from catalog.clients import authenticate_client
from hub.openapi import answers
from hub.ratelimit import RateLimits, Service
from hub.state import HubState
from kernel.actor import Actor
from kernel.errors import Unauthorized


class CallerNeed(Enum):
    NONE = "none"
    OPTIONAL = "optional"  # a token is checked when one is sent
    REQUIRED = "required"


@dataclass(frozen=True)
class Admission:
    """What a route asks of a request before its body: a caller or not, and which rate limits."""

    caller: CallerNeed = CallerNeed.NONE
    rates: tuple[Service, ...] = ()

    @property
    def asks_nothing(self) -> bool:
        return self.caller is CallerNeed.NONE and not self.rates


@dataclass
class Admitted:
    """What admission found for one request (kept on ``request.state.admitted``)."""

    caller_checked: bool = False
    caller: Actor | None = None
    counted: set[Service] = field(default_factory=set)


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


def client_address(request: Request) -> str:
    """The address a request came from (uvicorn's view: see hub/ratelimit.py on proxies)."""
    return request.client.host if request.client is not None else "unknown"


def caller_key(state: HubState, caller: Actor | None, address: str) -> str:
    """Whom a call is counted against: the API client, the citizen (blind index), or the address."""
    if caller is None:
        return f"address:{address}"
    if caller.citizen is not None:
        return "citizen:" + state.vault.blind_index(caller.citizen.holder_kind, caller.citizen.holder_code)
    return f"client:{caller.client_id}"


def admit(request: Request, admission: Admission) -> Admitted:
    """Check what ``admission`` asks of the request, once; later calls reuse the answer.

    Blocking (a database look-up for client keys, a Redis round trip): called in a worker thread."""
    admitted: Admitted | None = getattr(request.state, "admitted", None)
    if admitted is None:
        admitted = Admitted()
        request.state.admitted = admitted
    state: HubState = request.app.state.hub
    limits: RateLimits = request.app.state.rate_limits
    address = client_address(request)
    if admission.caller is not CallerNeed.NONE and not admitted.caller_checked:
        token = bearer_token(request)
        if token is not None:
            limits.refuse_locked_out(address)
            try:
                admitted.caller = authenticate(state, token)
            except Unauthorized:
                limits.authentication_failed(address)
                raise
        admitted.caller_checked = True
    if admission.caller is CallerNeed.REQUIRED and admitted.caller is None:
        raise Unauthorized("a bearer token is required", code="unauthorized")
    for service in admission.rates:
        if service not in admitted.counted:
            admitted.counted.add(service)
            limits.count_call(service, caller_key(state, admitted.caller, address))
    return admitted


# Declared so that OpenAPI documents the bearer scheme; admission reads the header itself.
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

CALLER_REQUIRED = Admission(caller=CallerNeed.REQUIRED)
CALLER_OPTIONAL = Admission(caller=CallerNeed.OPTIONAL)


@answers(401, 429)  # 429: an address past its failed authentications
def get_caller(request: Request, _credentials: Credentials) -> Actor:
    """The authenticated caller (401 without a valid bearer token)."""
    caller = admit(request, CALLER_REQUIRED).caller
    assert caller is not None  # admit refuses a required caller that is missing
    return caller


@answers(401, 429)  # a token that is there must be valid
def get_optional_caller(request: Request, _credentials: Credentials) -> Actor | None:
    """The caller when a bearer token is sent (which must then be valid), else None."""
    return admit(request, CALLER_OPTIONAL).caller


OptionalCaller = Annotated[Actor | None, Depends(get_optional_caller)]


class RateLimit:
    """A dependency counting each call of a route against one service's rate limit, per caller
    (the API client or citizen when a valid token is sent, else the address)."""

    __problems__ = frozenset({429})  # hub.openapi: every route counted declares it

    def __init__(self, service: Service) -> None:
        self.service = service

    def __call__(self, request: Request, _caller: OptionalCaller) -> None:
        admit(request, Admission(caller=CallerNeed.OPTIONAL, rates=(self.service,)))


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def admission_of(dependant: Dependant) -> Admission:
    """What a route's dependency tree asks of a request before its body."""
    calls = list(_calls(dependant))
    if get_caller in calls:
        caller = CallerNeed.REQUIRED
    elif get_optional_caller in calls:
        caller = CallerNeed.OPTIONAL
    else:
        caller = CallerNeed.NONE
    rates = tuple(dict.fromkeys(call.service for call in calls if isinstance(call, RateLimit)))
    return Admission(caller=caller, rates=rates)


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
