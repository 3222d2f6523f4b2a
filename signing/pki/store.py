"""The PKI directory on disk: certificates in clear, keys encrypted, and the lock around creating them."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.errors import PKIError
from signing.filekeys import PrivateKey, decrypt_private_key, encrypt_private_key, write_atomically

__all__ = ["PkiStore", "locked"]


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold ``directory/.lock`` (flock) for the block, so two processes never create at once."""
    with open(directory / ".lock", "a+b") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


class PkiStore:
    """Named certificates and keys in one directory (keys as encrypted PKCS#8, see ``filekeys``)::

        root.crt.pem     root.key.pem       self-signed root (absent key when an external CA was imported)
        issuing.crt.pem  issuing.key.pem    issues seal, TSA and OCSP certificates; signs CRLs
        tsa.crt.pem      tsa.key.pem        RFC 3161 timestamping (EKU timeStamping, critical)
        ocsp.crt.pem     ocsp.key.pem       delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck)
        qr.key.pem                          EC P-256 key that signs offline QR payloads
        .lock                               flock()ed while anything is created
    """

    def __init__(self, directory: Path, master_key: bytes) -> None:
        self.directory = directory
        self._master_key = master_key

    def _cert_path(self, name: str) -> Path:
        return self.directory / f"{name}.crt.pem"

    def _key_path(self, name: str) -> Path:
        return self.directory / f"{name}.key.pem"

    def exists(self, name: str) -> bool:
        """True if the certificate ``name`` is on disk."""
        return self._cert_path(name).exists()

    def has_key(self, name: str) -> bool:
        """True if the key ``name`` is on disk."""
        return self._key_path(name).exists()

    def save(self, name: str, cert: x509.Certificate, key: PrivateKey) -> None:
        """Write a certificate and its key."""
        # key first: a certificate on disk always has its key next to it
        self.save_key(name, key)
        self.save_cert(name, cert)

    def save_cert(self, name: str, cert: x509.Certificate) -> None:
        """Write the certificate ``name`` (PEM), replacing it atomically."""
        write_atomically(self._cert_path(name), cert.public_bytes(serialization.Encoding.PEM))

    def save_key(self, name: str, key: PrivateKey) -> None:
        """Write the key ``name``, encrypted under the master key, replacing it atomically."""
        write_atomically(self._key_path(name), encrypt_private_key(key, self._master_key, f"pki:{name}"))

    def load_cert(self, name: str) -> x509.Certificate:
        """Read the certificate ``name``; raises ``PKIError`` if it is missing."""
        try:
            return x509.load_pem_x509_certificate(self._cert_path(name).read_bytes())
        except FileNotFoundError:
            raise PKIError(f"{self._cert_path(name)} is missing") from None

    def load_key(self, name: str) -> PrivateKey:
        """Read and decrypt the key ``name``; raises ``PKIError`` if it is missing or undecryptable."""
        try:
            pem = self._key_path(name).read_bytes()
        except FileNotFoundError:
            raise PKIError(f"{self._key_path(name)} is missing") from None
        return decrypt_private_key(pem, self._master_key, f"pki:{name}")
