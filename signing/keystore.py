"""Where seal keys live. One narrow interface, in the manner of pyHanko's ``Signer``.

The embedded default keeps keys as PKCS#8 files encrypted under a key derived from the hub's
master key (``FileKeyStore``); production keeps them in an HSM through PKCS#11
(``signing.pkcs11.PKCS11KeyStore``). Callers never see private key material: they ask for the
public key (to have a certificate issued over it) and for a pyHanko ``Signer`` bound to a certificate.
"""

from __future__ import annotations

from typing import Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers import Signer


class KeyStore(Protocol):
    """A place that holds private keys by label and signs with them."""

    def ensure_key(self, label: str) -> asn1_keys.PublicKeyInfo:
        """Create an EC P-256 key under ``label`` unless one exists; return its public key.

        Idempotent and safe when two processes call it at once.
        """
        ...

    def has_key(self, label: str) -> bool: ...

    def signer(
        self,
        label: str,
        signing_cert: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
    ) -> Signer:
        """A pyHanko signer that signs with the key under ``label``."""
        ...
