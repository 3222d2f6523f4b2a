"""The direct sealing path against the reference (pyHanko): same checks, plus what only it risks.

Every test taking ``sealed`` runs for both writers (``writer`` fixture in conftest); here: which
writer wrote, qpdf's structural check, pyHanko's coverage and modification analysis, fall-back to
pyHanko for documents of another shape, and the DER and CMS building blocks against asn1crypto.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from asn1crypto import cms, core, tsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing import der
from signing.crl import RevocationInfo
from signing.errors import SigningError
from signing.pades import LEVELS, Level, Sealer
from signing.pdf_update import NotSimple, SimplePdf, text_string
from tests.signing.conftest import HubEnv

DIRECT_LEVELS = ["B-B", "B-T", "B-LT"]


def _status(pdf: bytes, hub: HubEnv):  # type: ignore[no-untyped-def]
    context = ValidationContext(trust_roots=[hub.pki.root_cert], allow_fetching=False)
    reader = PdfFileReader(io.BytesIO(pdf))
    return validate_pdf_signature(reader.embedded_regular_signatures[0], context, context)


@pytest.mark.parametrize("level", list(LEVELS))
def test_the_writer_is_the_one_asked_for(level: Level, writer: str, sealed: Callable[[Level], bytes]) -> None:
    # pyHanko stamps its name into /Producer; the direct path (up to B-LT) leaves /Info alone.
    by_pyhanko = b"pyHanko" in sealed(level)
    assert by_pyhanko == (writer == "pyhanko" or level not in DIRECT_LEVELS)


@pytest.mark.parametrize("level", list(LEVELS))
def test_qpdf_finds_no_structural_error(level: Level, sealed: Callable[[Level], bytes], tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed(level))
    checked = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors" in checked.stdout


@pytest.mark.parametrize("level", DIRECT_LEVELS)
def test_the_seal_covers_its_revision_and_later_changes_are_only_validation_data(
    level: Level, hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    status = _status(sealed(level), hub)
    assert status.bottom_line, status.pretty_print_details()
    if level == "B-LT":  # the DSS comes in a later revision, which pyHanko's diff analysis allows
        assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        assert status.modification_level == ModificationLevel.LTA_UPDATES
    else:
        assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        assert status.modification_level == ModificationLevel.NONE


def test_chinese_reason_location_and_name_read_back(hub: HubEnv, sample_pdf: bytes) -> None:
    result = hub.sealer("B-T").seal(sample_pdf, hub.seal, reason="电子证照签发", location="测试市 (政务)")
    reader = PdfFileReader(io.BytesIO(result.pdf))
    sig = reader.embedded_regular_signatures[0].sig_object
    written = (sig["/Reason"], sig["/Location"], sig["/Name"])
    assert written == ("电子证照签发", "测试市 (政务)", hub.seal.org_name)
    assert b"pyHanko" not in result.pdf


def test_a_document_of_another_shape_goes_to_pyhanko_and_both_seals_hold(
    hub: HubEnv, sample_pdf: bytes, pdfsig: Callable[[bytes], str]
) -> None:
    once = hub.sealer("B-T").seal(sample_pdf, hub.seal).pdf
    with pytest.raises(NotSimple):
        SimplePdf.parse(once)  # updated before, and it has a form now
    twice = hub.sealer("B-T").seal(once, hub.seal, box=(100, 100, 200, 200)).pdf
    assert b"pyHanko" in twice[len(once) :]
    reader = PdfFileReader(io.BytesIO(twice))
    context = ValidationContext(trust_roots=[hub.pki.root_cert], allow_fetching=False)
    for signature in reader.embedded_regular_signatures:
        status = validate_pdf_signature(signature, context, context)
        assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert pdfsig(twice).count("Signature is Valid.") == 2


def test_a_revoked_seal_is_refused_at_b_lt(hub: HubEnv, sample_pdf: bytes) -> None:
    sealer = Sealer(
        hub.pki, hub.keystore, timestamper=hub.timestamper, level="B-LT", revocation=hub.revocation
    )
    serial = int(hub.seal.cert.serial_number)
    hub.revoked[serial] = RevocationInfo(datetime.now(UTC), "key_compromise")
    try:
        with pytest.raises(SigningError, match="could not be validated"):
            sealer.seal(sample_pdf, hub.seal)
    finally:
        del hub.revoked[serial]
    assert sealer.seal(sample_pdf, hub.seal).level == "B-LT"  # nothing cached from the refusal


def test_a_pdf_with_a_previous_update_or_a_stream_xref_is_not_simple(sample_pdf: bytes) -> None:
    with pytest.raises(NotSimple):
        SimplePdf.parse(sample_pdf.replace(b"/Size", b"/Prev 9 /Size"))
    with pytest.raises(NotSimple):
        SimplePdf.parse(b"%PDF-1.7\n" + sample_pdf[9:].replace(b"\nxref\n", b"\nXref\n"))
    with pytest.raises(NotSimple):
        SimplePdf.parse(sample_pdf[:-20])
    simple = SimplePdf.parse(sample_pdf)
    assert simple.pages and simple.root in simple.offsets


def test_text_strings() -> None:
    assert text_string("Seal-1") == b"(Seal-1)"
    assert text_string("a(b") == b"<FEFF006100280062>"
    assert text_string("章") == b"<FEFF7AE0>"


# -- DER and CMS building blocks ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [0, 1, 127, 128, 255, 256, 2**64, 2**127 - 1, 2**127, 2**159 + 12345, -1, -128, -129, -(2**64)]
)
def test_integers_match_asn1crypto(value: int) -> None:
    assert der.integer(value) == core.Integer(value).dump()


@pytest.mark.parametrize("dotted", ["1.2.840.113549.1.9.16.2.14", "2.25.238748913649283740182736451"])
def test_object_identifiers_match_asn1crypto(dotted: str) -> None:
    assert der.oid(dotted) == core.ObjectIdentifier(dotted).dump()


@pytest.mark.parametrize("size", [0, 5, 127, 128, 255, 256, 70000])
def test_lengths_match_asn1crypto(size: int) -> None:
    assert der.octet_string(b"x" * size) == core.OctetString(b"x" * size).dump()


def test_generalized_time_matches_asn1crypto() -> None:
    whole = datetime(2026, 12, 1, 23, 59, 7, tzinfo=UTC)
    for moment in (whole, whole.replace(microsecond=120000)):
        assert der.generalized_time(moment) == core.GeneralizedTime(moment).dump()


def test_set_of_is_sorted_as_der_requires() -> None:
    assert der.set_of(b"\x04\x01b", b"\x04\x01a") == b"\x31\x06\x04\x01a\x04\x01b"


def test_timestamp_token_reads_back(hub: HubEnv) -> None:
    digest = hashlib.sha256(b"signature value").digest()
    token = cms.ContentInfo.load(hub.authority.token(digest, nonce=2**70 + 1))
    signed_data = token["content"]
    info = signed_data["encap_content_info"]["content"].parsed
    assert isinstance(info, tsp.TSTInfo)
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 2**70 + 1
    assert signed_data["version"].native == "v3"
    assert len(signed_data["certificates"]) == 1 + len(hub.pki.chain)
    signer_info = signed_data["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert attrs["message_digest"].native == hashlib.sha256(info.dump()).digest()
    assert attrs["content_type"].native == "tst_info"
    assert attrs["signing_certificate_v2"]["certs"][0]["cert_hash"].native == hub.pki.tsa_cert.sha256
    bare = cms.ContentInfo.load(hub.authority.token(digest, with_certificates=False))
    assert not bare["content"]["certificates"]
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"


def test_a_request_with_a_negative_nonce_gets_it_back(hub: HubEnv) -> None:
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"x").digest(),
            },
            "nonce": -5,
            "cert_req": False,
        }
    )
    response = tsp.TimeStampResp.load(hub.authority.respond(request.dump()))
    assert response["status"]["status"].native == "granted"
    info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == -5
