"""RFC 3161 timestamping: the hub's own authority, and timestamp sources for pyHanko.

``TimestampAuthority.respond`` is what the hub serves at ``/pki/tsa``. For signing, a timestamp
source is a pyHanko ``TimeStamper``: ``LocalTimeStamper`` asks an in-process authority (no HTTP),
pyHanko's own ``HTTPTimeStamper`` asks a URL (an external TSA, or the hub's ``/pki/tsa``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from signing import der
from signing.filekeys import PrivateKey
from signing.signed_data import SignedDataTemplate

__all__ = ["HUB_TSA_POLICY", "HTTPTimeStamper", "LocalTimeStamper", "TimestampAuthority"]

# A UUID-derived OID (ITU-T X.667 arc 2.25) naming the hub's timestamping policy.
HUB_TSA_POLICY = "2.25.238748913649283740182736451029384756120"

_DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_SHA256 = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]
    # asn1crypto's TimeStampResp forgets that the token is OPTIONAL (absent from rejections);
    # a subclass stays a tsp.TimeStampResp for pyHanko.
    _fields = [  # noqa: RUF012 -- asn1crypto's declarative spec
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _rejection(failure: str, text: str) -> tsp.TimeStampResp:
    return _TimeStampResp(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": tsp.PKIStatus("rejection"),
                    "status_string": tsp.PKIFreeText([text]),
                    "fail_info": tsp.PKIFailureInfo({failure}),
                }
            )
        }
    )


class TimestampAuthority:
    """Signs RFC 3161 timestamp tokens with the TSA certificate (EKU timeStamping).

    Tokens are assembled from DER parts encoded once (``signing.signed_data``): a token costs a
    signature and a few byte joins, not a tree of asn1crypto objects dumped thousands of times.
    """

    def __init__(
        self,
        cert: asn1_x509.Certificate,
        key: PrivateKey,
        chain: Sequence[asn1_x509.Certificate],
        *,
        policy: str = HUB_TSA_POLICY,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.cert = cert
        self.chain = list(chain)
        self._key = key
        self._policy = policy
        self._policy_der = der.oid(policy)
        self._clock = clock or (lambda: datetime.now(UTC))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
        else:
            algorithm = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
        self._with_certs = SignedDataTemplate(cert, [cert, *self.chain], algorithm, content_type="tst_info")
        self._without_certs = SignedDataTemplate(cert, [], algorithm, content_type="tst_info")
        self._accuracy = der.sequence(der.integer(1))  # Accuracy ::= SEQUENCE { seconds 1 }
        self._tsa_name = der.explicit(0, asn1_x509.GeneralName({"directory_name": cert.subject}).dump())

    def respond(self, request_der: bytes) -> bytes:
        """Answer a DER ``TimeStampReq``; anything unparsable gets a ``badDataFormat`` rejection."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            request.native  # noqa: B018 -- asn1crypto parses lazily; force it so errors surface here
        except Exception:  # asn1crypto raises ValueError/TypeError/... for garbage
            rejection: bytes = _rejection("bad_data_format", "request is not a DER TimeStampReq").dump()
            return rejection
        response: bytes = self.respond_to(request).dump()
        return response

    def respond_to(self, request: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """Answer a parsed request (the in-process path, no DER round trip)."""
        imprint = request["message_imprint"]
        md_name = imprint["hash_algorithm"]["algorithm"].native
        digest_fn = _DIGESTS.get(md_name)
        if digest_fn is None:
            return _rejection("bad_alg", f"unsupported hash algorithm {md_name}")
        if len(imprint["hashed_message"].native) != digest_fn().digest_size:
            return _rejection("bad_data_format", "message imprint has the wrong length")
        requested_policy = request["req_policy"].native
        if requested_policy is not None and requested_policy != self._policy:
            return _rejection("unaccepted_policy", "unknown TSA policy")
        token = self._token(imprint.dump(), request["nonce"].native, bool(request["cert_req"].native))
        granted = der.sequence(der.sequence(der.integer(0)), token)  # PKIStatusInfo { granted }
        return _TimeStampResp.load(granted)

    def token(
        self, sha256_digest: bytes, *, nonce: int | None = None, with_certificates: bool = True
    ) -> bytes:
        """The DER token (a ContentInfo) over a SHA-256 digest, as a signature timestamp holds it."""
        if len(sha256_digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        imprint = der.sequence(_SHA256, der.octet_string(sha256_digest))  # MessageImprint
        return self._token(imprint, nonce, with_certificates)

    def _token(self, imprint_der: bytes, nonce: int | None, with_certificates: bool) -> bytes:
        parts = [
            der.integer(1),
            self._policy_der,
            imprint_der,
            der.integer(secrets.randbits(127)),
            der.generalized_time(self._clock()),
            self._accuracy,
        ]
        if nonce is not None:
            parts.append(der.integer(nonce))
        parts.append(self._tsa_name)
        tst_info = der.sequence(*parts)
        template = self._with_certs if with_certificates else self._without_certs
        signed_attributes = template.signed_attributes(hashlib.sha256(tst_info).digest())
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            signature = self._key.sign(signed_attributes, ec.ECDSA(hashes.SHA256()))
        else:
            signature = self._key.sign(signed_attributes, PKCS1v15(), hashes.SHA256())
        return template.assemble(signed_attributes, signature, content=tst_info)


class LocalTimeStamper(TimeStamper):
    """A timestamp source that asks an in-process ``TimestampAuthority`` — a real TSA, no network."""

    def __init__(self, authority: TimestampAuthority, include_nonce: bool = True) -> None:
        super().__init__(include_nonce=include_nonce)  # type: ignore[no-untyped-call]
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self.authority.respond_to(req)
