"""How much does serving an audit proof cost as the log grows?

Fills a fresh database (migrated like production) with N audit entries through the hub's own append
path, then times ``GET /api/v1/audit/proof/inclusion`` and ``/proof/consistency``'s work — the
functions behind them — against the plain alternative: reading every leaf hash up to the size and
running the RFC 9162 recursion over them (what the hub did before it stored its complete subtrees).

    .venv/bin/python -m bench.audit_proofs --entries 100000                    # SQLite in a temp dir
    .venv/bin/python -m bench.audit_proofs --entries 100000 --url postgresql://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.checkpoints import consistency, inclusion
from audit.log import Event, append_pending, record
from audit.merkle import consistency_proof, inclusion_proof
from audit.models import AuditEvent
from bench.databases import fresh_database


def fill(engine, entries: int) -> None:  # type: ignore[no-untyped-def]
    done = 0
    while done < entries:
        with Session(engine) as session:
            batch = min(5000, entries - done)
            for i in range(batch):
                record(session, Event(action="bench.entry", actor="bench", details={"i": done + i}))
            append_pending(session)
            session.commit()
            done += batch


def leaves(session: Session, size: int) -> list[bytes]:
    query = select(AuditEvent.leaf_hash).where(AuditEvent.seq <= size).order_by(AuditEvent.seq)
    return [bytes.fromhex(h) for h in session.scalars(query)]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def describe(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<34} p50 {statistics.median(times):9.2f} ms  p99 {p99:9.2f} ms  max {max(times):9.2f} ms"
        f"  ({len(times)} runs, {len(times) / (sum(times) / 1000):8.1f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--url", default=None, help="a PostgreSQL server; default: SQLite in a temp dir")
    args = parser.parse_args()
    rng = random.Random(9162)
    with fresh_database(args.url) as engine:
        start = time.perf_counter()
        fill(engine, args.entries)
        print(
            f"{args.entries} entries appended in {time.perf_counter() - start:.1f} s ({engine.dialect.name})"
        )
        n = args.entries
        with Session(engine) as session:
            baseline_runs = max(3, args.runs // 20)
            print(
                describe(
                    "inclusion, stored nodes",
                    timed(lambda: inclusion(session, rng.randint(1, n), n), args.runs),
                )
            )
            print(
                describe(
                    "inclusion, every leaf (before)",
                    timed(lambda: inclusion_proof(rng.randrange(n), leaves(session, n)), baseline_runs),
                )
            )
            print(
                describe(
                    "consistency, stored nodes",
                    timed(lambda: consistency(session, rng.randint(1, n), n), args.runs),
                )
            )
            print(
                describe(
                    "consistency, every leaf (before)",
                    timed(lambda: consistency_proof(rng.randint(1, n), leaves(session, n)), baseline_runs),
                )
            )


if __name__ == "__main__":
    main()
