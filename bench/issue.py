"""Issuance throughput through the real HTTP batch API, against a naive loop in the same run.

    .venv/bin/python bench/issue.py [--n 2000] [--levels B-B,B-T,B-LT] [--workers 2] [--singles 200]
                                    [--database-url URL] [--s3]

For each PAdES level: a fresh ``hub serve`` (SQLite by default, local blobs; ``--database-url``
for PostgreSQL, ``--s3`` for blobs in a SeaweedFS ``weed mini`` started for the run) on a free
loopback port; N certificates sent as batches of 100 from two clients at once (so both worker
processes work), then ``--singles`` single issuances from one client for the latency tail.
Baseline in the same run: the naive loop — a one-page Chinese certificate drawn with reportlab (the
same embedded CJK font, no QR code), signed with pyHanko's ``sign_pdf`` at pyHanko's defaults (B-B,
its built-in stamp), one process, keys loaded per file.

Prints certificates/s for both and the ratio, and p50/p99/max of single issuance.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.verify import cpu_seconds, group_pids
from tests.live import HubServer, Issuer

BATCH = 100


def naive_per_second(n: int) -> float:
    """The plain alternative: reportlab page + pyHanko sign_pdf (defaults, B-B), one process."""
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from bench.sealing import MASTER_KEY
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

    def render(i: int) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        buffer = io.BytesIO()
        page = canvas.Canvas(buffer, pagesize=A4)
        page.setFont(font, 26)
        page.drawCentredString(297, 720, "出生医学证明")
        page.setFont(font, 13)
        for row, (label, value) in enumerate(_NAIVE_ROWS):
            page.drawString(80, 640 - 26 * row, f"{label}：{value}{i if row == 0 else ''}")
        page.drawString(360, 180, "测试市公安局")
        page.drawString(80, 60, f"电子证照标识：1.2.156.3005.2.11330100MB0000001X.{i:010d}")
        page.showPage()
        page.save()
        return buffer.getvalue()

    font = _naive_font()

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
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        one(i)
    print(f"naive loop CPU: {1000 * (time.process_time() - cpu) / n:.1f} ms per certificate")
    return n / (time.perf_counter() - started)


_NAIVE_ROWS = [
    ("持证主体", "林晓梅"),
    ("证件号码", "3101**********4523"),
    ("性别", "女"),
    ("出生日期", "2025年3月15日"),
    ("出生地点", "上海市徐汇区妇幼保健院"),
    ("母亲姓名", "王秀英"),
    ("父亲姓名", "林建国"),
    ("有效期限", "2026年12月1日 至 长期"),
]


def _naive_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    from signing.seal_image import DEFAULT_FONT

    pdfmetrics.registerFont(TTFont("NaiveCJK", str(DEFAULT_FONT), subfontIndex=0))
    return "NaiveCJK"


def _pem(der: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def batches(hubs: list[HubServer], issuer: Issuer, n: int, clients: int) -> float:
    """Certificates per second for ``n`` issued in batches of 100 from ``clients`` clients at once,
    spread over ``hubs`` in turn."""
    sizes = [BATCH] * (n // BATCH) + ([n % BATCH] if n % BATCH else [])
    calls = [(hubs[i % len(hubs)], size) for i, size in enumerate(sizes)]

    def send(call: tuple[HubServer, int]) -> None:
        hub, size = call
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
    parser.add_argument("--database-url", default=None, help="PostgreSQL server: a new database per level")
    parser.add_argument("--s3", action="store_true", help="blobs in a SeaweedFS started for the run")
    parser.add_argument(
        "--servers", type=int, default=1, help="hub servers sharing the database, blobs and keys"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        help="concurrent batch clients (default: one per worker process); uvicorn's workers share one"
        " listening socket, so with one client each two batches often land on the same worker",
    )
    args = parser.parse_args()
    naive = naive_per_second(min(args.n, 300))
    print(f"naive loop (reportlab + pyHanko sign_pdf, B-B, one process): {naive:.1f} certificates/s")
    print("| level | hub batch API, cert/s | x naive | server CPU / cert | single p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for level in args.levels.split(","):
        with (
            tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp,
            _storage(args.s3, Path(tmp)) as env,
            _database(args.database_url) as database_url,
        ):
            # Servers share what a deployment shares: the database, the blob store, the key store and
            # PKI (here one data directory; in production an HSM and a shared volume).
            hubs = [
                HubServer(
                    data_dir=Path(tmp) / "data",
                    database_url=database_url,
                    env_overrides={"HUB_SIGNING__LEVEL": level, **env},
                    name=f"bench-{i}",
                    serve_args=["--workers", str(args.workers)],
                )
                for i in range(args.servers)
            ]
            try:
                hubs[0].start()
                issuer = hubs[0].setup_issuer()
                for hub in hubs[1:]:
                    hub.start()
                for hub in hubs:
                    singles(hub, issuer, 5)  # warm-up: each worker's keys, fonts, caches
                pids = [pid for hub in hubs if hub.process for pid in group_pids(hub.process.pid)]
                cpu = cpu_seconds(pids)
                clients = args.clients or args.workers * args.servers
                rate = batches(hubs, issuer, args.n, clients=clients)
                cpu_ms = 1000 * (cpu_seconds(pids) - cpu) / args.n
                lat = singles(hubs[0], issuer, args.singles)
            finally:
                for hub in hubs:
                    hub.kill()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"| {level} | {rate:.1f} | {rate / naive:.2f} | {cpu_ms:.1f} ms | {statistics.median(lat):.0f} ms"
            f" | {p99:.0f} ms"
            f" | {lat[-1]:.0f} ms |",
            flush=True,
        )


@contextlib.contextmanager
def _storage(s3: bool, tmp: Path) -> Iterator[dict[str, str]]:
    """Settings for the blob store: local files, or a SeaweedFS S3 server started for the run."""
    if not s3:
        yield {}
        return
    from tests.seaweed import running_seaweed

    (tmp / "s3").mkdir()
    with running_seaweed(tmp / "s3") as server:
        yield {
            "HUB_STORAGE__BACKEND": "s3",
            "HUB_STORAGE__S3_ENDPOINT": server.endpoint,
            "HUB_STORAGE__S3_ACCESS_KEY": server.access_key,
            "HUB_STORAGE__S3_SECRET_KEY": server.secret_key,
        }


@contextlib.contextmanager
def _database(server_url: str | None) -> Iterator[str | None]:
    """A new, migrated PostgreSQL database beside ``server_url``'s for one level (dropped after),
    or None: the hub's embedded SQLite."""
    if server_url is None:
        yield None
        return
    from bench.databases import fresh_database

    with fresh_database(server_url) as engine:
        yield engine.url.render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
