"""The clock: one place that says what time it is, so tests and services can pin it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

# A clock is any callable answering an aware UTC datetime; services take one instead of calling now().
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC."""
    return utcnow().date()
