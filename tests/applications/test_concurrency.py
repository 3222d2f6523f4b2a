"""Two clerks deciding two tasks of one application at the same moment, through two hubs on one
PostgreSQL database: neither decision is lost, and the application follows both.

Each decision locks its application's row (``SELECT … FOR UPDATE``) before it reads the other tasks;
without the lock both transactions would see the other task still pending, both would leave the
application ``in_review``, and nothing would ever issue its certificate. The race is run on several
applications, each pair of decisions released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from applications.models import Application, Task
from certificates.models import Certificate
from hub import migrate
from hub.app import create_app
from hub.db import make_engine
from hub.state import HubState, build_state
from tests.applications.story import (
    BIRTH_ITEM,
    VACCINATION_CARD,
    VACCINATION_ITEM,
    Story,
    application,
    load_story,
    pdf_b64,
)
from tests.conftest import DatabaseFactory, make_settings
from tests.served import served

APPLICATIONS = 6


@pytest.fixture
def shared_state(databases: DatabaseFactory, tmp_path: Path) -> Iterator[HubState]:
    """A hub's state on a fresh PostgreSQL database of this test's own, its sessions committing."""
    url = databases.create("postgresql")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    state = build_state(make_settings(tmp_path / "data", database_url=url))
    yield state
    state.close()


def two_manual_tasks(external_id: str) -> dict[str, object]:
    """The story's application with the 预防接种证's birth certificate given as a file instead of
    the one on file: its item is no longer decidable without a clerk, so both tasks wait."""
    body = application(external_id)
    materials = [*body["materials"], {"item_code": VACCINATION_ITEM, "code": "M01", "file": pdf_b64()}]
    return body | {"materials": materials}


def test_two_decisions_on_one_application_at_once_are_both_kept(shared_state: HubState) -> None:
    with shared_state.sessions() as session:
        story: Story = load_story(shared_state, session)
        session.commit()

    with served(create_app(state=shared_state)) as first, served(create_app(state=shared_state)) as second:
        with httpx.Client(base_url=first, timeout=60) as a, httpx.Client(base_url=second, timeout=60) as b:
            pending: list[tuple[str, str, str]] = []
            for n in range(APPLICATIONS):
                r = a.post("/api/v1/applications", json=two_manual_tasks(f"race-{n}"), headers=story.portal)
                assert r.status_code == 201, r.text
                tasks = {t["item_code"]: t for t in r.json()["tasks"]}
                assert {t["status"] for t in tasks.values()} == {"pending"}, tasks
                pending.append((r.json()["id"], tasks[BIRTH_ITEM]["id"], tasks[VACCINATION_ITEM]["id"]))

            def approve(hub: httpx.Client, task_id: str, start: threading.Barrier) -> httpx.Response:
                start.wait()
                return hub.post(
                    f"/api/v1/tasks/{task_id}/decision", json={"decision": "approve"}, headers=story.health
                )

            with ThreadPoolExecutor(2) as pool:
                for _, birth_task, vaccination_task in pending:
                    start = threading.Barrier(2)
                    answers = [
                        pool.submit(approve, a, birth_task, start),
                        pool.submit(approve, b, vaccination_task, start),
                    ]
                    for answer in answers:
                        assert answer.result().status_code == 200, answer.result().text

            for app_id, _, _ in pending:
                r = b.get(f"/api/v1/applications/{app_id}", headers=story.portal)
                assert r.status_code == 200, r.text
                app = r.json()
                assert app["status"] == "completed", app
                assert {t["status"] for t in app["tasks"]} == {"approved"}
                assert [c["item_code"] for c in app["certificates"]] == [VACCINATION_ITEM]

    ids = [app_id for app_id, _, _ in pending]
    with shared_state.sessions() as session:
        statuses = session.scalars(select(Application.status).where(Application.id.in_(ids))).all()
        assert sorted(statuses) == ["completed"] * APPLICATIONS
        decided = session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.application_id.in_(ids), Task.status == "approved")
        )
        assert decided == 2 * APPLICATIONS
        # One 预防接种证 per application: issuance after the race ran once for each.
        issued = session.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.type_code == VACCINATION_CARD)
        )
        assert issued == APPLICATIONS
