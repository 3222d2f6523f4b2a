"""Durability and concurrency against real ``hub serve`` processes (``tests/live.py``).

* several processes issuing at once on one PostgreSQL database never share a serial, and racing
  repeats of one ``external_id`` make exactly one certificate;
* SIGKILL in the middle of a large batch loses nothing acknowledged: after a restart every
  acknowledged certificate has its row, its ``issue`` event and its blob (hash checked), and
  resending every batch creates no duplicate (SQLite and PostgreSQL);
* object storage going away turns issuance into ``503`` + ``Retry-After`` with nothing written.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from certificates.blobstore import fan_out, is_digest
from certificates.identifiers import check_character, parse
from certificates.models import Certificate, CertificateEvent, IssuanceKey
from hub.db import make_engine
from tests.conftest import DatabaseFactory
from tests.live import HubServer, Issuer, LiveHubs
from tests.seaweed import running_seaweed

pytestmark = pytest.mark.slow

PARALLEL_REQUESTS = 60
CLIENT_THREADS = 16
SAME_ID_REPEATS = 10
BATCHES = 4
BATCH_SIZE = 30


@pytest.fixture
def db_engine() -> Iterator[list[Engine]]:
    """Engines a test opens on a live hub's database, disposed at the end."""
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.dispose()


def open_db(engines: list[Engine], hub: HubServer) -> Engine:
    engine = make_engine(hub.effective_database_url, pool_size=2)
    engines.append(engine)
    return engine


def certificate_rows(engine: Engine, issuer: str) -> list[Certificate]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.scalars(select(Certificate).where(Certificate.issuer_code == issuer)))


# -- 1. many processes, one PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def two_hubs_on_postgresql(live_hubs: LiveHubs, databases: DatabaseFactory) -> tuple[HubServer, HubServer]:
    """Two ``hub serve`` processes on one fresh PostgreSQL database and one data dir (shared keys),
    started at the same moment, so they also migrate and create keys concurrently."""
    url = databases.create("postgresql")
    shared = live_hubs.base_dir / "shared"
    a = live_hubs.server(data_dir=shared, database_url=url, name="a")
    b = live_hubs.server(data_dir=shared, database_url=url, name="b")
    live_hubs.start_many([a, b])
    return a, b


def test_parallel_issuance_from_two_processes_gives_distinct_serials(
    two_hubs_on_postgresql: tuple[HubServer, HubServer], db_engine: list[Engine]
) -> None:
    a, b = two_hubs_on_postgresql
    issuer = a.setup_issuer()
    bodies = [issuer.body(f"parallel-{i}") for i in range(PARALLEL_REQUESTS)]
    with a.client(issuer.token) as ca, b.client(issuer.token) as cb:
        clients = [ca, cb]
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            answers = list(
                pool.map(
                    lambda ib: clients[ib[0] % 2].post("/api/v1/certificates", json=ib[1]),
                    enumerate(bodies),
                )
            )
    assert [r.status_code for r in answers] == [201] * PARALLEL_REQUESTS, [
        r.text for r in answers if r.status_code != 201
    ][:3]
    ids = [r.json()["id"] for r in answers]
    assert len(set(ids)) == PARALLEL_REQUESTS
    serials = []
    for text in ids:
        ident = parse(text)  # raises unless the check character is right
        assert text.rsplit(".", 1)[1] == check_character(ident.body)
        assert (ident.type_code, ident.issuer_code, ident.version) == (issuer.type_code, issuer.org_code, 1)
        serials.append(ident.serial)
    # Every request committed, so the counter handed out exactly 1..N: no gap, no repeat.
    assert sorted(serials) == [f"{n:010d}" for n in range(1, PARALLEL_REQUESTS + 1)]

    rows = certificate_rows(open_db(db_engine, a), issuer.org_code)
    assert len(rows) == PARALLEL_REQUESTS
    assert {row.id for row in rows} == set(ids)
    assert {row.external_id for row in rows} == {body["external_id"] for body in bodies}


def test_same_external_id_raced_from_two_processes_makes_one_certificate(
    two_hubs_on_postgresql: tuple[HubServer, HubServer], db_engine: list[Engine]
) -> None:
    a, b = two_hubs_on_postgresql
    issuer = a.setup_issuer()
    body = issuer.body("raced-once")
    start = threading.Barrier(SAME_ID_REPEATS)

    with a.client(issuer.token) as ca, b.client(issuer.token) as cb:
        clients = [ca, cb]

        def send(i: int) -> httpx.Response:
            start.wait()
            return clients[i % 2].post("/api/v1/certificates", json=body)

        with ThreadPoolExecutor(SAME_ID_REPEATS) as pool:
            answers = list(pool.map(send, range(SAME_ID_REPEATS)))

    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {200, 201}, [r.text for r in answers if r.status_code not in (200, 201)][:3]
    assert statuses[201] == 1, statuses
    assert len({r.json()["id"] for r in answers}) == 1
    assert len({r.json()["verification_code"] for r in answers}) == 1

    engine = open_db(db_engine, a)
    rows = certificate_rows(engine, issuer.org_code)
    assert [row.id for row in rows] == [answers[0].json()["id"]]
    with engine.connect() as conn:
        keys = conn.scalar(
            select(func.count()).select_from(IssuanceKey).where(IssuanceKey.issuer_code == issuer.org_code)
        )
    assert keys == 1


# -- 2. an answer means committed ---------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_acknowledged_issuance_is_committed_before_the_answer(
    backend: str, live_hubs: LiveHubs, databases: DatabaseFactory, db_engine: list[Engine]
) -> None:
    """201/200 is only sent once the rows are committed: a crash right after the answer, or a read
    from another connection, must find them (the commit must not run after the response)."""
    hub = live_hubs.start(database_url=databases.create(backend))
    issuer = hub.setup_issuer()
    engine = open_db(db_engine, hub)

    def committed() -> int:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(Certificate)
                    .where(Certificate.issuer_code == issuer.org_code)
                )
                or 0
            )

    expected = 0
    with hub.client(issuer.token) as http:
        for _ in range(2):
            r = http.post("/api/v1/certificates/batch", json={"items": [issuer.body() for _ in range(4)]})
            assert r.status_code == 200 and {x["status"] for x in r.json()["results"]} == {201}, r.text
            expected += 4
            assert committed() == expected, "the batch was answered before its transaction committed"
            r = http.post("/api/v1/certificates", json=issuer.body())
            assert r.status_code == 201, r.text
            expected += 1
            assert committed() == expected, "the certificate was answered before its transaction committed"


# -- 3. SIGKILL in the middle of a large batch ------------------------------------------------------


@dataclass
class BatchSender:
    """Sends batches one after another from a thread, recording what the server acknowledged."""

    hub: HubServer
    issuer: Issuer
    batches: list[list[dict[str, Any]]]
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # external_id -> certificate
    acknowledged_batches: int = 0
    failure: str | None = None  # how the unacknowledged batch ended
    problems: list[str] = field(default_factory=list)

    def run(self) -> None:
        with self.hub.client(self.issuer.token, timeout=300) as http:
            for items in self.batches:
                try:
                    r = http.post("/api/v1/certificates/batch", json={"items": items})
                except httpx.HTTPError as e:
                    self.failure = type(e).__name__
                    return
                if r.status_code != 200:
                    self.problems.append(f"batch answered {r.status_code}: {r.text[:300]}")
                    return
                for item, result in zip(items, r.json()["results"], strict=True):
                    if result["status"] != 201:
                        self.problems.append(f"item {result}")
                    self.acknowledged[item["external_id"]] = result["certificate"]
                self.acknowledged_batches += 1


def blob_count(blob_dir: Path) -> int:
    if not blob_dir.is_dir():
        return 0
    return sum(1 for p in blob_dir.glob("*/*/*") if is_digest(p.name))


def wait_until(condition: Any, timeout: float, what: str, hub: HubServer) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(
        f"timed out waiting for {what}; server log:\n{hub.log_path.read_text(errors='replace')[-3000:]}"
    )


def assert_complete(engine: Engine, hub: HubServer, token: str, rows: list[Certificate]) -> None:
    """Every row has an ``issue`` event and a blob whose SHA-256 is the row's, served by /file."""
    with engine.connect() as conn:
        issued = set(
            conn.scalars(
                select(CertificateEvent.certificate_id).where(
                    CertificateEvent.action == "issue",
                    CertificateEvent.certificate_id.in_([row.id for row in rows]),
                )
            )
        )
    with hub.client(token) as http:
        for row in rows:
            assert row.id in issued, f"{row.id} has no issue event"
            path = hub.blob_dir / fan_out(row.file_sha256)
            assert path.is_file(), f"{row.id} points at a missing blob"
            stored = hub.stored_file(path.read_bytes(), row.file_sha256)
            assert hashlib.sha256(stored).hexdigest() == row.file_sha256
            r = http.get(f"/api/v1/certificates/{row.id}/file")
            assert r.status_code == 200, r.text
            assert hashlib.sha256(r.content).hexdigest() == row.file_sha256


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_batch_loses_nothing_acknowledged_and_resending_duplicates_nothing(
    backend: str, live_hubs: LiveHubs, databases: DatabaseFactory, db_engine: list[Engine]
) -> None:
    # SQLite: the embedded default inside the data dir; PostgreSQL: a fresh database.
    hub = live_hubs.start(database_url=databases.create("postgresql") if backend == "postgresql" else None)
    issuer = hub.setup_issuer()
    batches = [[issuer.body(f"batch{b}-item{i}") for i in range(BATCH_SIZE)] for b in range(BATCHES)]

    sender = BatchSender(hub, issuer, batches)
    thread = threading.Thread(target=sender.run, daemon=True)
    thread.start()
    # Kill once the third batch is half sealed: its blobs are on disk, its rows are not committed.
    half_of_third = 2 * BATCH_SIZE + BATCH_SIZE // 2
    wait_until(lambda: blob_count(hub.blob_dir) >= half_of_third, 240, "the third batch to be half done", hub)
    hub.kill()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert sender.problems == []
    assert sender.failure is not None, "every batch was acknowledged: the kill came too late to test anything"
    assert sender.acknowledged_batches >= 2
    acknowledged = sender.acknowledged
    assert len(acknowledged) == sender.acknowledged_batches * BATCH_SIZE

    hub.start()
    engine = open_db(db_engine, hub)
    rows = {row.external_id: row for row in certificate_rows(engine, issuer.org_code)}
    for external_id, cert in acknowledged.items():
        row = rows.get(external_id)
        assert row is not None, f"acknowledged {external_id} ({cert['id']}) is gone after the crash"
        assert (row.id, row.file_sha256) == (cert["id"], cert["sha256"])
    # Complete means row + event + intact blob, for every row there is (acknowledged or not).
    assert_complete(engine, hub, issuer.token, list(rows.values()))
    # The killed batch may leave blobs without rows (orphans: sealed, not committed), never rows
    # without blobs. Its items commit one by one, so some of them may already be complete rows.
    assert blob_count(hub.blob_dir) >= len(rows)

    # Resend everything: acknowledged items come back as the same certificates, the rest are issued.
    with hub.client(issuer.token, timeout=300) as http:
        for items in batches:
            r = http.post("/api/v1/certificates/batch", json={"items": items})
            assert r.status_code == 200, r.text
            for item, result in zip(items, r.json()["results"], strict=True):
                before = acknowledged.get(item["external_id"])
                if before is not None:
                    assert result["status"] == 200, result
                    assert result["certificate"]["id"] == before["id"]
                    assert result["certificate"]["sha256"] == before["sha256"]
                else:
                    assert result["status"] in (200, 201), result

    final = certificate_rows(engine, issuer.org_code)
    per_external_id = Counter(row.external_id for row in final)
    assert set(per_external_id.values()) == {1}
    assert len(final) == BATCHES * BATCH_SIZE
    assert len({row.serial for row in final}) == len(final)
    assert_complete(engine, hub, issuer.token, final)

    # The crash's orphans go with a collection; every referenced blob stays.
    referenced = {row.file_sha256 for row in final}
    orphans = blob_count(hub.blob_dir) - len(referenced)
    assert hub.cli_json("storage", "gc", "--grace", "0")["removed"] == orphans
    assert blob_count(hub.blob_dir) == len(referenced)
    assert_complete(engine, hub, issuer.token, final)


# -- 4. storage down -------------------------------------------------------------------------------


def test_storage_down_answers_503_with_retry_after_and_writes_nothing(
    live_hubs: LiveHubs, databases: DatabaseFactory, db_engine: list[Engine], tmp_path: Path
) -> None:
    with ExitStack() as weed:
        # A SeaweedFS of this test's own: stopping it must not touch the session's shared one.
        s3 = weed.enter_context(running_seaweed(_fresh_dir(tmp_path / "weed")))
        hub = live_hubs.start(
            database_url=databases.create("sqlite"),
            env={
                "HUB_STORAGE__BACKEND": "s3",
                "HUB_STORAGE__S3_ENDPOINT": s3.endpoint,
                "HUB_STORAGE__S3_ACCESS_KEY": s3.access_key,
                "HUB_STORAGE__S3_SECRET_KEY": s3.secret_key,
                "HUB_STORAGE__S3_BUCKET": "hub-storage-down",
            },
        )
        issuer = hub.setup_issuer()
        with hub.client(issuer.token) as http:
            first = http.post("/api/v1/certificates", json=issuer.body())
            assert first.status_code == 201, first.text
            assert http.get("/readyz").status_code == 200
        weed.close()  # storage goes away; the hub keeps running

    engine = open_db(db_engine, hub)
    before = certificate_rows(engine, issuer.org_code)
    with hub.client(issuer.token) as http:
        r = http.post("/api/v1/certificates", json=issuer.body())
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["Retry-After"]) > 0
        problem = r.json()
        assert problem["status"] == 503 and problem["code"]
        assert "secret" not in r.text.lower()

        batch = http.post("/api/v1/certificates/batch", json={"items": [issuer.body(), issuer.body()]})
        assert batch.status_code in (200, 503), batch.text
        if batch.status_code == 200:
            assert {result["status"] for result in batch.json()["results"]} == {503}

        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert "Retry-After" in ready.headers
        assert ready.json()["checks"]["storage"] != "ok"
        assert ready.json()["checks"]["database"] == "ok"

        # Reads of what is stored in the database still answer; the file read says 503, not 500.
        cert_id = first.json()["id"]
        assert http.get(f"/api/v1/certificates/{cert_id}").status_code == 200
        file = http.get(f"/api/v1/certificates/{cert_id}/file")
        assert file.status_code == 503 and "Retry-After" in file.headers
    after = certificate_rows(engine, issuer.org_code)
    assert [row.id for row in after] == [row.id for row in before]
    with engine.connect() as conn:
        keys = conn.scalar(
            select(func.count()).select_from(IssuanceKey).where(IssuanceKey.issuer_code == issuer.org_code)
        )
    assert keys == len(before)


def _fresh_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path
