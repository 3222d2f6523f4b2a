"""The hub's published trust list (``GET /api/v1/trust``) and the QR keys' ids and JWKs in it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "ALG",
    "TrustList",
    "TrustListError",
    "encode_kid",
    "kid_bytes",
    "kid_for",
    "public_jwk",
    "qr_key_entry",
    "require_p256",
]

ALG = "ES256"
KID_BYTES = 8


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kid_bytes(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The raw key identifier (as COSE carries it): SHA-256 of the SubjectPublicKeyInfo DER, 8 bytes."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:KID_BYTES]


def encode_kid(raw: bytes) -> str:
    """A raw key identifier as the trust list writes it: base64url without padding."""
    return _b64url(raw)


def kid_for(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key identifier: SHA-256 of the SubjectPublicKeyInfo DER, first 8 bytes, base64url."""
    return encode_kid(kid_bytes(public_key))


def require_p256(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> None:
    """Raise ``ValueError`` unless ``key`` is on EC P-256, the only curve QR keys use."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"QR keys are EC P-256, not {key.curve.name}")


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public key as a JWK (RFC 7517/7518) for the trust list."""
    require_p256(public_key)
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
        "kid": kid_for(public_key),
        "alg": ALG,
    }


def qr_key_entry(public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """One item of the trust list's ``qr_keys``: ``{"kid", "alg", "jwk"}``."""
    return {"kid": kid_for(public_key), "alg": ALG, "jwk": public_jwk(public_key)}


class TrustListError(ValueError):
    """The trust list document is malformed; a verifier must not run on half a trust list."""


def _key_from_jwk(jwk: object) -> ec.EllipticCurvePublicKey:
    if not isinstance(jwk, dict):
        raise TrustListError("a qr_keys jwk is not an object")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise TrustListError(f"qr key {jwk.get('kid')!r} is not an EC P-256 key")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise TrustListError(f"qr key {jwk.get('kid')!r} lacks x or y")
    try:
        xb, yb = _b64url_decode(x), _b64url_decode(y)
        if len(xb) != 32 or len(yb) != 32:
            raise ValueError("coordinates must be 32 bytes")
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), ec.SECP256R1()
        ).public_key()
    except ValueError as exc:  # bad base64, or a point not on the curve
        raise TrustListError(f"qr key {jwk.get('kid')!r} is not a valid P-256 point: {exc}") from exc


@dataclass(frozen=True)
class TrustList:
    """The verifier's copy of the hub's published trust anchors (``GET /api/v1/trust``)."""

    qr_keys: Mapping[str, ec.EllipticCurvePublicKey]
    roots: tuple[str, ...] = ()
    intermediates: tuple[str, ...] = ()
    seals: tuple[Mapping[str, Any], ...] = ()
    audit_keys: Mapping[str, ec.EllipticCurvePublicKey] = field(default_factory=dict)  # checkpoints

    @classmethod
    def from_keys(cls, keys: Iterable[ec.EllipticCurvePublicKey]) -> TrustList:
        """A trust list of just these QR keys (for a verifier configured by hand, and tests)."""
        return cls(qr_keys={kid_for(k): k for k in keys})

    @classmethod
    def from_json(cls, text: str | bytes) -> TrustList:
        """Parse the body of ``GET /api/v1/trust``."""
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise TrustListError(f"the trust list is not JSON: {exc}") from exc
        return cls.from_api(document)

    @classmethod
    def from_api(cls, document: object) -> TrustList:
        """Build from the decoded JSON document; raises ``TrustListError`` if any part is malformed.

        Keys the hub may add to the document later are ignored; a key whose ``kid`` does not match
        the key itself is refused, since no code signed with it could ever be matched honestly.
        """
        if not isinstance(document, dict):
            raise TrustListError("the trust list is not a JSON object")

        def strings(name: str) -> tuple[str, ...]:
            value = document.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TrustListError(f"{name} must be a list of PEM strings")
            return tuple(value)

        seals = document.get("seals", [])
        if not isinstance(seals, list) or not all(isinstance(s, dict) for s in seals):
            raise TrustListError("seals must be a list of objects")
        return cls(
            qr_keys=_keys(document, "qr_keys"),
            roots=strings("roots"),
            intermediates=strings("intermediates"),
            seals=tuple(seals),
            audit_keys=_keys(document, "audit_keys"),
        )


def _keys(document: dict[str, Any], name: str) -> dict[str, ec.EllipticCurvePublicKey]:
    """A list of ``{"kid", "alg", "jwk"}`` entries (``qr_keys``, ``audit_keys``), each checked."""
    entries = document.get(name, [])
    if not isinstance(entries, list):
        raise TrustListError(f"{name} must be a list")
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise TrustListError(f"a {name} item is not an object")
        kid, alg = entry.get("kid"), entry.get("alg")
        if alg != ALG:
            raise TrustListError(f"{name} key {kid!r} has algorithm {alg!r}; only {ALG} is supported")
        key = _key_from_jwk(entry.get("jwk"))
        if kid != kid_for(key):
            raise TrustListError(f"{name} key {kid!r} does not match its public key (kid {kid_for(key)})")
        keys[kid] = key
    return keys
