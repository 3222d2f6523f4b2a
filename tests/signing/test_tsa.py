"""RFC 3161 authority: tokens pyHanko accepts; nonce, certReq and bad requests honoured."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from asn1crypto import cms, core, tsp
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from signing.tsa import LocalTimeStamper, TimestampAuthority
from tests.signing.conftest import HubEnv

FIXED = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
DIGEST = hashlib.sha256(b"document").digest()


def _request(*, cert_req: bool = True, nonce: int | None = 77, policy: str | None = None) -> tsp.TimeStampReq:
    fields: dict[str, object] = {
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return tsp.TimeStampReq(fields)


def _authority(hub: HubEnv) -> TimestampAuthority:
    return TimestampAuthority(hub.pki.tsa_cert, hub.pki.tsa_key, hub.pki.chain, clock=lambda: FIXED)


def _token(der: bytes) -> cms.ContentInfo:
    response = tsp.TimeStampResp.load(der)
    assert response["status"]["status"].native == "granted"
    token: cms.ContentInfo = response["time_stamp_token"]
    return token


def test_token_validates_with_pyhanko(hub: HubEnv) -> None:
    token = _token(_authority(hub).respond(_request().dump()))
    context = ValidationContext(trust_roots=[hub.pki.root_cert], allow_fetching=False)
    status = asyncio.run(validate_tst_signed_data(token["content"], context, lambda algo: DIGEST))
    assert status["intact"] and status["valid"]
    assert status["trust_problem_indic"] is None
    assert status["timestamp"] == FIXED


def test_nonce_is_echoed(hub: HubEnv) -> None:
    info = _token(_authority(hub).respond(_request(nonce=123456).dump()))["content"]["encap_content_info"]
    assert info["content"].parsed["nonce"].native == 123456


def test_cert_req_false_leaves_certificates_out(hub: HubEnv) -> None:
    token = _token(_authority(hub).respond(_request(cert_req=False).dump()))
    assert not token["content"]["certificates"]


def test_cert_req_true_includes_the_tsa_certificate(hub: HubEnv) -> None:
    token = _token(_authority(hub).respond(_request().dump()))
    certs = [c.chosen.dump() for c in token["content"]["certificates"]]
    assert hub.pki.tsa_cert.dump() in certs


def _status(der: bytes) -> dict[str, object]:
    # asn1crypto's TimeStampResp wrongly requires the token, so read a rejection's status by hand
    status: dict[str, object] = tsp.PKIStatusInfo.load(core.Sequence.load(der)[0].dump()).native
    return status


def test_garbage_gets_a_rejection(hub: HubEnv) -> None:
    status = _status(_authority(hub).respond(b"not a request"))
    assert status["status"] == "rejection" and status["fail_info"] == {"bad_data_format"}


def test_unknown_policy_is_rejected(hub: HubEnv) -> None:
    status = _status(_authority(hub).respond(_request(policy="1.2.3.4").dump()))
    assert status["status"] == "rejection" and status["fail_info"] == {"unaccepted_policy"}


def test_unsupported_hash_is_rejected(hub: HubEnv) -> None:
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {"hash_algorithm": {"algorithm": "md5"}, "hashed_message": b"\x00" * 16},
            "cert_req": True,
        }
    )
    assert _status(_authority(hub).respond(request.dump()))["fail_info"] == {"bad_alg"}


def test_local_timestamper_is_a_pyhanko_timestamp_source(hub: HubEnv) -> None:
    stamper: TimeStamper = LocalTimeStamper(_authority(hub))
    token = asyncio.run(stamper.async_timestamp(DIGEST, "sha256"))
    assert token["content"]["encap_content_info"]["content"].parsed["gen_time"].native == FIXED
