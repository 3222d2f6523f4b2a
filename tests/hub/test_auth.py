"""Bearer authentication: client API keys by role, citizen JWTs from the identity provider."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import ApiClient
from hub.app import create_app
from hub.deps import AdminDep, CallerDep, DepartmentDep
from hub.state import HubState
from tests.conftest import make_settings
from tests.factories import add_org, bearer, client_token, new_ric

probe = APIRouter()


@probe.get("/_probe/admin")
def _admin(caller: AdminDep) -> dict[str, str]:
    return {"role": caller.role}


@probe.get("/_probe/department")
def _department(caller: DepartmentDep) -> dict[str, str | None]:
    return {"role": caller.role, "org": caller.org_code}


@probe.get("/_probe/whoami")
def _whoami(caller: CallerDep) -> dict[str, str | None]:
    return {"role": caller.role, "holder": caller.citizen.holder_code if caller.citizen else None}


@pytest.fixture
def app_client(hub_state: HubState) -> TestClient:
    app = create_app(state=hub_state)
    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c  # type: ignore[misc]


def test_token_is_stored_only_as_a_hash(hub_state: HubState, session: Session) -> None:
    org = add_org(hub_state, session)
    token = client_token(hub_state, session, org=org)
    rows = session.scalars(select(ApiClient)).all()
    secret = token.split("_", 2)[2]
    assert rows and all(secret not in r.token_hash and token not in r.token_hash for r in rows)


def test_missing_token_is_401(app_client: TestClient) -> None:
    r = app_client.get("/_probe/whoami")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unauthorized"


def test_wrong_token_is_401(app_client: TestClient, hub_state: HubState, session: Session) -> None:
    org = add_org(hub_state, session)
    token = client_token(hub_state, session, org=org)
    r = app_client.get("/_probe/whoami", headers=bearer(token[:-2] + "xx"))
    assert r.status_code == 401
    assert app_client.get("/_probe/whoami", headers=bearer("hub_nobody_x")).status_code == 401


def test_right_token_of_wrong_role_is_403(
    app_client: TestClient, hub_state: HubState, session: Session
) -> None:
    portal = add_org(hub_state, session, kind="portal")
    token = client_token(hub_state, session, org=portal)
    assert app_client.get("/_probe/whoami", headers=bearer(token)).json()["role"] == "portal"
    r = app_client.get("/_probe/admin", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert app_client.get("/_probe/department", headers=bearer(token)).status_code == 403


def test_admin_and_department_roles(app_client: TestClient, hub_state: HubState, session: Session) -> None:
    admin = client_token(hub_state, session, admin=True)
    dept_org = add_org(hub_state, session)
    dept = client_token(hub_state, session, org=dept_org)
    assert app_client.get("/_probe/admin", headers=bearer(admin)).status_code == 200
    r = app_client.get("/_probe/department", headers=bearer(dept))
    assert r.json() == {"role": "department", "org": dept_org}


def test_dev_provider_token_is_accepted(app_client: TestClient, hub_state: HubState) -> None:
    assert hub_state.dev_idp is not None
    code = new_ric()
    token = hub_state.dev_idp.token("111", code, "张三")
    r = app_client.get("/_probe/whoami", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"role": "citizen", "holder": code}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(app_client: TestClient, hub_state: HubState) -> None:
    claims = {
        "iss": "hub-dev-idp",
        "aud": "hub",
        "sub": new_ric(),
        "holder_kind": "111",
        "exp": time.time() + 60,
    }
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert app_client.get("/_probe/whoami", headers=bearer(token)).status_code == 401


def test_algorithm_confusion_is_refused(app_client: TestClient, hub_state: HubState) -> None:
    """An HS256 token 'signed' with the provider's public key must not pass."""
    assert hub_state.dev_idp is not None
    public_pem = hub_state.dev_idp.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {
        "iss": "hub-dev-idp",
        "aud": "hub",
        "sub": new_ric(),
        "holder_kind": "111",
        "exp": int(time.time()) + 60,
    }
    header = {"alg": "HS256", "kid": "hub-dev-idp"}
    import hashlib
    import hmac

    signing_input = f"{_b64(header)}.{_b64(claims)}".encode()
    sig = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    token = signing_input.decode() + "." + sig.decode()
    r = app_client.get("/_probe/whoami", headers=bearer(token))
    assert r.status_code == 401


@pytest.mark.parametrize(
    "change",
    [{"exp": -120}, {"aud": "someone-else"}, {"iss": "evil"}, {"holder_kind": "999"}],
    ids=["expired", "audience", "issuer", "holder-kind"],
)
def test_bad_claims_are_refused(
    app_client: TestClient, hub_state: HubState, change: dict[str, object]
) -> None:
    assert hub_state.dev_idp is not None
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "hub-dev-idp",
        "aud": "hub",
        "sub": new_ric(),
        "holder_kind": "111",
        "iat": now,
        "exp": now + 60,
    }
    for k, v in change.items():
        claims[k] = now + v if k == "exp" else v  # type: ignore[operator]
    token = jwt.encode(claims, hub_state.dev_idp._key, algorithm="ES256", headers={"kid": "hub-dev-idp"})
    assert app_client.get("/_probe/whoami", headers=bearer(token)).status_code == 401


def test_foreign_key_is_refused(app_client: TestClient) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    claims = {"iss": "hub-dev-idp", "aud": "hub", "sub": new_ric(), "holder_kind": "111", "exp": now + 60}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "hub-dev-idp"})
    assert app_client.get("/_probe/whoami", headers=bearer(token)).status_code == 401


def test_switched_off_dev_provider_tokens_are_refused(hub_state: HubState, tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]

    from hub.state import build_state

    assert hub_state.dev_idp is not None
    token = hub_state.dev_idp.token("111", new_ric(), "李四")
    # Same data dir (same dev key on disk), provider switched off, an external JWKS configured instead.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(other.public_key()))
    jwk["kid"] = "external"
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    off = build_state(
        make_settings(
            hub_state.settings.data_dir,
            database_url=str(engine.url),
            identity={"dev_provider": False, "jwks_file": jwks},
        )
    )
    try:
        app = create_app(state=off.with_sessions(hub_state.sessions))
        app.include_router(probe)
        with TestClient(app) as c:
            assert c.get("/_probe/whoami", headers=bearer(token)).status_code == 401
            now = int(time.time())
            good = jwt.encode(
                {"iss": "hub-dev-idp", "aud": "hub", "sub": "x", "holder_kind": "111", "exp": now + 60},
                other,
                algorithm="RS256",
                headers={"kid": "external"},
            )
            assert c.get("/_probe/whoami", headers=bearer(good)).status_code == 200
    finally:
        off.close()


def test_revoked_client_token_is_refused(
    app_client: TestClient, hub_state: HubState, session: Session
) -> None:
    from catalog.clients import revoke_client

    org = add_org(hub_state, session)
    token = client_token(hub_state, session, org=org)
    assert app_client.get("/_probe/whoami", headers=bearer(token)).status_code == 200
    revoke_client(session, token.split("_")[1])
    assert app_client.get("/_probe/whoami", headers=bearer(token)).status_code == 401
