"""An RFC 6960 OCSP responder, stateless: the caller says what a serial's status is.

``respond`` never raises for bad input: an unparsable request gets a ``malformedRequest`` response,
a request about another CA's certificate an ``unauthorized`` one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, NotRequired, TypedDict, Unpack

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing.crl import RevocationInfo
from signing.filekeys import PrivateKey
from signing.pki.convert import to_crypto

__all__ = ["CertStatus", "ResponseSigning", "StatusOf", "build_response", "respond"]

CertStatus = RevocationInfo | None | Literal["unknown"]
"""None: good; RevocationInfo: revoked; "unknown": the CA never issued this serial."""

StatusOf = Callable[[int], CertStatus]

DEFAULT_VALIDITY = timedelta(days=1)


class ResponseSigning(TypedDict):
    """The keyword arguments ``respond`` and ``build_response`` share: who signs, for which CA, when."""

    responder_cert: asn1_x509.Certificate
    responder_key: PrivateKey
    ca_cert: asn1_x509.Certificate
    now: datetime
    validity: NotRequired[timedelta]  # how long the response may be relied on (default: DEFAULT_VALIDITY)


def _hash_for(name: str) -> hashes.HashAlgorithm | None:
    return {"sha1": hashes.SHA1(), "sha256": hashes.SHA256(), "sha384": hashes.SHA384(),  # noqa: S303
            "sha512": hashes.SHA512()}.get(name)


def _issuer_hashes(ca: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    name_digest = hashes.Hash(algorithm)
    name_digest.update(ca.subject.public_bytes())
    key_digest = hashes.Hash(algorithm)
    # issuerKeyHash covers the BIT STRING value of the key, not the whole SubjectPublicKeyInfo
    spki = asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER)).public_key
    key_digest.update(spki["public_key"].contents[1:])
    return name_digest.finalize(), key_digest.finalize()


def _add_status(
    builder: ocsp.OCSPResponseBuilder,
    issuer_hashes: tuple[bytes, bytes],
    serial: int,
    algorithm: hashes.HashAlgorithm,
    status: CertStatus,
    signing: ResponseSigning,
) -> ocsp.OCSPResponseBuilder:
    if status is None:
        cert_status, revoked_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
    elif status == "unknown":
        cert_status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    else:
        cert_status = ocsp.OCSPCertStatus.REVOKED
        revoked_at, reason = status.revoked_at, status.reason_flag
    now = signing["now"]
    return builder.add_response_by_hash(
        issuer_name_hash=issuer_hashes[0],
        issuer_key_hash=issuer_hashes[1],
        serial_number=serial,
        algorithm=algorithm,
        cert_status=cert_status,
        this_update=now,
        next_update=now + signing.get("validity", DEFAULT_VALIDITY),
        revocation_time=revoked_at,
        revocation_reason=reason,
    )


def _sign(builder: ocsp.OCSPResponseBuilder, signing: ResponseSigning) -> bytes:
    responder = to_crypto(signing["responder_cert"])
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).certificates([responder])
    response = builder.sign(signing["responder_key"], hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def respond(request_der: bytes, status_of: StatusOf, **signing: Unpack[ResponseSigning]) -> bytes:
    """Answer a DER OCSP request with a DER basic OCSP response (nonce echoed if present)."""
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = _hash_for(request.hash_algorithm.name)
        serial = request.serial_number
        req_hashes = (request.issuer_name_hash, request.issuer_key_hash)
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
    except x509.ExtensionNotFound:
        nonce = None
    except Exception:  # cryptography raises ValueError and friends; any unparsable request is malformed
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if algorithm is None:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    ca_hashes = _issuer_hashes(to_crypto(signing["ca_cert"]), algorithm)
    if req_hashes != ca_hashes:
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    try:
        status = status_of(serial)
    except Exception:  # the callback's failure must not take the responder down
        return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
    builder = _add_status(ocsp.OCSPResponseBuilder(), ca_hashes, serial, algorithm, status, signing)
    if nonce is not None:
        builder = builder.add_extension(nonce, critical=False)
    return _sign(builder, signing)


def build_response(
    cert: asn1_x509.Certificate, status: CertStatus, **signing: Unpack[ResponseSigning]
) -> bytes:
    """A DER OCSP response about ``cert`` without a request, for embedding in a PAdES B-LT DSS."""
    algorithm = hashes.SHA256()
    ca_hashes = _issuer_hashes(to_crypto(signing["ca_cert"]), algorithm)
    serial = int(cert.serial_number)
    builder = _add_status(ocsp.OCSPResponseBuilder(), ca_hashes, serial, algorithm, status, signing)
    return _sign(builder, signing)
