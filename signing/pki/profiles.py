"""What each certificate the hub issues holds: names, validity, key usages, extensions, pointers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)

from signing.errors import PKIError
from signing.filekeys import PrivateKey

__all__ = [
    "CA_ISSUERS_PATH",
    "CA_KEY_USAGE",
    "CRL_PATH",
    "OCSP_PATH",
    "OCSP_RESPONDER",
    "ROOT_CRL_PATH",
    "SEAL_KEY_USAGE",
    "SEAL_VALIDITY",
    "SERVICE_KEY_USAGE",
    "TSA",
    "KeyUsageName",
    "ServiceProfile",
    "certificate_builder",
    "fit_name",
    "issuing_certificate",
    "key_usage",
    "root_certificate",
    "seal_certificate",
    "service_certificate",
]

ROOT_VALIDITY = timedelta(days=20 * 365)
ISSUING_VALIDITY = timedelta(days=10 * 365)
SERVICE_VALIDITY = timedelta(days=5 * 365)  # TSA and OCSP responder
SEAL_VALIDITY = timedelta(days=3 * 365)

# Where the hub serves what relying parties fetch, below its base URL; certificates point there.
OCSP_PATH = "/pki/ocsp"
CRL_PATH = "/pki/crl"  # the issuing CA's CRL (seal, TSA certificates)
ROOT_CRL_PATH = "/pki/crl/root"  # the root's CRL (covering the issuing CA)
CA_ISSUERS_PATH = "/pki/ca.crt"

# organizationIdentifier (X.520 2.5.4.97), the attribute eIDAS seals use for a legal person's registry
# number; we put the USCC (统一社会信用代码) there and in serialNumber, which older tools display.
ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

KeyUsageName = Literal[
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
]


def key_usage(*usages: KeyUsageName) -> x509.KeyUsage:
    """A KeyUsage extension asserting exactly ``usages`` (never encipherOnly or decipherOnly)."""
    flags = {name: name in usages for name in get_args(KeyUsageName)}
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


CA_KEY_USAGE = key_usage("digital_signature", "key_cert_sign", "crl_sign")
SERVICE_KEY_USAGE = key_usage("digital_signature")  # TSA and OCSP responder only sign
SEAL_KEY_USAGE = key_usage("digital_signature", "content_commitment")  # nonRepudiation


def fit_name(name: str, limit: int = 64) -> str:
    """``name`` cut to the X.520 upper bound of 64 (cryptography counts UTF-8 bytes: ~21 Chinese
    characters); the full name stays in the hub's registry."""
    data = name.encode()
    if len(data) <= limit:
        return name
    return data[:limit].decode(errors="ignore")


def _backdated_now() -> datetime:
    # Five minutes in the past, so a verifier whose clock runs a little behind accepts a new certificate.
    return datetime.now(UTC) - timedelta(minutes=5)


def _serial() -> int:
    # 127 bits keep the DER INTEGER positive and within RFC 5280's 20 octets.
    return secrets.randbits(127) | (1 << 126)


def _name(org_name: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    pub = issuer.public_key()
    if not isinstance(pub, PublicKey):
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


def certificate_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: PublicKey,
    start: datetime,
    end: datetime,
    constraints: x509.BasicConstraints,
) -> x509.CertificateBuilder:
    """What every certificate holds: names, key, a fresh serial, validity, basic constraints (critical)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(constraints, critical=True)
    )


def root_certificate(key: ec.EllipticCurvePrivateKey, org_name: str) -> x509.Certificate:
    """The self-signed root CA, "<org_name> Root CA", with no limit on the path below it."""
    name = _name(org_name, f"{org_name} Root CA")
    start = _backdated_now()
    return (
        certificate_builder(
            name, name, key.public_key(), start, start + ROOT_VALIDITY,
            x509.BasicConstraints(ca=True, path_length=None),
        )
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def issuing_certificate(
    key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    root_key: PrivateKey,
    org_name: str,
    base_url: str,
) -> x509.Certificate:
    """The issuing CA under ``root`` (path length 0), pointing at the root's CRL."""
    start = _backdated_now()
    base_url = base_url.rstrip("/")
    return (
        certificate_builder(
            _name(org_name, f"{org_name} Issuing CA"), root.subject, key.public_key(), start,
            min(start + ISSUING_VALIDITY, root.not_valid_after_utc),
            x509.BasicConstraints(ca=True, path_length=0),
        )
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(root), critical=False)
        .add_extension(_crl_dp(base_url + ROOT_CRL_PATH), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def _leaf_builder(
    subject: x509.Name,
    public_key: PublicKey,
    issuer: x509.Certificate,
    start: datetime,
    end: datetime,
    base_url: str,
    *,
    revocation_pointers: bool = True,
) -> x509.CertificateBuilder:
    base_url = base_url.rstrip("/")
    builder = (
        certificate_builder(
            subject, issuer.subject, public_key, start, min(end, issuer.not_valid_after_utc),
            x509.BasicConstraints(ca=False, path_length=None),
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuer), critical=False)
    )
    if revocation_pointers:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(base_url + OCSP_PATH),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(base_url + CA_ISSUERS_PATH),
                    ),
                ]
            ),
            critical=False,
        ).add_extension(_crl_dp(base_url + CRL_PATH), critical=False)
    return builder


@dataclass(frozen=True)
class ServiceProfile:
    """A certificate for one of the hub's own services, which only sign: the TSA or the OCSP responder."""

    role: str  # the common name after the organization's name
    usage: ObjectIdentifier  # the one extended key usage
    usage_critical: bool
    # id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1) instead of AIA and CRL pointers: relying parties
    # trust a delegated OCSP responder for its lifetime rather than ask it about itself.
    nocheck: bool = False


TSA = ServiceProfile("Timestamp Authority", ExtendedKeyUsageOID.TIME_STAMPING, usage_critical=True)
OCSP_RESPONDER = ServiceProfile(
    "OCSP Responder", ExtendedKeyUsageOID.OCSP_SIGNING, usage_critical=False, nocheck=True
)


def service_certificate(
    profile: ServiceProfile,
    key: PrivateKey,
    issuing: x509.Certificate,
    issuing_key: PrivateKey,
    org_name: str,
    base_url: str,
) -> x509.Certificate:
    """A TSA or OCSP responder certificate over ``key``, issued by the issuing CA."""
    start = _backdated_now()
    builder = (
        _leaf_builder(
            _name(org_name, f"{org_name} {profile.role}"), key.public_key(), issuing, start,
            start + SERVICE_VALIDITY, base_url, revocation_pointers=not profile.nocheck,
        )
        .add_extension(SERVICE_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([profile.usage]), critical=profile.usage_critical)
    )
    if profile.nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return builder.sign(issuing_key, hashes.SHA256())


def seal_certificate(
    public_key: PublicKey,
    issuing: x509.Certificate,
    issuing_key: PrivateKey,
    org_name: str,
    uscc: str,
    base_url: str,
    *,
    not_before: datetime | None = None,
    validity: timedelta = SEAL_VALIDITY,
) -> x509.Certificate:
    """A department seal (电子印章) certificate over ``public_key``.

    Subject: C=CN, O=org_name, CN=org_name, serialNumber=organizationIdentifier=USCC.
    EKU emailProtection + documentSigning (NSS refuses documentSigning alone).
    """
    start = not_before or _backdated_now()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, fit_name(org_name)),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, uscc),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, uscc),
            x509.NameAttribute(NameOID.COMMON_NAME, fit_name(org_name)),
        ]
    )
    return (
        _leaf_builder(subject, public_key, issuing, start, start + validity, base_url)
        .add_extension(SEAL_KEY_USAGE, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
            critical=False,
        )
        .sign(issuing_key, hashes.SHA256())
    )
