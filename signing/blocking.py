"""``blocking``: the synchronous twin of one of the library's coroutine functions."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

__all__ = ["blocking"]

P = ParamSpec("P")
R = TypeVar("R")


def blocking(coroutine_function: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """``coroutine_function`` run to completion in a new event loop; ``async_x`` becomes ``x``."""

    # One signature, written once: the twin takes exactly the coroutine function's arguments.
    @functools.wraps(coroutine_function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(coroutine_function(*args, **kwargs))

    run.__name__ = run.__name__.removeprefix("async_")
    run.__qualname__ = run.__qualname__.replace(".async_", ".").removeprefix("async_")
    return run
