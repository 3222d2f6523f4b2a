"""Hostile PDFs against a live hub: how long ``POST /api/v1/verify`` takes to answer each, and what
the server does for everyone else meanwhile.

    .venv/bin/python bench/hostile.py [--cases fields-2000,fields-5000,million] [--timeout 300]
                                      [--code-dir DIR] [--workers 1]

One fresh ``hub serve`` (SQLite, local blobs, a temporary data directory, ``--workers`` processes).
First, the cost of a PDF worker on an honest file: a certificate the hub issued, its seal validated
``--n`` times in this process and ``--n`` times in a PDF worker built as the hub builds them
(``certificates.untrusted_pdf.seal_report`` both ways, alternating), and a bare round trip of the
file. Then, for ``--quiet`` seconds, the baseline: one client issuing certificates back to back (rendered
and sealed at the configured level) and one asking ``/healthz`` every 100 ms. Then, per case, the
same two clients run while a third posts the hostile file to ``/verify`` once and waits (at most
``--timeout`` seconds) for the answer: the answer and its time, issuance per second and the
``/healthz`` latency (p50, max) while it was pending.

``--code-dir`` runs the server from another copy of the code, for a before/after on one machine:
``mkdir /tmp/base && git archive <commit> | tar -x -C /tmp/base`` (the same virtualenv).
A case that gets no answer within ``--timeout`` leaves the server busy: the million-object case
runs last, and the server is killed at the end. Times are wall clock on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import hostile  # noqa: E402  (after the path: the corpus builders)
from tests.live import HubServer  # noqa: E402

CASES: dict[str, Callable[[], bytes]] = {
    "fields-2000": lambda: hostile.fields_in_one_object_stream(2000),
    "fields-5000": lambda: hostile.fields_in_one_object_stream(5000),
    "looping-prev": hostile.looping_prev,
    "inflation-bomb": hostile.inflation_bomb,
    "objstm-bomb": hostile.object_stream_bomb,
    "million": lambda: hostile.fields_in_one_object_stream(1_000_000, fields_packed=True),
}


class Background:
    """Issuance back to back from one client, and /healthz every 100 ms from another, until stopped."""

    def __init__(self, hub: HubServer, issuer: Any) -> None:
        self.hub, self.issuer = hub, issuer
        self.issued = 0
        self.failed = 0
        self.health_ms: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._issue), threading.Thread(target=self._health)]

    def __enter__(self) -> Background:
        self.started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.elapsed = time.perf_counter() - self.started

    def _issue(self) -> None:
        with self.hub.client(self.issuer.token, timeout=600) as http:
            while not self._stop.is_set():
                r = http.post("/api/v1/certificates", json=self.issuer.body())
                if r.status_code == 201:
                    self.issued += 1
                else:
                    self.failed += 1

    def _health(self) -> None:
        with self.hub.client(timeout=600) as http:
            while not self._stop.wait(0.1):
                t = time.perf_counter()
                http.get("/healthz")
                self.health_ms.append((time.perf_counter() - t) * 1000)

    def figures(self) -> str:
        health = sorted(self.health_ms) or [float("nan")]
        rate = self.issued / self.elapsed
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (
            f"{rate:.1f}/s{failed} | {statistics.median(health):.0f} ms | {health[-1]:.0f} ms"
            f" | {len(self.health_ms)}"
        )


def worker_cost(pdf: bytes, trust: dict[str, Any], n: int) -> str:
    """p50 of validating ``pdf`` in this process and in a PDF worker, and of the round trip alone."""
    from asn1crypto import pem

    from certificates.untrusted_pdf import TrustAnchors, seal_report
    from hub.pdf_checks import build_pdf_workers
    from hub.settings import Limits

    def der(text: str) -> bytes:
        return bytes(pem.unarmor(text.encode())[2])

    anchors = TrustAnchors(
        tuple(der(c) for c in trust["roots"]), tuple(der(c) for c in trust["intermediates"])
    )
    workers = build_pdf_workers(Limits(pdf_check_workers=1))
    try:
        if not (seal_report(pdf, anchors, {}).passed and workers.call(seal_report, pdf, anchors, {}).passed):
            raise SystemExit("the issued certificate does not validate")
        here, there, trip = [], [], []
        for _ in range(n):
            t = time.perf_counter()
            seal_report(pdf, anchors, {})
            here.append(time.perf_counter() - t)
            t = time.perf_counter()
            workers.call(seal_report, pdf, anchors, {})
            there.append(time.perf_counter() - t)
            t = time.perf_counter()
            workers.call(len, pdf)
            trip.append(time.perf_counter() - t)
    finally:
        workers.close()
    ms = [statistics.median(v) * 1000 for v in (here, there, trip)]
    return (
        f"seal validation of a {len(pdf):,}-byte certificate, p50 of {n}: {ms[0]:.1f} ms in this process,"
        f" {ms[1]:.1f} ms in a PDF worker (+{ms[1] - ms[0]:.1f} ms); the file's round trip alone"
        f" {ms[2]:.2f} ms"
    )


def attack(hub: HubServer, data: bytes, timeout: float) -> tuple[str, float]:
    """POST ``data`` to /verify; the answer in a few words, and its wall time."""
    t = time.perf_counter()
    try:
        with hub.client(timeout=timeout) as http:
            r = http.post("/api/v1/verify", files={"file": ("x.pdf", data, "application/pdf")})
    except httpx.TimeoutException:
        return f"no answer within {timeout:g} s", time.perf_counter() - t
    elapsed = time.perf_counter() - t
    body = r.json()
    said = body.get("code") or f"{body.get('result')}: {' / '.join(body.get('problems', []))[:60]}"
    return f"{r.status_code} {said}", elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", default="fields-2000,fields-5000,looping-prev,objstm-bomb,million")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each answer")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds of baseline before the cases")
    parser.add_argument("--code-dir", type=Path, help="serve from this copy of the code")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--n", type=int, default=100, help="validations each way for the worker's cost")
    args = parser.parse_args()
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; known: {', '.join(CASES)}")

    env: dict[str, str] = {}
    code = "this worktree"
    if args.code_dir is not None:
        env["PYTHONPATH"] = str(args.code_dir.resolve())
        code = str(args.code_dir)
    print(
        f"# bench/hostile.py — {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.python_version()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; code: {code}; workers={args.workers}\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="hub-bench-hostile-") as tmp:
        hub = HubServer(
            data_dir=Path(tmp) / "data",
            env_overrides=env,
            name="bench",
            serve_args=["--workers", str(args.workers)],
        )
        try:
            hub.start()
            issuer = hub.setup_issuer()
            with hub.client(issuer.token) as http:  # warm-up: the first seal, the PDF workers
                issued = http.post("/api/v1/certificates", json=issuer.body()).json()
                http.post("/api/v1/verify", files={"file": ("p.pdf", hostile.plain(), "application/pdf")})
                pdf = http.get(issued["links"]["file"]).content
                trust = http.get("/api/v1/trust").json()
            if args.code_dir is None:  # the workers of this code
                print(worker_cost(pdf, trust, args.n) + "\n", flush=True)
            print("| case | size | answer | answer time | issuance meanwhile | /healthz p50 | max | probes |")
            print("|---|---:|---|---:|---:|---:|---:|---:|")
            with Background(hub, issuer) as quiet:
                time.sleep(args.quiet)
            print(f"| (none: {args.quiet:g} s of baseline) | | | | {quiet.figures()} |", flush=True)
            for case in cases:
                data = CASES[case]()
                with Background(hub, issuer) as during:
                    answer, elapsed = attack(hub, data, args.timeout)
                print(
                    f"| {case} | {len(data):,} B | {answer} | {elapsed:.1f} s | {during.figures()} |",
                    flush=True,
                )
        finally:
            hub.kill()


if __name__ == "__main__":
    main()
