"""Sealing at each PAdES level, checked by pyHanko and independently by poppler's pdfsig."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.filekeys import CachedKeySigner
from signing.pades import LEVELS, Level, Sealer
from signing.validation import detect_level
from tests.signing.conftest import VISIBLE_TEXT, HubEnv, first_signature_block

ALL_LEVELS = list(LEVELS)


def _seal_status(pdf: bytes, context: ValidationContext):  # type: ignore[no-untyped-def]
    reader = PdfFileReader(io.BytesIO(pdf))
    return validate_pdf_signature(reader.embedded_regular_signatures[0], context, context)


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_pyhanko_validates_the_seal(level: Level, hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    context = ValidationContext(trust_roots=[hub.pki.root_cert], allow_fetching=False)
    status = _seal_status(sealed(level), context)
    assert status.bottom_line, status.pretty_print_details()


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_pdfsig_reports_valid_and_trusted(
    level: Level, sealed: Callable[[Level], bytes], pdfsig: Callable[[bytes], str]
) -> None:
    report = first_signature_block(pdfsig(sealed(level)))
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." in report


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_document_structure_reaches_the_level(level: Level, sealed: Callable[[Level], bytes]) -> None:
    assert detect_level(PdfFileReader(io.BytesIO(sealed(level)))) == level


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_validate_offline_with_revocation_required(
    level: Level, hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    # 'require': every certificate but the root must have revocation data — all of it from the DSS.
    reader = PdfFileReader(io.BytesIO(sealed(level)))
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [hub.pki.root_cert], "allow_fetching": False, "revocation_mode": "require"}
    )
    status = validate_pdf_signature(reader.embedded_regular_signatures[0], context, context)
    assert status.bottom_line, status.pretty_print_details()


def _flip_visible_letter(pdf: bytes) -> bytes:
    index = pdf.index(VISIBLE_TEXT.encode())
    tampered = bytearray(pdf)
    tampered[index] ^= 0x01  # 'C' -> 'B'
    return bytes(tampered)


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_flipped_byte_fails_pyhanko(level: Level, hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    context = ValidationContext(trust_roots=[hub.pki.root_cert], allow_fetching=False)
    status = _seal_status(_flip_visible_letter(sealed(level)), context)
    assert not status.intact


@pytest.mark.parametrize("level", ["B-B", "B-LTA"])
def test_flipped_byte_fails_pdfsig(
    level: Level, sealed: Callable[[Level], bytes], pdfsig: Callable[[bytes], str]
) -> None:
    report = first_signature_block(pdfsig(_flip_visible_letter(sealed(level))))
    assert "Digest Mismatch." in report
    assert "Signature is Valid." not in report


def test_unreachable_timestamp_source_still_seals_at_b_b(hub: HubEnv, sample_pdf: bytes) -> None:
    sealer = Sealer(hub.pki, hub.keystore, timestamper=HTTPTimeStamper("http://127.0.0.1:9/tsa"), level="B-T")
    result = sealer.seal(sample_pdf, hub.seal)
    assert result.level == "B-B"
    assert detect_level(PdfFileReader(io.BytesIO(result.pdf))) == "B-B"


@pytest.mark.parametrize("target", ["B-T", "B-LT", "B-LTA"])
def test_upgrade_raises_a_b_b_seal(
    target: Level, hub: HubEnv, sealed: Callable[[Level], bytes], pdfsig: Callable[[bytes], str]
) -> None:
    result = hub.sealer("B-LTA").upgrade(sealed("B-B"), target)
    assert result.level == target
    assert detect_level(PdfFileReader(io.BytesIO(result.pdf))) == target
    context = ValidationContext(trust_roots=[hub.pki.root_cert], allow_fetching=False)
    assert _seal_status(result.pdf, context).bottom_line
    report = first_signature_block(pdfsig(result.pdf))
    assert "Signature is Valid." in report and "Certificate is Trusted." in report


def test_upgrade_leaves_a_higher_level_alone(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    pdf = sealed("B-LT")
    result = hub.sealer("B-LTA").upgrade(pdf, "B-T")
    assert result.pdf == pdf and result.level == "B-LT"


def test_signature_is_computed_once_per_seal(hub: HubEnv, sample_pdf: bytes) -> None:
    # bytes_reserved is known up front, so pyHanko makes no dry-run signature to measure it
    calls = []
    original = CachedKeySigner.sign_raw

    def counting(self: CachedKeySigner, data: bytes, digest_algorithm: str) -> bytes:
        calls.append(digest_algorithm)
        return original(self, data, digest_algorithm)

    sealer = Sealer(hub.pki, hub.keystore, timestamper=hub.timestamper, level="B-T")
    sealer.seal(sample_pdf, hub.seal)  # warm-up learns the timestamp token size
    CachedKeySigner.sign_raw = counting  # type: ignore[method-assign]
    try:
        sealer.seal(sample_pdf, hub.seal)
    finally:
        CachedKeySigner.sign_raw = original  # type: ignore[method-assign]
    assert len(calls) == 1


def test_seal_result_hash_matches_the_bytes(hub: HubEnv, sample_pdf: bytes) -> None:
    import hashlib

    result = hub.sealer("B-B").seal(sample_pdf, hub.seal)
    assert result.sha256 == hashlib.sha256(result.pdf).hexdigest()


def test_seal_is_visible_with_the_seal_image(hub: HubEnv, sample_pdf: bytes) -> None:
    result = hub.sealer("B-B").seal(sample_pdf, hub.seal, box=(100, 100, 200, 200))
    reader = PdfFileReader(io.BytesIO(result.pdf))
    field = reader.embedded_regular_signatures[0].sig_field
    assert [float(x) for x in field["/Rect"]] == [100, 100, 200, 200]
    appearance = field["/AP"]["/N"]
    assert b"/FlateDecode" in result.pdf and appearance is not None


def test_b_lt_reuses_one_validation_context_per_seal_until_told_to_forget(
    hub: HubEnv, sample_pdf: bytes
) -> None:
    """The seal's revocation material is fetched once, not per document; each document is still
    complete B-LT (validates with revocation required, from its own DSS)."""
    calls: list[int] = []

    def counting(certs):  # type: ignore[no-untyped-def]
        calls.append(len(certs))
        return hub.revocation(certs)

    sealer = Sealer(hub.pki, hub.keystore, timestamper=hub.timestamper, level="B-LT", revocation=counting)
    first, second = (sealer.seal(sample_pdf, hub.seal).pdf for _ in range(2))
    assert len(calls) == 1
    for pdf in (first, second):
        reader = PdfFileReader(io.BytesIO(pdf))
        context = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": [hub.pki.root_cert], "allow_fetching": False, "revocation_mode": "require"}
        )
        status = validate_pdf_signature(reader.embedded_regular_signatures[0], context, context)
        assert status.bottom_line, status.pretty_print_details()
    sealer.forget_revocation_state()
    sealer.seal(sample_pdf, hub.seal)
    assert len(calls) == 2
