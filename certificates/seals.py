"""Departments' electronic seals (电子印章): one current seal per department — a key in the key store
and a certificate from the hub's CA — and the revocation state the OCSP responder and CRLs publish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.log import Event
from audit.log import record as audit_record
from catalog.queries import find_organization, organization_names
from certificates.errors import SealNotFound
from certificates.models import Seal
from signing.crl import RevocationInfo, RevokedCertificate
from signing.keystore import KeyStore
from signing.ocsp import CertStatus
from signing.pki.authority import HubPKI


@dataclass(frozen=True)
class PublishedSeal:
    """A seal in the trust list: whose it is and its certificate (PEM)."""

    org_code: str
    org_name: str
    certificate_pem: str


def pem(cert: asn1_x509.Certificate) -> str:
    """A certificate, PEM-armored."""
    armored: bytes = asn1_pem.armor("CERTIFICATE", cert.dump())
    return armored.decode()


def current_seal(session: Session, org_code: str) -> Seal | None:
    """The department's seal in force (the newest unrevoked one), if any."""
    return session.scalar(
        select(Seal)
        .where(Seal.org_code == org_code, Seal.revoked_at.is_(None))
        .order_by(Seal.id.desc())
        .limit(1)
    )


def ensure_seal(session: Session, pki: HubPKI, keystore: KeyStore, org_code: str, org_name: str) -> Seal:
    """The department's current seal, created (key + certificate) if it has none."""
    seal = current_seal(session, org_code)
    if seal is not None:
        return seal
    # A new key for every seal: a seal replacing a revoked (perhaps compromised) one never reuses its key.
    generation = session.scalar(select(func.count()).select_from(Seal).where(Seal.org_code == org_code)) or 0
    label = f"seal-{org_code}-{generation + 1}"
    public_key = keystore.ensure_key(label)
    cert = pki.issue_seal_certificate(public_key, org_name, org_code)
    seal = Seal(
        org_code=org_code,
        key_label=label,
        serial_number=str(cert.serial_number),
        certificate_pem=pem(cert),
    )
    session.add(seal)
    session.flush()
    details = {"serial_number": seal.serial_number, "key_label": label}
    audit_record(session, Event(action="seal.create", actor="hub", org_code=org_code, details=details))
    return seal


def seal_for_issuing(session: Session, pki: HubPKI, keystore: KeyStore, org_code: str) -> Seal:
    """The seal to seal with: the current one; a department whose seal was revoked gets a new one."""
    seal = current_seal(session, org_code)
    if seal is not None:
        return seal
    org = find_organization(session, org_code)
    if org is None or org.kind != "department":
        raise SealNotFound(f"organization {org_code} has no seal")
    return ensure_seal(session, pki, keystore, org_code, org.name)


def revoke_seal(
    session: Session, org_code: str, *, reason: str, now: datetime, actor: str = "operator"
) -> Seal:
    """Revoke the department's current seal (``hub seals revoke``); its next issuance gets a new one.
    An entry of the audit log, by ``actor``."""
    seal = current_seal(session, org_code)
    if seal is None:
        raise SealNotFound(f"organization {org_code} has no active seal")
    seal.revoked_at = now
    seal.revocation_reason = reason
    session.flush()
    details = {"serial_number": seal.serial_number, "reason": reason}
    audit_record(session, Event(action="seal.revoke", actor=actor, org_code=org_code, details=details))
    return seal


def seal_status(session: Session, serial: int) -> CertStatus:
    """OCSP status of a seal certificate: good (None), revoked, or unknown to the registry."""
    seal = session.scalar(select(Seal).where(Seal.serial_number == str(serial)))
    if seal is None:
        return "unknown"
    if seal.revoked_at is not None:
        return RevocationInfo(seal.revoked_at, seal.revocation_reason)
    return None


def published_seals(session: Session) -> list[PublishedSeal]:
    """Every seal in force, oldest first, for the trust list."""
    seals = list(session.scalars(select(Seal).where(Seal.revoked_at.is_(None)).order_by(Seal.id)))
    names = organization_names(session, (s.org_code for s in seals))
    return [PublishedSeal(s.org_code, names.get(s.org_code, s.org_code), s.certificate_pem) for s in seals]


def revoked_seals(session: Session) -> list[RevokedCertificate]:
    """Every revoked seal, for the CA's CRL."""
    return [
        RevokedCertificate(int(s.serial_number), RevocationInfo(s.revoked_at, s.revocation_reason))
        for s in session.scalars(select(Seal).where(Seal.revoked_at.is_not(None)))
        if s.revoked_at is not None
    ]
