"""RFC 9457 problem responses. The one table that maps domain errors to HTTP statuses lives here."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from certificates.blobstore import BlobCorrupted
from hub.observability import current_request_id
from kernel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)

log = logging.getLogger("hub.errors")

PROBLEM_JSON = "application/problem+json"

# Domain error class -> HTTP status. The most specific class listed wins (checked in MRO order).
STATUS_BY_ERROR: dict[type[Exception], int] = {
    # A stored file whose bytes no longer match their hash: our fault, never the caller's.
    BlobCorrupted: 500,
    ValidationFailed: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    PayloadTooLarge: 413,
    Gone: 410,
    RateLimited: 429,
    Unavailable: 503,
    DomainError: 400,
}

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}


def status_for(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://hub.example/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    extra["request_id"] = current_request_id()  # the caller's handle on the hub's log lines
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_for(error: DomainError) -> JSONResponse:
    status = status_for(error)
    headers = None
    if isinstance(error, Unavailable | RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return problem(status, error.code, error.detail, headers=headers, field=error.field, **error.extra)


def field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or ".".join(str(p) for p in loc)


def _route(request: Request) -> str:
    """The matched route template (never the raw path: it can carry codes and identity numbers)."""
    return str(getattr(request.scope.get("route"), "path", None) or "unmatched")


def _origin(exc: BaseException) -> str:
    """Where an exception was raised, as ``file:line in function`` frames (innermost last): enough
    to find a bug, with no values in it."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return " < ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": field_path(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        return problem(422, "validation_failed", detail, field=first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(status, "Error")
        headers = dict(exc.headers) if exc.headers else None
        return problem(status, DEFAULT_CODES.get(status, "error"), detail, headers=headers)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value from the request (a NUL character in text on PostgreSQL, a
        # number out of range): bad input, not an outage. The message may quote the value: type only.
        log.warning("database refused a value (%s) on %s", type(exc.orig).__name__, _route(request))
        return problem(422, "invalid_value", "a value in the request cannot be stored or compared")

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is down, unreachable or (SQLite) still locked after the busy timeout: an
        # outage the caller may retry, not a bug. Type only in the log: messages can quote values.
        log.error("database unavailable (%s) on %s", type(exc).__name__, _route(request))
        return problem(
            503,
            "database_unavailable",
            "The database cannot be reached; retry later.",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: log the type and where it was raised — never the message, which may
        # carry data — and answer without a trace.
        # Starlette calls this outside the request-id middleware; the id is still set there.
        log.error("unhandled %s on %s at %s", type(exc).__name__, _route(request), _origin(exc))
        rid = current_request_id()
        return problem(
            500,
            "internal_error",
            "The hub could not complete this request.",
            headers={"X-Request-ID": rid} if rid else None,
        )
