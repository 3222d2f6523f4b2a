"""Lookup at scale: sharing lookup and plan over HTTP against PostgreSQL holding millions of certificates.

One command loads (or reuses) a dedicated PostgreSQL database, starts a real ``hub serve --workers 2``
on it, and drives concurrent load from a second process against three routes of that same server:

* ``GET /healthz`` — the bare endpoint: no authentication, no database, the cheapest route the hub
  has; everything the hub stacks on every request (uvicorn, the request-id / access-log / metrics
  middleware, FastAPI routing, JSON response) and nothing else;
* ``POST /api/v1/sharing/lookup`` — a portal asks for a random holder's identity card for
  出生医学证明办理 (``WJ-BIRTH-CERTIFICATE``): token check, policy, consent, the holder's usable
  certificates, the access-log entry, commit;
* ``POST /api/v1/sharing/plan`` — the same portal plans 新生儿出生一件事 (``OT-NEWBORN``, two items)
  for a random holder: questionnaire, materials, prefilled form, one log entry per item, commit.

    .venv/bin/python -m bench.lookup                                  # 100,000 certificates, quick
    .venv/bin/python -m bench.lookup --rows 10000000 --seconds 60     # the issue's run
    .venv/bin/python -m bench.lookup --rows 1000000 --concurrency 4,16 --workers 2 \
        --url postgresql://postgres@127.0.0.1:5432/bench_lookup --json /tmp/lookup-1m.json

The data: ``--rows`` certificates for ``rows / 2`` holders (each holder an identity card and a birth
certificate of the demo catalog, 10 % withdrawn and one in seven expired, so some are not usable),
and each holder's two consents to the demo portal (``hub.demo.DEMO_CONSENTS``): ``rows`` consent
rows. Holder numbers are valid 公民身份号码 derived from the holder's ordinal, so the load generator
names random holders without a list. The loader bulk-loads through PostgreSQL itself: the holders
(code, blind index, AES-GCM ciphertext — computed in Python with the *same master key the server
is started with*, ``BENCH_MASTER_KEY``) are COPYed into a temporary table, and the certificates
and consents are made from it by ``INSERT … SELECT`` (GB/T 36904 identifiers with their real check
character, computed in SQL). The two tables' indexes and constraints — read from the catalog as the
migrations made them — are dropped before and re-created after the load, then ``VACUUM (FREEZE,
ANALYZE)`` and a ``CHECKPOINT``, so no autovacuum, hint-bit writing or checkpoint from the load
falls into the measurement. The database is created fresh (``DROP``/``CREATE``) and migrated by
the hub's own Alembic migrations; a later run with the same ``--rows`` reuses it (its comment
records rows, holders and the key's fingerprint, and the row counts are checked); ``--reload``
forces a new load. Before measuring, the two tables and their indexes are read once with
``pg_prewarm`` (mode ``read``: into the page cache; ``--no-prewarm`` skips it), and the plans of
the statements a lookup runs are printed (``EXPLAIN ANALYZE`` for one random holder).

The load generator is a separate process (``--drive``, asyncio, one keep-alive HTTP/1.1 connection
per concurrent client, closed loop) with a minimal client of its own — pre-encoded requests,
status line and Content-Length parsed, nothing else — so that it takes as little of the machine's
CPU as possible; ``--client httpx`` uses ``httpx.AsyncClient`` instead. Each measurement runs
``--warmup`` seconds unrecorded, then ``--seconds`` recorded; the CPU used meanwhile by the hub's
processes, PostgreSQL's and the load generator is read from /proc and printed, because on a small
machine they all share the same cores (and with whatever else runs there: printed as "others").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from stdnum.cn import ric

from certificates.identifiers import ALPHABET, ROOT, check_character
from hub.demo import BIRTH_CERTIFICATE, DEMO_CONSENTS, DEMO_PORTAL, ID_CARD

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_lookup"
# The master key of the benchmark's hub: blind indexes and ciphertexts in the loaded database are
# made with it, so every server started on that database must be given the same key. Not a secret.
BENCH_MASTER_KEY = "bench-lookup master key, not a secret, 0123456789abcdef"
ISSUERS = {ID_CARD: "11310000DEM000012X", BIRTH_CERTIFICATE: "11310000DEM0000131"}
AREA = "310101"
FIRST_BIRTH = date(1950, 1, 1)
ANSWERS = {"hukou": "elsewhere", "mother_insured": "no"}
LOADED_TABLES = ("certificates", "consents")


def holder_code(n: int) -> str:
    """The identity number of holder ``n``: valid, unique for n < 10**7 (1,000 a birth day)."""
    body = f"{AREA}{FIRST_BIRTH + timedelta(days=n // 1000):%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def key_fingerprint() -> str:
    return hashlib.sha256(BENCH_MASTER_KEY.encode()).hexdigest()[:16]


# -- loading ------------------------------------------------------------------------------------


def _sa_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://").removeprefix("postgresql+psycopg://")


def _libpq(url: str) -> str:
    return "postgresql://" + url.removeprefix("postgresql+psycopg://").removeprefix("postgresql://")


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    name = make_url(_sa_url(url)).database
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"--url must name a dedicated database (not {name!r}): it is dropped and re-created")
    return name


def _admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return _libpq(make_url(_sa_url(url)).set(database="postgres").render_as_string(hide_password=False))


def loaded_state(url: str) -> dict[str, Any] | None:
    """What the database says it holds (its comment), if it exists and was loaded by this script."""
    import psycopg

    name = _database_name(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        meta: dict[str, Any] = json.loads(row[0])
    except json.JSONDecodeError:
        return None
    return meta if meta.get("loaded_by") == "bench.lookup" else None


def reusable(url: str, rows: int) -> dict[str, Any] | None:
    """The database's record when it holds exactly ``rows`` certificates made with our key."""
    meta = loaded_state(url)
    if meta is None or meta.get("rows") != rows or meta.get("key") != key_fingerprint():
        return None
    import psycopg

    from hub import migrate
    from hub.db import make_engine

    engine = make_engine(_libpq(url))
    try:
        migrate.upgrade(engine)  # a no-op at head; a newer migration applies to the loaded data
    finally:
        engine.dispose()
    with psycopg.connect(_libpq(url)) as conn:
        certificates = conn.execute("SELECT count(*) FROM certificates").fetchone()
        consents = conn.execute("SELECT count(*) FROM consents").fetchone()
    if certificates is None or consents is None:
        return None
    if certificates[0] != rows or consents[0] != 2 * meta["holders"]:
        print(f"database holds {certificates[0]} certificates and {consents[0]} consents: reloading")
        return None
    return meta


def _transitions() -> tuple[list[int], list[str]]:
    """ISO/IEC 7064 MOD 37,36 as tables: next state by (state, digit), check character by state
    after the version ``001`` — what ``certificates.identifiers.check_character`` computes."""
    nxt = []
    for p in range(37):
        for d in range(10):
            t = (p + d) % 36 or 36
            nxt.append((2 * t) % 37)
    final = []
    for p in range(37):
        q = p
        for d in (0, 0, 1):
            t = (q + d) % 36 or 36
            q = (2 * t) % 37
        final.append(ALPHABET[(37 - q) % 36])
    return nxt, final


def _prefix_state(prefix: str) -> int:
    p = 36
    for c in prefix:
        t = (p + ALPHABET.index(c)) % 36 or 36
        p = (2 * t) % 37
    return p


def _check_sql(type_code: str, serial_sql: str) -> str:
    """SQL for the check character of ``ROOT.type.issuer.<serial (10 digits)>.001``."""
    expr = str(_prefix_state(type_code + ISSUERS[type_code]))
    for k in range(1, 11):
        expr = f"c.nxt[({expr}) * 10 + substr({serial_sql}, {k}, 1)::int + 1]"
    return f"c.fin[({expr}) + 1]"


def _identifier(type_code: str, n: int) -> str:
    serial = f"{n:010d}"
    body = f"{type_code}{ISSUERS[type_code]}{serial}001"
    return f"{ROOT}.{type_code}.{ISSUERS[type_code]}.{serial}.001.{check_character(body)}"


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜英敏静丽强磊军洋勇艳杰娟涛明超霞平"


def _certificate_insert(type_code: str) -> str:
    """INSERT … SELECT of one certificate of ``type_code`` per staged holder."""
    t = 0 if type_code == ID_CARD else 1
    serial = "lpad(h.n::text, 10, '0')"
    name = "substr(%(surnames)s, 1 + h.n %% 20, 1) || substr(%(given)s, 1 + (h.n / 20) %% 20, 1)"
    birth = "to_char(to_date(substr(h.code, 7, 8), 'YYYYMMDD'), 'YYYY-MM-DD')"
    if type_code == ID_CARD:
        data = (
            f"jsonb_build_object('name', {name}, 'gender', CASE WHEN h.n %% 2 = 0 THEN '女' ELSE '男' END,"
            f" 'ethnicity', '汉', 'birth_date', {birth},"
            " 'address', '示范市黄浦区示范路' || (1 + h.n %% 999) || '号', 'id_number', h.code,"
            " 'issuing_authority', '示范市公安局黄浦分局')"
        )
        order = "h.n"  # issued in holder order …
    else:
        child = "substr(%(surnames)s, 1 + h.n %% 20, 1) || '小' || substr(%(given)s, 1 + (h.n / 7) %% 20, 1)"
        data = (
            f"jsonb_build_object('certificate_number', 'O31' || {serial}, 'child_name', {child},"
            " 'child_gender', CASE WHEN h.n %% 3 = 0 THEN '男' ELSE '女' END,"
            " 'birth_date', to_char(date '2025-01-01' + h.n %% 600, 'YYYY-MM-DD'),"
            " 'birth_place', '示范市黄浦区', 'birth_weight', 2800 + h.n %% 1200,"
            f" 'mother_name', {name}, 'mother_id_number', h.code, 'institution', '示范市妇幼保健院')"
        )
        order = "(h.n::bigint * 2654435761) %% 4294967291"  # … and these scattered over the table
    return f"""
        WITH c AS (SELECT %(nxt)s::int[] AS nxt, %(fin)s::text[] AS fin)
        INSERT INTO certificates (
            id, type_code, issuer_code, serial, version, status, external_id, content_hash,
            holder_kind, holder_name, holder_code_enc, holder_index, issued_on, valid_from, valid_until,
            area_code, data, file_sha256, signature_level, verification_code_hash, verification_code_enc,
            created_at, updated_at)
        SELECT
            '{ROOT}.{type_code}.{ISSUERS[type_code]}.' || {serial} || '.001.'
                || {_check_sql(type_code, serial)},
            '{type_code}', '{ISSUERS[type_code]}', {serial}, 1,
            CASE WHEN (2 * h.n + {t}) %% 10 = 0 THEN '07' ELSE '01' END,
            'bench-{t}-' || h.n, repeat('0', 64), '111', {name}, h.enc, h.idx,
            date '2020-01-01' + h.n %% 1800, date '2020-01-01' + h.n %% 1800,
            CASE WHEN (2 * h.n + {t}) %% 7 = 0 THEN date '2025-01-01' ELSE date '2045-01-01' END,
            '{AREA}', {data},
            encode(sha256(convert_to('{type_code}' || h.n, 'UTF8')), 'hex'), 'B-LT', repeat('0', 64),
            %(vcode)s, timestamptz '2024-01-01 00:00+00' + h.n * interval '1 second',
            timestamptz '2024-01-01 00:00+00' + h.n * interval '1 second'
        FROM bench_holders h, c
        ORDER BY {order}
    """  # noqa: S608 (constants of this script, no input)


def _capture_schema(conn: Any) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Constraints on (or pointing at) the loaded tables, and their other indexes, as the migrations
    made them: (table, name, definition) to re-add, and (name, CREATE INDEX statement)."""
    constraints = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
        FROM pg_constraint
        WHERE conrelid = ANY(%(t)s::regclass[]) OR confrelid = ANY(%(t)s::regclass[])
        ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 ELSE 2 END, conrelid::regclass::text, conname
        """,
        {"t": list(LOADED_TABLES)},
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT indexname, indexdef FROM pg_indexes i
        WHERE tablename = ANY(%(t)s) AND schemaname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY indexname
        """,
        {"t": list(LOADED_TABLES)},
    ).fetchall()
    return [(t, n, d) for t, n, d, _ in constraints], [(r[0], r[1]) for r in indexes]


def _staged_holders(holders: int, vault: Any) -> Iterator[bytes]:
    """COPY text lines of the holders table: ordinal, identity number, blind index, ciphertext."""
    lines: list[str] = []
    for n in range(holders):
        code = holder_code(n)
        enc = vault.encrypt(code)
        lines.append(f"{n}\t{code}\t{vault.blind_index('111', code)}\t\\\\x{enc.hex()}\n")
        if len(lines) == 20000:
            yield "".join(lines).encode()
            lines.clear()
    if lines:
        yield "".join(lines).encode()


def load(url: str, rows: int) -> dict[str, Any]:
    """Drop and re-create the database, migrate it, load ``rows`` certificates; return its record."""
    import psycopg
    from sqlalchemy.orm import Session

    from catalog.organizations import put_organization
    from catalog.service import DatabaseLookup, demo_bundle, load_bundle
    from certificates.privacy import HolderVault
    from hub import migrate
    from hub.db import make_engine

    if rows < 2 or rows % 2:
        raise SystemExit("--rows must be an even number ≥ 2 (two certificates a holder)")
    holders = rows // 2
    name = _database_name(url)
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(_libpq(url))
    try:
        migrate.upgrade(engine)  # the hub's own migrations: the real schema
        with Session(engine) as s:
            load_bundle(s, demo_bundle(DatabaseLookup(s)), put_organization=put_organization)
            s.commit()
    finally:
        engine.dispose()
    steps["create, migrate, demo catalog"] = time.perf_counter() - started

    vault = HolderVault(BENCH_MASTER_KEY.encode())
    nxt, fin = _transitions()
    params = {"nxt": nxt, "fin": fin, "surnames": SURNAMES, "given": GIVEN,
              "vcode": vault.encrypt("00000000", purpose=b"verification")}  # fmt: skip
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        constraints, indexes = _capture_schema(conn)

        t = time.perf_counter()
        for table, cname, _ in reversed(constraints):
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{cname}"')
        for index_name, _ in indexes:
            conn.execute(f'DROP INDEX "{index_name}"')
        conn.execute("CREATE TEMPORARY TABLE bench_holders (n int, code text, idx text, enc bytea)")
        with conn.cursor().copy("COPY bench_holders (n, code, idx, enc) FROM STDIN") as copy:
            for chunk in _staged_holders(holders, vault):
                copy.write(chunk)
        steps[f"{holders:,} holders computed (blind index, ciphertext) and COPYed"] = time.perf_counter() - t

        for type_code in (ID_CARD, BIRTH_CERTIFICATE):
            t = time.perf_counter()
            conn.execute(_certificate_insert(type_code), params)
            steps[f"{holders:,} certificates of {type_code} (INSERT … SELECT)"] = time.perf_counter() - t
        t = time.perf_counter()
        for item_code, types in DEMO_CONSENTS.items():
            conn.execute(
                """
                INSERT INTO consents (id, holder_kind, holder_index, grantee_code, item_code, type_codes,
                                      created_at, expires_at, withdrawn_at)
                SELECT substr(md5(h.n || %(item)s), 1, 16), '111', h.idx, %(portal)s, %(item)s,
                       %(types)s::jsonb, now(), now() + interval '364 days', NULL
                FROM bench_holders h ORDER BY (h.n::bigint * 2246822519) %% 4294967291
                """,
                {"item": item_code, "portal": DEMO_PORTAL, "types": json.dumps(types)},
            )
        steps[f"{2 * holders:,} consents (INSERT … SELECT)"] = time.perf_counter() - t

        t = time.perf_counter()
        for table, cname, definition in constraints:
            if not definition.startswith("FOREIGN KEY"):
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{cname}" {definition}')
        for _, stmt in indexes:
            conn.execute(stmt)
        for table, cname, definition in constraints:
            if definition.startswith("FOREIGN KEY"):
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{cname}" {definition}')
        steps["indexes and constraints re-created"] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("DROP TABLE bench_holders")
        conn.execute("VACUUM (FREEZE, ANALYZE) certificates, consents")
        conn.execute("ANALYZE")
        conn.execute("CHECKPOINT")
        steps["VACUUM (FREEZE, ANALYZE), CHECKPOINT"] = time.perf_counter() - t
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('certificates')),"
            " pg_size_pretty(pg_total_relation_size('consents')),"
            " pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()
        sample = conn.execute(
            "SELECT id FROM certificates WHERE serial = %s ORDER BY type_code", (f"{holders - 1:010d}",)
        ).fetchall()
    # The identifiers made in SQL are the hub's own, check character included.
    assert [r[0] for r in sample] == [_identifier(t, holders - 1) for t in (ID_CARD, BIRTH_CERTIFICATE)], (
        sample
    )
    seconds = time.perf_counter() - started
    meta = {
        "loaded_by": "bench.lookup", "rows": rows, "holders": holders, "key": key_fingerprint(),
        "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_seconds": round(seconds, 1),
        "steps": {k: round(v, 1) for k, v in steps.items()},
        "sizes": {"certificates": sizes[0], "consents": sizes[1], "database": sizes[2]} if sizes else {},
    }  # fmt: skip
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        comment = json.dumps(meta, ensure_ascii=True).replace("'", "''")
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
    return meta


def prewarm(url: str) -> str:
    """Read the loaded tables and their indexes once (``pg_prewarm``, mode ``read``: into the
    operating system's page cache, not shared_buffers), so that every size is measured warm."""
    import psycopg

    t = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE c.oid = ANY(%(t)s::regclass[]) OR i.indrelid = ANY(%(t)s::regclass[])",
            {"t": list(LOADED_TABLES)},
        ).fetchall()
        pages = 0
        for (relation,) in relations:
            row = conn.execute("SELECT pg_prewarm(%s::regclass, 'read')", (relation,)).fetchone()
            pages += int(row[0]) if row else 0
    available = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemAvailable:")
    )
    return (
        f"prewarmed {len(relations)} relations, {pages * 8192 / 2**30:.1f} GiB, into the page cache in "
        f"{time.perf_counter() - t:.0f} s ({available / 2**30:.1f} GiB of memory available)"
    )


# -- measuring -----------------------------------------------------------------------------------


def _body(endpoint: str, n: int) -> dict[str, Any]:
    holder = {"kind": "111", "code": holder_code(n)}
    if endpoint == "lookup":
        return {"holder": holder, "item_code": "WJ-BIRTH-CERTIFICATE",
                "use_cause": "办理出生医学证明（压测）", "type_codes": [ID_CARD]}  # fmt: skip
    return {"holder": holder, "use_cause": "办理新生儿出生一件事（压测）", "one_thing": "OT-NEWBORN",
            "answers": ANSWERS}  # fmt: skip


PATHS = {"bare": "/healthz", "lookup": "/api/v1/sharing/lookup", "plan": "/api/v1/sharing/plan"}


@dataclass
class Spec:
    """One measurement, as handed to the load-generator process."""

    host: str
    port: int
    token: str
    endpoint: str  # bare | lookup | plan
    concurrency: int
    seconds: float
    warmup: float
    holders: int
    seed: int
    client: str  # raw | httpx
    hub_pgid: int  # the hub's process group, whose CPU is read from /proc during the window
    database: str = ""  # PostgreSQL's CPU: the backends of this database and the server's own processes


def _raw_request(spec: Spec, rng: random.Random) -> bytes:
    path = PATHS[spec.endpoint]
    if spec.endpoint == "bare":
        return f"GET {path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n\r\n".encode()
    body = json.dumps(_body(spec.endpoint, rng.randrange(spec.holders)), ensure_ascii=False).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\nAuthorization: Bearer {spec.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status and whether the server keeps the connection; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    keep = b"connection: close" not in lower
    if b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        at = lower.find(b"content-length:")
        if at >= 0:
            length = int(lower[at + 15 : lower.index(b"\r\n", at)])
            await reader.readexactly(length)
    return status, keep


async def _raw_client(spec: Spec, rng: random.Random, start: float, record: Callable[..., None]) -> None:
    end = start + spec.seconds
    reader, writer = await asyncio.open_connection(spec.host, spec.port)
    try:
        while time.perf_counter() < end:
            request = _raw_request(spec, rng)
            t0 = time.perf_counter()
            writer.write(request)
            status, keep = await _read_response(reader)
            record(t0, time.perf_counter(), status)
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(spec.host, spec.port)
    finally:
        writer.close()


async def _httpx_client(
    spec: Spec, rng: random.Random, start: float, record: Callable[..., None], http: Any
) -> None:
    end = start + spec.seconds
    path = PATHS[spec.endpoint]
    while time.perf_counter() < end:
        if spec.endpoint == "bare":
            t0 = time.perf_counter()
            r = await http.get(path)
        else:
            body = _body(spec.endpoint, rng.randrange(spec.holders))
            t0 = time.perf_counter()
            r = await http.post(path, json=body)
        record(t0, time.perf_counter(), r.status_code)


async def _drive(spec: Spec) -> dict[str, Any]:
    loop_start = time.perf_counter()
    measure_from = loop_start + spec.warmup
    measure_to = loop_start + spec.warmup + spec.seconds
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cpu: dict[str, float] = {}

    def record(t0: float, t1: float, status: int) -> None:
        if t0 >= measure_from and t1 <= measure_to:
            latencies.append(t1 - t0)
            statuses[status] += 1

    async def mark_cpu() -> None:
        await asyncio.sleep(spec.warmup)
        cpu["from"], groups, busy = _self_cpu(), cpu_by_group(spec.hub_pgid, spec.database), machine_busy()
        await asyncio.sleep(spec.seconds)
        cpu["to"], later, busy_later = _self_cpu(), cpu_by_group(spec.hub_pgid, spec.database), machine_busy()
        for name, seconds in cpu_between(groups, later).items():
            cpu[name] = seconds / spec.seconds
        cpu["machine"] = (busy_later - busy) / spec.seconds

    total = Spec(**{**spec.__dict__, "seconds": spec.warmup + spec.seconds})
    rngs = [random.Random(spec.seed * 1000 + i) for i in range(spec.concurrency)]
    if spec.client == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency)
        headers = {"Authorization": f"Bearer {spec.token}"}
        async with httpx.AsyncClient(
            base_url=f"http://{spec.host}:{spec.port}", headers=headers, limits=limits, timeout=60
        ) as http:
            await asyncio.gather(
                mark_cpu(), *(_httpx_client(total, r, loop_start, record, http) for r in rngs)
            )
    else:
        await asyncio.gather(mark_cpu(), *(_raw_client(total, r, loop_start, record) for r in rngs))
    latencies.sort()
    n = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(n * q))] * 1000 if n else float("nan")

    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    nan = float("nan")
    return {
        "endpoint": spec.endpoint, "path": PATHS[spec.endpoint], "concurrency": spec.concurrency,
        "seconds": spec.seconds, "requests": n, "ok": ok,
        "statuses": {str(k): v for k, v in statuses.items()},
        "rps": ok / spec.seconds, "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if n else float("nan"),
        "mean_ms": sum(latencies) / n * 1000 if n else float("nan"),
        "client_cpu_cores": (cpu.get("to", 0) - cpu.get("from", 0)) / spec.seconds,
        "hub_cpu_cores": cpu.get("hub", nan), "postgres_cpu_cores": cpu.get("postgres", nan),
        "machine_busy_cores": cpu.get("machine", nan),
    }  # fmt: skip


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- processes' CPU from /proc ---------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_group(hub_pgid: int, database: str = "") -> dict[int, tuple[str, float]]:
    """CPU seconds so far, by process, of the hub's process group and of PostgreSQL: its auxiliary
    processes and the backends connected to ``database`` (other databases' are someone else's)."""
    found: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pgrp, seconds = int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK
        if pgrp == hub_pgid:
            found[int(entry)] = ("hub", seconds)
        elif comm == "postgres" or comm.startswith("postgres:"):
            if not (database and _backend_of_other_database(entry, database)):
                found[int(entry)] = ("postgres", seconds)
    return found


def cpu_between(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds used between two readings, by party (a process that started meanwhile counts
    from zero; one that ended meanwhile is lost)."""
    totals = {"hub": 0.0, "postgres": 0.0}
    for pid, (party, seconds) in after.items():
        totals[party] += seconds - before.get(pid, (party, 0.0))[1]
    return totals


def _backend_of_other_database(pid: str, database: str) -> bool:
    """A backend's title is ``postgres: <cluster>: <user> <database> <client> <state>``."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").strip("\0")
    except OSError:
        return False
    parts = title.split()
    backend = len(parts) >= 5 and ("(" in parts[4] or parts[4] == "[local]")
    return backend and parts[3] != database


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every process, ours or not; /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / _TICK


EXPLAINED = {
    "token look-up (api_clients by id)": "SELECT * FROM api_clients WHERE id = %(client)s",
    "item (primary key)": "SELECT * FROM items WHERE code = 'WJ-BIRTH-CERTIFICATE'",
    "live consents (holder, portal, item)": (
        "SELECT * FROM consents WHERE holder_index = %(idx)s AND grantee_code = %(portal)s"
        " AND item_code = 'WJ-BIRTH-CERTIFICATE' AND withdrawn_at IS NULL"
    ),
    "holder's certificates (blind index)": (
        "SELECT * FROM certificates WHERE holder_index = %(idx)s ORDER BY created_at"
    ),
    "audit log head (the row every entry locks)": "SELECT * FROM audit_head WHERE id = 1",
}


def explain(url: str, holders: int, client_id: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements a lookup runs, for one random holder."""
    import psycopg

    from certificates.privacy import HolderVault

    vault = HolderVault(BENCH_MASTER_KEY.encode())
    n = random.Random(holders).randrange(holders)
    params = {"idx": vault.blind_index("111", holder_code(n)), "portal": DEMO_PORTAL, "client": client_id}
    lines = []
    with psycopg.connect(_libpq(url)) as conn:
        for name, sql in EXPLAINED.items():
            try:
                plan = [r[0] for r in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)]
            except psycopg.Error as e:  # a table this revision of the schema does not have
                lines.append(f"  {name}: not explained ({type(e).__name__})")
                continue
            finally:
                conn.rollback()
            nodes = [p.strip().removeprefix("->  ") for p in plan if "cost=" in p]
            timing = next((p for p in plan if p.startswith("Execution Time")), "")
            shape = " / ".join(node.split("  (cost")[0] for node in nodes)
            lines.append(f"  {name}: {shape}; {timing.lower()}")
    return lines


# -- the run --------------------------------------------------------------------------------------


def start_hub(url: str, workers: int, base: Path, log_level: str) -> tuple[Any, str]:
    """A real ``hub serve --workers N`` on the loaded database, and a portal client's token."""
    from tests.live import HubServer

    server = HubServer(
        data_dir=base / "var",
        database_url=_libpq(url),
        env_overrides={"HUB_MASTER_KEY": BENCH_MASTER_KEY, "HUB_LOG_LEVEL": log_level},
        name="bench-lookup",
        serve_args=["--workers", str(workers)],
    )
    server.start()
    token = server.create_token(org=DEMO_PORTAL)
    return server, token


def check_answers(server: Any, token: str, holders: int) -> str:
    """The loaded holders are found by the server: a lookup and a plan that answer real data."""
    with server.client(token, timeout=30) as http:
        found = 0
        for n in range(min(holders, 20)):
            r = http.post(PATHS["lookup"], json=_body("lookup", n))
            if r.status_code != 200:
                raise SystemExit(f"lookup of holder {n}: HTTP {r.status_code} {r.text[:300]}")
            found += len(r.json()["certificates"])
        r = http.post(PATHS["plan"], json=_body("plan", 1))
        if r.status_code != 200:
            raise SystemExit(f"plan of holder 1: HTTP {r.status_code} {r.text[:300]}")
        plan = r.json()
        on_file = sum(1 for m in plan["materials"] if m["state"] == "on_file")
        filled = sum(1 for f in plan["form"] if f["value"] is not None)
    if not found or not on_file:
        raise SystemExit("the server finds none of the loaded certificates: was it given BENCH_MASTER_KEY?")
    return (
        f"check: {found} usable identity cards for the first {min(holders, 20)} holders; "
        f"plan of holder 1: {on_file}/{len(plan['materials'])} materials on file, "
        f"{filled}/{len(plan['form'])} form fields prefilled"
    )


def measure(spec: Spec, server: Any) -> dict[str, Any]:
    """One measurement from a second process, with the CPU every party used meanwhile."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.lookup", "--drive", json.dumps(spec.__dict__)],
        capture_output=True, text=True, check=False, timeout=spec.warmup + spec.seconds + 120,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"load generator failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _row(r: dict[str, Any]) -> str:
    errors = r["requests"] - r["ok"]
    return (
        f"{r['endpoint']:<7} c={r['concurrency']:<3} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f}  "
        f"p99 {r['p99_ms']:7.2f}  max {r['max_ms']:7.1f} ms  errors {errors:<4} "
        f"cpu: hub {r['hub_cpu_cores']:.2f}, postgres {r['postgres_cpu_cores']:.2f}, "
        f"client {r['client_cpu_cores']:.2f}, others {_others(r):.2f} cores"
    )


def _others(r: dict[str, Any]) -> float:
    """The CPU the rest of the machine used meanwhile (other people's work on a shared machine)."""
    ours = float(r["hub_cpu_cores"]) + float(r["postgres_cpu_cores"]) + float(r["client_cpu_cores"])
    return max(0.0, float(r["machine_busy_cores"]) - ours)


def summarize(results: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    peaks = {}
    for endpoint in PATHS:
        runs = [r for r in results if r["endpoint"] == endpoint]
        if runs:
            peaks[endpoint] = max(runs, key=lambda r: r["rps"])
    print(f"\nat {rows:,} certificates — peaks (the concurrency with the most requests/s):")
    for r in peaks.values():
        print("  " + _row(r))
    summary: dict[str, Any] = {"peaks": peaks}
    bare = peaks.get("bare")
    for endpoint in ("lookup", "plan"):
        peak = peaks.get(endpoint)
        if peak is None or bare is None:
            continue
        r = peak
        ratio = r["rps"] / bare["rps"]
        summary[f"{endpoint}_ratio"] = ratio
        p99_ok = "met" if r["p99_ms"] < 25 else "MISSED"
        ratio_ok = "met" if ratio >= 0.5 else "MISSED"
        print(
            f"  {endpoint}: p99 {r['p99_ms']:.1f} ms at its peak (target < 25 ms: {p99_ok}); "
            f"{r['rps']:.0f}/{bare['rps']:.0f} = {ratio:.2f} of the bare endpoint's req/s "
            f"(target ≥ 0.50 for lookup: {ratio_ok if endpoint == 'lookup' else 'n/a'})"
        )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="certificates (two a holder); default 100,000")
    ap.add_argument("--url", default=DEFAULT_URL, help=f"the dedicated database (default {DEFAULT_URL})")
    ap.add_argument("--seconds", type=float, default=60.0, help="recorded seconds per measurement")
    ap.add_argument("--warmup", type=float, default=3.0, help="unrecorded seconds before each measurement")
    ap.add_argument("--concurrency", default="2,4,8,16", help="concurrent clients, a comma-separated list")
    ap.add_argument("--endpoints", default="bare,lookup,plan")
    ap.add_argument("--workers", type=int, default=2, help="hub serve --workers")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw", help="the load generator's client")
    ap.add_argument("--log-level", default="INFO", help="the hub's HUB_LOG_LEVEL (INFO: one line a request)")
    ap.add_argument("--reload", action="store_true", help="load afresh even if the database is reusable")
    ap.add_argument("--no-prewarm", action="store_true", help="measure with whatever the page cache holds")
    ap.add_argument("--load-only", action="store_true", help="load (or check) the database and stop")
    ap.add_argument("--json", type=Path, help="write every measurement to this file")
    ap.add_argument("--drive", help=argparse.SUPPRESS)  # the load generator's own entry point
    args = ap.parse_args()

    if args.drive:
        print(json.dumps(asyncio.run(_drive(Spec(**json.loads(args.drive))))))
        return

    meta = None if args.reload else reusable(args.url, args.rows)
    if meta is not None:
        print(f"reusing {_database_name(args.url)}: {args.rows:,} certificates loaded {meta['loaded_at']} "
              f"in {meta['load_seconds']} s")  # fmt: skip
    else:
        print(
            f"loading {args.rows:,} certificates for {args.rows // 2:,} holders "
            f"into {_database_name(args.url)} …"
        )
        meta = load(args.url, args.rows)
        for step, seconds in meta["steps"].items():
            print(f"  {seconds:8.1f} s  {step}")
        print(f"loaded in {meta['load_seconds']} s; sizes {meta['sizes']}")
    if args.load_only:
        return

    if not args.no_prewarm:
        print(prewarm(args.url))
    levels = [int(c) for c in args.concurrency.split(",")]
    endpoints = [e for e in args.endpoints.split(",") if e]
    base = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    server = None
    results: list[dict[str, Any]] = []
    try:
        t = time.perf_counter()
        server, token = start_hub(args.url, args.workers, base, args.log_level)
        print(f"hub serve --workers {args.workers} on {server.url} ready in {time.perf_counter() - t:.1f} s "
              f"(log: {server.log_path})")  # fmt: skip
        print(check_answers(server, token, meta["holders"]))
        print("plans (EXPLAIN ANALYZE, one random holder):")
        print("\n".join(explain(args.url, meta["holders"], token.split("_")[1])))
        print(
            f"load: {args.client} client in a second process, {args.seconds:g} s per measurement after "
            f"{args.warmup:g} s warm-up; bare endpoint GET /healthz; {os.cpu_count()} cores shared by all"
        )
        for level in levels:
            for endpoint in endpoints:
                spec = Spec(
                    "127.0.0.1", server.port, token, endpoint, level, args.seconds, args.warmup,
                    meta["holders"], seed=level, client=args.client, hub_pgid=server.process.pid,
                    database=_database_name(args.url),
                )  # fmt: skip
                result = measure(spec, server)
                results.append(result)
                print(_row(result), flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    summary = summarize(results, args.rows)
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "load": meta, "results": results,
                                         "summary": summary}, indent=2, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
