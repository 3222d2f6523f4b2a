"""`hub demo` on a fresh data directory, then the same files checked by `hub verify` and pdfsig."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from certificates.models import Certificate
from hub.cli import app as cli
from hub.demo import DEMO_CITIZEN, DEMO_CONSENTS, DEMO_PORTAL
from kernel.db import unit_of_work
from sharing.holders import holder_ref
from sharing.lookup import lookup
from sharing.models import Consent
from tests.pdfsig import Pdfsig


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # ./run demo's deployment: the embedded SQLite in the data directory, so no master key is
    # needed — development generates it into the data dir.
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUB_MASTER_KEY", raising=False)
    return tmp_path


def test_demo_loads_catalog_and_sealed_certificates_and_is_idempotent(demo_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--certificates", "12"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout[first.stdout.index("{") :])
    assert set(out["tokens"]) == {"admin", "department", "portal", "health"}

    again = runner.invoke(cli, ["demo", "--certificates", "12"])
    assert again.exit_code == 0, again.output

    from hub.cli_support import prepared_state

    state = prepared_state()
    try:
        with state.sessions() as session:
            # 12 random ones and the demo citizen's three, none of them twice
            assert len(out["citizen"]["certificates"]) == 3
            assert session.scalar(select(func.count()).select_from(Certificate)) == 12 + 3
            consents = session.scalar(select(func.count()).select_from(Consent))
            assert consents == len(DEMO_CONSENTS)  # granted once, kept on the second run
            cert = session.scalars(select(Certificate).limit(1)).one()
            pdf = state.blobs.get(cert.file_sha256)
            root_pem = state.signing.trust_list(session)["roots"][0]
    finally:
        state.close()

    path = demo_env / "demo.pdf"
    path.write_bytes(pdf)
    verified = runner.invoke(cli, ["verify", str(path)])
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout[verified.stdout.index("{") :])
    assert report["result"] == "valid" and report["signature"]["level"] == "B-LT"

    # An independent validator: poppler's pdfsig with the hub's root in a fresh NSS database.
    # (Its online OCSP check needs a running hub: see test_live_signing; here offline.)
    pdfsig = Pdfsig(demo_env / "pdfsig", root_pem)
    report = pdfsig(pdf, online=False)
    assert "Signature is Valid." in report and "Certificate is Trusted." in report, report

    tampered = bytearray(pdf)
    tampered[tampered.index(b"/Subject") + 12] ^= 0x01
    path.write_bytes(bytes(tampered))
    assert runner.invoke(cli, ["verify", str(path)]).exit_code == 1
    assert "Signature is Valid." not in pdfsig(bytes(tampered), online=False)


def test_an_operator_reads_the_demo_citizens_access_log(demo_env: Path) -> None:
    """``hub sharing log`` prints the uses of a holder's data, here one lookup by the demo portal."""
    runner = CliRunner()
    assert runner.invoke(cli, ["demo", "--certificates", "0"]).exit_code == 0
    from hub.cli_support import prepared_state
    from kernel.actor import Actor, Role

    state = prepared_state()
    try:
        with unit_of_work(state.sessions) as session:
            lookup(
                session,
                state.vault,
                actor=Actor(Role.PORTAL, client_id="demo", org_code=DEMO_PORTAL),
                holder=holder_ref(state.vault, DEMO_CITIZEN.kind, DEMO_CITIZEN.code),
                item_code="WJ-BIRTH-CERTIFICATE",
                use_cause="核对母亲身份",
                type_codes=[],
                now=state.clock(),
            )
    finally:
        state.close()
    r = runner.invoke(cli, ["sharing", "log", "--holder-kind", "111", "--holder-code", DEMO_CITIZEN.code])
    assert r.exit_code == 0, r.output
    log = json.loads(r.stdout[r.stdout.index("{") :])
    assert log["total"] == 1
    entry = log["entries"][0]
    assert (entry["action"], entry["organization"]["code"], entry["use_cause"]) == (
        "sharing.lookup",
        DEMO_PORTAL,
        "核对母亲身份",
    )
    assert len(entry["certificates"]) == 1  # her identity card
    bad = runner.invoke(cli, ["sharing", "log", "--holder-kind", "111", "--holder-code", "123"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
