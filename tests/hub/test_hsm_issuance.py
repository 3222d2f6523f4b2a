"""The hub configured for PKCS#11: department seal keys are made on a real SoftHSM2 token, and the
certificates it issues through the API are sealed by the token and verify as valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from certificates.blobstore import BlobCorrupted, fan_out
from certificates.envelope import EnvelopeCipher, MasterKeyWrap, is_sealed
from hub.app import create_app
from hub.state import HubState, build_state
from tests.conftest import make_settings
from tests.factories import add_certificate_type, add_org, bearer, client_token, issue_body, new_uscc
from tests.softhsm import SoftHSMToken


def test_seals_live_on_the_token_and_certificates_verify(
    softhsm_token: SoftHSMToken,
    tmp_path: Path,
    connection: Connection,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(
        tmp_path / "var",
        database_url=str(engine.url),
        signing={
            "keystore": "pkcs11",
            "pkcs11_library": softhsm_token.lib_path,
            "pkcs11_token": softhsm_token.label,
            "pkcs11_pin": softhsm_token.pin,
        },
    )
    joined = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    state: HubState = build_state(settings).with_sessions(joined)
    try:
        assert type(state.signing.keystore).__name__ == "PKCS11KeyStore"
        with joined() as session:
            dept = add_org(state, session, name="示范市公安局")
            type_code = add_certificate_type(session, definer=dept, issuers=[dept], holder_kind="001")
            token = client_token(state, session, org=dept)
            session.commit()
            assert state.signing.keystore.has_key(f"seal-{dept}-1")
        # Nothing of the seal key is on disk: the file key store's directory holds no seal key.
        assert not list((tmp_path / "var" / "pki").glob(f"seal-keys/*{dept}*"))

        with TestClient(create_app(state=state)) as client:
            r = client.post(
                "/api/v1/certificates",
                json=issue_body(type_code, new_uscc("91310000")),
                headers=bearer(token),
            )
            assert r.status_code == 201, r.text
            pdf = client.get(f"/api/v1/certificates/{r.json()['id']}/file", headers=bearer(token)).content
            verdict = client.post("/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}).json()
        assert verdict["result"] == "valid", verdict
        assert verdict["signature"]["signed_by"] == "示范市公安局"
        # The stored file's key is wrapped inside the token: the master key alone does not open it.
        sha256 = r.json()["sha256"]
        stored = (tmp_path / "var" / "blobs" / fan_out(sha256)).read_bytes()
        assert is_sealed(stored) and b"hsm/" in stored[:64]
        master_key = settings.master_key.get_secret_value().encode()
        with pytest.raises(BlobCorrupted):
            EnvelopeCipher(MasterKeyWrap(master_key)).open(sha256, stored)
        assert state.blobs.get(sha256) == pdf
    finally:
        close = getattr(state.signing.keystore, "close", None)
        if close is not None:
            close()
        state.close()
