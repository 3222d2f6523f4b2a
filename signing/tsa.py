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

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from signing.filekeys import PrivateKey

__all__ = ["HUB_TSA_POLICY", "HTTPTimeStamper", "LocalTimeStamper", "TimestampAuthority"]

# A UUID-derived OID (ITU-T X.667 arc 2.25) naming the hub's timestamping policy.
HUB_TSA_POLICY = "2.25.238748913649283740182736451029384756120"

_DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_CRYPTO_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


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
    """Signs RFC 3161 timestamp tokens with the TSA certificate (EKU timeStamping)."""

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
        self._clock = clock or (lambda: datetime.now(UTC))
        # ESSCertIDv2 (RFC 5816) names the TSA certificate in every token; computed once.
        self._signing_cert_v2 = tsp.SigningCertificateV2(
            {
                "certs": [
                    tsp.ESSCertIDv2(
                        {
                            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
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
        if isinstance(key, ec.EllipticCurvePrivateKey):
            self._sig_algo = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
        else:
            self._sig_algo = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})

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

        info: dict[str, object] = {
            "version": "v1",
            "policy": self._policy,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127),
            "gen_time": core.GeneralizedTime(self._clock()),
            "accuracy": tsp.Accuracy({"seconds": 1}),
            "tsa": asn1_x509.GeneralName({"directory_name": self.cert.subject}),
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"]
        tst_info = tsp.TSTInfo(info).dump()

        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]}
                ),
                cms.CMSAttribute({"type": "signing_certificate_v2", "values": [self._signing_cert_v2]}),
            ]
        )
        to_sign = signed_attrs.dump()
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            signature = self._key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
        else:
            signature = self._key.sign(to_sign, PKCS1v15(), hashes.SHA256())
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": self.cert.issuer, "serial_number": self.cert.serial_number}
                        )
                    }
                ),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signed_attrs": signed_attrs,
                "signature_algorithm": self._sig_algo,
                "signature": signature,
            }
        )
        certs = [self.cert, *self.chain] if request["cert_req"].native else []
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": cms.ParsableOctetString(tst_info),
                },
                "certificates": certs or None,
                "signer_infos": [signer_info],
            }
        )
        if not certs:
            del signed_data["certificates"]
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return _TimeStampResp(
            {"status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")}), "time_stamp_token": token}
        )


class LocalTimeStamper(TimeStamper):
    """A timestamp source that asks an in-process ``TimestampAuthority`` — a real TSA, no network."""

    def __init__(self, authority: TimestampAuthority, include_nonce: bool = True) -> None:
        super().__init__(include_nonce=include_nonce)  # type: ignore[no-untyped-call]
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self.authority.respond_to(req)
