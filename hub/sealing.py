"""Wiring the signing library into the hub: the PKI, the key store, the sealer, the timestamp
authority, and caches of department seals (whose rules and table live in ``certificates.seals``)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from sqlalchemy.orm import Session

from certificates import seals
from certificates.models import Seal
from certificates.ports import SealedPdf
from certificates.seals import pem
from certificates.untrusted_pdf import TrustAnchors
from hub.extras import require_extra
from hub.settings import Settings
from kernel.errors import NotFound
from signing.crl import RevocationInfo, build_crl
from signing.filekeys import FileKeyStore, create_exclusively
from signing.keystore import KeyStore
from signing.ocsp import CertStatus, respond
from signing.pades import Sealer, SealIdentity
from signing.pki.authority import HubPKI
from signing.qr.cose import QRSigner
from signing.revocation import PkiRevocationProvider
from signing.trust import TrustList, qr_key_entry
from signing.tsa import LocalTimeStamper, TimestampAuthority
from signing.validation import Level, SignatureReport, validate_pdf

# The session of the request being served, so revocation look-ups see its uncommitted seals.
_current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "seal_session", default=None
)


HUB_SEAL_LABEL = "hub-seal"
HUB_SEAL_FILE = "hub-seal.pem"


def _read_certificate(path: Path) -> asn1_x509.Certificate | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    _, _, der = asn1_pem.unarmor(data)
    return asn1_x509.Certificate.load(der)


class HubSigning:
    """Built once per process: keys loaded once, seals cached, nothing re-parsed per document."""

    def __init__(self, settings: Settings, master_key: bytes) -> None:
        self.settings = settings
        self.pki = HubPKI.open_or_create(
            settings.pki_directory,
            master_key,
            org_name=settings.signing.ca_name,
            base_url=settings.public_url,
        )
        self.keystore = self._keystore(settings, master_key)
        self.tsa = TimestampAuthority(self.pki.tsa_cert, self.pki.tsa_key, self.pki.chain)
        timestamper: TimeStamper
        if settings.signing.tsa_url:
            timestamper = HTTPTimeStamper(settings.signing.tsa_url, timeout=5)
        else:
            timestamper = LocalTimeStamper(self.tsa)
        self.revocation = PkiRevocationProvider(self.pki, self.status_of)
        self.sealer = Sealer(
            self.pki,
            self.keystore,
            timestamper=timestamper,
            level=settings.signing.level,
            revocation=self.revocation,
        )
        self.qr = QRSigner(self.pki.qr_key.private_key)
        self._identities: dict[str, SealIdentity] = {}
        self._hub_identity: SealIdentity | None = None
        self._hub_serial: int | None = None  # from the file, when another process made the seal
        self._crl: tuple[datetime, bytes] | None = None
        self._lock = threading.Lock()
        self.seal_lock = threading.Lock()
        # Parse the shared certificates completely now: asn1crypto's lazy parsing is not safe when
        # several threads touch the same object for the first time (verification runs in threads).
        for cert in (self.pki.root_cert, self.pki.issuing_cert, self.pki.tsa_cert, self.pki.ocsp_cert):
            _ = cert.native

    @staticmethod
    def _keystore(settings: Settings, master_key: bytes) -> KeyStore:
        if settings.signing.keystore == "pkcs11":
            require_extra("pkcs11")
            from signing.pkcs11 import PKCS11KeyStore

            return PKCS11KeyStore(
                settings.signing.pkcs11_library,
                settings.signing.pkcs11_token,
                settings.signing.pkcs11_pin.get_secret_value(),
            )
        return FileKeyStore(settings.pki_directory / "seal-keys", master_key)

    @contextmanager
    def using(self, session: Session) -> Iterator[None]:
        token = _current_session.set(session)
        try:
            yield
        finally:
            _current_session.reset(token)

    @staticmethod
    def _session() -> Session:
        """The session revocation look-ups use: the caller's, set with ``using(session)``.

        Never a session of its own: on SQLite a second connection would wait on the caller's
        write lock, and it could not see the caller's uncommitted seals.
        """
        session = _current_session.get()
        if session is None:
            raise RuntimeError("revocation state needs a session: wrap the call in HubSigning.using()")
        return session

    # -- seals (the rules live in certificates.seals; this keeps the parsed identities cached) ------

    def ensure_seal(self, session: Session, org_code: str, org_name: str) -> Seal:
        """The department's current seal, created if it has none."""
        return seals.ensure_seal(session, self.pki, self.keystore, org_code, org_name)

    def revoke_seal(self, session: Session, org_code: str, reason: str = "key_compromise") -> Seal:
        """Revoke the department's current seal and forget what was cached of it."""
        seal = seals.revoke_seal(session, org_code, reason=reason, now=datetime.now(UTC))
        with self._lock:
            self._identities.pop(org_code, None)
            self._crl = None
        self.sealer.forget_revocation_state()
        return seal

    def identity(self, session: Session, org_code: str) -> SealIdentity:
        with self._lock:
            cached = self._identities.get(org_code)
        seal = seals.seal_for_issuing(session, self.pki, self.keystore, org_code)
        if (
            cached is not None
            and cached.label == seal.key_label
            and str(cached.cert.serial_number) == seal.serial_number
        ):
            return cached
        _, _, der = asn1_pem.unarmor(seal.certificate_pem.encode())
        cert = asn1_x509.Certificate.load(der)
        org_name = cert.subject.native.get("organization_name", org_code)
        _ = cert.native  # fully parsed before other threads share it (see __init__)
        identity = SealIdentity(label=seal.key_label, cert=cert, org_name=str(org_name), uscc=org_code)
        with self._lock:
            self._identities[org_code] = identity
        return identity

    # -- the hub's own seal (annotated copies) ------------------------------------------------------

    def hub_identity(self) -> SealIdentity:
        """The hub operator's seal: one key in the key store, its certificate beside the PKI's files."""
        with self._lock:
            if self._hub_identity is not None:
                return self._hub_identity
        public_key = self.keystore.ensure_key(HUB_SEAL_LABEL)
        path = self.settings.pki_directory / HUB_SEAL_FILE
        cert = _read_certificate(path)
        if cert is None or cert.public_key.dump() != public_key.dump():
            name = self.settings.signing.operator_name or self.settings.signing.ca_name
            issued = self.pki.issue_seal_certificate(public_key, name, self.settings.signing.operator_code)
            if not create_exclusively(path, pem(issued).encode()):
                path.write_bytes(pem(issued).encode())  # a stale certificate (another key) is replaced
            cert = _read_certificate(path)
            assert cert is not None
        _ = cert.native  # fully parsed before other threads share it (see __init__)
        org_name = str(cert.subject.native.get("organization_name", self.settings.signing.ca_name))
        identity = SealIdentity(
            label=HUB_SEAL_LABEL, cert=cert, org_name=org_name, uscc=self.settings.signing.operator_code
        )
        with self._lock:
            self._hub_identity = identity
        return identity

    def seal_as_hub(self, session: Session, pdf: bytes) -> bytes:
        """``pdf`` sealed with the hub's own seal at the configured level."""
        identity = self.hub_identity()
        with self.seal_lock, self.using(session):
            return self.sealer.seal(pdf, identity).pdf

    def _hub_seal_serial(self) -> int | None:
        """The hub seal's serial, read from its file once it exists (asked only for unknown serials)."""
        if self._hub_identity is not None:
            return int(self._hub_identity.cert.serial_number)
        if self._hub_serial is None:
            cert = _read_certificate(self.settings.pki_directory / HUB_SEAL_FILE)
            self._hub_serial = int(cert.serial_number) if cert is not None else None
        return self._hub_serial

    def seal_revocation(self, cert: asn1_x509.Certificate) -> RevocationInfo | None:
        """What the registry knows of a seal certificate's revocation (for validation)."""
        return self.revocation_of(int(cert.serial_number))

    def revocation_of(self, serial: int) -> RevocationInfo | None:
        """When and why the registry says the seal certificate ``serial`` was revoked, if it was."""
        status = self.status_of(serial)
        return status if isinstance(status, RevocationInfo) else None

    def trust_anchors(self) -> TrustAnchors:
        """The hub's root and issuing CA as DER, for validation in a worker process."""
        return TrustAnchors((self.pki.root_cert.dump(),), (self.pki.issuing_cert.dump(),))

    def validate(self, session: Session, pdf: bytes) -> SignatureReport:
        """The seal's report for a PDF, against the hub's own trust anchors, offline."""
        with self.using(session):
            return validate_pdf(
                pdf,
                [self.pki.root_cert],
                intermediates=[self.pki.issuing_cert],
                revocation_lookup=self.seal_revocation,
            )

    def trust_list(self, session: Session) -> dict[str, Any]:
        """``GET /api/v1/trust``: what an offline verifier needs."""
        published = [
            {"org": seal.org_code, "name": seal.org_name, "certificate": seal.certificate_pem}
            for seal in seals.published_seals(session)
        ]
        hub_seal = _read_certificate(self.settings.pki_directory / HUB_SEAL_FILE)
        if hub_seal is not None:  # the hub's own seal, on annotated copies
            name = self.settings.signing.operator_name or self.settings.signing.ca_name
            code = self.settings.signing.operator_code
            published.append({"org": code, "name": name, "certificate": pem(hub_seal)})
        return {
            "roots": [pem(self.pki.root_cert)],
            "intermediates": [pem(self.pki.issuing_cert)]
            if self.pki.issuing_cert.dump() != self.pki.root_cert.dump()
            else [],
            "seals": published,
            "qr_keys": [qr_key_entry(self.qr.public_key())],
            "audit_keys": [qr_key_entry(self.pki.audit_key.private_key.public_key())],
        }

    # -- the audit log's checkpoints ----------------------------------------------------------------

    def sign_checkpoint(self, note: bytes) -> tuple[str, bytes]:
        """The audit key's id and its ECDSA P-256 / SHA-256 signature (DER) over a checkpoint note."""
        key = self.pki.audit_key
        return key.kid, key.private_key.sign(note, ec.ECDSA(hashes.SHA256()))

    def timestamp_token(self, sha256_digest: bytes) -> bytes:
        """An RFC 3161 token of the hub's own TSA over a digest."""
        return self.tsa.token(sha256_digest)

    def qr_trust(self) -> TrustList:
        return TrustList.from_keys([self.qr.public_key()])

    def sealing_for(self, session: Session) -> RequestSealing:
        return RequestSealing(self, session)

    # -- revocation state (OCSP, CRL) --------------------------------------------------------------

    def status_of(self, serial: int) -> CertStatus:
        """OCSP status of a certificate the issuing CA issued: seals from the table; the hub's own
        TSA and OCSP responder certificates are good; anything else is unknown."""
        if serial in (self.pki.tsa_cert.serial_number, self.pki.ocsp_cert.serial_number):
            return None
        status = seals.seal_status(self._session(), serial)
        if status == "unknown" and serial == self._hub_seal_serial():
            return None  # the hub's own seal, not in the seals table: revoked only with the issuing CA
        return status

    def ocsp_response(self, session: Session, request_der: bytes) -> bytes:
        with self.using(session):
            return respond(
                request_der,
                self.status_of,
                responder_cert=self.pki.ocsp_cert,
                responder_key=self.pki.ocsp_key,
                ca_cert=self.pki.issuing_cert,
                now=datetime.now(UTC),
            )

    def crl(self, session: Session) -> bytes:
        """The issuing CA's CRL (revoked seals), rebuilt at most once a minute or on revocation."""
        now = datetime.now(UTC)
        with self._lock:
            if self._crl is not None and now - self._crl[0] < timedelta(minutes=1):
                return self._crl[1]
        der = build_crl(
            self.pki.issuing_cert,
            self.pki.issuing_key,
            seals.revoked_seals(session),
            this_update=now,
            next_update=now + timedelta(days=1),
        )
        with self._lock:
            self._crl = (now, der)
        return der

    def root_crl(self) -> bytes:
        """The root's CRL, the same one B-LT seals embed."""
        if self.pki.root_key is None:
            raise NotFound("the root CRL is published by the imported CA's owner", code="not_found")
        return self.revocation.root_crl()


class RequestSealing:
    """``certificates.ports.Sealing`` for one unit of work: seals with the issuer's current seal."""

    def __init__(self, signing: HubSigning, session: Session) -> None:
        self.signing, self.session = signing, session
        self._identities: dict[str, SealIdentity] = {}  # one look-up per issuer and unit of work

    def _identity(self, issuer_code: str) -> SealIdentity:
        identity = self._identities.get(issuer_code)
        if identity is None:
            identity = self._identities[issuer_code] = self.signing.identity(self.session, issuer_code)
        return identity

    def seal(
        self, pdf: bytes, *, issuer_code: str, seal_box: tuple[float, float, float, float] | None
    ) -> SealedPdf:
        identity = self._identity(issuer_code)
        kwargs = {}
        if seal_box is not None:
            kwargs["box"] = tuple(round(v) for v in seal_box)
        # One seal at a time per process: asn1crypto parses shared certificates lazily and pyHanko's
        # signers are not documented as thread-safe, while uvicorn runs requests in a thread pool.
        # Sealing is CPU-bound Python under the GIL, so this costs no throughput; processes
        # (``hub serve --workers``) still seal in parallel.
        with self.signing.seal_lock, self.signing.using(self.session):
            result = self.signing.sealer.seal(pdf, identity, **kwargs)  # type: ignore[arg-type]
        return SealedPdf(pdf=result.pdf, level=result.level)

    def prepare(self, issuer_code: str) -> None:
        self.signing.identity(self.session, issuer_code)

    def upgrade(self, pdf: bytes, level: Level) -> SealedPdf:
        with self.signing.seal_lock, self.signing.using(self.session):
            result = self.signing.sealer.upgrade(pdf, level)
        return SealedPdf(pdf=result.pdf, level=result.level)
