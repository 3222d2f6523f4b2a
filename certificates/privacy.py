"""Holder identity numbers (and personal face values, ``certificates.personal``) at rest: AES-GCM
ciphertext plus a keyed blind index for lookups.

The database alone reveals no identity number: the ciphertext needs the master key, and the blind
index is an HMAC under another key derived from it. Codes are masked for everyone but the holder
and the issuer (``1101**********4514``).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


def _derive(master_key: bytes, label: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"hub/" + label).derive(master_key)


class HolderVault:
    """Encrypts, decrypts and blind-indexes holder codes (and verification codes)."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_derive(master_key, b"holder-code-aead"))
        self._index_key = _derive(master_key, b"holder-code-index")

    def encrypt(self, plaintext: str, *, purpose: bytes = b"holder") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), purpose)

    def decrypt(self, blob: bytes, *, purpose: bytes = b"holder") -> str:
        return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], purpose).decode()

    def blind_index(self, holder_kind: str, holder_code: str) -> str:
        message = f"{holder_kind}:{holder_code.upper()}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def value_index(self, value: str) -> str:
        """The blind index of a personal face value (an identity number, say), apart from holders'."""
        message = f"value:{value.strip().upper()}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def mask(code: str) -> str:
    """Keep the first four and last four characters: ``1101**********4514``."""
    if len(code) <= 8:
        return "*" * len(code)
    return code[:4] + "*" * (len(code) - 8) + code[-4:]
