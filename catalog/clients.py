"""API clients: opaque bearer tokens bound to an organization and a role, stored as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.log import Event
from audit.log import record as audit_record
from catalog.errors import ClientNotFound, InvalidToken, OrganizationNotFound
from catalog.models import ApiClient, Organization
from kernel.actor import Role
from kernel.clock import utcnow
from kernel.errors import ValidationFailed

TOKEN_PREFIX = "hub_"  # noqa: S105 (a format marker, not a secret)
ROLE_BY_ORG_KIND = {"department": Role.DEPARTMENT, "portal": Role.PORTAL, "operator": Role.ADMIN}


def token_hash_key(master_key: bytes) -> bytes:
    """The key that token hashes are made with, derived from the hub's master key."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"hub/api-token-hash").derive(master_key)


@dataclass(frozen=True)
class IssuedToken:
    """A new client's id and its bearer token (shown once, never stored)."""

    client_id: str
    token: str


def _hash(secret: str, key: bytes) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def create_client(
    session: Session,
    hash_key: bytes,
    *,
    name: str,
    org_code: str | None,
    admin: bool,
    actor: str = "operator",
) -> IssuedToken:
    """Register a client and return its token; the token is never stored, only its keyed hash.
    An entry of the audit log, by ``actor`` (the operator at the command line)."""
    client_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    _register(session, hash_key, client_id, secret, name=name, org_code=org_code, admin=admin, actor=actor)
    return IssuedToken(client_id, f"{TOKEN_PREFIX}{client_id}_{secret}")


def ensure_client(
    session: Session,
    hash_key: bytes,
    *,
    client_id: str,
    secret: str,
    name: str,
    org_code: str | None,
    admin: bool,
    actor: str = "operator",
) -> tuple[IssuedToken, ApiClient]:
    """The client ``client_id`` with this ``secret``, registered the first time and found after —
    for tokens derived rather than drawn (``hub demo``'s), so a rerun prints the same token and
    adds no row. A client of that id with another secret is refused rather than overwritten."""
    if not client_id or "_" in client_id or not client_id.isascii():
        raise ValidationFailed("a client id is ASCII without '_'", field="client_id")
    client = session.get(ApiClient, client_id)
    if client is None:
        client = _register(
            session, hash_key, client_id, secret, name=name, org_code=org_code, admin=admin, actor=actor
        )
    elif not hmac.compare_digest(client.token_hash, _hash(secret, hash_key)):
        raise ValidationFailed(f"API client {client_id} exists with another token", field="client_id")
    return IssuedToken(client_id, f"{TOKEN_PREFIX}{client_id}_{secret}"), client


def _register(
    session: Session,
    hash_key: bytes,
    client_id: str,
    secret: str,
    *,
    name: str,
    org_code: str | None,
    admin: bool,
    actor: str,
) -> ApiClient:
    org = session.get(Organization, org_code) if org_code is not None else None
    if org_code is not None and org is None:
        raise OrganizationNotFound(f"organization {org_code} is not registered")
    if admin:
        role = Role.ADMIN
    elif org is None:
        raise ValidationFailed("a client needs --org or --admin", field="org")
    else:
        role = ROLE_BY_ORG_KIND[org.kind]
    token_hash = _hash(secret, hash_key)
    client = ApiClient(id=client_id, name=name, role=role.value, org_code=org_code, token_hash=token_hash)
    session.add(client)
    session.flush()
    details = {"client_id": client_id, "name": name, "role": role.value}
    audit_record(session, Event(action="client.create", actor=actor, org_code=org_code, details=details))
    return client


def authenticate_client(session: Session, hash_key: bytes, token: str) -> ApiClient:
    """The client a token belongs to; Unauthorized for anything else, in constant time per client."""
    if not token.startswith(TOKEN_PREFIX):
        raise InvalidToken("unknown bearer token")
    client_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    client = session.scalar(select(ApiClient).where(ApiClient.id == client_id)) if client_id else None
    expected = client.token_hash if client is not None else "0" * 64
    ok = hmac.compare_digest(expected, _hash(secret, hash_key))
    if client is None or not ok or client.revoked_at is not None:
        raise InvalidToken("unknown bearer token")
    return client


def revoke_client(session: Session, client_id: str, *, actor: str = "operator") -> ApiClient:
    """Refuse a client's token from now on (idempotent); an entry of the audit log the first time."""
    client = session.get(ApiClient, client_id)
    if client is None:
        raise ClientNotFound(f"no API client {client_id}")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.flush()
        details = {"client_id": client_id, "name": client.name, "role": client.role}
        audit_record(
            session, Event(action="client.revoke", actor=actor, org_code=client.org_code, details=details)
        )
    return client
