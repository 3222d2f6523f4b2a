"""Hostile PDFs at the hub's two doors for them: the anonymous ``POST /api/v1/verify``, and a
department's own PDF on ``POST /api/v1/certificates`` — on SQLite and PostgreSQL.

Every file is read in a PDF worker under the hub's default bounds (``Limits.pdf_check_*``), so each
case runs within that time and memory: a file that needs more is answered ``422 pdf_too_complex``
by the bound itself. Nothing here measures time; a watchdog fails a request that gets no answer
within ``HARD_STOP`` seconds (the bound did not hold) instead of letting the run hang.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.generic import DictionaryObject, NameObject, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub.app import create_app
from hub.settings import Limits
from hub.state import HubState, build_state
from signing.filekeys import FileKeyStore
from signing.pades import Sealer, SealIdentity
from signing.pki.authority import HubPKI
from tests import hostile
from tests.conftest import make_settings
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc

# Far beyond the bound (default 5 s, and a worker's restart): reached only if the bound did not hold.
HARD_STOP = 120.0
FOREIGN_KEY = b"a foreign authority's key, 32 by"


def answered(request: Callable[[], httpx.Response]) -> httpx.Response:
    """``request()``'s response, or a failed test when none comes within ``HARD_STOP`` seconds."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(request()), daemon=True)
    thread.start()
    thread.join(HARD_STOP)
    if not out:
        pytest.fail(f"no answer within {HARD_STOP:g} s: the PDF workers' bound did not hold")
    response: httpx.Response = out[0]
    return response


@dataclass
class Department:
    code: str
    token: str
    type_code: str


@pytest.fixture
def department(hub_state: HubState, session: Session) -> Department:
    code = add_org(hub_state, session, name="示范市市场监督管理局")
    type_code = add_certificate_type(session, definer=code, issuers=[code])
    return Department(code, client_token(hub_state, session, org=code), type_code)


@pytest.fixture
def sealed(client: TestClient, department: Department) -> bytes:
    """A certificate the hub rendered and sealed (the configured level, B-LT)."""
    r = client.post(
        "/api/v1/certificates",
        json=issue_body(department.type_code, new_uscc("91310000")),
        headers=bearer(department.token),
    )
    assert r.status_code == 201, r.text
    link = r.json()["links"]["file"]
    return client.get(link, headers=bearer(department.token)).content


@pytest.fixture(scope="session")
def foreign_sealed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A page sealed by a CA the hub does not trust (a self-made one, with a department's name)."""
    directory = tmp_path_factory.mktemp("foreign-ca")
    pki = HubPKI.open_or_create(
        directory / "pki", FOREIGN_KEY, org_name="外省某局", base_url="http://127.0.0.1:9"
    )
    keys = FileKeyStore(directory / "keys", FOREIGN_KEY)
    cert = pki.issue_seal_certificate(
        keys.ensure_key("impostor"), "示范市市场监督管理局", "11310000MB0000001X"
    )
    identity = SealIdentity("impostor", cert, "示范市市场监督管理局", "11310000MB0000001X")
    return Sealer(pki, keys, timestamper=None, level="B-B").seal(hostile.plain(), identity).pdf


@pytest.fixture(scope="session")
def million_objects() -> bytes:
    """A million fields in one object stream, all in /AcroForm /Fields: ~9 MB, under the size limit.
    pyHanko spends seconds on its cross-reference stream alone, then ~100 µs a field."""
    data = hostile.fields_in_one_object_stream(1_000_000, fields_packed=True)
    assert len(data) < Limits().max_pdf_bytes
    return data


def verify(client: TestClient, pdf: bytes) -> httpx.Response:
    return answered(lambda: client.post("/api/v1/verify", files={"file": ("x.pdf", pdf, "application/pdf")}))


def upload(client: TestClient, department: Department, pdf: bytes) -> httpx.Response:
    body = issue_body(department.type_code, new_uscc("91310000"), file=base64.b64encode(pdf).decode())
    return answered(lambda: client.post("/api/v1/certificates", json=body, headers=bearer(department.token)))


def verdict(response: httpx.Response) -> tuple[str, str]:
    """A verification's result and its problems in one line."""
    assert response.status_code == 200, response.text
    body = response.json()
    return body["result"], " / ".join(body["problems"])


def refusal(response: httpx.Response) -> tuple[int, str]:
    """A problem's status and code; a problem+json with the field at fault, never a 5xx."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["field"] == "file", body
    return response.status_code, body["code"]


def with_javascript_after_the_seal(pdf: bytes) -> bytes:
    """An incremental update to a sealed file that adds an /OpenAction running JavaScript."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    action = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): pdf_string("app.alert(1)"),
        }
    )
    writer.root["/OpenAction"] = writer.add_object(action)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- the finding: object counts ------------------------------------------------------------------


def test_five_thousand_fields_in_one_object_stream_are_read_and_found_unsealed(client: TestClient) -> None:
    result, problems = verdict(verify(client, hostile.fields_in_one_object_stream(5000)))
    assert result == "invalid" and "no electronic seal" in problems


def test_a_million_objects_are_too_complex_to_verify(client: TestClient, million_objects: bytes) -> None:
    response = verify(client, million_objects)
    assert refusal(response) == (422, "pdf_too_complex")
    assert "could not be read within" in response.json()["detail"]


def test_a_million_objects_are_too_complex_to_seal(
    client: TestClient, department: Department, million_objects: bytes
) -> None:
    assert refusal(upload(client, department, million_objects)) == (422, "pdf_too_complex")


def test_a_form_walked_400_million_times_is_too_complex_to_verify(client: TestClient) -> None:
    """Seven objects and 280 kB: no count of objects or bytes would have refused it."""
    assert refusal(verify(client, hostile.one_field_listed_many_times())) == (422, "pdf_too_complex")


def test_the_hub_answers_after_a_refused_file(
    client: TestClient, sealed: bytes, million_objects: bytes
) -> None:
    """The worker stopped at its bound is replaced: the next file is checked as usual."""
    assert refusal(verify(client, million_objects)) == (422, "pdf_too_complex")
    assert verdict(verify(client, sealed)) == ("valid", "")


# -- damaged structure ---------------------------------------------------------------------------


def test_a_truncated_certificate_is_invalid(client: TestClient, sealed: bytes) -> None:
    result, problems = verdict(verify(client, sealed[: len(sealed) // 2]))
    assert result == "invalid" and problems


def test_a_looping_prev_is_unreadable(client: TestClient, department: Department) -> None:
    assert verdict(verify(client, hostile.looping_prev())) == ("invalid", "The file is not a readable PDF.")
    assert refusal(upload(client, department, hostile.looping_prev())) == (422, "pdf_unreadable")


def test_bytes_appended_after_eof_make_a_certificate_invalid(client: TestClient, sealed: bytes) -> None:
    result, problems = verdict(verify(client, sealed + b"\nbytes after the end of the file\n"))
    assert result == "invalid" and "appended after its last revision" in problems


# -- inflation -----------------------------------------------------------------------------------


def test_a_page_of_a_gigabyte_of_zeros_is_not_inflated_to_verify(client: TestClient) -> None:
    result, problems = verdict(verify(client, hostile.inflation_bomb()))
    assert result == "invalid" and "no electronic seal" in problems


def test_a_page_of_a_gigabyte_of_zeros_is_too_large_to_seal(
    client: TestClient, department: Department
) -> None:
    assert refusal(upload(client, department, hostile.inflation_bomb())) == (413, "pdf_too_large")


def test_an_object_stream_of_a_gigabyte_of_zeros_is_unreadable(
    client: TestClient, department: Department
) -> None:
    bomb = hostile.object_stream_bomb()
    assert verdict(verify(client, bomb)) == ("invalid", "The file is not a readable PDF.")
    assert refusal(upload(client, department, bomb)) == (422, "pdf_unreadable")


# -- encryption and active content ---------------------------------------------------------------


def test_an_encrypted_pdf_is_unsealed_and_refused_for_sealing(
    client: TestClient, department: Department
) -> None:
    result, problems = verdict(verify(client, hostile.encrypted()))
    assert result == "invalid" and "no electronic seal" in problems
    assert refusal(upload(client, department, hostile.encrypted())) == (422, "pdf_encrypted")


def test_javascript_on_open_is_unsealed_and_refused_for_sealing(
    client: TestClient, department: Department
) -> None:
    result, problems = verdict(verify(client, hostile.open_action_javascript()))
    assert result == "invalid" and "no electronic seal" in problems
    assert refusal(upload(client, department, hostile.open_action_javascript())) == (422, "pdf_javascript")


def test_javascript_added_after_the_seal_makes_a_certificate_invalid(
    client: TestClient, sealed: bytes
) -> None:
    result, problems = verdict(verify(client, with_javascript_after_the_seal(sealed)))
    assert result == "invalid" and "changed after sealing" in problems


# -- objects that refer to themselves ------------------------------------------------------------


@pytest.mark.parametrize(
    "build", [hostile.field_that_is_its_own_kid, hostile.self_reference], ids=["own-kid", "self-reference"]
)
def test_a_form_that_refers_to_itself_is_unreadable(
    client: TestClient, department: Department, build: Callable[[], bytes]
) -> None:
    assert verdict(verify(client, build())) == ("invalid", "The file is not a readable PDF.")
    assert refusal(upload(client, department, build())) == (422, "pdf_unreadable")


def test_a_page_tree_that_holds_itself_is_unsealed_and_refused_for_sealing(
    client: TestClient, department: Department
) -> None:
    result, problems = verdict(verify(client, hostile.page_tree_loop()))
    assert result == "invalid" and "no electronic seal" in problems
    assert refusal(upload(client, department, hostile.page_tree_loop())) == (422, "pdf_unreadable")


# -- seals ---------------------------------------------------------------------------------------


def test_a_seal_of_a_foreign_ca_is_indeterminate(client: TestClient, foreign_sealed: bytes) -> None:
    response = verify(client, foreign_sealed)
    result, problems = verdict(response)
    assert result == "indeterminate" and "not issued by a trusted authority" in problems
    assert response.json()["signature"]["trusted"] is False


def test_an_unsealed_pdf_is_invalid_and_accepted_for_sealing(
    client: TestClient, department: Department
) -> None:
    result, problems = verdict(verify(client, hostile.plain()))
    assert result == "invalid" and "no electronic seal" in problems
    response = upload(client, department, hostile.plain())
    assert response.status_code == 201, response.text


# -- the workers' settings -----------------------------------------------------------------------


@pytest.fixture
def one_worker(hub_state: HubState, engine: Engine) -> Iterator[HubState]:
    """The test's hub with one PDF worker and a 1 s CPU bound (3 s of wall time)."""
    limits = {"pdf_check_workers": 1, "pdf_check_seconds": 1, "pdf_check_memory_bytes": 512 * 1024 * 1024}
    state = build_state(
        make_settings(hub_state.settings.data_dir, database_url=str(engine.url), limits=limits)
    )
    try:
        yield state.with_sessions(hub_state.sessions)
    finally:
        state.close()


def test_the_workers_follow_the_settings(one_worker: HubState) -> None:
    workers = one_worker.pdf_checks.workers
    assert workers.size == 1
    assert (workers.bounds.cpu, workers.bounds.seconds, workers.bounds.memory_bytes) == (
        1,
        3,
        512 * 1024 * 1024,
    )


def test_every_worker_busy_is_a_503_to_retry(one_worker: HubState) -> None:
    workers = one_worker.pdf_checks.workers
    workers.start()
    held = workers._idle.get()  # the one worker, as a running check holds it
    try:
        with TestClient(create_app(state=one_worker), raise_server_exceptions=False) as client:
            response = verify(client, hostile.plain())
    finally:
        workers._idle.put(held)
    assert response.status_code == 503 and response.json()["code"] == "pdf_workers_busy"
    assert response.headers["retry-after"] == "3"
