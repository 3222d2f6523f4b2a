"""Private keys kept as encrypted PKCS#8 files — the embedded default ``KeyStore``.

Every file is encrypted under a password derived (HKDF-SHA256) from the hub's master key and the
file's purpose, so one leaked password opens one file and the master key itself is never written.
Keys are created with an exclusive hard link, which makes ``ensure_key`` race-free across processes
without a lock: the first process to link wins, the others read the winner's key.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
import threading
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.errors import KeyNotFound, PKIError

__all__ = [
    "CachedKeySigner",
    "FileKeyStore",
    "PrivateKey",
    "decrypt_private_key",
    "encrypt_private_key",
    "public_key_info",
    "write_atomically",
]

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _file_password(master_key: bytes, purpose: str) -> bytes:
    if len(master_key) < 16:
        raise PKIError("the master key must be at least 16 bytes")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub key file v1:" + purpose.encode()
    ).derive(master_key)
    return base64.b64encode(derived)


def encrypt_private_key(key: PrivateKey, master_key: bytes, purpose: str) -> bytes:
    """PEM of ``key`` as encrypted PKCS#8, under a password derived from ``master_key`` and ``purpose``."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_file_password(master_key, purpose)),
    )


def decrypt_private_key(pem: bytes, master_key: bytes, purpose: str) -> PrivateKey:
    """Inverse of :func:`encrypt_private_key`; raises ``PKIError`` for a wrong master key."""
    try:
        key = serialization.load_pem_private_key(pem, password=_file_password(master_key, purpose))
    except (ValueError, TypeError) as exc:
        raise PKIError(f"cannot decrypt the {purpose!r} key (wrong master key?)") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PKIError(f"the {purpose!r} key is neither EC nor RSA")
    return key


def public_key_info(key: PrivateKey) -> asn1_keys.PublicKeyInfo:
    """The asn1crypto SubjectPublicKeyInfo of a private key."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return asn1_keys.PublicKeyInfo.load(der)


def _temp_file(directory: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(name, 0o600)
    return Path(name)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half of one."""
    tmp = _temp_file(path.parent, data)
    os.replace(tmp, path)


def create_exclusively(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` unless it exists. Returns False if another writer got there first."""
    tmp = _temp_file(path.parent, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


class CachedKeySigner(SimpleSigner):
    """A ``SimpleSigner`` that signs with an already-parsed key.

    pyHanko's ``SimpleSigner.sign_raw`` re-parses the PKCS#8 blob on every signature; with thousands
    of seals that is wasted work, so this subclass overrides only the raw signing primitive.
    """

    def __init__(
        self,
        signing_cert: asn1_x509.Certificate,
        key: PrivateKey,
        chain: list[asn1_x509.Certificate],
        *,
        key_info: asn1_keys.PrivateKeyInfo | None = None,
    ) -> None:
        if key_info is None:
            key_info = asn1_keys.PrivateKeyInfo.load(
                key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        super().__init__(
            signing_cert=signing_cert,
            signing_key=key_info,
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        hash_algo = _hash(digest_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism == "rsassa_pkcs1v15":
            return self._key.sign(data, PKCS1v15(), hash_algo)
        # PSS and the rest: let pyHanko do it (it re-parses the key, but stays correct).
        return bytes(super().sign_raw(data, digest_algorithm))


def _hash(name: str) -> hashes.HashAlgorithm:
    algorithms: dict[str, hashes.HashAlgorithm] = {
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }
    try:
        return algorithms[name.lower()]
    except KeyError:
        raise PKIError(f"unsupported digest algorithm {name!r}") from None


class FileKeyStore:
    """EC P-256 seal keys as encrypted PKCS#8 files in ``directory``, cached in memory once loaded."""

    def __init__(self, directory: Path, master_key: bytes) -> None:
        self._directory = Path(directory)
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _file_password(master_key, "check")  # reject a too-short master key now, not at first use
        self._master_key = master_key
        self._keys: dict[str, tuple[PrivateKey, asn1_keys.PrivateKeyInfo]] = {}
        self._lock = threading.Lock()

    def _path(self, label: str) -> Path:
        if not _LABEL_RE.match(label):
            raise KeyNotFound(f"invalid key label {label!r}")
        return self._directory / f"{label}.key.pem"

    def _purpose(self, label: str) -> str:
        return f"seal:{label}"

    def ensure_key(self, label: str) -> asn1_keys.PublicKeyInfo:
        """Create an EC P-256 key under ``label`` unless one exists; return its public key."""
        path = self._path(label)
        if not path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            create_exclusively(path, encrypt_private_key(key, self._master_key, self._purpose(label)))
        return public_key_info(self._load(label)[0])

    def has_key(self, label: str) -> bool:
        return label in self._keys or self._path(label).exists()

    def signer(
        self,
        label: str,
        signing_cert: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
    ) -> CachedKeySigner:
        """A pyHanko signer that signs with the key under ``label``."""
        key, key_info = self._load(label)
        return CachedKeySigner(signing_cert, key, chain, key_info=key_info)

    def _load(self, label: str) -> tuple[PrivateKey, asn1_keys.PrivateKeyInfo]:
        cached = self._keys.get(label)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._keys.get(label)
            if cached is not None:
                return cached
            try:
                pem = self._path(label).read_bytes()
            except FileNotFoundError:
                raise KeyNotFound(f"no key under label {label!r}") from None
            key = decrypt_private_key(pem, self._master_key, self._purpose(label))
            key_info = asn1_keys.PrivateKeyInfo.load(
                key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            self._keys[label] = (key, key_info)
            return key, key_info
