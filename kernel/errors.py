"""Domain errors. They carry a machine-readable ``code`` and, where it helps, the ``field`` at fault.

They never carry an HTTP status: ``hub.errors`` maps each class to one in a single table.
Messages must never contain personal data (identity numbers) or secrets.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain reports to a caller; ``extra`` holds more members of the
    answer where one value is not enough (a pre-review's list of problems)."""

    code = "domain_error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra: dict[str, Any] = dict(extra or {})
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "not_found"


class ValidationFailed(DomainError):
    code = "validation_failed"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthorized(DomainError):
    code = "unauthorized"


class Unavailable(DomainError):
    """A backend (storage, search, timestamp authority) cannot be reached; the caller may retry."""

    code = "service_unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class RateLimited(DomainError):
    """Too many requests from one caller or address in a window; it may retry after ``retry_after`` s."""

    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class Gone(DomainError):
    """It existed, and is no longer to be had (a used or expired single-use link)."""

    code = "gone"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
