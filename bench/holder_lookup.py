"""How fast is "all usable certificates of this holder" at millions of certificates?

Fills a fresh database (migrated with Alembic, like production) with N synthetic certificate rows
spread over N/4 holders, then times the hub's own query (``certificates.repository.holder_certificates``)
for random holders, and prints the query plan.

    .venv/bin/python -m bench.holder_lookup --rows 1000000                      # SQLite in a temp dir
    .venv/bin/python -m bench.holder_lookup --rows 1000000 --url postgresql://postgres@127.0.0.1/postgres

With --url a database ``hub_bench_<random>`` is created next to the given one and dropped after.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bench.databases import fresh_database
from catalog.models import CertificateType, Organization
from certificates.models import Certificate
from certificates.privacy import HolderVault
from certificates.repository import holder_certificates

ISSUER = "11310000MB0000001C"
TYPE = ISSUER + "001"


def fill(engine, rows: int, vault: HolderVault) -> list[str]:  # type: ignore[no-untyped-def]
    holders = [f"3101011990{i:07d}"[:17] + "X" for i in range(max(1, rows // 4))]
    with Session(engine) as s:
        s.add(Organization(code=ISSUER, name="bench", kind="department"))
        s.add(CertificateType(code=TYPE, name="bench", holder_kind="111", sharing="none", definition={}))
        s.commit()
    blob = vault.encrypt("x")
    now = datetime.now(UTC)
    batch = []
    started = time.perf_counter()
    for i in range(rows):
        h = holders[i % len(holders)]
        batch.append(
            {
                "id": f"bench-{i}",
                "type_code": TYPE,
                "issuer_code": ISSUER,
                "serial": f"{i:010d}",
                "version": 1,
                "status": "01" if i % 10 else "07",
                "external_id": f"e{i}",
                "content_hash": "0" * 64,
                "holder_kind": "111",
                "holder_name": "张三",
                "holder_code_enc": blob,
                "holder_index": vault.blind_index("111", h),
                "issued_on": date(2024, 1, 1),
                "valid_from": date(2024, 1, 1),
                "valid_until": date(2030, 1, 1) if i % 7 else date(2025, 1, 1),
                "area_code": "310101",
                "data": {},
                "file_sha256": "0" * 64,
                "signature_level": "B-LT",
                "verification_code_hash": "0" * 64,
                "verification_code_enc": blob,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == 20000:
            with engine.begin() as conn:
                conn.execute(insert(Certificate), batch)
            batch.clear()
    if batch:
        with engine.begin() as conn:
            conn.execute(insert(Certificate), batch)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"filled {rows} rows in {time.perf_counter() - started:.1f} s")
    return holders


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--url", default=None, help="a PostgreSQL server URL (default: SQLite in a temp dir)")
    args = ap.parse_args()

    with fresh_database(args.url) as engine:
        vault = HolderVault(b"bench master key, not a secret!!")
        holders = fill(engine, args.rows, vault)
        rng = random.Random(1)
        today = date(2026, 1, 1)
        times, found = [], 0
        with Session(engine) as s:
            for _ in range(args.queries):
                h = rng.choice(holders)
                t = time.perf_counter()
                found += len(
                    list(
                        holder_certificates(
                            s, vault, holder_kind="111", holder_code=h, today=today, usable_only=True
                        )
                    )
                )
                times.append((time.perf_counter() - t) * 1000)
            s.rollback()
        times.sort()
        print(f"backend={engine.dialect.name} rows={args.rows} holders={len(holders)} queries={args.queries}")
        print(
            f"per query: median {statistics.median(times):.3f} ms, "
            f"p95 {times[int(len(times) * 0.95)]:.3f} ms, "
            f"max {times[-1]:.3f} ms; {found / args.queries:.2f} usable certificates per holder"
        )
        explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
        with engine.connect() as c:
            plan = c.execute(
                text(f"{explain} SELECT * FROM certificates WHERE holder_index = :h ORDER BY created_at"),  # noqa: S608
                {"h": vault.blind_index("111", holders[0])},
            ).fetchall()
        print("plan:", " | ".join(str(r[-1]) for r in plan))


if __name__ == "__main__":
    main()
