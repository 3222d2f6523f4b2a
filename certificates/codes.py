"""Verification codes (核验码): printed on a certificate, kept only as a hash and a ciphertext."""

from __future__ import annotations

import hashlib
import secrets

VERIFICATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
VERIFICATION_LENGTH = 10


def new_verification_code() -> str:
    """A fresh random code, easy to read aloud and to type."""
    return "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_LENGTH))


def hash_verification_code(code: str) -> str:
    """What the registry keeps to check a code (case does not matter to a person typing it)."""
    return hashlib.sha256(b"hub/verification-code:" + code.upper().encode()).hexdigest()
