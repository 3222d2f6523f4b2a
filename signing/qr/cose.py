"""Signing QR payloads: COSE_Sign1 over the CBOR claims, then zlib, base45 and the ``EC1:`` prefix."""

from __future__ import annotations

import zlib

import base45
import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signing.qr.claims import QRClaims
from signing.trust import kid_bytes, kid_for, require_p256

__all__ = [
    "COSE_ALG_ES256",
    "COSE_HEADER_ALG",
    "COSE_HEADER_KID",
    "COSE_SIGN1_TAG",
    "PREFIX",
    "QRSigner",
    "sig_structure",
]

PREFIX = "EC1:"
COSE_ALG_ES256 = -7  # COSE algorithm identifier for ECDSA P-256 with SHA-256
COSE_HEADER_ALG = 1
COSE_HEADER_KID = 4
COSE_SIGN1_TAG = 18


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4), for signer and verifier alike."""
    # Sig_structure = ["Signature1", body_protected, external_aad, payload]
    return cbor2.dumps(["Signature1", protected, b"", payload])


class QRSigner:
    """Signs QR payloads with one EC P-256 key; its ``kid`` is derived from the key."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, kid: str | None = None) -> None:
        require_p256(private_key)
        derived = kid_for(private_key.public_key())
        if kid is not None and kid != derived:
            raise ValueError(f"kid {kid!r} is not this key's kid ({derived})")
        self._key = private_key
        self.kid = derived
        self._protected = cbor2.dumps(
            {COSE_HEADER_ALG: COSE_ALG_ES256, COSE_HEADER_KID: kid_bytes(private_key.public_key())}
        )

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public half of the signing key, as the trust list publishes it."""
        return self._key.public_key()

    def sign_cose(self, payload: bytes) -> bytes:
        """``payload`` wrapped in a tagged COSE_Sign1 (the step before zlib and base45)."""
        der = self._key.sign(sig_structure(self._protected, payload), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [self._protected, {}, payload, signature]))

    def encode(self, claims: QRClaims) -> str:
        """The QR text for ``claims``: ``EC1:`` + base45(zlib(COSE_Sign1(CBOR claims)))."""
        payload = cbor2.dumps(claims.to_cbor_map(), canonical=True)
        compressed = zlib.compress(self.sign_cose(payload), 9)
        encoded: bytes = base45.b45encode(compressed)
        return PREFIX + encoded.decode("ascii")
