"""Work on untrusted input in warm child processes, each call bounded in wall time, CPU and memory.

A PDF a stranger uploads can make a parser spend minutes or gigabytes (docs/signing.md,
"Untrusted PDFs"): no pre-check knows every slow path of pyHanko and pypdf. So the hub reads such
files in child processes it can afford to lose:

* each child caps its own address space (``RLIMIT_AS``) when it starts, and before each call its CPU
  time (``RLIMIT_CPU``: the kernel stops it past the budget even if the parent is stuck);
* the parent waits for an answer at most ``seconds``, then kills the child and starts another;
* children are started ahead of need and reused, so a call costs a pipe round trip, not a start.

A call that does not finish within its bounds raises ``LimitExceeded``; one that waited ``seconds``
for a free child raises ``PoolBusy``. The bound is on resources, not privileges: a child runs as
the hub's user with the hub's files in reach — it contains a parser's appetite, not an exploit.
Arguments and results travel pickled; the function must be importable by the child.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import multiprocessing
import os
import queue
import resource
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal, TypeVar

__all__ = ["Bounds", "IsolatedPool", "LimitExceeded", "PoolBusy"]

R = TypeVar("R")
Reason = Literal["time", "cpu", "memory", "crashed"]

# A child imports its modules before it answers its first call: generous, since a busy machine
# (the whole point of this module) slows imports down too.
START_TIMEOUT_SECONDS = 120.0
# Children run below the server's priority: on a busy machine the server's own work (issuance, the
# answers of every other request) goes first, and a hostile file gets what is left, up to its bound.
NICENESS = 10


@dataclass(frozen=True)
class Bounds:
    """What one call may use: ``seconds`` of wall time, ``cpu_seconds`` of CPU (default: as many),
    ``memory_bytes`` of address space for the whole child (its interpreter and imports take ~100 MiB)."""

    seconds: float
    memory_bytes: int
    cpu_seconds: float | None = None

    @property
    def cpu(self) -> float:
        return self.seconds if self.cpu_seconds is None else self.cpu_seconds


class LimitExceeded(Exception):
    """The call did not finish within its bounds; the child that ran it is gone."""

    def __init__(self, reason: Reason, bounds: Bounds) -> None:
        super().__init__(f"{reason} limit exceeded")
        self.reason = reason
        self.bounds = bounds


class PoolBusy(Exception):
    """No child became free within the call's wall time."""


def _serve(conn: Connection, memory_bytes: int, preload: Sequence[str]) -> None:
    """A child's life: import, cap memory, then run calls until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on `hub serve` is the parent's to handle
    os.nice(NICENESS)
    for module in preload:
        importlib.import_module(module)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a child stopped at its limits leaves no core file
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    conn.send("ready")
    while True:
        try:
            fn, args, seconds = conn.recv()
        except EOFError:  # the parent closed the pipe, or died
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        budget = math.ceil(used.ru_utime + used.ru_stime + seconds)
        if cpu_hard != resource.RLIM_INFINITY:
            budget = min(budget, cpu_hard)
        # Past the soft limit the kernel sends SIGXCPU, whose default action ends the process.
        resource.setrlimit(resource.RLIMIT_CPU, (budget, cpu_hard))
        try:
            answer: tuple[str, Any] = ("ok", fn(*args))
        except MemoryError:
            answer = ("memory", None)
        except Exception as exc:
            answer = ("raised", exc)
        try:
            conn.send(answer)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send(("raised", RuntimeError(f"unpicklable answer: {type(exc).__name__}")))
        if answer[0] == "memory":
            return  # a heap that ran out is not worth keeping


class _Child:
    def __init__(self, context: Any, memory_bytes: int, preload: Sequence[str]) -> None:
        self.conn, theirs = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(theirs, memory_bytes, tuple(preload)), name="hub-untrusted", daemon=True
        )
        self.process.start()
        theirs.close()
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(START_TIMEOUT_SECONDS):
            raise RuntimeError("an isolated worker did not start in time")
        if self.conn.recv() != "ready":
            raise RuntimeError("an isolated worker started badly")
        self.ready = True

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class IsolatedPool:
    """``size`` warm children; ``call(fn, *args)`` runs ``fn(*args)`` in one of them within ``bounds``.

    Children start on ``start()`` or the first call, each importing ``preload`` first. Thread-safe:
    up to ``size`` calls run at once, others wait (at most ``bounds.seconds``) for a free child."""

    def __init__(self, size: int, bounds: Bounds, *, preload: Sequence[str] = ()) -> None:
        if size < 1:
            raise ValueError("an isolated pool needs at least one worker")
        self.size, self.bounds, self.preload = size, bounds, tuple(preload)
        # spawn: a fresh interpreter, never a fork of a threaded server mid-request
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False

    def start(self) -> None:
        """Start the children now (they import in the background); idempotent."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the isolated pool is closed")
            if self._started:
                return
            self._started = True
            for _ in range(self.size):
                self._idle.put(self._new_child())

    def pids(self) -> list[int]:
        """The process ids of the live children (tests and benchmarks watch them)."""
        with self._lock:
            return [c.process.pid for c in self._children if c.process.pid is not None]

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in a child. Raises what ``fn`` raised, ``LimitExceeded`` or ``PoolBusy``."""
        self.start()
        try:
            child = self._idle.get(timeout=self.bounds.seconds)
        except queue.Empty:
            raise PoolBusy("every isolated worker is busy") from None
        healthy = False
        try:
            child.wait_ready()
            status, value = self._run(child, fn, args)
            healthy = True
        finally:
            self._release(child, healthy)
        if status == "raised":
            raise value
        return value  # type: ignore[no-any-return]

    def _run(self, child: _Child, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
        child.conn.send((fn, args, self.bounds.cpu))
        if not child.conn.poll(self.bounds.seconds):
            raise LimitExceeded("time", self.bounds)
        try:
            status, value = child.conn.recv()
        except (EOFError, OSError):  # the child died: the kernel's CPU limit, the OOM killer, a crash
            child.process.join()
            cpu = child.process.exitcode == -signal.SIGXCPU
            raise LimitExceeded("cpu" if cpu else "crashed", self.bounds) from None
        if status == "memory":
            raise LimitExceeded("memory", self.bounds)
        return status, value

    def _new_child(self) -> _Child:
        child = _Child(self._context, self.bounds.memory_bytes, self.preload)
        self._children.add(child)
        return child

    def _release(self, child: _Child, healthy: bool) -> None:
        with self._lock:
            if healthy and not self._closed:
                self._idle.put(child)
                return
            self._children.discard(child)
            replacement = None if self._closed else self._new_child()
        child.kill()
        if replacement is not None:
            self._idle.put(replacement)

    def close(self) -> None:
        """Stop every child (a call still running gets ``LimitExceeded`` or an error); idempotent."""
        with self._lock:
            self._closed = True
            children = list(self._children)
            self._children.clear()
        for child in children:
            with contextlib.suppress(Exception):
                child.kill()
