"""Everything the running hub holds: built once in the lifespan (or by the CLI), closed at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.clients import token_hash_key
from hub.db import make_engine, make_sessionmaker
from hub.identity import DevIdentityProvider, TokenVerifier, load_jwks_file
from hub.observability import Metrics
from hub.settings import Settings, load_master_key


@dataclass
class HubState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    master_key: bytes
    token_hash_key: bytes
    verifier: TokenVerifier
    dev_idp: DevIdentityProvider | None
    metrics: Metrics
    extras: dict[str, Any] = field(default_factory=dict)

    def readiness_probes(self) -> dict[str, Any]:
        """Checks beyond the database, by name: each raises when its backend is unreachable."""
        probes: dict[str, Any] = {}
        for name in ("storage", "search"):
            backend = self.extras.get(name)
            if backend is not None:
                probes[name] = backend.ping
        return probes

    def close(self) -> None:
        self.engine.dispose()


def build_state(settings: Settings) -> HubState:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    master_key = load_master_key(settings)
    engine = make_engine(
        settings.effective_database_url,
        pool_size=settings.database.pool_size,
        echo=settings.database.echo,
    )
    ident = settings.identity
    dev_idp = None
    keys: dict[str, Any] = {}
    if ident.dev_provider:
        dev_idp = DevIdentityProvider(
            settings.data_dir / "identity" / "dev-idp.pem",
            issuer=ident.issuer,
            audience=ident.audience,
            ttl_seconds=ident.token_ttl_seconds,
        )
        keys[dev_idp.kid] = dev_idp.public_key
    if ident.jwks_file is not None:
        keys.update(load_jwks_file(ident.jwks_file))
    import jwt

    jwks_client = jwt.PyJWKClient(ident.jwks_url, cache_keys=True) if ident.jwks_url else None
    verifier = TokenVerifier(
        issuer=ident.issuer,
        audience=ident.audience,
        algorithms=ident.algorithms,
        keys=keys,
        jwks_client=jwks_client,
        leeway=ident.leeway_seconds,
    )
    return HubState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        master_key=master_key,
        token_hash_key=token_hash_key(master_key),
        verifier=verifier,
        dev_idp=dev_idp,
        metrics=Metrics(),
    )
