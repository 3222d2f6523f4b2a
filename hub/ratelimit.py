"""Rate limits: how often one caller may use an expensive public service, and how often an address
may fail to authenticate.

Counted with the ``limits`` library in a moving window (exact: the ``Retry-After`` it answers is
when the oldest counted call leaves the window), kept in memory (each process its own counts) or
in Redis (``HUB_LIMITS__RATE_STORAGE_URL=redis://…``: one count for every worker and server).

A caller is its API client, or its citizen by the keyed blind index of the identity number (never
the number itself: the keys sit in Redis); anyone else is the address of the connection, as uvicorn
reports it — X-Forwarded-For counts only from the proxies uvicorn trusts (``FORWARDED_ALLOW_IPS``).

When the storage cannot be reached, requests are let through and the failure is logged: an outage
of the counter must not become an outage of verification.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Literal

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from hub.settings import Limits
from kernel.errors import RateLimited

log = logging.getLogger("hub.ratelimit")

Service = Literal["verify", "tsa"]

# A Redis that does not answer in this long is taken as down (the request goes through).
STORAGE_TIMEOUT_SECONDS = 1.0


class RateLimits:
    """The hub's rate limits and their counts."""

    def __init__(self, settings: Limits) -> None:
        storage = storage_from_string(
            settings.rate_storage_url,
            key_prefix=settings.rate_key_prefix,
            wrap_exceptions=True,
            socket_timeout=STORAGE_TIMEOUT_SECONDS,
            socket_connect_timeout=STORAGE_TIMEOUT_SECONDS,
        )
        assert isinstance(storage, Storage)  # the settings allow only memory:// and redis URLs
        self.storage = storage
        self._window = MovingWindowRateLimiter(self.storage)
        self._services: dict[Service, RateLimitItem | None] = {
            "verify": settings.rate("verify"),
            "tsa": settings.rate("tsa"),
        }
        self._auth_failures = settings.rate("auth_failure")

    def count_call(self, service: Service, caller_key: str) -> None:
        """Count one call of ``service`` by ``caller_key``; RateLimited past the limit."""
        item = self._services[service]
        if item is not None and not self._allowed(lambda: self._window.hit(item, service, caller_key)):
            raise RateLimited(
                f"too many {service} requests; retry later",
                retry_after=self._retry_after(item, service, caller_key),
            )

    def refuse_locked_out(self, address: str) -> None:
        """RateLimited while ``address`` is past its failed authentications."""
        item = self._auth_failures
        if item is not None and not self._allowed(lambda: self._window.test(item, "auth", address)):
            raise RateLimited(
                "too many failed authentications from this address; retry later",
                retry_after=self._retry_after(item, "auth", address),
            )

    def authentication_failed(self, address: str) -> None:
        """Count a refused bearer token from ``address``."""
        item = self._auth_failures
        if item is not None:
            self._allowed(lambda: self._window.hit(item, "auth", address))

    def close(self) -> None:
        """Let go of the storage's connections (Redis); memory counts just go."""
        if isinstance(self.storage, RedisStorage):
            self.storage.storage.close()

    def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        """Whole seconds until one more call fits (at least 1)."""
        try:
            reset = self._window.get_window_stats(item, *identifiers).reset_time
        except StorageError:
            return item.get_expiry()
        return max(1, math.ceil(reset - time.time()))

    def _allowed(self, count: Callable[[], bool]) -> bool:
        try:
            return count()
        except StorageError as e:
            log.error(
                "rate limit storage unavailable (%s): request let through", type(e.storage_error).__name__
            )
            return True
