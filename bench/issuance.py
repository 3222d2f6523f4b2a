"""Issuance throughput over HTTP against a real ``hub serve`` (SQLite, fresh data dir, local blobs).

    .venv/bin/python bench/issuance.py [--singles N] [--batches B] [--batch-size S] [--threads T]
                                       [--levels B-LT,B-B] [--database-url URL] [--workers W]

For each PAdES level (``HUB_SIGNING__LEVEL``) it starts a hub on a free loopback port, registers a
department, a certificate type and a token with the CLI, warms up, then measures:

* single: N sequential ``POST /api/v1/certificates`` from one keep-alive client;
* parallel single: N more from T threads at once (one server process: the GIL and the issuer's
  serial lock bound it);
* batch: B sequential ``POST /api/v1/certificates/batch`` of S items each.

Every certificate is rendered by the hub (reportlab), sealed (pyHanko) and written durably (fsync).
Figures are wall-clock on the client side: ms per certificate and certificates per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live import HubServer, Issuer

WARMUP = 5


def _timed(label: str, count: int, work: object) -> tuple[str, int, float]:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return label, count, time.perf_counter() - started


def _singles(hub: HubServer, issuer: Issuer, count: int) -> None:
    with hub.client(issuer.token) as http:
        for _ in range(count):
            r = http.post("/api/v1/certificates", json=issuer.body())
            if r.status_code != 201:
                raise SystemExit(f"issuance failed: {r.status_code} {r.text[:500]}")


def _parallel_singles(hub: HubServer, issuer: Issuer, count: int, threads: int) -> None:
    with hub.client(issuer.token) as http, ThreadPoolExecutor(threads) as pool:
        answers = list(
            pool.map(lambda _: http.post("/api/v1/certificates", json=issuer.body()), range(count))
        )
    bad = [r for r in answers if r.status_code != 201]
    if bad:
        raise SystemExit(f"issuance failed: {bad[0].status_code} {bad[0].text[:500]}")


def _batches(hub: HubServer, issuer: Issuer, batches: int, size: int) -> None:
    with hub.client(issuer.token, timeout=600) as http:
        for _ in range(batches):
            r = http.post("/api/v1/certificates/batch", json={"items": [issuer.body() for _ in range(size)]})
            if r.status_code != 200 or {x["status"] for x in r.json()["results"]} != {201}:
                raise SystemExit(f"batch failed: {r.status_code} {r.text[:500]}")


def run_level(level: str, args: argparse.Namespace) -> list[tuple[str, int, float]]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        hub = HubServer(
            data_dir=Path(tmp) / "data",
            database_url=args.database_url,
            env_overrides={"HUB_SIGNING__LEVEL": level},
            name="bench",
            serve_args=["--workers", str(args.workers)],
        )
        try:
            started = time.perf_counter()
            hub.start()
            startup = time.perf_counter() - started
            issuer = hub.setup_issuer()
            _singles(hub, issuer, WARMUP)
            rows = [
                _timed("single", args.singles, lambda: _singles(hub, issuer, args.singles)),
                _timed(
                    f"parallel single ({args.threads} threads)",
                    args.singles,
                    lambda: _parallel_singles(hub, issuer, args.singles, args.threads),
                ),
                _timed(
                    f"batch ({args.batches} x {args.batch_size})",
                    args.batches * args.batch_size,
                    lambda: _batches(hub, issuer, args.batches, args.batch_size),
                ),
            ]
            print(
                f"  {level}: hub started in {startup:.1f} s (fresh data dir: migrations, CA, keys)",
                flush=True,
            )
            return rows
        finally:
            hub.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--levels", default="B-LT,B-B")
    parser.add_argument(
        "--database-url", default=None, help="an empty database (default: SQLite in the data dir)"
    )
    parser.add_argument("--workers", type=int, default=1, help="hub serve --workers")
    args = parser.parse_args()

    print(
        f"hub issuance over HTTP — {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite, local blobs",
        flush=True,
    )
    results: dict[str, list[tuple[str, int, float]]] = {}
    for level in [part.strip() for part in args.levels.split(",") if part.strip()]:
        results[level] = run_level(level, args)

    print()
    print("| level | mode | certificates | total s | ms / certificate | certificates / s |")
    print("|---|---|---:|---:|---:|---:|")
    for level, rows in results.items():
        for label, count, seconds in rows:
            print(
                f"| {level} | {label} | {count} | {seconds:.1f} | {seconds * 1000 / count:.1f} | "
                f"{count / seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
