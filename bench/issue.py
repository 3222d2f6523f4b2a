"""Issuance throughput through the real HTTP batch API, against a naive loop in the same run.

    .venv/bin/python bench/issue.py [--n 2000] [--levels B-B,B-T,B-LT] [--workers 2] [--singles 200]
                                    [--database-url URL]

For each PAdES level: a fresh ``hub serve`` (SQLite by default, local blobs) on a free loopback
port; N certificates sent as batches of 100 from two clients at once (so both worker processes
work), then ``--singles`` single issuances from one client for the latency tail. Baseline in the
same run: the naive loop — a one-page certificate drawn with reportlab, signed with pyHanko's
``sign_pdf`` at pyHanko's defaults (B-B, its built-in stamp), one process, keys loaded per file.

Prints certificates/s for both and the ratio, and p50/p99/max of single issuance.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live import HubServer, Issuer

BATCH = 100


def naive_per_second(n: int) -> float:
    """The plain alternative: reportlab page + pyHanko sign_pdf (defaults, B-B), one process."""
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from bench.sealing import MASTER_KEY, render
    from signing.filekeys import FileKeyStore
    from signing.pki.authority import HubPKI

    work = Path(tempfile.mkdtemp(prefix="bench-naive-"))
    pki = HubPKI.open_or_create(work / "pki", MASTER_KEY, org_name="测试市大数据局", base_url="http://127.0.0.1")
    keystore = FileKeyStore(work / "keys", MASTER_KEY)
    cert = pki.issue_seal_certificate(keystore.ensure_key("dept"), "测试市公安局", "11330100MB0000001X")
    key = keystore.signer("dept", cert, pki.chain)._key
    pkcs8 = serialization.PrivateFormat.PKCS8
    (work / "k.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
    )
    (work / "c.pem").write_bytes(_pem(cert.dump()))

    def one(i: int) -> None:
        signer = signers.SimpleSigner.load(str(work / "k.pem"), str(work / "c.pem"))
        assert signer is not None
        meta = signers.PdfSignatureMetadata(field_name="Seal")
        out = io.BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(render(i))),
            meta,
            signer,
            new_field_spec=fields.SigFieldSpec("Seal", box=(400, 40, 540, 180)),
            output=out,
        )

    one(-1)
    started = time.perf_counter()
    for i in range(n):
        one(i)
    return n / (time.perf_counter() - started)


def _pem(der: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def batches(hub: HubServer, issuer: Issuer, n: int, clients: int) -> float:
    """Certificates per second for ``n`` issued in batches of 100 from ``clients`` clients at once."""
    calls = [BATCH] * (n // BATCH) + ([n % BATCH] if n % BATCH else [])

    def send(size: int) -> None:
        with hub.client(issuer.token, timeout=600) as http:
            r = http.post("/api/v1/certificates/batch", json={"items": [issuer.body() for _ in range(size)]})
            if r.status_code != 200 or {x["status"] for x in r.json()["results"]} != {201}:
                raise SystemExit(f"batch failed: {r.status_code} {r.text[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, calls))
    return n / (time.perf_counter() - started)


def singles(hub: HubServer, issuer: Issuer, n: int) -> list[float]:
    times = []
    with hub.client(issuer.token) as http:
        for _ in range(n):
            t = time.perf_counter()
            r = http.post("/api/v1/certificates", json=issuer.body())
            times.append((time.perf_counter() - t) * 1000)
            if r.status_code != 201:
                raise SystemExit(f"issuance failed: {r.status_code} {r.text[:300]}")
    return sorted(times)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--levels", default="B-B,B-T,B-LT")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    naive = naive_per_second(min(args.n, 300))
    print(f"naive loop (reportlab + pyHanko sign_pdf, B-B, one process): {naive:.1f} certificates/s")
    print("| level | hub batch API, cert/s | x naive | single p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for level in args.levels.split(","):
        with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
            hub = HubServer(
                data_dir=Path(tmp) / "data",
                database_url=args.database_url,
                env_overrides={"HUB_SIGNING__LEVEL": level},
                name="bench",
                serve_args=["--workers", str(args.workers)],
            )
            try:
                hub.start()
                issuer = hub.setup_issuer()
                singles(hub, issuer, 5)  # warm-up: each worker's keys, fonts, caches
                rate = batches(hub, issuer, args.n, clients=args.workers)
                lat = singles(hub, issuer, args.singles)
            finally:
                hub.kill()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"| {level} | {rate:.1f} | {rate / naive:.2f} | {statistics.median(lat):.0f} ms | {p99:.0f} ms"
            f" | {lat[-1]:.0f} ms |",
            flush=True,
        )


if __name__ == "__main__":
    main()
