"""Certificates between cryptography's objects and asn1crypto's (what pyHanko speaks), and from PEM."""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["certificates_from_pem", "to_asn1", "to_crypto"]


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """cryptography certificate -> asn1crypto certificate (what pyHanko speaks)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    """asn1crypto certificate -> cryptography certificate."""
    return x509.load_der_x509_certificate(cert.dump())


def certificates_from_pem(pem: bytes) -> Sequence[asn1_x509.Certificate]:
    """Parse every certificate in a PEM bundle (for trust roots given as files)."""
    return [to_asn1(c) for c in x509.load_pem_x509_certificates(pem)]
