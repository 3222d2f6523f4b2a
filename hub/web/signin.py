"""Who is signed in to the pages: a citizen token in an HttpOnly cookie, verified exactly as the API
verifies a citizen's bearer token (``hub.identity.TokenVerifier``). An expired, forged or
unverifiable cookie is simply "signed out".

The demo issues that token with the development identity provider (``state.dev_idp``, as
``hub dev token`` does); with the provider off, sign-in is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from hub.state import HubState
from kernel.actor import Actor
from kernel.errors import Unauthorized

SESSION_COOKIE = "hub_session"
_CACHED = "web_holder"


def signed_in(request: Request) -> Actor | None:
    """The signed-in holder as the acting citizen, or None (no cookie, or one that fails verification)."""
    if hasattr(request.state, _CACHED):
        cached: Actor | None = getattr(request.state, _CACHED)
        return cached
    state: HubState = request.app.state.hub
    token = request.cookies.get(SESSION_COOKIE)
    actor = None
    if token:
        try:
            actor = Actor.for_citizen(state.verifier.verify(token))
        except Unauthorized:
            actor = None
    setattr(request.state, _CACHED, actor)
    return actor


# A page's signed-in holder, or None: ``holder: HolderDep`` (``holder.citizen`` names them; pass
# ``holder`` as the actor to the domain services, e.g. ``sharing.holders.signed_in_holder``).
HolderDep = Annotated[Actor | None, Depends(signed_in)]


def start_session(response: Response, state: HubState, token: str) -> None:
    """Put a citizen token in the session cookie (HttpOnly, SameSite=Lax, Secure on https)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=state.settings.identity.token_ttl_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=state.settings.public_url.startswith("https://"),
    )


def end_session(response: Response, state: HubState) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=state.settings.public_url.startswith("https://"),
    )
