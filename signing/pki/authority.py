"""The hub's certificate authority (``HubPKI``): opening or creating it, importing a CA, issuing seals.

``HubPKI.open_or_create`` creates what is missing under the directory's lock, so two processes
starting at once end with the same PKI. ``HubPKI.import_ca`` installs an existing CA (cert + key
PEM) as the issuing CA instead of generating one. The files are described in ``store.PkiStore``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signing.errors import PKIError
from signing.filekeys import PrivateKey
from signing.pki.convert import to_asn1, to_crypto
from signing.pki.profiles import (
    CA_ISSUERS_PATH,
    CRL_PATH,
    OCSP_PATH,
    OCSP_RESPONDER,
    ROOT_CRL_PATH,
    SEAL_VALIDITY,
    TSA,
    issuing_certificate,
    root_certificate,
    seal_certificate,
    service_certificate,
)
from signing.pki.store import PkiStore, locked
from signing.trust import kid_for

__all__ = ["HubPKI", "QRKey"]

RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class QRKey:
    """The key that signs offline QR payloads, with its ``kid`` (base64url of SHA-256(SPKI)[:8])."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str

    @property
    def public_key_der(self) -> bytes:
        """The public key's SubjectPublicKeyInfo DER."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


# eq and repr as for any object: two loaded PKIs are never "equal", and a repr lists no keys.
@dataclass(kw_only=True, eq=False, repr=False)
class HubPKI:
    """The hub's certificate authority, loaded once: certificates parsed, keys decrypted."""

    directory: Path
    base_url: str
    root_cert: asn1_x509.Certificate
    issuing_cert: asn1_x509.Certificate
    issuing_key: PrivateKey
    tsa_cert: asn1_x509.Certificate
    tsa_key: PrivateKey
    ocsp_cert: asn1_x509.Certificate
    ocsp_key: PrivateKey
    qr_key: QRKey
    audit_key: QRKey  # signs the audit log's checkpoints; published like the QR key
    root_key: PrivateKey | None
    ocsp_url: str = field(init=False)
    crl_url: str = field(init=False)
    """Where the issuing CA's CRL (seal, TSA certificates) is published."""
    root_crl_url: str = field(init=False)
    """Where the root's CRL (covering the issuing CA) is published."""
    ca_issuers_url: str = field(init=False)
    _issuing_crypto: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.ocsp_url = self.base_url + OCSP_PATH
        self.crl_url = self.base_url + CRL_PATH
        self.root_crl_url = self.base_url + ROOT_CRL_PATH
        self.ca_issuers_url = self.base_url + CA_ISSUERS_PATH
        self._issuing_crypto = to_crypto(self.issuing_cert)

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def open_or_create(
        cls,
        directory: Path,
        master_key: bytes,
        *,
        org_name: str,
        base_url: str,
    ) -> HubPKI:
        """Open the PKI in ``directory``, creating (under a file lock) whatever is missing.

        TSA and OCSP responder certificates expiring within 30 days are renewed on the same keys.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with locked(directory):
            store = PkiStore(directory, master_key)
            if not store.exists("issuing"):
                root_key = ec.generate_private_key(ec.SECP256R1())
                root = root_certificate(root_key, org_name)
                store.save("root", root, root_key)
                issuing_key = ec.generate_private_key(ec.SECP256R1())
                issuing = issuing_certificate(issuing_key, root, root_key, org_name, base_url)
                store.save("issuing", issuing, issuing_key)
            return cls._finish_opening(store, org_name=org_name, base_url=base_url)

    @classmethod
    def import_ca(
        cls,
        directory: Path,
        master_key: bytes,
        *,
        ca_cert_pem: bytes,
        ca_key_pem: bytes,
        ca_key_password: bytes | None = None,
        chain_pem: bytes = b"",
        org_name: str,
        base_url: str,
    ) -> HubPKI:
        """Install an existing CA as the issuing CA, then open the PKI.

        ``chain_pem`` holds the CA's issuers up to the root (the last self-signed one becomes
        ``root.crt.pem``); a self-signed CA is its own root. The key is re-encrypted under the
        master key; the root's key is not needed and not stored.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
        loaded = serialization.load_pem_private_key(ca_key_pem, password=ca_key_password)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise PKIError("the CA key must be EC or RSA")
        if loaded.public_key() != ca_cert.public_key():
            raise PKIError("the CA key does not match the CA certificate")
        chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        roots = [c for c in [ca_cert, *chain] if c.issuer == c.subject]
        if not roots:
            raise PKIError("the chain must end in a self-signed root certificate")
        with locked(directory):
            store = PkiStore(directory, master_key)
            if store.exists("issuing"):
                raise PKIError(f"{directory} already holds a CA; import into an empty directory")
            store.save_cert("root", roots[-1])
            if roots[-1] == ca_cert:
                store.save_cert("issuing", ca_cert)
                store.save_key("issuing", loaded)
            else:
                store.save("issuing", ca_cert, loaded)
            return cls._finish_opening(store, org_name=org_name, base_url=base_url)

    @classmethod
    def _finish_opening(cls, store: PkiStore, *, org_name: str, base_url: str) -> HubPKI:
        issuing = store.load_cert("issuing")
        issuing_key = store.load_key("issuing")
        renew_at = datetime.now(UTC) + RENEW_BEFORE
        services: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
        for name, profile in (("tsa", TSA), ("ocsp", OCSP_RESPONDER)):
            key = store.load_key(name) if store.has_key(name) else ec.generate_private_key(ec.SECP256R1())
            if not store.has_key(name):
                store.save_key(name, key)
            cert = store.load_cert(name) if store.exists(name) else None
            if cert is None or cert.not_valid_after_utc < renew_at:
                cert = service_certificate(profile, key, issuing, issuing_key, org_name, base_url)
                store.save_cert(name, cert)
            services[name] = (cert, key)
        raw: dict[str, ec.EllipticCurvePrivateKey] = {}
        for name in ("qr", "audit"):
            if not store.has_key(name):
                store.save_key(name, ec.generate_private_key(ec.SECP256R1()))
            key = store.load_key(name)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise PKIError(f"the {name} key must be an EC key")
            raw[name] = key
        qr, audit = raw["qr"], raw["audit"]
        return cls(
            directory=store.directory,
            base_url=base_url,
            root_cert=to_asn1(store.load_cert("root")),
            issuing_cert=to_asn1(issuing),
            issuing_key=issuing_key,
            tsa_cert=to_asn1(services["tsa"][0]),
            tsa_key=services["tsa"][1],
            ocsp_cert=to_asn1(services["ocsp"][0]),
            ocsp_key=services["ocsp"][1],
            qr_key=QRKey(qr, kid_for(qr.public_key())),
            audit_key=QRKey(audit, kid_for(audit.public_key())),
            root_key=store.load_key("root") if store.has_key("root") else None,
        )

    # -- what callers need ---------------------------------------------------------------------------

    @property
    def chain(self) -> list[asn1_x509.Certificate]:
        """Certificates to embed with a seal signature: issuing CA, then root."""
        if self.issuing_cert.dump() == self.root_cert.dump():
            return [self.root_cert]
        return [self.issuing_cert, self.root_cert]

    def issue_seal_certificate(
        self,
        public_key: asn1_keys.PublicKeyInfo,
        org_name: str,
        uscc: str,
        *,
        not_before: datetime | None = None,
        validity: timedelta = SEAL_VALIDITY,
    ) -> asn1_x509.Certificate:
        """Issue a department seal (电子印章) certificate over ``public_key`` (see ``seal_certificate``)."""
        pub = serialization.load_der_public_key(public_key.dump())
        if not isinstance(pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise PKIError("seal keys must be EC or RSA")
        cert = seal_certificate(
            pub, self._issuing_crypto, self.issuing_key, org_name, uscc, self.base_url,
            not_before=not_before, validity=validity,
        )
        return to_asn1(cert)
