"""Structured JSON logs with a request id, and Prometheus metrics by route.

Logs carry the route template, never the raw path or query (they can hold verification codes),
and never headers, bodies, tokens or identity numbers.

The request id is the caller's ``X-Request-ID`` when it is sane (``REQUEST_ID``: 1 to 128 letters,
digits and ``._:+=/@-``), so a portal can follow its call through the hub's logs; anything else is
replaced by an id of the hub's own, never echoed. The response's ``X-Request-ID``, every log line
of the request and every problem body (``request_id``) carry it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# A caller's request id the hub keeps: bounded, and nothing that could break a header or a log line.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/@-]{1,128}")


def request_id_for(headers: Sequence[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when it is sane (the first one sent), else a new id."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            given = value.decode("latin-1")
            if REQUEST_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex[:16]


def current_request_id() -> str | None:
    """The id of the request being answered (None outside one)."""
    rid = request_id_var.get()
    return None if rid == "-" else rid


def timestamp(created: float) -> str:
    """A log record's time in ISO 8601, UTC, to the millisecond: ``2026-12-03T07:14:02.387Z``."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints raw paths with query strings: ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic tells of its context and of every revision it runs at INFO: nine lines at each start.
    # Start-up stays quiet: hub.migrate says in one line what it migrated; DEBUG shows Alembic's own.
    logging.getLogger("alembic").setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    # pyHanko warns on every B-LT seal that fetching is off: the hub supplies OCSP/CRL itself, on purpose.
    logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hub_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "hub_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.certificates_issued = Counter(
            "hub_certificates_issued_total", "Certificates issued", ["level"], registry=self.registry
        )


class RequestContextMiddleware:
    """Request id, access log line and metrics for every HTTP request (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("hub.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_for(scope.get("headers", []))
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500
        failed = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "-")
            hub_state = getattr(scope["app"].state, "hub", None)
            if hub_state is not None:
                hub_state.metrics.requests.labels(method, template, str(status)).inc()
                hub_state.metrics.latency.labels(method, template).observe(elapsed)
            self.log.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "route": template,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    }
                },
            )
            # An unexpected error goes on to Starlette's ServerErrorMiddleware, outside this one: its
            # 500 problem and uvicorn's line about the error belong to this request too. The id
            # stays set for them; it ends with the request's task.
            if not failed:
                request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413 before reading them whole.

    ``max_bytes`` holds for every request. ``routes`` — ``(method, path pattern, limit)`` — lowers it
    for the endpoints that carry one PDF (``Limits.pdf_routes``), so that a file over
    ``max_pdf_bytes`` is answered from its ``Content-Length`` (or as soon as a streamed body passes
    the limit) instead of being received whole, spooled, parsed and decoded first.

    The refusal comes when the endpoint first asks for the body, before a byte of it is received:
    an endpoint that needs a caller authenticates first (``hub.admission``), so an anonymous
    oversized body is a 401 — who calls is checked before what they send."""

    def __init__(self, app: ASGIApp, max_bytes: int, routes: Sequence[tuple[str, str, int]] = ()) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.routes = [(method, re.compile(path), limit) for method, path, limit in routes]

    def limit_for(self, scope: Scope) -> int:
        method, path = scope.get("method"), scope.get("path", "")
        for route_method, pattern, limit in self.routes:
            if method == route_method and pattern.fullmatch(path):
                return min(limit, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = 0
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                declared = int(value)
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            # Raised inside the endpoint's body read: the problem handler answers 413.
            if declared > limit:
                raise HTTPException(413, f"the request body exceeds {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"the request body exceeds {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)
