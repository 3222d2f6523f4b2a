"""What an application costs on top of issuing its certificate: the 新生儿出生一件事 cycle against
the department issuing the same 预防接种证 directly, in the same run, in one process over ASGI.

    .venv/bin/python -m bench.applications [--n 100] [--url postgresql://postgres@127.0.0.1:5432/postgres]

One fresh database (SQLite in a temp dir, or a new PostgreSQL database on ``--url``'s server,
dropped afterwards), migrated by Alembic, with the demo catalog, the demo citizen's certificates
and consents (``tests.applications.story``). Then, alternating so that both see the same machine:

* **application** — ``POST /api/v1/applications`` (plan, consent, pre-review with the uploaded
  PDF checked in a PDF worker, intake, the 预防接种证 item decided automatically, the audit and
  access-log entries, commit), then the 卫健委's ``POST /api/v1/tasks/{id}/decision`` approving the
  出生医学证明 item, which completes the application: the 预防接种证 is rendered, sealed (B-LT, the
  hub's own TSA) and stored;
* **plain issuance** — the 卫健委 sends the same 预防接种证 with ``POST /api/v1/certificates``.

Prints p50/p99/max of each step and whole-run throughput (cycles per second), and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from bench.databases import fresh_database
from hub.app import create_app
from hub.demo import DEMO_CITIZEN
from hub.settings import Settings
from hub.state import build_state
from tests.applications.story import BIRTH_ITEM, VACCINATION_CARD, application, load_story

MASTER_KEY = "bench-applications master key, not a secret, 0123456789abcdef"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


def timed(fn: Callable[[], Any], into: list[float]) -> Any:
    t = time.perf_counter()
    result = fn()
    into.append(time.perf_counter() - t)
    return result


def vaccination_card(n: int) -> dict[str, Any]:
    """What the department would send to issue the 预防接种证 itself."""
    return {
        "type_code": VACCINATION_CARD,
        "external_id": f"plain-{n}",
        "holder": {"name": DEMO_CITIZEN.name, "kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code},
        "issued_on": "2026-12-01",
        "valid_from": "2026-12-01",
        "area_code": "310000",
        "data": {
            "child_name": "林小满",
            "child_gender": "女",
            "birth_date": "2025-03-18",
            "guardian_name": DEMO_CITIZEN.name,
            "vaccination_unit": "示范市徐汇区社区卫生服务中心（演示）",
        },
    }


def run(n: int, url: str | None) -> None:
    with fresh_database(url) as engine, tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=str(engine.url.render_as_string(False)),
            master_key=MASTER_KEY,
        )  # type: ignore[call-arg]
        state = build_state(settings)
        try:
            with state.sessions() as session:
                story = load_story(state, session)
                session.commit()
            intake: list[float] = []
            decision: list[float] = []
            cycle: list[float] = []
            plain: list[float] = []
            with TestClient(create_app(state=state), raise_server_exceptions=True) as client:
                # One of each first, unrecorded: PDF workers, fonts and keys warm.
                client.post("/api/v1/certificates", json=vaccination_card(-1), headers=story.health)
                client.post("/api/v1/applications", json=application("warm"), headers=story.portal)
                for i in range(n):
                    start = time.perf_counter()
                    r = timed(
                        lambda i=i: client.post(
                            "/api/v1/applications", json=application(f"bench-{i}"), headers=story.portal
                        ),
                        intake,
                    )
                    assert r.status_code == 201, r.text
                    task = next(t["id"] for t in r.json()["tasks"] if t["item_code"] == BIRTH_ITEM)
                    r = timed(
                        lambda task=task: client.post(
                            f"/api/v1/tasks/{task}/decision",
                            json={"decision": "approve"},
                            headers=story.health,
                        ),
                        decision,
                    )
                    assert r.status_code == 200 and r.json()["application_status"] == "completed", r.text
                    cycle.append(time.perf_counter() - start)
                    r = timed(
                        lambda i=i: client.post(
                            "/api/v1/certificates", json=vaccination_card(i), headers=story.health
                        ),
                        plain,
                    )
                    assert r.status_code == 201, r.text
        finally:
            state.close()
    backend = "PostgreSQL" if url else "SQLite"
    print(f"{n} applications and {n} plain issuances, {backend}, in one process over ASGI")
    print(f"  intake (POST /applications)      {percentiles(intake)}")
    print(f"  decision + issuance (completes)  {percentiles(decision)}")
    print(f"  whole application cycle          {percentiles(cycle)}  {n / sum(cycle):6.2f}/s")
    print(f"  plain issuance of the same card  {percentiles(plain)}  {n / sum(plain):6.2f}/s")
    print(f"  cycle / plain (median)           {statistics.median(cycle) / statistics.median(plain):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--url", default=None, help="a PostgreSQL server to create the database on")
    args = parser.parse_args()
    run(args.n, args.url)


if __name__ == "__main__":
    main()
