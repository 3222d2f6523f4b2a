"""Stored files encrypted at rest (envelope encryption): a fresh key per file, wrapped by a key
encryption key that never leaves the master key's derivation (or, behind ``KeyWrap``, an HSM).

A blob keeps its name — the SHA-256 of its *plain* bytes, which verification looks certificates up
by — while the bytes on disk or in the bucket are::

    MAGIC | key id length (1) | key id | wrapped key length (2) | wrapped key | nonce (12) | AES-256-GCM(file)

The file's name is the ciphertext's associated data, so an object copied under another name does
not open. Bytes without ``MAGIC`` are a file stored before encryption (a PDF starts ``%PDF``): read
as they are, and rewritten sealed by ``hub storage encrypt``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from certificates.blobstore import BlobCorrupted

MAGIC = b"HUB-ENVELOPE-1\n"
NONCE_BYTES = 12


class KeyWrap(Protocol):
    """Wraps and unwraps files' data keys under a key encryption key named ``key_id`` (the envelope
    records it, and ``EnvelopeCipher`` hands a wrapped key only to the wrap of that name)."""

    key_id: str

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


class MasterKeyWrap:
    """Data keys wrapped with AES-GCM under a key derived from the master key."""

    key_id = "master/1"

    def __init__(self, master_key: bytes) -> None:
        kek = HKDF(hashes.SHA256(), 32, salt=None, info=b"hub/blob-key-encryption-key").derive(master_key)
        self._aead = AESGCM(kek)

    def wrap(self, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, self.key_id.encode())

    def unwrap(self, wrapped: bytes) -> bytes:
        return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self.key_id.encode())


class EnvelopeCipher:
    """Seals a blob's bytes for storage and opens them again."""

    def __init__(self, keys: KeyWrap, *, also_opens: Sequence[KeyWrap] = ()) -> None:
        """``keys`` wraps every new file's key; ``also_opens``: earlier key encryption keys, whose
        files are still read (moving from the master key to an HSM, say)."""
        self.keys = keys
        self._by_id = {k.key_id: k for k in (*also_opens, keys)}

    def seal(self, name: str, data: bytes) -> bytes:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.keys.key_id.encode()
        wrapped = self.keys.wrap(data_key)
        header = MAGIC + struct.pack(">B", len(key_id)) + key_id + struct.pack(">H", len(wrapped)) + wrapped
        return header + nonce + AESGCM(data_key).encrypt(nonce, data, name.encode())

    def open(self, name: str, stored: bytes) -> bytes:
        """The plain bytes of blob ``name``; bytes stored before encryption come back unchanged."""
        if not is_sealed(stored):
            return stored
        try:
            at = len(MAGIC)
            (id_length,) = struct.unpack_from(">B", stored, at)
            key_id = stored[at + 1 : at + 1 + id_length].decode()
            at += 1 + id_length
            (wrapped_length,) = struct.unpack_from(">H", stored, at)
            wrapped = stored[at + 2 : at + 2 + wrapped_length]
            at += 2 + wrapped_length
            nonce, body = stored[at : at + NONCE_BYTES], stored[at + NONCE_BYTES :]
            unwrapping = self._by_id.get(key_id)
            if unwrapping is None:
                raise BlobCorrupted(f"stored blob {name} is wrapped by key {key_id!r}, not held here")
            data_key = unwrapping.unwrap(wrapped)
            return AESGCM(data_key).decrypt(nonce, body, name.encode())
        except (InvalidTag, struct.error, UnicodeDecodeError, ValueError) as exc:
            raise BlobCorrupted(f"stored blob {name} does not open: {type(exc).__name__}") from None


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(MAGIC)


@runtime_checkable
class SecretKeyDevice(Protocol):
    """A device that encrypts with a key it never reveals (``signing.pkcs11.PKCS11KeyStore``)."""

    def ensure_secret_key(self, label: str) -> None: ...

    def encrypt(self, label: str, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, label: str, sealed: bytes, associated_data: bytes) -> bytes: ...


class DeviceKeyWrap:
    """Data keys wrapped by an AES key inside an HSM: stored files open only with the token present."""

    def __init__(self, device: SecretKeyDevice, label: str = "hub-file-key-encryption-key") -> None:
        self.device, self.label = device, label
        self.key_id = f"hsm/{label}"
        device.ensure_secret_key(label)

    def wrap(self, data_key: bytes) -> bytes:
        return self.device.encrypt(self.label, data_key, self.key_id.encode())

    def unwrap(self, wrapped: bytes) -> bytes:
        return self.device.decrypt(self.label, wrapped, self.key_id.encode())
