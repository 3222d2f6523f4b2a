"""The hub's own PKI: root CA, issuing CA, timestamping and OCSP responder certificates, QR key.

Layout of the PKI directory (certificates in clear, keys as encrypted PKCS#8 — see ``filekeys``)::

    root.crt.pem     root.key.pem       self-signed root (absent key when an external CA was imported)
    issuing.crt.pem  issuing.key.pem    issues seal, TSA and OCSP certificates; signs CRLs
    tsa.crt.pem      tsa.key.pem        RFC 3161 timestamping (EKU timeStamping, critical)
    ocsp.crt.pem     ocsp.key.pem       delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck)
    qr.key.pem                          EC P-256 key that signs offline QR payloads
    .lock                               flock()ed while anything is created

``HubPKI.open_or_create`` creates what is missing under the lock, so two processes starting at once
end with the same PKI. ``HubPKI.import_ca`` installs an existing CA (cert + key PEM) as the issuing
CA instead of generating one.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)

from signing.errors import PKIError
from signing.filekeys import (
    PrivateKey,
    decrypt_private_key,
    encrypt_private_key,
    write_atomically,
)

__all__ = ["HubPKI", "QRKey", "certificates_from_pem", "to_asn1", "to_crypto"]

ROOT_VALIDITY = timedelta(days=20 * 365)
ISSUING_VALIDITY = timedelta(days=10 * 365)
SERVICE_VALIDITY = timedelta(days=5 * 365)  # TSA and OCSP responder
SEAL_VALIDITY = timedelta(days=3 * 365)
RENEW_BEFORE = timedelta(days=30)

# organizationIdentifier (X.520 2.5.4.97), the attribute eIDAS seals use for a legal person's registry
# number; we put the USCC (统一社会信用代码) there and in serialNumber, which older tools display.
ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
OCSP_NOCHECK = ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """cryptography certificate -> asn1crypto certificate (what pyHanko speaks)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    """asn1crypto certificate -> cryptography certificate."""
    return x509.load_der_x509_certificate(cert.dump())


def _now() -> datetime:
    return datetime.now(UTC)


def _serial() -> int:
    # 127 bits keep the DER INTEGER positive and within RFC 5280's 20 octets.
    return secrets.randbits(127) | (1 << 126)


@dataclass(frozen=True)
class QRKey:
    """The key that signs offline QR payloads, with its ``kid`` (base64url of SHA-256(SPKI)[:8])."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str

    @property
    def public_key_der(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _kid(key: ec.EllipticCurvePrivateKey) -> str:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(spki).digest()[:8]).rstrip(b"=").decode()


def fit_name(name: str, limit: int = 64) -> str:
    """``name`` cut to the X.520 upper bound of 64 (cryptography counts UTF-8 bytes: ~21 Chinese
    characters); the full name stays in the hub's registry."""
    data = name.encode()
    if len(data) <= limit:
        return name
    return data[:limit].decode(errors="ignore")


def _name(org_name: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class HubPKI:
    """The hub's certificate authority, loaded once: certificates parsed, keys decrypted."""

    def __init__(
        self,
        *,
        directory: Path,
        base_url: str,
        root_cert: asn1_x509.Certificate,
        issuing_cert: asn1_x509.Certificate,
        issuing_key: PrivateKey,
        tsa_cert: asn1_x509.Certificate,
        tsa_key: PrivateKey,
        ocsp_cert: asn1_x509.Certificate,
        ocsp_key: PrivateKey,
        qr_key: QRKey,
        root_key: PrivateKey | None,
    ) -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/")
        self.root_cert = root_cert
        self.issuing_cert = issuing_cert
        self.issuing_key = issuing_key
        self.tsa_cert = tsa_cert
        self.tsa_key = tsa_key
        self.ocsp_cert = ocsp_cert
        self.ocsp_key = ocsp_key
        self.qr_key = qr_key
        self.root_key = root_key
        self._issuing_crypto = to_crypto(issuing_cert)

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
        with _locked(directory):
            store = _Store(directory, master_key)
            if not store.exists("issuing"):
                root_key = ec.generate_private_key(ec.SECP256R1())
                root = _build_root(root_key, org_name)
                store.save("root", root, root_key)
                issuing_key = ec.generate_private_key(ec.SECP256R1())
                issuing = _build_issuing(issuing_key, root, root_key, org_name, base_url)
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
        with _locked(directory):
            store = _Store(directory, master_key)
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
    def _finish_opening(cls, store: _Store, *, org_name: str, base_url: str) -> HubPKI:
        issuing = store.load_cert("issuing")
        issuing_key = store.load_key("issuing")
        renew_at = _now() + RENEW_BEFORE
        services: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
        for name, builder in (("tsa", _build_tsa), ("ocsp", _build_ocsp)):
            key = store.load_key(name) if store.has_key(name) else ec.generate_private_key(ec.SECP256R1())
            if not store.has_key(name):
                store.save_key(name, key)
            cert = store.load_cert(name) if store.exists(name) else None
            if cert is None or cert.not_valid_after_utc < renew_at:
                cert = builder(key, issuing, issuing_key, org_name, base_url)
                store.save_cert(name, cert)
            services[name] = (cert, key)
        if not store.has_key("qr"):
            store.save_key("qr", ec.generate_private_key(ec.SECP256R1()))
        qr = store.load_key("qr")
        if not isinstance(qr, ec.EllipticCurvePrivateKey):
            raise PKIError("the QR key must be an EC key")
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
            qr_key=QRKey(qr, _kid(qr)),
            root_key=store.load_key("root") if store.has_key("root") else None,
        )

    # -- what callers need ---------------------------------------------------------------------------

    @property
    def chain(self) -> list[asn1_x509.Certificate]:
        """Certificates to embed with a seal signature: issuing CA, then root."""
        if self.issuing_cert.dump() == self.root_cert.dump():
            return [self.root_cert]
        return [self.issuing_cert, self.root_cert]

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/pki/ocsp"

    @property
    def crl_url(self) -> str:
        """Where the issuing CA's CRL (seal, TSA certificates) is published."""
        return f"{self.base_url}/pki/crl"

    @property
    def root_crl_url(self) -> str:
        """Where the root's CRL (covering the issuing CA) is published."""
        return f"{self.base_url}/pki/crl/root"

    @property
    def ca_issuers_url(self) -> str:
        return f"{self.base_url}/pki/ca.crt"

    def issue_seal_certificate(
        self,
        public_key: asn1_keys.PublicKeyInfo,
        org_name: str,
        uscc: str,
        *,
        not_before: datetime | None = None,
        validity: timedelta = SEAL_VALIDITY,
    ) -> asn1_x509.Certificate:
        """Issue a department seal (电子印章) certificate over ``public_key``.

        Subject: C=CN, O=org_name, CN=org_name, serialNumber=organizationIdentifier=USCC.
        EKU emailProtection + documentSigning (NSS refuses documentSigning alone).
        """
        start = not_before or _now() - timedelta(minutes=5)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, fit_name(org_name)),
                x509.NameAttribute(ORGANIZATION_IDENTIFIER, uscc),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, uscc),
                x509.NameAttribute(NameOID.COMMON_NAME, fit_name(org_name)),
            ]
        )
        pub = serialization.load_der_public_key(public_key.dump())
        if not isinstance(pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise PKIError("seal keys must be EC or RSA")
        builder = (
            _leaf_builder(subject, pub, self._issuing_crypto, start, start + validity, self.base_url)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
                critical=False,
            )
        )
        return to_asn1(builder.sign(self.issuing_key, hashes.SHA256()))


# -- certificate builders -------------------------------------------------------------------------------


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_only_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _build_root(key: ec.EllipticCurvePrivateKey, org_name: str) -> x509.Certificate:
    name = _name(org_name, f"{org_name} Root CA")
    start = _now() - timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(start + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _build_issuing(
    key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    root_key: PrivateKey,
    org_name: str,
    base_url: str,
) -> x509.Certificate:
    start = _now() - timedelta(minutes=5)
    base_url = base_url.rstrip("/")
    return (
        x509.CertificateBuilder()
        .subject_name(_name(org_name, f"{org_name} Issuing CA"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(min(start + ISSUING_VALIDITY, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(root), critical=False)
        .add_extension(_crl_dp(f"{base_url}/pki/crl/root"), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    pub = issuer.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise PKIError("CA keys must be EC or RSA")
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(pub)


def _crl_dp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _leaf_builder(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: x509.Certificate,
    start: datetime,
    end: datetime,
    base_url: str,
    *,
    revocation_pointers: bool = True,
) -> x509.CertificateBuilder:
    base_url = base_url.rstrip("/")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(min(end, issuer.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    if revocation_pointers:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(f"{base_url}/pki/ocsp"),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{base_url}/pki/ca.crt"),
                    ),
                ]
            ),
            critical=False,
        ).add_extension(_crl_dp(f"{base_url}/pki/crl"), critical=False)
    return builder


def _build_tsa(
    key: PrivateKey, issuing: x509.Certificate, issuing_key: PrivateKey, org_name: str, base_url: str
) -> x509.Certificate:
    start = _now() - timedelta(minutes=5)
    pub = key.public_key()
    return (
        _leaf_builder(
            _name(org_name, f"{org_name} Timestamp Authority"), pub, issuing, start,
            start + SERVICE_VALIDITY, base_url,
        )
        .add_extension(_signing_only_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(issuing_key, hashes.SHA256())
    )


def _build_ocsp(
    key: PrivateKey, issuing: x509.Certificate, issuing_key: PrivateKey, org_name: str, base_url: str
) -> x509.Certificate:
    start = _now() - timedelta(minutes=5)
    pub = key.public_key()
    return (
        _leaf_builder(
            _name(org_name, f"{org_name} OCSP Responder"), pub, issuing, start,
            start + SERVICE_VALIDITY, base_url, revocation_pointers=False,
        )
        .add_extension(_signing_only_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .sign(issuing_key, hashes.SHA256())
    )


# -- files ----------------------------------------------------------------------------------------------


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+b") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


class _Store:
    def __init__(self, directory: Path, master_key: bytes) -> None:
        self.directory = directory
        self._master_key = master_key

    def _cert_path(self, name: str) -> Path:
        return self.directory / f"{name}.crt.pem"

    def _key_path(self, name: str) -> Path:
        return self.directory / f"{name}.key.pem"

    def exists(self, name: str) -> bool:
        return self._cert_path(name).exists()

    def has_key(self, name: str) -> bool:
        return self._key_path(name).exists()

    def save(self, name: str, cert: x509.Certificate, key: PrivateKey) -> None:
        # key first: a certificate on disk always has its key next to it
        self.save_key(name, key)
        self.save_cert(name, cert)

    def save_cert(self, name: str, cert: x509.Certificate) -> None:
        write_atomically(self._cert_path(name), cert.public_bytes(serialization.Encoding.PEM))

    def save_key(self, name: str, key: PrivateKey) -> None:
        write_atomically(self._key_path(name), encrypt_private_key(key, self._master_key, f"pki:{name}"))

    def load_cert(self, name: str) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(self._cert_path(name).read_bytes())
        except FileNotFoundError:
            raise PKIError(f"{self._cert_path(name)} is missing") from None

    def load_key(self, name: str) -> PrivateKey:
        try:
            pem = self._key_path(name).read_bytes()
        except FileNotFoundError:
            raise PKIError(f"{self._key_path(name)} is missing") from None
        return decrypt_private_key(pem, self._master_key, f"pki:{name}")


def certificates_from_pem(pem: bytes) -> Sequence[asn1_x509.Certificate]:
    """Parse every certificate in a PEM bundle (for trust roots given as files)."""
    return [to_asn1(c) for c in x509.load_pem_x509_certificates(pem)]

