"""What a QR code asserts about a certificate: the claims, their CBOR map, and the face digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = [
    "CHINA_STANDARD_TIME",
    "FACE_DIGEST_BYTES",
    "ClaimKey",
    "QRClaims",
    "canonical_face_data",
    "canonical_face_digest",
    "identifier_codes",
]

# 128 bits of SHA-256. What an attacker needs is *second* preimage resistance (other face data
# matching a digest the hub already signed), which stays at 128 bits; collision resistance falls
# to 64 bits, but the hub composes the face from its own registers, so nobody can choose both
# colliding faces. The 16 bytes saved are 24 base45 characters, about one QR version.
FACE_DIGEST_BYTES = 16
# China has kept one offset, without daylight saving, since 1991: validity dates are dates there.
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")

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


_CLAIM_KEYS = frozenset(int(k) for k in ClaimKey)


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
        """The claims as the CBOR map the code signs, leaving out what the identifier carries."""
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
        unknown = set(claims) - _CLAIM_KEYS
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
