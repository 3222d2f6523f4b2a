"""validate_pdf: a report for any bytes, never an exception."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils.generic import ArrayObject, StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.crl import RevocationInfo
from signing.filekeys import FileKeyStore
from signing.pades import Level, Sealer, SealIdentity
from signing.pki.authority import HubPKI
from signing.validation import Coverage, Indication, validate_pdf
from tests.signing.conftest import DEPT, MASTER_KEY, USCC, VISIBLE_TEXT, HubEnv


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_sealed_document_passes_with_its_level(
    level: Level, hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    report = validate_pdf(sealed(level), [hub.pki.root_cert])
    assert report.indication is Indication.TOTAL_PASSED, report.problems
    assert report.level == level
    assert report.intact and report.trusted and not report.modified_after_signing
    assert report.problems == ()


def test_report_names_the_sealing_department(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    report = validate_pdf(sealed("B-B"), [hub.pki.root_cert])
    assert (report.signed_by, report.signer_uscc) == (DEPT, USCC)
    assert report.signer_serial == int(hub.seal.cert.serial_number)


def test_timestamped_seal_reports_trusted_signing_time(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    report = validate_pdf(sealed("B-T"), [hub.pki.root_cert])
    assert report.timestamped
    assert report.signed_at is not None
    assert abs(report.signed_at - datetime.now(UTC)) < timedelta(minutes=10)


def test_untimestamped_seal_is_not_reported_as_timestamped(
    hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    assert not validate_pdf(sealed("B-B"), [hub.pki.root_cert]).timestamped


def test_whole_document_coverage_for_b_t(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    assert validate_pdf(sealed("B-T"), [hub.pki.root_cert]).coverage is Coverage.WHOLE_DOCUMENT


def test_dss_and_document_timestamps_count_as_archival_updates(
    hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    report = validate_pdf(sealed("B-LTA"), [hub.pki.root_cert])
    assert report.coverage is Coverage.ARCHIVAL_UPDATES
    assert not report.modified_after_signing


def test_unsigned_pdf(hub: HubEnv, sample_pdf: bytes) -> None:
    report = validate_pdf(sample_pdf, [hub.pki.root_cert])
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication == "SIGNED_DATA_NOT_FOUND"
    assert not report.signed and report.problems


@pytest.mark.parametrize(
    "garbage", [b"", b"not a pdf at all", b"%PDF-1.7\n\x00\xff garbage", bytes(range(256))]
)
def test_garbage_bytes(garbage: bytes, hub: HubEnv) -> None:
    report = validate_pdf(garbage, [hub.pki.root_cert])
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication == "FORMAT_FAILURE"
    assert report.problems


def test_truncated_sealed_pdf(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    report = validate_pdf(sealed("B-B")[:-500], [hub.pki.root_cert])
    assert report.indication is not Indication.TOTAL_PASSED


def test_flipped_byte_is_not_intact(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    pdf = bytearray(sealed("B-T"))
    pdf[pdf.index(VISIBLE_TEXT.encode())] ^= 0x01
    report = validate_pdf(bytes(pdf), [hub.pki.root_cert])
    assert not report.intact
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


def test_seal_from_another_ca_is_untrusted(tmp_path: Path, hub: HubEnv, sample_pdf: bytes) -> None:
    other = HubPKI.open_or_create(tmp_path / "pki", MASTER_KEY, org_name="外省某局", base_url="http://x")
    keys = FileKeyStore(tmp_path / "keys", MASTER_KEY)
    cert = other.issue_seal_certificate(keys.ensure_key("impostor"), DEPT, USCC)
    forged = Sealer(other, keys, timestamper=None, level="B-B").seal(
        sample_pdf, SealIdentity("impostor", cert, DEPT, USCC)
    )
    report = validate_pdf(forged.pdf, [hub.pki.root_cert])
    assert report.intact and not report.trusted
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


def _append_visible_text(pdf: bytes) -> bytes:
    """An incremental update that paints "VOID" over the page — a change to what is shown."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    extra = writer.add_object(StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (VOID) Tj ET"))
    page["/Contents"] = ArrayObject([page.raw_get("/Contents"), extra])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_content_added_after_sealing(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    report = validate_pdf(_append_visible_text(sealed("B-B")), [hub.pki.root_cert])
    assert report.intact  # the signed bytes are untouched ...
    assert report.modified_after_signing  # ... but what is shown changed
    assert report.coverage is Coverage.MODIFIED
    assert report.indication is Indication.TOTAL_FAILED
    assert report.problems


def test_seal_revoked_before_signing_fails(hub: HubEnv, sealed: Callable[[Level], bytes]) -> None:
    revoked = RevocationInfo(datetime.now(UTC) - timedelta(days=1), "key_compromise")
    report = validate_pdf(sealed("B-T"), [hub.pki.root_cert], revocation_lookup=lambda cert: revoked)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "REVOKED")


def test_seal_revoked_after_a_trusted_timestamp_still_passes(
    hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    revoked = RevocationInfo(datetime.now(UTC) + timedelta(seconds=5), "cessation_of_operation")
    report = validate_pdf(sealed("B-T"), [hub.pki.root_cert], revocation_lookup=lambda cert: revoked)
    assert report.indication is Indication.TOTAL_PASSED
    assert report.revoked_at == revoked.revoked_at


def test_timestamped_seal_still_passes_after_its_certificate_expired(hub: HubEnv, sample_pdf: bytes) -> None:
    # judged at its trusted timestamp, not at today's date
    start = datetime.now(UTC) - timedelta(minutes=5)
    cert = hub.pki.issue_seal_certificate(
        hub.keystore.ensure_key("short-lived"),
        DEPT,
        USCC,
        not_before=start,
        validity=timedelta(minutes=5, seconds=3),
    )
    seal = SealIdentity("short-lived", cert, DEPT, USCC)
    timestamped = hub.sealer("B-LTA").seal(sample_pdf, seal).pdf
    plain = hub.sealer("B-B").seal(sample_pdf, seal).pdf
    # past expiry by more than pyhanko-certvalidator's 1 s time tolerance
    time.sleep(max(0.0, (cert.not_valid_after - datetime.now(UTC)).total_seconds()) + 1.5)
    assert validate_pdf(timestamped, [hub.pki.root_cert]).indication is Indication.TOTAL_PASSED
    assert validate_pdf(plain, [hub.pki.root_cert]).indication is not Indication.TOTAL_PASSED


@pytest.mark.parametrize("target", ["B-T", "B-LT", "B-LTA"])
def test_upgraded_b_b_seal_validates_with_its_document_timestamp(
    hub: HubEnv, sealed: Callable[[Level], bytes], target: Level
) -> None:
    upgraded = hub.sealer(target).upgrade(sealed("B-B"), target)
    report = validate_pdf(upgraded.pdf, [hub.pki.root_cert])
    assert report.passed, report.problems
    assert report.timestamped
    assert report.coverage is Coverage.ARCHIVAL_UPDATES


def test_the_timestamp_token_is_not_converted_to_python_values(
    hub: HubEnv, sealed: Callable[[Level], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking whether a seal carries a timestamp must not take ``.native`` of the unsigned
    attributes: that converts the whole token (its CMS, its certificates) — it made every
    verification of a B-T/B-LT file cost ~0.5 s (docs/benchmarks.md, "Verification")."""
    from asn1crypto import cms

    converted: list[str] = []
    native = cms.CMSAttributes.native

    def spy(self: cms.CMSAttributes) -> object:
        types = [attr["type"].native for attr in self]
        if "signature_time_stamp_token" in types:
            converted.append(",".join(types))
        return native.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(cms.CMSAttributes, "native", property(spy))
    levels: tuple[Level, ...] = ("B-T", "B-LT")
    for level in levels:
        report = validate_pdf(sealed(level), [hub.pki.root_cert])
        assert report.passed and report.timestamped
    assert converted == []


def _appended_startxref(pdf: bytes) -> bytes:
    """Junk after the last %%EOF, then a copy of the last startxref: the file still "ends well"."""
    last = pdf.rfind(b"startxref")
    return pdf + b"\n% forged\n1 0 obj (junk) endobj\n" + pdf[last:]


@pytest.mark.parametrize("level", ["B-B", "B-LT"])
@pytest.mark.parametrize(
    "tamper",
    [lambda pdf: pdf + b"\n% appended after the seal\n", lambda pdf: pdf + b"GARBAGE", _appended_startxref],
    ids=["comment", "garbage", "junk-then-startxref"],
)
def test_bytes_after_the_last_revision_are_a_modification(
    level: Level, tamper: Callable[[bytes], bytes], hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    # pyHanko's modification analysis looks at revisions only: these used to verify as valid.
    report = validate_pdf(tamper(sealed(level)), [hub.pki.root_cert])
    assert report.modified_after_signing and report.coverage is Coverage.MODIFIED
    assert report.indication is not Indication.TOTAL_PASSED
    assert any("after the seal" in p for p in report.problems)


def test_a_title_changed_after_the_seal_is_a_modification(
    hub: HubEnv, sealed: Callable[[Level], bytes]
) -> None:
    from pyhanko.pdf_utils.generic import NameObject, TextStringObject

    writer = IncrementalPdfFileWriter(io.BytesIO(sealed("B-T")))
    info = writer.trailer["/Info"].get_object()
    info[NameObject("/Title")] = TextStringObject("篡改的标题")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), [hub.pki.root_cert])
    assert report.modified_after_signing
    assert any("document information (Title)" in p for p in report.problems)
    # The hub's own later revisions (DSS, document timestamp) stay valid.
    upgraded = hub.sealer("B-LTA").upgrade(sealed("B-T"), "B-LTA").pdf
    assert not validate_pdf(upgraded, [hub.pki.root_cert]).modified_after_signing
