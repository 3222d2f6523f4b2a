"""What keeps the pages safe: security headers on every response, and CSRF on every form that
changes state.

How to use CSRF in a page (consent grant/withdraw, application submit …):

* in the template, inside the ``<form method="post">``: ``{{ csrf_field(request) }}`` — a hidden
  ``csrf_token`` input;
* on the POST route: ``dependencies=[RequireCsrf]`` (or a parameter ``_: CsrfDep``). A request
  without the token, or with one that does not match this browser's cookie, is refused with a 403
  page before the endpoint runs: nothing changes.

The token is a signed double submit (OWASP): each browser gets a random ``hub_csrf`` cookie
(HttpOnly, SameSite=Strict), and the form carries HMAC-SHA256(key, cookie) under a key derived
from the master key — a cookie planted by a neighbouring site cannot be paired with a valid token
without the key — and the HMAC covers the sign-in session cookie too, so a pair obtained by an
attacker in their own session (then tossed into the victim's browser from a sibling subdomain) is
no good in the victim's session. The cookie is set with the first page that renders a form.
Hand-written (thirty lines of ``hmac``) because the maintained libraries check a header, which a
form without JavaScript cannot send.

Headers (``SecurityHeadersMiddleware``): every response gets ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin`` and the pages' Content-Security-Policy
— no inline script or style anywhere — unless the response sets its own (``/docs`` and ``/redoc``
need more than ``'self'``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.state import HubState
from hub.web.signin import SESSION_COOKIE
from kernel.errors import Forbidden

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
}

CSRF_COOKIE = "hub_csrf"
CSRF_FIELD = "csrf_token"
_NEW_COOKIE = "csrf_new_cookie"  # request.state: a cookie to set with this response


class CsrfRefused(Forbidden):
    """A form that changes state came without this browser's CSRF token."""


def _secure(state: HubState) -> bool:
    return state.settings.public_url.startswith("https://")


def _key(state: HubState) -> bytes:
    return hmac.new(state.master_key, b"hub web csrf v1", hashlib.sha256).digest()


def token_for(state: HubState, cookie: str, session: str = "") -> str:
    """The form token that goes with a CSRF cookie and the sign-in session it was rendered in."""
    message = cookie.encode() + b"\x00" + session.encode()
    return hmac.new(_key(state), message, hashlib.sha256).hexdigest()


def _session(request: Request) -> str:
    """The sign-in cookie as sent (empty when signed out): a token is good for that session only."""
    return request.cookies.get(SESSION_COOKIE, "")


def _cookie(request: Request) -> str:
    """This browser's CSRF cookie; a new one (set with the response) when it has none."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 16 <= len(existing) <= 128:
        return existing
    new: str | None = getattr(request.state, _NEW_COOKIE, None)
    if new is None:
        new = secrets.token_urlsafe(32)
        setattr(request.state, _NEW_COOKIE, new)
    return new


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry."""
    return token_for(request.app.state.hub, _cookie(request), _session(request))


def csrf_field(request: Request) -> Markup:
    """The hidden input every state-changing form carries (a template global)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(request))


async def require_csrf(request: Request) -> None:
    """Refuse (403) a POST whose form token does not match this browser's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not cookie
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent, token_for(request.app.state.hub, cookie, _session(request)))
    ):
        raise CsrfRefused(
            "the form is out of date or came from another site; reload the page", code="csrf_failed"
        )


RequireCsrf = Depends(require_csrf)
CsrfDep = Annotated[None, RequireCsrf]


class SecurityHeadersMiddleware:
    """Adds the security headers (and a new CSRF cookie, when a page made one) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in HEADERS.items() if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                new = scope.get("state", {}).get(_NEW_COOKIE)
                if new:
                    headers.append((b"set-cookie", _csrf_set_cookie(scope, new).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _csrf_set_cookie(scope: Scope, value: str) -> str:
    app = scope.get("app")
    secure = app is not None and _secure(app.state.hub)
    return f"{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
