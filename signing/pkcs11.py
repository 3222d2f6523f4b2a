"""Seal keys in a hardware security module, reached through PKCS#11.

``PKCS11KeyStore`` implements :class:`signing.keystore.KeyStore` over one token. Keys are EC P-256
pairs generated *on* the token: the private half is created sensitive and non-extractable, so it
never leaves the device; the hub only ever reads the public half and asks the token to sign.

Sessions are expensive on real HSMs (a login is a round trip, sometimes a PIN-pad prompt), so the
store opens one logged-in session lazily and reuses it for every call until :meth:`close`. PKCS#11
keeps login state per process and token, so all stores on one token in a process share that
session (see ``_SharedSession``).

Concurrency:

* Threads: python-pkcs11 initialises the module with ``C_Initialize(NULL)``, which tells it the
  application will not call in from several threads at once (SoftHSM then disables its own
  mutexes). So every call we make into a module, including the signature pyHanko requests from
  an executor thread, holds one ``RLock`` per module; it also makes ``ensure_key``'s
  look-up-then-create atomic within the process.
* Processes: PKCS#11 has no "create unless it exists", so :meth:`ensure_key` holds an advisory
  ``flock`` on a lock file (one per library + token) around the check and the generation. That
  covers several workers on one host, which is how the hub runs; hosts sharing a network HSM must
  provision keys from one place (the ``hub`` CLI) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pkcs11
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass, SignMixin
from pkcs11.exceptions import MultipleTokensReturned, NoSuchToken
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pyhanko.sign.pkcs11 import PKCS11Signer, select_pkcs11_signing_params

from signing.errors import KeyNotFound, SigningError

__all__ = ["PKCS11KeyStore", "PKCS11KeyStoreError"]

_CURVE = "secp256r1"  # NIST P-256


class PKCS11KeyStoreError(SigningError):
    """The token could not be found, or holds something other than what we expect under a label."""


def key_id_for_label(label: str) -> bytes:
    """The CKA_ID we give both halves of the pair stored under ``label``.

    Derived from the label (not random) so another tool can find the pair by ID alone; hashed so
    it has a fixed, short length whatever the label is.
    """
    return hashlib.sha256(label.encode("utf-8")).digest()[:16]


class _SharedSession:
    """The one logged-in session this process holds on a token, shared by every store using it.

    PKCS#11 keeps the login state per application, not per session: a second ``C_Login`` on the
    same token fails with ``CKR_USER_ALREADY_LOGGED_IN`` and ``C_Logout`` from any session logs
    them all out. So stores on the same token share one session and the last one to close logs out.
    """

    def __init__(self, session: pkcs11.Session, pin_digest: bytes, lock: threading.RLock) -> None:
        self.session = session
        self.pin_digest = pin_digest
        self.users = 0
        self.lock = lock


_SHARED: dict[tuple[str, str], _SharedSession] = {}
_SHARED_LOCK = threading.Lock()
# python-pkcs11 calls C_Initialize(NULL), which per PKCS#11 promises the module that the
# application will not call it from several threads at once; SoftHSM then turns its own mutexes
# off. So every call into one module goes through one lock per module, across tokens and sessions.
_LIBRARY_LOCKS: dict[str, threading.RLock] = {}


def _library_lock(lib_path: str) -> threading.RLock:
    with _SHARED_LOCK:
        return _LIBRARY_LOCKS.setdefault(os.path.realpath(lib_path), threading.RLock())


def _pin_digest(lib_path: str, token_label: str, pin: str) -> bytes:
    return hashlib.sha256(f"{lib_path}\0{token_label}\0{pin}".encode()).digest()


class PKCS11KeyStore:
    """A :class:`signing.keystore.KeyStore` whose keys live on one PKCS#11 token."""

    def __init__(
        self,
        lib_path: str,
        token_label: str,
        user_pin: str,
        *,
        lock_dir: str | None = None,
    ) -> None:
        self._lib_path = lib_path
        self._token_label = token_label
        self._user_pin = user_pin
        self._lock = threading.RLock()  # guards self._shared until the shared lock takes over
        self._shared: _SharedSession | None = None
        digest = hashlib.sha256(f"{lib_path}\0{token_label}".encode()).hexdigest()[:16]
        self._lock_path = os.path.join(lock_dir or tempfile.gettempdir(), f"hub-pkcs11-{digest}.lock")

    def __repr__(self) -> str:  # never show the PIN
        return f"PKCS11KeyStore(lib_path={self._lib_path!r}, token_label={self._token_label!r})"

    # -- session -------------------------------------------------------------------------------

    def _acquire(self) -> _SharedSession:
        """Join (or open) this process's logged-in session on the token."""
        with self._lock:
            if self._shared is not None:
                return self._shared
            key = self._shared_key()
            digest = _pin_digest(self._lib_path, self._token_label, self._user_pin)
            lock = _library_lock(self._lib_path)
            with lock, _SHARED_LOCK:
                shared = _SHARED.get(key)
                if shared is None:
                    shared = _SharedSession(self._login(), digest, lock)
                    _SHARED[key] = shared
                elif not hmac.compare_digest(shared.pin_digest, digest):
                    # Do not let a wrong PIN ride on someone else's login.
                    raise PKCS11KeyStoreError(f"wrong PIN for token {self._token_label!r}")
                shared.users += 1
            self._shared = shared
            return shared

    def _shared_key(self) -> tuple[str, str]:
        return os.path.realpath(self._lib_path), self._token_label

    def _login(self) -> pkcs11.Session:  # called under the library lock
        lib = pkcs11.lib(self._lib_path)
        try:
            token = lib.get_token(token_label=self._token_label)
        except (NoSuchToken, MultipleTokensReturned) as exc:
            raise PKCS11KeyStoreError(f"no single token labelled {self._token_label!r}") from exc
        # Read/write: ensure_key stores new keys on the token.
        return token.open(rw=True, user_pin=self._user_pin)

    def close(self) -> None:
        """Leave the shared session; the last store on the token logs out and closes it."""
        with self._lock:
            shared, self._shared = self._shared, None
            if shared is None:
                return
            with _SHARED_LOCK:
                shared.users -= 1
                if shared.users:
                    return
                del _SHARED[self._shared_key()]
            with shared.lock:
                shared.session.close()

    def __enter__(self) -> PKCS11KeyStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- KeyStore ------------------------------------------------------------------------------

    def _find(self, session: pkcs11.Session, object_class: ObjectClass, label: str) -> list[Any]:
        return list(
            session.get_objects(
                {
                    Attribute.CLASS: object_class,
                    Attribute.KEY_TYPE: KeyType.EC,
                    Attribute.LABEL: label,
                }
            )
        )

    def _public_key_info(self, session: pkcs11.Session, label: str) -> asn1_keys.PublicKeyInfo | None:
        publics = self._find(session, ObjectClass.PUBLIC_KEY, label)
        if not publics:
            return None
        if len(publics) > 1:
            raise PKCS11KeyStoreError(f"{len(publics)} public keys labelled {label!r} on the token")
        return asn1_keys.PublicKeyInfo.load(encode_ec_public_key(publics[0]))

    def has_key(self, label: str) -> bool:
        """True if a private key is stored under ``label``."""
        shared = self._acquire()
        with shared.lock:
            return bool(self._find(shared.session, ObjectClass.PRIVATE_KEY, label))

    def ensure_key(self, label: str) -> asn1_keys.PublicKeyInfo:
        """Generate an EC P-256 pair on the token under ``label`` unless one exists; return its public key."""
        shared = self._acquire()
        # The process lock first: while another process generates, this process can still sign.
        with self._process_lock(), shared.lock:
            session = shared.session
            has_private = bool(self._find(session, ObjectClass.PRIVATE_KEY, label))
            existing = self._public_key_info(session, label)
            if has_private and existing is not None:
                return existing
            if has_private or existing is not None:
                # Half a pair: someone deleted one object by hand. Refuse rather than guess.
                raise PKCS11KeyStoreError(f"only half of the key pair labelled {label!r} is on the token")
            self._generate(session, label)
            created = self._public_key_info(session, label)
            if created is None:  # pragma: no cover - the token just told us it stored it
                raise PKCS11KeyStoreError(f"the token did not keep the key pair labelled {label!r}")
            return created

    def _generate(self, session: pkcs11.Session, label: str) -> None:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVE)}, local=True
        )
        params.generate_keypair(
            id=key_id_for_label(label),
            label=label,
            store=True,
            public_template={Attribute.VERIFY: True, Attribute.TOKEN: True},
            private_template={
                Attribute.SIGN: True,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                # The whole point of the HSM: the key can be used, never read or wrapped out.
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.DECRYPT: False,
                Attribute.UNWRAP: False,
                Attribute.DERIVE: False,
            },
        )

    # -- secret keys: encryption on the token (the hub wraps files' data keys with one) -----------

    def _secret_key(self, session: pkcs11.Session, label: str) -> Any | None:
        kind = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES}
        found = list(session.get_objects({**kind, Attribute.LABEL: label}))
        if len(found) > 1:
            raise PKCS11KeyStoreError(f"{len(found)} secret keys labelled {label!r} on the token")
        return found[0] if found else None

    def ensure_secret_key(self, label: str) -> None:
        """Generate an AES-256 key on the token under ``label`` unless one exists; it never leaves it."""
        shared = self._acquire()
        with self._process_lock(), shared.lock:
            session = shared.session
            if self._secret_key(session, label) is not None:
                return
            session.generate_key(
                KeyType.AES,
                256,
                id=key_id_for_label(label),
                label=label,
                store=True,
                template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                },
            )

    def encrypt(self, label: str, plaintext: bytes, associated_data: bytes) -> bytes:
        """AES-256-GCM on the token with its key ``label``: nonce (12) | ciphertext | tag."""
        nonce = os.urandom(12)
        shared = self._acquire()
        with shared.lock:
            key = self._secret_key(shared.session, label)
            if key is None:
                raise KeyNotFound(f"no secret key labelled {label!r} on the token")
            params = GCMParams(nonce, associated_data, 128)
            sealed: bytes = key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        return nonce + sealed

    def decrypt(self, label: str, sealed: bytes, associated_data: bytes) -> bytes:
        """The inverse of :meth:`encrypt`; ``PKCS11KeyStoreError`` when the bytes do not open."""
        shared = self._acquire()
        with shared.lock:
            key = self._secret_key(shared.session, label)
            if key is None:
                raise KeyNotFound(f"no secret key labelled {label!r} on the token")
            try:
                params = GCMParams(sealed[:12], associated_data, 128)
                opened: bytes = key.decrypt(sealed[12:], mechanism=Mechanism.AES_GCM, mechanism_param=params)
            except pkcs11.exceptions.PKCS11Error as exc:
                raise PKCS11KeyStoreError(f"the token could not decrypt: {type(exc).__name__}") from exc
        return opened

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        with open(self._lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def signer(
        self,
        label: str,
        signing_cert: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
    ) -> PKCS11Signer:
        """A pyHanko signer that signs with the token key under ``label``, on the shared session."""
        shared = self._acquire()
        with shared.lock:
            session = shared.session
            keys = self._find(session, ObjectClass.PRIVATE_KEY, label)
            if not keys:
                raise KeyNotFound(f"no private key labelled {label!r} on the token")
            if len(keys) > 1 or not isinstance(keys[0], SignMixin):
                raise PKCS11KeyStoreError(f"no single signing key labelled {label!r} on the token")
            signer = _LockedPKCS11Signer(
                shared.lock,
                keys[0],
                session,
                signing_cert=signing_cert,
                ca_chain=chain,
                key_label=label,
                key_id=key_id_for_label(label),
                # Nothing else to fetch from the token: the hub keeps certificates in its database.
                other_certs_to_pull=(),
                # SoftHSM (and many HSMs) offer CKM_ECDSA but not CKM_ECDSA_SHA256; pyHanko hashes
                # itself and asks the token for the raw ECDSA operation.
                use_raw_mechanism=True,
            )
            # pyHanko also looks the key up lazily, on whichever thread first reads this property;
            # make that happen now, under the lock.
            _ = signer.signing_cert
            return signer


class _LockedPKCS11Signer(PKCS11Signer):
    """pyHanko's PKCS#11 signer with the token call made under the module's lock.

    ``async_sign_raw`` is the one primitive a pyHanko ``Signer`` backend overrides. This mirrors
    ``PKCS11Signer.async_sign_raw`` (pyHanko 0.38) using pyHanko's public
    ``select_pkcs11_signing_params``, and looks the key up itself so no pyHanko internals are used.
    """

    def __init__(
        self, lock: threading.RLock, key: SignMixin, session: pkcs11.Session, **kwargs: Any
    ) -> None:
        super().__init__(session, **kwargs)
        self._token_lock = lock
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return await super().async_sign_raw(data, digest_algorithm, dry_run=True)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._sign_blocking, data, digest_algorithm)

    def _sign_blocking(self, data: bytes, digest_algorithm: str) -> bytes:
        spec = select_pkcs11_signing_params(
            self.get_signature_mechanism_for_digest(digest_algorithm),
            digest_algorithm.lower(),
            use_raw_mechanism=self.use_raw_mechanism,
            sign_kwargs=self.sign_kwargs(data),
        )
        if spec.pre_sign_transform is not None:
            data = spec.pre_sign_transform(data)
        with self._token_lock:
            signature: bytes = self._key.sign(data, **spec.sign_kwargs)
        if spec.post_sign_transform is not None:
            signature = spec.post_sign_transform(signature)
        return signature
