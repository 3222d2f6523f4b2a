"""CMS SignedData (RFC 5652) for one signer, assembled from parts encoded once.

A ``SignedDataTemplate`` holds everything of a signer's SignedData that is the same for every
signature — the certificates, the signer identifier, the algorithms, the ESS signing-certificate-v2
attribute that PAdES and RFC 3161 tokens require — already DER-encoded. A signature then costs
one hash of the signed attributes, the signature itself and a few joins, where building the tree
with asn1crypto and dumping it costs milliseconds. The seal's CMS (``content_type="data"``, detached)
and the timestamp token (``"tst_info"``, encapsulated) are both made this way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509

from signing.der import context, explicit, integer, octet_string, oid, sequence, set_of

__all__ = ["SIGNATURE_TIME_STAMP_TOKEN", "SignedDataTemplate", "attribute", "signing_certificate_v2"]

_SIGNED_DATA = oid("1.2.840.113549.1.7.2")
_MESSAGE_DIGEST = oid("1.2.840.113549.1.9.4")
SIGNATURE_TIME_STAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"  # noqa: S105 -- an OID, not a secret


def signing_certificate_v2(cert: asn1_x509.Certificate) -> tsp.SigningCertificateV2:
    """ESS signing-certificate-v2 naming ``cert`` by its SHA-256 (the default hash, so omitted)."""
    return tsp.SigningCertificateV2(
        {
            "certs": [
                tsp.ESSCertIDv2(
                    {
                        "cert_hash": hashlib.sha256(cert.dump()).digest(),
                        "issuer_serial": {
                            "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
                            "serial_number": cert.serial_number,
                        },
                    }
                )
            ]
        }
    )


class SignedDataTemplate:
    """The constant parts of one signer's SignedData, DER-encoded once (SHA-256 digests)."""

    def __init__(
        self,
        signer_cert: asn1_x509.Certificate,
        certificates: Sequence[asn1_x509.Certificate],
        signature_algorithm: algos.SignedDigestAlgorithm,
        *,
        content_type: str = "data",
    ) -> None:
        self.content_type = content_type
        self._digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        self._signature_algorithm = signature_algorithm.dump()
        self._sid = cms.IssuerAndSerialNumber(
            {"issuer": signer_cert.issuer, "serial_number": signer_cert.serial_number}
        ).dump()
        self._content_type_oid = cms.ContentType(content_type).dump()
        self._content_type_attribute = cms.CMSAttribute(
            {"type": "content_type", "values": [content_type]}
        ).dump()
        self._signing_certificate_attribute = cms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [signing_certificate_v2(signer_cert)]}
        ).dump()
        self._certificates = b"".join(c.dump() for c in certificates)
        # RFC 5652 5.1: version 3 when the content is not id-data; 1 otherwise (no v2+ certificates).
        self._version = integer(1 if content_type == "data" else 3)

    def signed_attributes(self, message_digest: bytes) -> bytes:
        """The DER SET OF signed attributes (what is signed) for content of digest ``message_digest``."""
        digest_attribute = sequence(_MESSAGE_DIGEST, set_of(octet_string(message_digest)))
        return set_of(self._content_type_attribute, digest_attribute, self._signing_certificate_attribute)

    def assemble(
        self,
        signed_attributes: bytes,
        signature: bytes,
        *,
        content: bytes | None = None,
        unsigned_attributes: Sequence[bytes] = (),
    ) -> bytes:
        """The DER ContentInfo: ``content`` encapsulated if given (else detached), ``unsigned_attributes``
        (each a whole DER Attribute) after the signature."""
        if signed_attributes[:1] != b"\x31":
            raise ValueError("signed attributes must be the DER SET from signed_attributes()")
        signer_info = [
            integer(1),  # sid is issuerAndSerialNumber
            self._sid,
            self._digest_algorithm,
            b"\xa0" + signed_attributes[1:],  # [0] IMPLICIT SET OF Attribute
            self._signature_algorithm,
            octet_string(signature),
        ]
        if unsigned_attributes:
            signer_info.append(context(1, b"".join(sorted(unsigned_attributes))))
        encapsulated = [self._content_type_oid]
        if content is not None:
            encapsulated.append(explicit(0, octet_string(content)))
        signed_data = [self._version, set_of(self._digest_algorithm), sequence(*encapsulated)]
        if self._certificates:
            signed_data.append(context(0, self._certificates))
        signed_data.append(set_of(sequence(*signer_info)))
        return sequence(_SIGNED_DATA, explicit(0, sequence(*signed_data)))


def attribute(type_oid: str, *values: bytes) -> bytes:
    """A DER CMS Attribute: its type and the SET OF its (DER) values."""
    return sequence(oid(type_oid), set_of(*values))
