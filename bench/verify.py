"""Verification over the real HTTP API against pyHanko's bare validation, QR verification, and memory.

    .venv/bin/python bench/verify.py [--n 300] [--workers 1] [--clients 4] [--certs 10]
                                     [--qr-n 20000] [--upload-mb 20] [--burst 200] [--level B-LT]

One run, one fresh ``hub serve`` (SQLite, local blobs, a temporary data directory):

1. a department issues ``--certs`` sealed certificates through ``POST /api/v1/certificates`` (the
   configured level, B-LT by default) and fetches their files; ``GET /api/v1/trust`` gives the roots.
2. **bare**: pyHanko's own ``validate_pdf_signature`` over the same files in a loop, with the hub's
   root and issuing CA as trust roots and no fetching — in a child process that imports nothing of
   the hub (pyHanko as anyone would run it), and once more in this process after importing
   ``signing`` (pyHanko with the hub's library fixes: ``signing/asn1_fix.py``,
   ``signing/pdf_hexstring_fix.py``), so both ratios can be read.
3. **API**: ``POST /api/v1/verify`` with the same files (multipart), ``--n`` calls from one
   keep-alive client, then ``--n`` calls from ``--clients`` clients at once; every answer must be
   ``valid``. Wall-clock p50 / p99 / max per call, requests/s, and the server's CPU per call
   (``/proc/<pid>/stat``), against the bare loop's.
4. **QR**: the QR text is read off the first certificate's page (pdftoppm + zxing-cpp, the way a
   phone reads it; the hub's own signer when those are missing) and checked ``--qr-n`` times with
   ``signing.qr.verify.decode_and_verify`` — the function ``/verify/qr`` and ``hub verify --qr`` use
   — in one thread: verifications per second per core. ``POST /verify/qr`` sequentially for reference.
5. **memory**: every server process's RSS is sampled every 20 ms (``/proc/<pid>/status``) and its
   peak (VmHWM) read at the end: peak during the verification phase, during an issuance burst of
   ``--burst`` certificates (batches of 50 from two clients), and the RSS growth while a
   ``--upload-mb`` MB PDF is posted to ``/verify`` and, as base64, to ``POST /api/v1/certificates``
   (the endpoint that takes a department's own PDF).

Times are wall clock on a shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the bare loop (child process: pyHanko and asn1crypto only) ------------------------------------


def bare_loop(directory: Path, n: int) -> dict[str, Any]:
    """pyHanko's validate_pdf_signature over the PDFs in ``directory``, ``n`` times round robin."""
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    trust = json.loads((directory / "trust.json").read_text())

    def load(text: str) -> x509.Certificate:
        return x509.Certificate.load(pem.unarmor(text.encode())[2])

    roots = [load(p) for p in trust["roots"]]
    intermediates = [load(p) for p in trust["intermediates"]]
    pdfs = [p.read_bytes() for p in sorted(directory.glob("*.pdf"))]

    def one(pdf: bytes) -> bool:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        context = ValidationContext(
            trust_roots=roots, other_certs=intermediates, allow_fetching=False, revocation_mode="soft-fail"
        )
        status = validate_pdf_signature(reader.embedded_signatures[0], signer_validation_context=context)
        return bool(status.bottom_line)

    for pdf in pdfs:  # warm-up: imports, first parse
        if not one(pdf):
            raise SystemExit("bare pyHanko validation did not pass")
    wall, cpu = [], []
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        one(pdfs[i % len(pdfs)])
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"wall_ms": wall, "cpu_ms": cpu}


# -- the server's processes: CPU and memory ------------------------------------------------------


def group_pids(pgid: int) -> list[int]:
    """The processes of the server's process group (``hub serve`` and its uvicorn workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, …
            pids.append(int(entry))
    return sorted(pids)


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return total


class RssSampler:
    """Per-phase peak RSS of the server processes.

    Linux resets a process's peak RSS (VmHWM) when 5 is written to ``/proc/<pid>/clear_refs``, so
    a phase's peak is exact: reset at its start, VmHWM at its end. Where that is refused, a thread
    samples VmRSS every 10 ms instead (it can miss a short spike)."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.exact = True
        self._peaks: dict[int, int] = {}
        self._pids: list[int] = []
        self._sampling = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            if self._sampling.is_set():
                for pid in self._pids:
                    self._peaks[pid] = max(self._peaks.get(pid, 0), status_kib(pid, "VmRSS"))

    @contextmanager
    def phase(self, pgid: int | None = None) -> Iterator[dict[str, dict[int, int]]]:
        """Yields a dict filled on exit: ``before`` (RSS per pid), ``peak`` and ``after``."""
        self.pgid = pgid or self.pgid
        self._pids = group_pids(self.pgid)
        out: dict[str, dict[int, int]] = {"before": {p: status_kib(p, "VmRSS") for p in self._pids}}
        for pid in self._pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                self.exact = False
        self._peaks = dict(out["before"])
        if not self.exact:
            self._sampling.set()
        try:
            yield out
        finally:
            self._sampling.clear()
            out["after"] = {p: status_kib(p, "VmRSS") for p in self._pids}
            if self.exact:
                out["peak"] = {p: status_kib(p, "VmHWM") for p in self._pids}
            else:
                out["peak"] = {p: max(self._peaks.get(p, 0), out["after"][p]) for p in self._pids}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


# -- figures -------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def row(label: str, wall: list[float], per_second: float, cpu_per_call: float | None, base: float) -> str:
    p50 = statistics.median(wall)
    cpu = f"{cpu_per_call:.1f} ms" if cpu_per_call is not None else "—"
    return (
        f"| {label} | {p50:.1f} ms | {pct(wall, 0.99):.1f} ms | {max(wall):.1f} ms | {per_second:.1f}/s"
        f" | {cpu} | {p50 / base:.2f}× |"
    )


# -- the run ---------------------------------------------------------------------------------------


def issue_certificates(
    hub: Any, issuer: Any, count: int, directory: Path, *, quiet: bool = False
) -> list[bytes]:
    directory.mkdir(exist_ok=True)
    pdfs = []
    with hub.client(issuer.token) as http:
        for i in range(count):
            r = http.post("/api/v1/certificates", json=issuer.body())
            if r.status_code != 201:
                raise SystemExit(f"issuance failed: {r.status_code} {r.text[:300]}")
            cert = r.json()
            pdf = http.get(cert["links"]["file"]).content
            (directory / f"{i:03d}.pdf").write_bytes(pdf)
            pdfs.append(pdf)
        level = cert["signature_level"]
    if not quiet:
        print(f"issued {count} certificates at {level}, {len(pdfs[0]):,} bytes each", flush=True)
    return pdfs


def verify_calls(hub: Any, pdfs: list[bytes], n: int, clients: int) -> tuple[list[float], float]:
    """``n`` POST /verify over ``clients`` keep-alive clients; latencies (ms) and requests/s."""
    per_client = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]

    def run(index: int) -> list[float]:
        times = []
        with hub.client() as http:
            for j in range(per_client[index]):
                pdf = pdfs[(index * 7 + j) % len(pdfs)]
                t = time.perf_counter()
                r = http.post("/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")})
                times.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200 or r.json()["result"] != "valid":
                    raise SystemExit(f"verification failed: {r.status_code} {r.text[:300]}")
        return times

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(run, range(clients)))
    elapsed = time.perf_counter() - started
    return [t for ts in results for t in ts], n / elapsed


def scan_qr(pdf: bytes, tmp: Path) -> str | None:
    """The QR text as a phone reads it off the page, or None without pdftoppm / zxing-cpp."""
    try:
        import zxingcpp
        from PIL import Image
    except ImportError:
        return None
    if shutil.which("pdftoppm") is None:
        return None
    (tmp / "qr.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp / "qr.pdf"), str(tmp / "qr")], check=True
    )
    found = [b.text for b in zxingcpp.read_barcodes(Image.open(tmp / "qr.png"))]
    return found[0] if found else None


def qr_figures(text: str, trust_json: dict[str, Any], n: int) -> dict[str, float]:
    from signing.qr.verify import decode_and_verify
    from signing.trust import TrustList

    trust = TrustList.from_api(trust_json)
    now = dt.datetime.now(dt.UTC)
    first = decode_and_verify(text, trust, now)
    if not first.valid:
        raise SystemExit(f"the QR code does not verify: {first.problems}")
    for _ in range(200):
        decode_and_verify(text, trust, now)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        decode_and_verify(text, trust, now)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"per_second_wall": n / wall, "per_second_cpu": n / cpu, "us_per_call": wall / n * 1e6}


def big_pdf(size: int) -> bytes:
    """A PDF-looking file of ``size`` bytes (a header and incompressible filler)."""
    head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)) + tail


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--n", type=int, default=300, help="API calls per mode, and bare validations")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--certs", type=int, default=10, help="distinct certificates, verified round robin")
    parser.add_argument("--qr-n", type=int, default=20000)
    parser.add_argument("--upload-mb", type=int, default=20)
    parser.add_argument("--max-pdf-mb", type=int, default=10, help="the hub's HUB_LIMITS__MAX_PDF_BYTES")
    parser.add_argument("--burst", type=int, default=200, help="certificates in the issuance burst")
    parser.add_argument("--level", default=None, help="HUB_SIGNING__LEVEL (default: the hub's, B-LT)")
    parser.add_argument("--bare-loop", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.bare_loop is not None:
        print(json.dumps(bare_loop(args.bare_loop, args.n)))
        return

    from tests.live import HubServer

    print(
        f"# bench/verify.py — {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.python_version()}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; n={args.n} workers={args.workers} "
        f"clients={args.clients} certs={args.certs}",
        flush=True,
    )
    # The benchmark is the only caller and calls far past HUB_LIMITS__VERIFY_RATE: limits off.
    env = {"HUB_LIMITS__MAX_PDF_BYTES": str(args.max_pdf_mb * 1024 * 1024), "HUB_LIMITS__VERIFY_RATE": "0"}
    if args.level:
        env["HUB_SIGNING__LEVEL"] = args.level
    with tempfile.TemporaryDirectory(prefix="hub-bench-verify-") as tmp_name:
        tmp = Path(tmp_name)
        files = tmp / "files"
        files.mkdir()
        hub = HubServer(
            data_dir=tmp / "data",
            env_overrides=env,
            name="bench",
            serve_args=["--workers", str(args.workers)],
        )
        sampler: RssSampler | None = None
        try:
            hub.start()
            assert hub.process is not None
            pgid = hub.process.pid
            sampler = RssSampler(pgid)
            issuer = hub.setup_issuer()
            pdfs = issue_certificates(hub, issuer, args.certs, files)
            with hub.client() as http:
                trust_json = http.get("/api/v1/trust").json()
            (files / "trust.json").write_text(json.dumps(trust_json))
            report(hub, issuer, pdfs, files, trust_json, sampler, args, pgid)
        finally:
            if sampler is not None:
                sampler.stop()
            hub.kill()


def report(
    hub: Any,
    issuer: Any,
    pdfs: list[bytes],
    files: Path,
    trust_json: dict[str, Any],
    sampler: RssSampler,
    args: argparse.Namespace,
    pgid: int,
) -> None:
    startup_hwm = {pid: status_kib(pid, "VmHWM") for pid in group_pids(pgid)}
    # (a) the bare loop: pyHanko alone in a child process, then with the hub's library fixes here.
    child = subprocess.run(
        [sys.executable, __file__, "--bare-loop", str(files), "--n", str(args.n)],
        capture_output=True,
        text=True,
        check=True,
    )
    bare = json.loads(child.stdout)
    import signing  # noqa: F401  (the hub's asn1crypto and pyHanko fixes, applied at import)

    patched = bare_loop(files, args.n)

    # (b) the API, sequentially and with concurrent clients; the server's CPU per call.
    verify_calls(hub, pdfs, 20, 1)  # warm-up
    pids = group_pids(pgid)
    with sampler.phase() as verify_rss:
        cpu0 = cpu_seconds(pids)
        seq, seq_rate = verify_calls(hub, pdfs, args.n, 1)
        cpu1 = cpu_seconds(pids)
        par, par_rate = verify_calls(hub, pdfs, args.n, args.clients)
        cpu2 = cpu_seconds(pids)
    seq_cpu = (cpu1 - cpu0) / args.n * 1000
    par_cpu = (cpu2 - cpu1) / args.n * 1000

    bare_p50 = statistics.median(bare["wall_ms"])
    bare_rate = 1000 / statistics.mean(bare["wall_ms"])
    patched_rate = 1000 / statistics.mean(patched["wall_ms"])
    print(f"\n## Verification of a sealed PDF ({len(pdfs)} distinct files, round robin)\n")
    print("| call | p50 | p99 | max | throughput | CPU per call | × bare p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(
        row(
            "bare pyHanko `validate_pdf_signature` (child process, pyHanko as released)",
            bare["wall_ms"],
            bare_rate,
            statistics.median(bare["cpu_ms"]),
            bare_p50,
        )
    )
    print(
        row(
            "bare pyHanko with the hub's library fixes (this process)",
            patched["wall_ms"],
            patched_rate,
            statistics.median(patched["cpu_ms"]),
            bare_p50,
        )
    )
    print(row("`POST /api/v1/verify`, 1 client", seq, seq_rate, seq_cpu, bare_p50))
    print(row(f"`POST /api/v1/verify`, {args.clients} clients", par, par_rate, par_cpu, bare_p50))
    patched_p50 = statistics.median(patched["wall_ms"])
    print(
        f"\nAPI (1 client) p50 / bare p50: {statistics.median(seq) / bare_p50:.2f}× against pyHanko as "
        f"released, {statistics.median(seq) / patched_p50:.2f}× against pyHanko with the hub's fixes; "
        f"server CPU per call / bare CPU per call: {seq_cpu / statistics.median(bare['cpu_ms']):.2f}× "
        f"and {seq_cpu / statistics.median(patched['cpu_ms']):.2f}×. Throughput with {args.clients} "
        f"clients and {args.workers} worker(s): {par_rate:.1f}/s against {bare_rate:.1f}/s bare "
        f"({par_rate / bare_rate:.2f}×)."
    )

    # (c) offline QR verification in one thread, and /verify/qr for reference.
    text = scan_qr(pdfs[0], files)
    source = "scanned off the page"
    if text is None:
        text, source = own_qr_text(), "signed by a fresh QRSigner (no pdftoppm / zxing-cpp here)"
        trust_json = {"qr_keys": OWN_TRUST}
    qr = qr_figures(text, trust_json, args.qr_n)
    qr_http: list[float] = []
    if source == "scanned off the page":
        with hub.client() as http:
            for _ in range(min(args.n, 300)):
                t = time.perf_counter()
                r = http.post("/api/v1/verify/qr", json={"payload": text})
                qr_http.append((time.perf_counter() - t) * 1000)
                if r.json()["result"] != "valid":
                    raise SystemExit(f"/verify/qr: {r.text[:300]}")
    print(f"\n## Offline QR verification ({len(text)} characters, {source})\n")
    print(
        f"`decode_and_verify`, one thread, {args.qr_n} calls: **{qr['per_second_wall']:,.0f}/s** wall "
        f"({qr['us_per_call']:.0f} µs per call), {qr['per_second_cpu']:,.0f}/s per CPU-second."
    )
    if qr_http:
        print(
            f"`POST /api/v1/verify/qr` (signature + registry), 1 client: p50"
            f" {statistics.median(qr_http):.1f} ms, p99 {pct(qr_http, 0.99):.1f} ms,"
            f" max {max(qr_http):.1f} ms."
        )

    # (d) memory: an issuance burst, then big uploads (over the limit, and the largest allowed).
    with sampler.phase() as burst_rss:
        issuance_burst(hub, issuer, args.burst)
    phases = [
        (f"verification ({2 * args.n} calls, 1 then {args.clients} clients)", verify_rss),
        (f"issuance burst ({args.burst} certificates, batches of 50, 2 clients)", burst_rss),
    ]
    # Each upload goes to a freshly restarted, warmed-up server, so that memory kept by the
    # allocator from an earlier phase does not hide (or inflate) its growth.
    limit = args.max_pdf_mb * 1024 * 1024
    for label, data in (
        (f"{args.upload_mb} MB", big_pdf(args.upload_mb * 1024 * 1024)),
        (f"{limit - 4096:,} bytes (just under the {args.max_pdf_mb} MiB limit)", big_pdf(limit - 4096)),
    ):
        for endpoint in ("/verify", "POST /certificates"):
            hub.restart()
            assert hub.process is not None
            verify_calls(hub, pdfs, 5, 1)
            issue_certificates(hub, issuer, 1, files / "warm-up", quiet=True)
            with sampler.phase(hub.process.pid) as upload_rss:
                if endpoint == "/verify":
                    with hub.client() as http:
                        r = http.post("/api/v1/verify", files={"file": ("big.pdf", data, "application/pdf")})
                    answer = f"{r.status_code} {r.json().get('code') or r.json().get('result')}"
                else:
                    body = issuer.body(file=base64.b64encode(data).decode())
                    with hub.client(issuer.token) as http:
                        r = http.post("/api/v1/certificates", json=body)
                    answer = f"{r.status_code} {r.json().get('code')}"
                    del body
            how = "as base64 to" if endpoint != "/verify" else "to"
            phases.append((f"{label} PDF {how} `{endpoint}` → {answer}", upload_rss))
        del data

    print("\n## Memory (RSS of the server processes)\n")
    print(
        f"Before the first phase (start-up, {len(pdfs)} issuances): peak "
        f"{', '.join(f'{p}: {mib(k)}' for p, k in startup_hwm.items())}. "
        + ("Peaks are exact (VmHWM reset per phase)." if sampler.exact else "Peaks sampled every 10 ms.")
        + "\n"
    )
    print("| phase | per server process: RSS before → peak (growth) |")
    print("|---|---|")
    for label, phase in phases:
        before = phase["before"]
        cells = ", ".join(
            f"{pid}: {mib(before.get(pid, 0))} → {mib(peak)} (+{mib(peak - before.get(pid, 0))})"
            for pid, peak in sorted(phase["peak"].items())
        )
        print(f"| {label} | {cells} |")
    overall = max([*startup_hwm.values(), *(k for _, ph in phases for k in ph["peak"].values())])
    print(f"\nHighest peak of any server process over the run: {mib(overall)} (target: under 400 MiB).")


def issuance_burst(hub: Any, issuer: Any, count: int) -> None:
    sizes = [50] * (count // 50) + ([count % 50] if count % 50 else [])

    def send(size: int) -> None:
        with hub.client(issuer.token, timeout=600) as http:
            r = http.post("/api/v1/certificates/batch", json={"items": [issuer.body() for _ in range(size)]})
            if r.status_code != 200:
                raise SystemExit(f"batch failed: {r.status_code} {r.text[:300]}")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(send, sizes))


OWN_TRUST: list[dict[str, Any]] = []


def own_qr_text() -> str:
    """A realistic code signed by a fresh key (when the page cannot be scanned here)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from signing.qr.claims import QRClaims
    from signing.qr.cose import QRSigner
    from signing.trust import qr_key_entry

    key = ec.generate_private_key(ec.SECP256R1())
    OWN_TRUST[:] = [qr_key_entry(key.public_key())]
    claims = QRClaims(
        identifier="1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        type_code="11100000000013338W032",
        issuer_code="11220000013544541J",
        holder_name="张三",
        valid_from=dt.date(2025, 1, 1),
        valid_until=dt.date(2035, 1, 1),
        face_digest=bytes(16),
        issued_at=dt.datetime.now(dt.UTC),
    )
    return QRSigner(key).encode(claims)


if __name__ == "__main__":
    main()
