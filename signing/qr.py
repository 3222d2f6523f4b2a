"""Offline-verifiable QR payloads, in the manner of the EU Digital COVID Certificate.

A certificate's QR code carries its key facts signed by the hub, so a verifier with a copy of the
hub's trust list (``GET /api/v1/trust``) can check a printed or on-screen certificate with no
network at all::

    "EC1:" + base45( zlib( COSE_Sign1( CBOR claims ) ) )

* claims: a CBOR map with small integer keys (see ``ClaimKey``), deterministic encoding;
* COSE_Sign1 (RFC 9052), tag 18: ``[protected, unprotected, payload, signature]`` with protected
  = bstr(CBOR ``{1: -7 (ES256), 4: kid}``), unprotected = ``{}``, signature = r || s (64 bytes),
  ECDSA P-256 / SHA-256 over ``["Signature1", protected, b"", payload]``;
* zlib, then base45 (RFC 9285), whose alphabet is QR's alphanumeric set, so it packs at 5.5 bits
  a character; then our prefix ``EC1:`` ("electronic certificate, format 1").

``kid`` identifies the signing key: the first 8 bytes of SHA-256 over its SubjectPublicKeyInfo
DER. The trust list writes it base64url without padding; inside COSE it is the raw 8 bytes.

Verification outcomes are data (``QRVerification``), never exceptions: ``decode_and_verify`` turns
any input, however broken, into a verdict with plain-language problems. See docs/qr.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import base45
import cbor2
import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

__all__ = [
    "ALG",
    "FACE_DIGEST_BYTES",
    "PREFIX",
    "ClaimKey",
    "QRClaims",
    "QRSigner",
    "QRVerification",
    "TrustList",
    "TrustListError",
    "canonical_face_data",
    "canonical_face_digest",
    "decode_and_verify",
    "identifier_codes",
    "kid_for",
    "public_jwk",
    "qr_key_entry",
    "qr_matrix",
    "qr_png",
    "qr_svg",
    "qr_version",
]

PREFIX = "EC1:"
ALG = "ES256"
COSE_ALG_ES256 = -7  # COSE algorithm identifier for ECDSA P-256 with SHA-256
COSE_HEADER_ALG = 1
COSE_HEADER_KID = 4
COSE_SIGN1_TAG = 18
KID_BYTES = 8
# 128 bits of SHA-256. What an attacker needs is *second* preimage resistance (other face data
# matching a digest the hub already signed), which stays at 128 bits; collision resistance falls
# to 64 bits, but the hub composes the face from its own registers, so nobody can choose both
# colliding faces. The 16 bytes saved are 24 base45 characters, about one QR version.
FACE_DIGEST_BYTES = 16
# China has kept one offset, without daylight saving, since 1991: validity dates are dates there.
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
# Bounds on untrusted input, so a hostile code cannot make a verifier allocate without limit.
MAX_TEXT_CHARS = 8192  # the largest QR code holds 4296 alphanumeric characters
MAX_PAYLOAD_BYTES = 16384

_EPOCH_DAY = dt.date(1970, 1, 1)
IDENTIFIER_ROOT = "1.2.156.3005.2"


def identifier_codes(identifier: str) -> tuple[str, str] | None:
    """(type code, issuer code) from a GB/T 36904 identifier, or None if it is not one.

    ``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``. The QR payload leaves
    out the type and issuer claims when they can be read from the identifier: at ~8 bytes after
    zlib that is the margin that keeps a typical code at QR version 10 (see docs/qr.md).
    """
    root = IDENTIFIER_ROOT + "."
    if not identifier.startswith(root):
        return None
    parts = identifier[len(root) :].split(".")
    if len(parts) != 5 or not all(parts):
        return None
    return parts[0], parts[1]


class ClaimKey(IntEnum):
    """The CBOR map keys of the claims. Changing one is a new format (and a new prefix)."""

    IDENTIFIER = 1  # 电子证照标识, text
    TYPE_CODE = 2  # 证照类型代码, 21 characters, text; omitted when the identifier carries it
    ISSUER_CODE = 3  # USCC of the issuing organization, text; omitted when the identifier carries it
    HOLDER_NAME = 4  # 持证主体名称, text
    VALID_FROM = 5  # first day of validity, days since 1970-01-01, in China Standard Time
    VALID_UNTIL = 6  # last day of validity (inclusive), same encoding; absent = no end date
    FACE_DIGEST = 7  # first 16 bytes of canonical_face_digest(face data), bstr
    ISSUED_AT = 8  # when this QR payload was signed, epoch seconds (UTC)


@dataclass(frozen=True)
class QRClaims:
    """What the QR code asserts about one certificate."""

    identifier: str
    type_code: str
    issuer_code: str
    holder_name: str
    valid_from: dt.date
    valid_until: dt.date | None
    face_digest: bytes
    issued_at: dt.datetime

    def __post_init__(self) -> None:
        if len(self.face_digest) != FACE_DIGEST_BYTES:
            raise ValueError(
                f"face_digest must be the first {FACE_DIGEST_BYTES} bytes of canonical_face_digest()"
            )
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be timezone-aware")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")

    def matches_face(self, face_data: Mapping[str, Any]) -> bool:
        """True if ``face_data`` is the face this code was issued for."""
        return hmac.compare_digest(canonical_face_digest(face_data)[:FACE_DIGEST_BYTES], self.face_digest)

    def to_cbor_map(self) -> dict[int, Any]:
        claims: dict[int, Any] = {
            ClaimKey.IDENTIFIER: self.identifier,
            ClaimKey.HOLDER_NAME: self.holder_name,
            ClaimKey.VALID_FROM: (self.valid_from - _EPOCH_DAY).days,
            ClaimKey.FACE_DIGEST: self.face_digest,
            ClaimKey.ISSUED_AT: int(self.issued_at.timestamp()),
        }
        if self.valid_until is not None:
            claims[ClaimKey.VALID_UNTIL] = (self.valid_until - _EPOCH_DAY).days
        carried = identifier_codes(self.identifier)
        if carried is None or carried[0] != self.type_code:
            claims[ClaimKey.TYPE_CODE] = self.type_code
        if carried is None or carried[1] != self.issuer_code:
            claims[ClaimKey.ISSUER_CODE] = self.issuer_code
        return {int(k): v for k, v in claims.items()}

    @classmethod
    def from_cbor_map(cls, claims: object) -> QRClaims:
        """Parse a decoded claims map; raises ``ValueError`` with a plain reason if it is not one."""
        if not isinstance(claims, Mapping):
            raise ValueError("the claims are not a map")
        unknown = set(claims) - {int(k) for k in ClaimKey}
        if unknown:
            raise ValueError(f"unknown claim keys {sorted(map(str, unknown))}")

        def text(key: ClaimKey, default: str | None = None) -> str:
            value = claims.get(int(key), default)
            if not isinstance(value, str):
                raise ValueError(f"claim {key.name.lower()} is missing or not text")
            return value

        identifier = text(ClaimKey.IDENTIFIER)
        type_code, issuer_code = identifier_codes(identifier) or (None, None)

        def day(key: ClaimKey) -> dt.date:
            value = claims.get(int(key))
            if type(value) is not int or not 0 <= value <= 2_932_896:  # up to 9999-12-31
                raise ValueError(f"claim {key.name.lower()} is missing or not a day number")
            return _EPOCH_DAY + dt.timedelta(days=value)

        digest = claims.get(int(ClaimKey.FACE_DIGEST))
        if not isinstance(digest, bytes):
            raise ValueError("claim face_digest is missing or not bytes")
        issued = claims.get(int(ClaimKey.ISSUED_AT))
        if type(issued) is not int or not 0 <= issued < 253_402_300_800:  # before year 10000
            raise ValueError("claim issued_at is missing or not epoch seconds")
        return cls(
            identifier=identifier,
            type_code=text(ClaimKey.TYPE_CODE, type_code),
            issuer_code=text(ClaimKey.ISSUER_CODE, issuer_code),
            holder_name=text(ClaimKey.HOLDER_NAME),
            valid_from=day(ClaimKey.VALID_FROM),
            valid_until=day(ClaimKey.VALID_UNTIL) if int(ClaimKey.VALID_UNTIL) in claims else None,
            face_digest=digest,
            issued_at=dt.datetime.fromtimestamp(issued, dt.UTC),
        )


# -- face data --------------------------------------------------------------------------------


def canonical_face_data(data: Mapping[str, Any]) -> bytes:
    """The face data as canonical JSON: sorted keys, no whitespace, UTF-8 (not \\u escapes)."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_face_digest(data: Mapping[str, Any]) -> bytes:
    """SHA-256 of :func:`canonical_face_data` (32 bytes; the QR claim keeps the first 16)."""
    return hashlib.sha256(canonical_face_data(data)).digest()


# -- keys -------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kid_bytes(public_key: ec.EllipticCurvePublicKey) -> bytes:
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:KID_BYTES]


def kid_for(public_key: ec.EllipticCurvePublicKey) -> str:
    """The key identifier: SHA-256 of the SubjectPublicKeyInfo DER, first 8 bytes, base64url."""
    return _b64url(_kid_bytes(public_key))


def _require_p256(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> None:
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"QR keys are EC P-256, not {key.curve.name}")


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public key as a JWK (RFC 7517/7518) for the trust list."""
    _require_p256(public_key)
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
        entries = document.get("qr_keys", [])
        if not isinstance(entries, list):
            raise TrustListError("qr_keys must be a list")
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                raise TrustListError("a qr_keys item is not an object")
            kid, alg = entry.get("kid"), entry.get("alg")
            if alg != ALG:
                raise TrustListError(f"qr key {kid!r} has algorithm {alg!r}; only {ALG} is supported")
            key = _key_from_jwk(entry.get("jwk"))
            if kid != kid_for(key):
                raise TrustListError(f"qr key {kid!r} does not match its public key (kid {kid_for(key)})")
            keys[kid] = key
        return cls(
            qr_keys=keys,
            roots=strings("roots"),
            intermediates=strings("intermediates"),
            seals=tuple(seals),
        )


# -- signing ----------------------------------------------------------------------------------


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload]
    return cbor2.dumps(["Signature1", protected, b"", payload])


class QRSigner:
    """Signs QR payloads with one EC P-256 key; its ``kid`` is derived from the key."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, kid: str | None = None) -> None:
        _require_p256(private_key)
        derived = kid_for(private_key.public_key())
        if kid is not None and kid != derived:
            raise ValueError(f"kid {kid!r} is not this key's kid ({derived})")
        self._key = private_key
        self.kid = derived
        self._protected = cbor2.dumps(
            {COSE_HEADER_ALG: COSE_ALG_ES256, COSE_HEADER_KID: _kid_bytes(private_key.public_key())}
        )

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign_cose(self, payload: bytes) -> bytes:
        """``payload`` wrapped in a tagged COSE_Sign1 (the step before zlib and base45)."""
        der = self._key.sign(_sig_structure(self._protected, payload), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [self._protected, {}, payload, signature]))

    def encode(self, claims: QRClaims) -> str:
        """The QR text for ``claims``: ``EC1:`` + base45(zlib(COSE_Sign1(CBOR claims)))."""
        payload = cbor2.dumps(claims.to_cbor_map(), canonical=True)
        compressed = zlib.compress(self.sign_cose(payload), 9)
        encoded: bytes = base45.b45encode(compressed)
        return PREFIX + encoded.decode("ascii")


# -- verifying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QRVerification:
    """The verdict on one scanned code.

    ``ok``: the code is intact and signed by a key in the trust list, so ``claims`` can be
    believed. ``valid``: ``ok`` and the certificate's validity covers ``now``. ``claims`` is None
    unless ``ok``: unverified claims are not handed out. ``problems`` says in plain words what
    is wrong (empty when ``valid``).
    """

    ok: bool
    valid: bool
    claims: QRClaims | None
    problems: tuple[str, ...]
    kid: str | None = None


def _refuse(problem: str, kid: str | None = None) -> QRVerification:
    return QRVerification(ok=False, valid=False, claims=None, problems=(problem,), kid=kid)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_PAYLOAD_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("payload too large")
    if not inflater.eof:
        raise ValueError("truncated")
    return out


def _cbor(data: bytes) -> object:
    # cbor2 raises a variety of exception types on hostile input (CBORDecodeError, ValueError,
    # OverflowError, RecursionError, ...); to the verifier all of them mean "damaged".
    try:
        return cbor2.loads(data)
    except Exception as exc:
        raise ValueError(str(exc)) from exc


def decode_and_verify(text: str, trust: TrustList, now: dt.datetime) -> QRVerification:
    """Check a scanned QR text against the trust list, offline. Never raises for bad input."""
    if not isinstance(text, str):
        return _refuse("not a hub certificate QR code: it is not text")
    text = text.strip()
    if not text.startswith(PREFIX):
        return _refuse(f"not a hub certificate QR code: it does not start with {PREFIX}")
    if len(text) > MAX_TEXT_CHARS:
        return _refuse("the code is too long to be a hub certificate QR code")
    try:
        compressed: bytes = base45.b45decode(text[len(PREFIX) :])
    except ValueError:
        return _refuse("the code is damaged: its text is not valid base45")
    try:
        cose_bytes = _inflate(compressed)
    except (zlib.error, ValueError):
        return _refuse("the code is damaged: its content could not be decompressed")
    try:
        cose = _cbor(cose_bytes)
    except ValueError:
        return _refuse("the code is damaged: its content is not valid CBOR")
    if not (
        isinstance(cose, cbor2.CBORTag)
        and cose.tag == COSE_SIGN1_TAG
        and isinstance(cose.value, (list, tuple))
        and len(cose.value) == 4
    ):
        return _refuse("the code is damaged: it does not hold a COSE_Sign1 signature")
    protected, unprotected, payload, signature = cose.value
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        return _refuse("the code is damaged: its COSE_Sign1 structure is malformed")
    try:
        header = _cbor(protected)
    except ValueError:
        header = None
    if not isinstance(header, Mapping):
        return _refuse("the code is damaged: its signature header is malformed")
    kid_raw = header.get(COSE_HEADER_KID)
    if not isinstance(kid_raw, bytes) or not kid_raw:
        return _refuse("the code does not say which key signed it")
    kid = _b64url(kid_raw)
    if header.get(COSE_HEADER_ALG) != COSE_ALG_ES256:
        alg = header.get(COSE_HEADER_ALG)
        return _refuse(f"the code is signed with an unsupported algorithm ({alg!r})", kid)

    key = trust.qr_keys.get(kid)
    if key is None:
        return _refuse(f"the code was signed with an unknown key (kid {kid}), not in the trust list", kid)
    if len(signature) != 64:
        return _refuse("the signature does not match: the code was altered or forged", kid)
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, _sig_structure(protected, payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return _refuse("the signature does not match: the code was altered or forged", kid)

    try:
        claims = QRClaims.from_cbor_map(_cbor(payload))
    except ValueError as exc:
        # Signed by a trusted key yet unreadable: a bug or a different format version on our side.
        return _refuse(f"the signed content is not in the expected format ({exc})", kid)

    problems: list[str] = []
    today = now.astimezone(CHINA_STANDARD_TIME).date()
    if today < claims.valid_from:
        problems.append(f"the certificate is not valid yet: it is valid from {claims.valid_from.isoformat()}")
    if claims.valid_until is not None and today > claims.valid_until:
        problems.append(f"the certificate has expired: it was valid until {claims.valid_until.isoformat()}")
    return QRVerification(ok=True, valid=not problems, claims=claims, problems=tuple(problems), kid=kid)


# -- rendering --------------------------------------------------------------------------------


def _qrcode(text: str) -> segno.QRCode:
    # Error correction M at least (segno may raise it for free within the same version);
    # alphanumeric mode fails loudly if the text is not base45 + prefix, rather than silently
    # falling back to byte mode and growing the code.
    return segno.make(text, error="m", mode="alphanumeric", micro=False)


def qr_version(text: str) -> int:
    """The QR version (1-40) ``text`` needs at error correction M in alphanumeric mode."""
    version = _qrcode(text).version
    if not isinstance(version, int):  # pragma: no cover - micro=False never gives "M1".."M4"
        raise TypeError(f"unexpected micro QR version {version!r}")
    return version


def qr_svg(text: str, scale: int = 4) -> str:
    """The QR code as a standalone SVG document (quiet zone of 4 modules included)."""
    out = io.BytesIO()
    _qrcode(text).save(out, kind="svg", scale=scale, xmldecl=False)
    return out.getvalue().decode("utf-8")


def qr_png(text: str, scale: int = 4) -> bytes:
    """The QR code as a PNG image."""
    out = io.BytesIO()
    _qrcode(text).save(out, kind="png", scale=scale)
    return out.getvalue()


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (True = dark), without quiet zone, for drawing with reportlab or similar."""
    return tuple(tuple(bool(m) for m in row) for row in _qrcode(text).matrix)
