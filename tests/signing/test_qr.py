"""Offline QR payloads: sign, read back, and refuse everything that is not an intact hub code."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import zlib
from typing import Any

import base45
import cbor2
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from signing.qr.claims import (
    FACE_DIGEST_BYTES,
    QRClaims,
    canonical_face_data,
    canonical_face_digest,
    identifier_codes,
)
from signing.qr.cose import PREFIX, QRSigner
from signing.qr.image import qr_matrix, qr_png, qr_svg, qr_version
from signing.qr.verify import b45decode, decode_and_verify
from signing.trust import TrustList, TrustListError, kid_for, public_jwk, qr_key_entry

NOW = dt.datetime(2025, 6, 1, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing
IDENTIFIER = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
FACE = {
    "证照名称": "营业执照",
    "持证主体": "张三",
    "证照编号": "2430599",
    "有效期": "2024-06-01 至 2029-05-31",
}


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def signer(key: ec.EllipticCurvePrivateKey) -> QRSigner:
    return QRSigner(key)


@pytest.fixture(scope="module")
def trust(key: ec.EllipticCurvePrivateKey) -> TrustList:
    return TrustList.from_keys([key.public_key()])


def realistic_claims(**changes: Any) -> QRClaims:
    claims = QRClaims(
        identifier=IDENTIFIER,
        type_code="11100000000013338W032",
        issuer_code="11220000013544541J",
        holder_name="张三",
        valid_from=dt.date(2024, 6, 1),
        valid_until=dt.date(2029, 5, 31),
        face_digest=canonical_face_digest(FACE)[:FACE_DIGEST_BYTES],
        issued_at=dt.datetime(2024, 6, 1, 9, 30, tzinfo=dt.UTC),
    )
    return dataclasses.replace(claims, **changes)


def unwrap(text: str) -> tuple[bytes, bytes, bytes]:
    """(protected, payload, signature) of a code, decoded here independently of the module."""
    cose = cbor2.loads(zlib.decompress(base45.b45decode(text[len(PREFIX) :])))
    assert cose.tag == 18
    protected, unprotected, payload, signature = cose.value
    assert unprotected == {}
    return protected, payload, signature


def wrap(protected: bytes, payload: bytes, signature: bytes) -> str:
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(zlib.compress(cose)).decode()


def wrap_bytes(data: bytes) -> str:
    return PREFIX + base45.b45encode(zlib.compress(data)).decode()


# -- round trip -------------------------------------------------------------------------------


def test_round_trip_gives_back_the_claims(signer: QRSigner, trust: TrustList) -> None:
    claims = realistic_claims()

    result = decode_and_verify(signer.encode(claims), trust, NOW)

    assert result.ok and result.valid
    assert result.problems == ()
    assert result.claims == claims
    assert result.kid == signer.kid


def test_code_is_prefixed_base45(signer: QRSigner) -> None:
    text = signer.encode(realistic_claims())

    assert text.startswith("EC1:")
    assert set(text[4:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_certificate_without_end_date_round_trips(signer: QRSigner, trust: TrustList) -> None:
    claims = realistic_claims(valid_until=None)

    result = decode_and_verify(signer.encode(claims), trust, NOW + dt.timedelta(days=365 * 50))

    assert result.valid
    assert result.claims == claims


def test_type_and_issuer_travel_explicitly_when_identifier_is_not_standard(
    signer: QRSigner, trust: TrustList
) -> None:
    claims = realistic_claims(identifier="LOCAL-0001")

    result = decode_and_verify(signer.encode(claims), trust, NOW)

    assert result.claims == claims


def test_type_and_issuer_that_differ_from_the_identifier_are_kept(signer: QRSigner, trust: TrustList) -> None:
    claims = realistic_claims(issuer_code="11330105002500287C")

    result = decode_and_verify(signer.encode(claims), trust, NOW)

    assert result.claims is not None
    assert result.claims.issuer_code == "11330105002500287C"


def test_identifier_codes_reads_type_and_issuer() -> None:
    assert identifier_codes(IDENTIFIER) == ("11100000000013338W032", "11220000013544541J")
    assert identifier_codes("1.2.156.3005.2.only.four.parts.here") is None
    assert identifier_codes("LOCAL-0001") is None


# -- the wire format, checked against RFC 9052 by hand ----------------------------------------


def test_cose_sign1_layout_and_signature(signer: QRSigner, key: ec.EllipticCurvePrivateKey) -> None:
    protected, payload, signature = unwrap(signer.encode(realistic_claims()))

    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = hashlib.sha256(spki).digest()[:8]
    assert cbor2.loads(protected) == {1: -7, 4: kid}
    assert len(signature) == 64
    # Sig_structure = ["Signature1", protected, h'', payload], spelled out byte by byte.
    assert len(payload) < 256
    sig_structure = (
        b"\x84"
        + b"\x6aSignature1"
        + bytes([0x40 + len(protected)])
        + protected
        + b"\x40"
        + b"\x58"
        + bytes([len(payload)])
        + payload
    )
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.public_key().verify(der, sig_structure, ec.ECDSA(hashes.SHA256()))


def test_claims_use_the_documented_integer_keys(signer: QRSigner) -> None:
    _, payload, _ = unwrap(signer.encode(realistic_claims()))

    claims = cbor2.loads(payload)

    assert claims == {
        1: IDENTIFIER,
        4: "张三",
        5: (dt.date(2024, 6, 1) - dt.date(1970, 1, 1)).days,
        6: (dt.date(2029, 5, 31) - dt.date(1970, 1, 1)).days,
        7: canonical_face_digest(FACE)[:16],
        8: int(dt.datetime(2024, 6, 1, 9, 30, tzinfo=dt.UTC).timestamp()),
    }


# -- refusals ---------------------------------------------------------------------------------


def test_tampered_payload_is_rejected(signer: QRSigner, trust: TrustList) -> None:
    protected, payload, signature = unwrap(signer.encode(realistic_claims()))
    forged = payload.replace("张三".encode(), "李四".encode())
    assert forged != payload

    result = decode_and_verify(wrap(protected, forged, signature), trust, NOW)

    assert not result.ok and not result.valid
    assert result.claims is None
    assert "signature does not match" in result.problems[0]


def test_altered_character_in_the_text_is_rejected(signer: QRSigner, trust: TrustList) -> None:
    text = signer.encode(realistic_claims())
    middle = len(text) // 2
    altered = text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :]

    result = decode_and_verify(altered, trust, NOW)

    assert not result.ok
    assert result.claims is None


def test_unknown_kid_is_reported(signer: QRSigner) -> None:
    other = TrustList.from_keys([ec.generate_private_key(ec.SECP256R1()).public_key()])

    result = decode_and_verify(signer.encode(realistic_claims()), other, NOW)

    assert not result.ok
    assert result.kid == signer.kid
    assert result.problems == (
        f"the code was signed with an unknown key (kid {signer.kid}), not in the trust list",
    )


def test_key_not_in_trust_list_cannot_borrow_a_trusted_kid(signer: QRSigner, trust: TrustList) -> None:
    intruder = ec.generate_private_key(ec.SECP256R1())
    protected, payload, _ = unwrap(signer.encode(realistic_claims()))  # the trusted kid
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = decode_dss_signature(intruder.sign(sig_structure, ec.ECDSA(hashes.SHA256())))
    forged = wrap(protected, payload, r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    result = decode_and_verify(forged, trust, NOW)

    assert not result.ok
    assert "signature does not match" in result.problems[0]


def test_other_prefix_is_not_ours(signer: QRSigner, trust: TrustList) -> None:
    text = signer.encode(realistic_claims())

    result = decode_and_verify("HC1:" + text[len(PREFIX) :], trust, NOW)

    assert not result.ok
    assert result.problems == ("not a hub certificate QR code: it does not start with EC1:",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "does not start with EC1:"),
        ("https://example.com/", "does not start with EC1:"),
        ("EC1:", "could not be decompressed"),
        ("EC1:abc", "not valid base45"),  # lower case is not base45
        ("EC1:A", "not valid base45"),  # a dangling character
        ("EC1:" + "A" * 9000, "too long"),
        (wrap_bytes(b""), "not valid CBOR"),
        (wrap_bytes(b"\xff\xff\xff"), "not valid CBOR"),
        (wrap_bytes(b"\x9f" * 5000), "not valid CBOR"),  # deeply nested indefinite arrays
        (wrap_bytes(cbor2.dumps([1, 2, 3, 4])), "does not hold a COSE_Sign1"),
        (wrap_bytes(cbor2.dumps(cbor2.CBORTag(18, [1, {}, b"", b""]))), "COSE_Sign1 structure"),
        (wrap_bytes(cbor2.dumps(cbor2.CBORTag(18, [b"\xff", {}, b"", b""]))), "header is malformed"),
        (wrap_bytes(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, b"", b""]))), "which key"),
        (
            wrap_bytes(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -35, 4: b"k"}), {}, b"", b""]))),
            "unsupported algorithm",
        ),
        (PREFIX + base45.b45encode(zlib.compress(b"\0" * 1_000_000)).decode(), "could not be decompressed"),
        (PREFIX + base45.b45encode(zlib.compress(b"\xa0")[:-3]).decode(), "could not be decompressed"),
    ],
)
def test_garbage_is_refused_without_raising(text: str, problem: str, trust: TrustList) -> None:
    result = decode_and_verify(text, trust, NOW)

    assert not result.ok and not result.valid and result.claims is None
    assert len(result.problems) == 1
    assert problem in result.problems[0]


def test_non_text_input_is_refused_without_raising(trust: TrustList) -> None:
    result = decode_and_verify(b"EC1:", trust, NOW)  # type: ignore[arg-type]

    assert not result.ok


def test_trusted_signature_over_unexpected_content_is_refused(key: ec.EllipticCurvePrivateKey) -> None:
    signer = QRSigner(key)
    text = PREFIX + base45.b45encode(zlib.compress(signer.sign_cose(cbor2.dumps({1: 42})))).decode()

    result = decode_and_verify(text, TrustList.from_keys([key.public_key()]), NOW)

    assert not result.ok
    assert "not in the expected format" in result.problems[0]


# -- validity ---------------------------------------------------------------------------------


def test_expired_certificate_has_good_signature_but_is_not_valid(signer: QRSigner, trust: TrustList) -> None:
    claims = realistic_claims(valid_until=dt.date(2025, 5, 31))

    result = decode_and_verify(signer.encode(claims), trust, NOW)

    assert result.ok and not result.valid
    assert result.claims == claims
    assert result.problems == ("the certificate has expired: it was valid until 2025-05-31",)


def test_certificate_not_yet_valid(signer: QRSigner, trust: TrustList) -> None:
    claims = realistic_claims(valid_from=dt.date(2025, 6, 2))

    result = decode_and_verify(signer.encode(claims), trust, NOW)

    assert result.ok and not result.valid
    assert result.problems == ("the certificate is not valid yet: it is valid from 2025-06-02",)


def test_validity_days_are_days_in_china(signer: QRSigner, trust: TrustList) -> None:
    text = signer.encode(realistic_claims(valid_until=dt.date(2025, 5, 31)))

    # 15:59 UTC on 31 May is 23:59 in Beijing: still valid. 16:00 UTC is 1 June there: expired.
    assert decode_and_verify(text, trust, dt.datetime(2025, 5, 31, 15, 59, tzinfo=dt.UTC)).valid
    assert not decode_and_verify(text, trust, dt.datetime(2025, 5, 31, 16, 0, tzinfo=dt.UTC)).valid


# -- face data --------------------------------------------------------------------------------


def test_canonical_face_data_is_sorted_compact_utf8() -> None:
    expected = '{"a":1,"b":"张三"}'.encode()

    assert canonical_face_data({"b": "张三", "a": 1}) == expected
    assert canonical_face_digest({"b": "张三", "a": 1}) == hashlib.sha256(expected).digest()


def test_face_digest_ignores_key_order() -> None:
    assert canonical_face_digest(FACE) == canonical_face_digest(dict(reversed(list(FACE.items()))))


def test_claims_match_their_face_only(signer: QRSigner, trust: TrustList) -> None:
    result = decode_and_verify(signer.encode(realistic_claims()), trust, NOW)
    assert result.claims is not None

    assert result.claims.matches_face(FACE)
    assert not result.claims.matches_face({**FACE, "持证主体": "李四"})


def test_claims_refuse_a_full_length_digest() -> None:
    with pytest.raises(ValueError, match="first 16 bytes"):
        realistic_claims(face_digest=canonical_face_digest(FACE))


# -- keys and the trust list ------------------------------------------------------------------


def test_kid_is_sha256_of_spki_truncated_base64url(key: ec.EllipticCurvePrivateKey) -> None:
    kid = kid_for(key.public_key())

    assert len(kid) == 11 and "=" not in kid
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.urlsafe_b64decode(kid + "=") == hashlib.sha256(spki).digest()[:8]


def test_public_jwk_is_a_standard_ec_jwk(key: ec.EllipticCurvePrivateKey) -> None:
    jwk = public_jwk(key.public_key())

    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-256", "ES256")
    # An independent JWK reader (PyJWT) gets the same key back.
    parsed = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwk))
    assert parsed.public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


def api_trust_document(*public_keys: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The shape of GET /api/v1/trust (docs/api.md)."""
    return {
        "roots": ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
        "intermediates": [],
        "seals": [{"org": "11220000013544541J", "name": "电子证照专用章", "certificate": "-----BEGIN..."}],
        "qr_keys": [qr_key_entry(k) for k in public_keys],
    }


def test_trust_list_from_api_json_verifies_codes(signer: QRSigner, key: ec.EllipticCurvePrivateKey) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    body = json.dumps(api_trust_document(stranger, key.public_key()))

    trust = TrustList.from_json(body)

    assert set(trust.qr_keys) >= {signer.kid}
    assert len(trust.roots) == 1 and len(trust.seals) == 1
    assert decode_and_verify(signer.encode(realistic_claims()), trust, NOW).valid


def test_trust_list_refuses_kid_that_does_not_match_its_key(key: ec.EllipticCurvePrivateKey) -> None:
    document = api_trust_document(key.public_key())
    document["qr_keys"][0]["kid"] = "AAAAAAAAAAA"

    with pytest.raises(TrustListError, match="does not match"):
        TrustList.from_api(document)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(qr_keys={}),
        lambda d: d["qr_keys"][0].update(alg="RS256"),
        lambda d: d["qr_keys"][0]["jwk"].update(crv="P-384"),
        lambda d: d["qr_keys"][0]["jwk"].update(x="AAAA"),
        lambda d: d["qr_keys"][0]["jwk"].update(y=d["qr_keys"][0]["jwk"]["x"]),  # not on the curve
        lambda d: d.update(roots="PEM"),
        lambda d: d.update(seals=["x"]),
    ],
)
def test_trust_list_refuses_malformed_documents(damage: Any, key: ec.EllipticCurvePrivateKey) -> None:
    document = api_trust_document(key.public_key())
    damage(document)

    with pytest.raises(TrustListError):
        TrustList.from_api(document)


def test_trust_list_refuses_non_json() -> None:
    with pytest.raises(TrustListError):
        TrustList.from_json("<html>")


def test_signer_refuses_a_kid_that_is_not_its_own(key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(ValueError, match="not this key's kid"):
        QRSigner(key, kid="AAAAAAAAAAA")


def test_signer_accepts_its_own_kid(key: ec.EllipticCurvePrivateKey) -> None:
    assert QRSigner(key, kid=kid_for(key.public_key())).kid == kid_for(key.public_key())


def test_signer_refuses_other_curves() -> None:
    with pytest.raises(ValueError, match="P-256"):
        QRSigner(ec.generate_private_key(ec.SECP384R1()))


# -- the printed code -------------------------------------------------------------------------


def test_realistic_code_fits_qr_version_10_at_level_m() -> None:
    # ECDSA signatures are random and compress a little differently each time: take the worst of many.
    texts = [QRSigner(ec.generate_private_key(ec.SECP256R1())).encode(realistic_claims()) for _ in range(40)]

    assert max(qr_version(t) for t in texts) <= 10
    assert max(len(t) for t in texts) <= 311  # version 10-M holds 311 alphanumeric characters


def test_qr_renderings(signer: QRSigner) -> None:
    text = signer.encode(realistic_claims())
    version = qr_version(text)

    assert qr_svg(text).lstrip().startswith("<svg")
    assert qr_png(text).startswith(b"\x89PNG\r\n\x1a\n")
    matrix = qr_matrix(text)
    assert len(matrix) == len(matrix[0]) == 17 + 4 * version


def test_b45decode_matches_the_base45_package() -> None:
    """The verifier's own base45 decoder answers exactly like ``base45.b45decode``: same bytes for
    every valid text, ``ValueError`` for every invalid one (bad characters, lengths, overflows)."""
    import random

    def outcome(decode, text: str) -> bytes | str:  # type: ignore[no-untyped-def]
        try:
            return bytes(decode(text))
        except ValueError:
            return "ValueError"

    rng = random.Random(45)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    cases = ["", "0", "00", "000", "GGW", "GGX", ":::", "::", "FGW", "fgw", "AB\n", "AB\n\n", "é01", "A\x00B"]
    for _ in range(2000):
        data = rng.randbytes(rng.randrange(0, 64))
        text = base45.b45encode(data).decode()
        cases.append(text)
        if text and rng.random() < 0.5:  # damage it
            i = rng.randrange(len(text))
            cases.append(text[:i] + rng.choice(alphabet + "abc#é\n") + text[i + 1 :])
            cases.append(text[:i])
    for text in cases:
        assert outcome(b45decode, text) == outcome(base45.b45decode, text), repr(text)
