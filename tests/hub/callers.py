"""Every kind of caller the hub meets, as the headers it sends — forged citizen tokens included.

The forgeries all name a real holder, so a verifier that let one through would hand out that
holder's data: each is a valid token but for one flaw (``FORGERIES``). The tokens of the real
callers come from the hub's own clients and development identity provider (``tests.factories``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.identity import DevIdentityProvider
from tests.factories import bearer

# Those the hub must not know: each answers 401 wherever a caller is needed.
ANONYMOUS = "anonymous"
WRONG_TOKEN = "wrong_token"
JWT_ALG_NONE = "jwt_alg_none"
JWT_HS256_PUBLIC_KEY = "jwt_hs256_public_key"
JWT_UNKNOWN_KID = "jwt_unknown_kid"
JWT_EXPIRED = "jwt_expired"
JWT_WRONG_ISS = "jwt_wrong_iss"
JWT_WRONG_AUD = "jwt_wrong_aud"
# Those it knows, around one certificate: its issuer, its holder, and everyone else.
ISSUER = "issuer"
OTHER_DEPARTMENT = "other_department"
PORTAL_WITH_CONSENT = "portal_with_consent"
PORTAL_WITHOUT_CONSENT = "portal_without_consent"
HOLDER = "holder"
OTHER_HOLDER = "other_holder"
ADMIN = "admin"

FORGED = (JWT_ALG_NONE, JWT_HS256_PUBLIC_KEY, JWT_UNKNOWN_KID, JWT_EXPIRED, JWT_WRONG_ISS, JWT_WRONG_AUD)
UNKNOWN = (ANONYMOUS, WRONG_TOKEN, *FORGED)
KNOWN = (ISSUER, OTHER_DEPARTMENT, PORTAL_WITH_CONSENT, PORTAL_WITHOUT_CONSENT, HOLDER, OTHER_HOLDER, ADMIN)
CALLERS = (*UNKNOWN, *KNOWN)


def wrong_secret(token: str) -> str:
    """A real client's token with another secret: the client id exists, the hash must not match."""
    prefix, _, secret = token.rpartition("_")
    return f"{prefix}_{'A' if secret[:1] != 'A' else 'B'}{secret[1:]}"


def citizen_claims(idp: DevIdentityProvider, holder_kind: str, holder_code: str) -> dict[str, Any]:
    """The claims the identity provider would sign for this holder, valid for a minute."""
    now = int(time.time())
    return {
        "iss": idp.issuer,
        "aud": idp.audience,
        "sub": holder_code,
        "holder_kind": holder_kind,
        "name": "冒名者",
        "iat": now,
        "exp": now + 60,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _alg_none(idp: DevIdentityProvider, claims: dict[str, Any]) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": idp.kid}, claims) + "."


def _hs256_with_public_key(idp: DevIdentityProvider, claims: dict[str, Any]) -> str:
    """Algorithm confusion: HMAC-SHA256 keyed with the provider's public key, which anyone has."""
    secret = idp.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": idp.kid}, claims)
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def _unknown_kid(idp: DevIdentityProvider, claims: dict[str, Any]) -> str:
    """The forger's own key under a kid the hub does not know, the key embedded in the header (the
    ``jwk`` header attack): only a verifier that trusts what the token says of itself accepts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "forger-key", "jwk": jwk})


def _signed(idp: DevIdentityProvider, claims: dict[str, Any]) -> str:
    # The provider's own key: only the claims are wrong.
    return jwt.encode(claims, idp._key, algorithm="ES256", headers={"kid": idp.kid})


def _with(change: dict[str, Any]) -> Callable[[DevIdentityProvider, dict[str, Any]], str]:
    def forge(idp: DevIdentityProvider, claims: dict[str, Any]) -> str:
        return _signed(idp, claims | change)

    return forge


def _expired(idp: DevIdentityProvider, claims: dict[str, Any]) -> str:
    # Ten minutes ago: far beyond the verifier's leeway.
    return _signed(idp, claims | {"iat": claims["iat"] - 3600, "exp": claims["iat"] - 600})


FORGERIES: dict[str, Callable[[DevIdentityProvider, dict[str, Any]], str]] = {
    JWT_ALG_NONE: _alg_none,
    JWT_HS256_PUBLIC_KEY: _hs256_with_public_key,
    JWT_UNKNOWN_KID: _unknown_kid,
    JWT_EXPIRED: _expired,
    JWT_WRONG_ISS: _with({"iss": "https://idp.evil.example"}),
    JWT_WRONG_AUD: _with({"aud": "another-service"}),
}


def unknown_callers(
    idp: DevIdentityProvider, *, holder_kind: str, holder_code: str, client_token: str
) -> dict[str, dict[str, str]]:
    """The headers of every caller the hub must refuse: none, a client token with a wrong secret,
    and a citizen token for this holder forged in each way of ``FORGERIES``."""
    claims = citizen_claims(idp, holder_kind, holder_code)
    headers = {ANONYMOUS: {}, WRONG_TOKEN: bearer(wrong_secret(client_token))}
    headers.update({name: bearer(forge(idp, claims)) for name, forge in FORGERIES.items()})
    return headers
