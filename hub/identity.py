"""Citizen identity: JWTs from an OIDC provider, checked against its JWKS.

The built-in development provider (``hub dev token``) signs with an ES256 key kept in the data
directory; its key is trusted only while ``HUB_IDENTITY__DEV_PROVIDER`` is on. Verification pins
the algorithm allowlist, issuer, audience and expiry; ``alg: none`` and HMAC algorithms (the
algorithm-confusion attack: a public key used as an HMAC secret) are never accepted.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kernel.actor import Citizen
from kernel.errors import Unauthorized

ASYMMETRIC_ALGORITHMS = {"ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "EdDSA"}
HOLDER_KINDS = {"111", "001"}


class DevIdentityProvider:
    """Signs citizen tokens for demos and tests. Honest about being a fake: never on in production."""

    kid = "hub-dev-idp"

    def __init__(self, key_path: Path, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.issuer, self.audience, self.ttl = issuer, audience, ttl_seconds
        self._key = _load_or_create_key(key_path)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def token(self, holder_kind: str, holder_code: str, name: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": holder_code,
            "holder_kind": holder_kind,
            "name": name,
            "iat": now,
            "exp": now + self.ttl,
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # first writer wins; a second process reads the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_jwks_file(path: Path) -> dict[str, Any]:
    """Public keys by ``kid`` from a JWKS document on disk."""
    data = json.loads(path.read_text())
    return {k["kid"]: jwt.PyJWK(k).key for k in data.get("keys", []) if "kid" in k}


class TokenVerifier:
    """Verifies citizen JWTs against a set of trusted public keys (by ``kid``)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        keys: dict[str, Any],
        jwks_client: jwt.PyJWKClient | None = None,
        leeway: int = 30,
    ) -> None:
        unsafe = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if unsafe:
            raise ValueError(f"algorithms not allowed for identity tokens: {unsafe}")
        self.issuer, self.audience, self.algorithms = issuer, audience, algorithms
        self.keys = keys
        self.jwks_client = jwks_client
        self.leeway = leeway

    def verify(self, token: str) -> Citizen:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the bearer token is not a valid token", code="invalid_token") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthorized(f"token algorithm {alg!r} is not accepted", code="invalid_token")
        key = self._key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the identity token has expired", code="token_expired") from None
        except jwt.PyJWTError as e:
            raise Unauthorized(
                f"the identity token was refused: {type(e).__name__}", code="invalid_token"
            ) from None
        kind = str(claims.get("holder_kind", ""))
        if kind not in HOLDER_KINDS:
            raise Unauthorized("the identity token has no valid holder_kind claim", code="invalid_token")
        return Citizen(holder_kind=kind, holder_code=str(claims["sub"]), name=str(claims.get("name", "")))

    def _key_for(self, kid: str | None) -> Any:
        if kid and kid in self.keys:
            return self.keys[kid]
        if self.jwks_client is not None:
            try:
                return self.jwks_client.get_signing_key(kid or "").key
            except jwt.PyJWTError:
                pass
        raise Unauthorized("the identity token was signed by an unknown key", code="invalid_token")
