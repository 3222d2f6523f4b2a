"""Revocation data for B-LT seals: what a provider hands over, and the one the hub's own PKI answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import x509 as asn1_x509

from signing.crl import RevokedCertificate, build_crl
from signing.errors import SigningError
from signing.ocsp import StatusOf, build_response
from signing.pki.authority import HubPKI

__all__ = ["PkiRevocationProvider", "RevocationMaterial", "RevocationProvider"]


@dataclass(frozen=True)
class RevocationMaterial:
    """DER OCSP responses and CRLs to embed for B-LT."""

    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()


RevocationProvider = Callable[[Sequence[asn1_x509.Certificate]], RevocationMaterial]
"""Given the certificates of a signature (seal, CAs, TSA), return revocation data for them."""


class PkiRevocationProvider:
    """Revocation data from the hub's own PKI: an OCSP response for every certificate the issuing CA
    issued (status from ``status_of``), and the root's CRL covering the issuing CA.

    ``root_revoked`` lists what the root has revoked (normally nothing); the root CRL is rebuilt
    when half its lifetime has passed. Needs the root key (absent for an imported CA: then give
    ``root_crl`` instead, the DER the external root publishes).
    """

    def __init__(
        self,
        pki: HubPKI,
        status_of: StatusOf,
        *,
        root_revoked: Callable[[], Iterable[RevokedCertificate]] = lambda: (),
        root_crl: Callable[[], bytes] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        crl_lifetime: timedelta = timedelta(days=30),
        ocsp_validity: timedelta = timedelta(days=1),
    ) -> None:
        self._pki = pki
        self._status_of = status_of
        self._root_revoked = root_revoked
        self._root_crl = root_crl
        self._clock = clock
        self._crl_lifetime = crl_lifetime
        self._ocsp_validity = ocsp_validity
        self._cached_crl: tuple[datetime, bytes] | None = None
        self._lock = threading.Lock()

    def __call__(self, certs: Sequence[asn1_x509.Certificate]) -> RevocationMaterial:
        """OCSP responses for the issuing CA's certificates among ``certs``, and the root CRL."""
        now = self._clock()
        pki = self._pki
        issuing_subject = pki.issuing_cert.subject.dump()
        ocsps: list[bytes] = []
        seen: set[int] = set()
        for cert in certs:
            serial = int(cert.serial_number)
            if cert.issuer.dump() != issuing_subject or serial in seen or cert.dump() == pki.ocsp_cert.dump():
                continue
            seen.add(serial)
            ocsps.append(
                build_response(
                    cert,
                    self._status_of(serial),
                    responder_cert=pki.ocsp_cert,
                    responder_key=pki.ocsp_key,
                    ca_cert=pki.issuing_cert,
                    now=now,
                    validity=self._ocsp_validity,
                )
            )
        crls: tuple[bytes, ...] = ()
        if pki.issuing_cert.dump() != pki.root_cert.dump():
            crls = (self.root_crl(now),)
        return RevocationMaterial(ocsp_responses=tuple(ocsps), crls=crls)

    def root_crl(self, now: datetime | None = None) -> bytes:
        """The root's CRL (covering the issuing CA): embedded for B-LT and published at the root's
        CRL distribution point — one CRL, rebuilt when half its lifetime has passed."""
        now = now or self._clock()
        if self._root_crl is not None:
            return self._root_crl()
        with self._lock:
            cached = self._cached_crl
            if cached is not None and now < cached[0]:
                return cached[1]
            if self._pki.root_key is None:
                raise SigningError("no root key to sign the root CRL: pass root_crl=")
            this_update = now - timedelta(minutes=1)
            der = build_crl(
                self._pki.root_cert,
                self._pki.root_key,
                self._root_revoked(),
                this_update=this_update,
                next_update=this_update + self._crl_lifetime,
            )
            self._cached_crl = (this_update + self._crl_lifetime / 2, der)
            return der
