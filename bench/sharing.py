"""How fast are lookup and plan when the store holds a million certificates?

Fills a fresh database (migrated with Alembic, like production) with the demo catalog and N
certificate rows of the 新生儿出生一件事 types (identity card, birth certificate) spread over N/4
holders, each holder having consented to the demo portal; then, for random holders, times in one
run: the bare indexed read of a holder's usable certificates (the plain alternative), a sharing
lookup, and a plan of OT-NEWBORN — each a whole unit of work, committed, with its access-log entry.

    .venv/bin/python -m bench.sharing --rows 1000000                      # SQLite in a temp dir
    .venv/bin/python -m bench.sharing --rows 1000000 --url postgresql://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from bench.databases import fresh_database
from catalog.organizations import put_organization
from catalog.service import DatabaseLookup, demo_bundle, load_bundle
from certificates.models import Certificate
from certificates.privacy import HolderVault
from certificates.repository import holder_certificates
from hub.demo import BIRTH_CERTIFICATE, DEMO_CONSENTS, DEMO_PORTAL, ID_CARD
from kernel.actor import Actor, Role
from sharing.holders import HolderRef
from sharing.lookup import lookup
from sharing.models import Consent
from sharing.plan import make_plan

ISSUERS = {ID_CARD: "11310000DEM000012X", BIRTH_CERTIFICATE: "11310000DEM0000131"}
PORTAL = Actor(Role.PORTAL, client_id="bench", org_code=DEMO_PORTAL)
ANSWERS = {"hukou": "elsewhere", "mother_insured": "no"}


def fill(engine: Engine, rows: int, vault: HolderVault) -> list[HolderRef]:
    with Session(engine) as s:
        load_bundle(s, demo_bundle(DatabaseLookup(s)), put_organization=put_organization)
        s.commit()
    holders = [f"h{i:09d}" for i in range(max(1, rows // 4))]
    refs = [HolderRef("111", h, vault.blind_index("111", h)) for h in holders]
    blob = vault.encrypt("x")
    now = datetime.now(UTC)
    started = time.perf_counter()
    batch: list[dict[str, object]] = []

    def flush(table: type, force: bool = False) -> None:
        if batch and (force or len(batch) >= 20000):
            with engine.begin() as conn:
                conn.execute(insert(table), batch)
            batch.clear()

    for i in range(rows):
        ref = refs[i % len(refs)]
        type_code = ID_CARD if i % 2 == 0 else BIRTH_CERTIFICATE
        batch.append(
            {
                "id": f"bench-{i}", "type_code": type_code, "issuer_code": ISSUERS[type_code],
                "serial": f"{i:010d}", "version": 1, "status": "01" if i % 10 else "07",
                "external_id": f"e{i}", "content_hash": "0" * 64, "holder_kind": "111",
                "holder_name": "张三", "holder_code_enc": blob, "holder_index": ref.index,
                "issued_on": date(2024, 1, 1) + timedelta(days=i % 300), "valid_from": date(2024, 1, 1),
                "valid_until": date(2030, 1, 1) if i % 7 else date(2025, 1, 1), "area_code": "310101",
                "data": {"name": f"张三{i % 5}", "child_name": "张小三", "birth_date": "2025-01-01"},
                "file_sha256": "0" * 64, "signature_level": "B-LT", "verification_code_hash": "0" * 64,
                "verification_code_enc": blob, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        flush(Certificate)
    flush(Certificate, force=True)
    for ref in refs:
        for item_code, types in DEMO_CONSENTS.items():
            batch.append(
                {
                    "id": secrets.token_hex(8), "holder_kind": "111", "holder_index": ref.index,
                    "grantee_code": DEMO_PORTAL, "item_code": item_code, "type_codes": types,
                    "created_at": now, "expires_at": now + timedelta(days=365), "withdrawn_at": None,
                }
            )  # fmt: skip
        flush(Consent)
    flush(Consent, force=True)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"filled {rows} certificates and {2 * len(refs)} consents in {time.perf_counter() - started:.1f} s")
    return refs


def measure(
    name: str, engine: Engine, refs: list[HolderRef], queries: int, call: Callable[..., object]
) -> None:
    rng = random.Random(1)
    times = []
    started = time.perf_counter()
    for _ in range(queries):
        ref = rng.choice(refs)
        t = time.perf_counter()
        with Session(engine, expire_on_commit=False) as s:
            call(s, ref)
            s.commit()
        times.append((time.perf_counter() - t) * 1000)
    wall = time.perf_counter() - started
    times.sort()
    print(
        f"{name:<28} median {statistics.median(times):6.2f} ms  p99 {times[int(len(times) * 0.99)]:6.2f} ms  "
        f"max {times[-1]:6.2f} ms  throughput {queries / wall:7.0f}/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--url", default=None, help="a PostgreSQL server URL (default: SQLite in a temp dir)")
    args = ap.parse_args()
    with fresh_database(args.url) as engine:
        vault = HolderVault(b"bench master key, not a secret!!")
        refs = fill(engine, args.rows, vault)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        print(f"backend={engine.dialect.name} rows={args.rows} holders={len(refs)} queries={args.queries}")

        def bare(s: Session, ref: HolderRef) -> object:
            return list(
                holder_certificates(
                    s, vault, holder_kind="111", holder_code=ref.code, today=now.date(), usable_only=True
                )
            )

        def do_lookup(s: Session, ref: HolderRef) -> object:
            return lookup(
                s, vault, actor=PORTAL, holder=ref, item_code="WJ-BIRTH-CERTIFICATE",
                use_cause="bench", type_codes=[ID_CARD], now=now,
            )  # fmt: skip

        def do_plan(s: Session, ref: HolderRef) -> object:
            return make_plan(
                s, vault, actor=PORTAL, holder=ref, use_cause="bench", one_thing="OT-NEWBORN",
                answers=ANSWERS, items=[], now=now,
            )  # fmt: skip

        measure("bare usable-certificates read", engine, refs, args.queries, bare)
        measure("sharing lookup (+ log entry)", engine, refs, args.queries, do_lookup)
        measure("sharing plan OT-NEWBORN", engine, refs, args.queries, do_plan)


if __name__ == "__main__":
    main()
