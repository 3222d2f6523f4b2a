"""Reading a scanned QR text back and checking it against the trust list, offline, as a verdict."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from signing.qr.claims import CHINA_STANDARD_TIME, QRClaims
from signing.qr.cose import (
    COSE_ALG_ES256,
    COSE_HEADER_ALG,
    COSE_HEADER_KID,
    COSE_SIGN1_TAG,
    PREFIX,
    sig_structure,
)
from signing.trust import TrustList, encode_kid

__all__ = ["QRVerification", "b45decode", "decode_and_verify"]

# Bounds on untrusted input, so a hostile code cannot make a verifier allocate without limit.
MAX_TEXT_CHARS = 8192  # the largest QR code holds 4296 alphanumeric characters
MAX_PAYLOAD_BYTES = 16384
_ES256 = ec.ECDSA(hashes.SHA256())


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


_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"  # RFC 9285, QR's alphanumeric set
_BASE45_DIGITS = bytes(_BASE45.index(chr(c)) if chr(c) in _BASE45 else 0xFF for c in range(256))


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 to bytes; ``ValueError`` on anything that is not base45.

    What the ``base45`` package's ``b45decode`` does, without a Python step per character: one
    ``translate`` maps the alphabet to digit values (anything else to 0xFF), and the 16-bit groups
    are packed by ``struct``. It was a fifth of a QR verification's time (docs/benchmarks.md).
    """
    try:
        digits = text.rstrip("\n").encode("ascii").translate(_BASE45_DIGITS)
    except UnicodeEncodeError:
        raise ValueError("Invalid base45 string") from None
    size = len(digits)
    if b"\xff" in digits or size % 3 == 1:
        raise ValueError("Invalid base45 string")
    whole = size - size % 3
    groups = [
        low + 45 * mid + 2025 * high
        for low, mid, high in zip(digits[0:whole:3], digits[1:whole:3], digits[2:whole:3], strict=True)
    ]
    if groups and max(groups) > 0xFFFF:
        raise ValueError("Invalid base45 string")
    out = struct.pack(f">{len(groups)}H", *groups)
    if size % 3 == 2:
        last = digits[-2] + 45 * digits[-1]
        if last > 0xFF:
            raise ValueError("Invalid base45 string")
        out += bytes((last,))
    return out


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
        compressed = b45decode(text[len(PREFIX) :])
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
    kid = encode_kid(kid_raw)
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
        key.verify(der, sig_structure(protected, payload), _ES256)
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
