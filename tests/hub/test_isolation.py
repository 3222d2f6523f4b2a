"""Warm child processes for untrusted input (hub/isolation.py): answers and errors come back, and a
call past its wall time, CPU time or memory is stopped and its child replaced."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.isolation import NICENESS, Bounds, IsolatedPool, LimitExceeded, PoolBusy
from kernel.errors import ValidationFailed

MiB = 1024 * 1024
BOUNDS = Bounds(seconds=10, memory_bytes=512 * MiB)


def refuse(field: str) -> None:
    raise ValidationFailed("refused in the child", field=field, code="refused")


def allocate(size: int) -> int:
    return len(bytearray(size))


def spin() -> None:
    while True:
        pass


def _alive(pid: int) -> bool:
    """Running, or dead and not reaped (a zombie): the pool joins every child it stops."""
    return Path(f"/proc/{pid}").exists()


@pytest.fixture
def pool_factory() -> Iterator[list[IsolatedPool]]:
    """Pools built by a test, closed at its end — and checked to leave no process behind."""
    pools: list[IsolatedPool] = []
    yield pools
    pids = [pid for pool in pools for pid in pool.pids()]
    for pool in pools:
        pool.close()
    assert not [pid for pid in pids if _alive(pid)]


def make(pools: list[IsolatedPool], bounds: Bounds = BOUNDS, size: int = 1) -> IsolatedPool:
    pool = IsolatedPool(size, bounds)
    pools.append(pool)
    return pool


def test_a_call_runs_in_a_child_and_returns_its_answer(pool_factory: list[IsolatedPool]) -> None:
    pool = make(pool_factory)
    pid = pool.call(os.getpid)
    assert pid != os.getpid() and pool.pids() == [pid]
    assert pool.call(os.getpid) == pid  # the same warm child serves the next call


def test_children_run_below_the_servers_priority(pool_factory: list[IsolatedPool]) -> None:
    pool = make(pool_factory)
    assert pool.call(os.nice, 0) == min(19, os.nice(0) + NICENESS)


def test_an_error_raised_in_the_child_reaches_the_caller_and_the_child_stays(
    pool_factory: list[IsolatedPool],
) -> None:
    pool = make(pool_factory)
    pid = pool.call(os.getpid)
    with pytest.raises(ValidationFailed) as caught:
        pool.call(refuse, "file")
    assert (caught.value.code, caught.value.field) == ("refused", "file")
    assert pool.call(os.getpid) == pid


def test_a_call_past_its_wall_time_is_stopped_and_its_child_replaced(
    pool_factory: list[IsolatedPool],
) -> None:
    pool = make(pool_factory, Bounds(seconds=1, memory_bytes=512 * MiB))
    pid = pool.call(os.getpid)
    with pytest.raises(LimitExceeded) as caught:
        pool.call(time.sleep, 600)
    assert caught.value.reason == "time"
    assert not _alive(pid)
    replacement = pool.call(os.getpid)
    assert replacement != pid and pool.pids() == [replacement]


def test_a_call_past_its_cpu_time_is_stopped_by_the_kernel(pool_factory: list[IsolatedPool]) -> None:
    """The CPU limit holds even when the parent would wait much longer."""
    pool = make(pool_factory, Bounds(seconds=30, memory_bytes=512 * MiB, cpu_seconds=1))
    pool.call(os.getpid)  # started and warm: its imports do not count against the call
    with pytest.raises(LimitExceeded) as caught:
        pool.call(spin)
    assert caught.value.reason == "cpu"
    assert pool.call(allocate, 10) == 10  # a new child


def test_a_call_past_its_memory_is_stopped(pool_factory: list[IsolatedPool]) -> None:
    pool = make(pool_factory, Bounds(seconds=60, memory_bytes=512 * MiB))
    assert pool.call(allocate, 64 * MiB) == 64 * MiB
    with pytest.raises(LimitExceeded) as caught:
        pool.call(allocate, 1024 * MiB)
    assert caught.value.reason == "memory"
    assert pool.call(allocate, 64 * MiB) == 64 * MiB  # a new child


def test_a_call_waits_for_a_free_child_at_most_its_wall_time(pool_factory: list[IsolatedPool]) -> None:
    pool = make(pool_factory, Bounds(seconds=1, memory_bytes=512 * MiB))
    pool.start()
    held = pool._idle.get()  # the one child, taken as a running call would
    try:
        with pytest.raises(PoolBusy):
            pool.call(os.getpid)
    finally:
        pool._idle.put(held)
    assert pool.call(os.getpid) == held.process.pid


def test_closing_the_pool_stops_its_children(pool_factory: list[IsolatedPool]) -> None:
    pool = make(pool_factory, size=2)
    pool.start()
    pids = pool.pids()
    assert len(pids) == 2
    pool.close()
    assert not [pid for pid in pids if _alive(pid)]
    with pytest.raises(RuntimeError):
        pool.call(os.getpid)
