"""``hub applications list|show|complete`` and ``hub tasks list``, run as the operator runs them
(the installed ``hub`` command, in a process of its own) on a hub an application went through.

The story: the department approves while object storage is down, so the application is left
``approved`` with no certificate; the operator finds it, completes it from the command line, and a
second run issues nothing more. ``hub storage gc`` keeps the files the applicant uploaded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from certificates.blobstore_s3 import S3BlobStore
from hub.app import create_app
from hub.demo import DEMO_CITIZEN
from hub.state import HubState
from tests.applications.story import (
    BIRTH_ITEM,
    HEALTH,
    VACCINATION_CARD,
    VACCINATION_ITEM,
    Story,
    application,
    load_story,
)
from tests.conftest import DatabaseFactory
from tests.hub.test_cli import Hub
from tests.live import free_port


@pytest.fixture
def hub(backend: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Hub:
    h = Hub(tmp_path_factory.mktemp(f"applications-cli-{backend}"), databases.create(backend))
    h.ok("db", "upgrade")
    return h


@pytest.fixture
def state(hub: Hub) -> Iterator[HubState]:
    s = hub.state()
    yield s
    s.close()


def approved_while_storage_was_down(state: HubState) -> tuple[Story, str, str]:
    """An application whose last task was approved while sealing could not store its file."""
    with state.sessions() as session:
        story = load_story(state, session)
        session.commit()
    with TestClient(create_app(state=state), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/applications", json=application(), headers=story.portal)
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        task_id = next(t["id"] for t in r.json()["tasks"] if t["item_code"] == BIRTH_ITEM)
    dead = S3BlobStore(f"127.0.0.1:{free_port()}", "hub", "hub-secret", "hub", connect_timeout=0.5, retries=0)
    with TestClient(create_app(state=replace(state, blobs=dead)), raise_server_exceptions=False) as down:
        r = down.post(f"/api/v1/tasks/{task_id}/decision", json={"decision": "approve"}, headers=story.health)
    assert r.status_code == 200 and r.json()["application_status"] == "approved", r.text
    return story, app_id, task_id


def test_the_operator_finds_and_completes_an_application_storage_failed(hub: Hub, state: HubState) -> None:
    story, app_id, task_id = approved_while_storage_was_down(state)

    listed = json.loads(hub.ok("applications", "list", "--status", "approved"))["applications"]
    assert [a["id"] for a in listed] == [app_id]
    assert listed[0]["tasks"] == {BIRTH_ITEM: "approved", VACCINATION_ITEM: "approved"}
    assert json.loads(hub.ok("applications", "list", "--status", "rejected"))["applications"] == []

    shown = json.loads(hub.ok("applications", "show", app_id))
    assert shown["status"] == "approved" and shown["certificates"] == []
    assert shown["holder"]["code"] != DEMO_CITIZEN.code  # masked for the operator too
    assert shown["form"] == {}  # the operator does not read what the applicant filled in

    tasks = json.loads(hub.ok("tasks", "list", "--org", HEALTH))["tasks"]
    assert {t["item_code"]: t["status"] for t in tasks} == {
        BIRTH_ITEM: "approved",
        VACCINATION_ITEM: "approved",
    }
    assert task_id in {t["id"] for t in tasks}
    assert json.loads(hub.ok("tasks", "list", "--org", HEALTH, "--status", "pending"))["tasks"] == []

    # 统一发证 from the command line: the 预防接种证 is issued and the application completed.
    done = json.loads(hub.ok("applications", "complete"))["applications"]
    assert [(d["id"], d["status"], len(d["issued"])) for d in done] == [(app_id, "completed", 1)]
    again = json.loads(hub.ok("applications", "complete", app_id))["applications"]
    assert again == [{"id": app_id, "status": "completed", "issued": []}]  # nothing issued twice

    shown = json.loads(hub.ok("applications", "show", app_id))
    assert shown["status"] == "completed"
    (issued,) = shown["certificates"]
    assert issued["item_code"] == VACCINATION_ITEM
    assert issued["certificate_id"].split(".")[5] == VACCINATION_CARD

    # The files the applicant uploaded survive a collection with no grace at all.
    files = {m["file_sha256"] for m in shown["materials"] if m["file_sha256"]}
    assert files, shown["materials"]
    assert json.loads(hub.ok("storage", "gc", "--grace", "0"))["removed"] >= 0
    fresh = hub.state()
    try:
        for sha in files:
            assert fresh.blobs.get(sha)[:5] == b"%PDF-"
    finally:
        fresh.close()
    with TestClient(create_app(state=state), raise_server_exceptions=False) as client:
        mine = client.get("/api/v1/me/certificates", headers=story.citizen).json()["certificates"]
    assert [c["id"] for c in mine if c["type_code"] == VACCINATION_CARD] == [issued["certificate_id"]]


def test_the_commands_refuse_what_does_not_exist(hub: Hub) -> None:
    r = hub.run("applications", "show", "0123456789abcdef0123456789abcdef")
    assert r.returncode == 1 and "no application" in r.stderr and "Traceback" not in r.stderr
    assert json.loads(hub.ok("applications", "complete"))["applications"] == []  # nothing waiting
    r = hub.run("applications", "list", "--limit", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
