"""加注件: annotated copies of real sealed certificates, sealed again and checked by pyHanko and pdfsig.

A PKI of the module's own (no OCSP server: pdfsig runs offline), the hub's certificate renderer for
the originals, pdftoppm to look at what a reader sees.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.pdfgen.canvas import Canvas
from stdnum.cn import uscc

from catalog.errors import InvalidUSCC
from certificates.errors import PdfEncrypted, PdfUnreadable, UnsupportedCharacter
from certificates.fonts import face_font
from certificates.identifiers import CertificateIdentifier
from certificates.rendering import SEAL_BOX, CertificateFace, render
from certificates.untrusted_pdf import IDENTIFIER
from kernel.errors import ValidationFailed
from sharing.annotation import HEADER, MAX_USE_CAUSE, WATERMARK, Annotation, annotate
from signing.filekeys import FileKeyStore
from signing.pades import Sealer, SealIdentity
from signing.pki.authority import HubPKI
from signing.revocation import PkiRevocationProvider
from signing.tsa import LocalTimeStamper, TimestampAuthority
from signing.validation import Coverage, Indication, validate_pdf
from tests.pdfsig import Pdfsig

MASTER_KEY = b"test master key, 32 bytes long!!"
HUB_ORG, HUB_USCC = "测试市大数据局", "11330100MB0000002Y"
DEPT, DEPT_USCC = "测试市公安局", "11330100MB0000001X"
CERT_ID = str(CertificateIdentifier("11330100MB0000001X001", "11330100MB0000001X", "3301000000123"))
PORTAL_USCC = "12330100MB0000031" + uscc.calc_check_digit("12330100MB0000031")
MADE_AT = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)  # 10:30 in China Standard Time

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfsig") is None, reason="poppler-utils not installed"
)


# -- a PKI, seals and originals of this module's own -------------------------------------------------------


@dataclass
class Seals:
    pki: HubPKI
    department: SealIdentity
    hub: SealIdentity
    b_b: Sealer
    b_lta: Sealer
    pdfsig: Pdfsig


@pytest.fixture(scope="module")
def seals(tmp_path_factory: pytest.TempPathFactory) -> Seals:
    directory = tmp_path_factory.mktemp("annotation-pki")
    # nothing listens at the AIA address: pdfsig is run offline, pyHanko with the trust root given
    pki = HubPKI.open_or_create(
        directory / "pki", MASTER_KEY, org_name=HUB_ORG, base_url="http://127.0.0.1:9"
    )
    keys = FileKeyStore(directory / "keys", MASTER_KEY)
    department = SealIdentity(
        "dept", pki.issue_seal_certificate(keys.ensure_key("dept"), DEPT, DEPT_USCC), DEPT, DEPT_USCC
    )
    hub = SealIdentity(
        "hub", pki.issue_seal_certificate(keys.ensure_key("hub"), HUB_ORG, HUB_USCC), HUB_ORG, HUB_USCC
    )
    timestamper = LocalTimeStamper(TimestampAuthority(pki.tsa_cert, pki.tsa_key, pki.chain))
    return Seals(
        pki=pki,
        department=department,
        hub=hub,
        b_b=Sealer(pki, keys, timestamper=None, level="B-B"),
        b_lta=Sealer(
            pki,
            keys,
            timestamper=timestamper,
            level="B-LTA",
            revocation=PkiRevocationProvider(pki, lambda serial: None),
        ),
        pdfsig=Pdfsig(directory / "pdfsig", (directory / "pki" / "root.crt.pem").read_bytes()),
    )


def _face() -> CertificateFace:
    return CertificateFace(
        type_name="居民户籍证明",
        title="居民户籍证明",
        fields=[("住址", "示范市某某区某某路100号"), ("户别", "家庭户")],
        holder_name="张三",
        holder_code_masked="3301**********1234",
        issuer_name=DEPT,
        issued_on=date(2025, 1, 2),
        valid_from=date(2025, 1, 2),
        valid_until=date(2030, 1, 1),
        identifier=CERT_ID,
        verification_code="AB12CD",
        qr_text="HC1:" + "0123456789" * 12,
    )


@pytest.fixture(scope="module")
def certificate(seals: Seals) -> bytes:
    """A real certificate: the hub's face, sealed by the department at B-LTA (DSS, document timestamp)."""
    box = (round(SEAL_BOX[0]), round(SEAL_BOX[1]), round(SEAL_BOX[2]), round(SEAL_BOX[3]))
    result = seals.b_lta.seal(render(_face()).pdf, seals.department, box=box)
    assert result.level == "B-LTA"
    return result.pdf


def _pages(*sizes: tuple[float, float], rotate: int = 0) -> bytes:
    """Pages with Chinese and Latin text at their top and bottom; ``rotate`` sets /Rotate on each."""
    font = face_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=sizes[0])
    for number, size in enumerate(sizes, 1):
        canvas.setPageSize(size)
        canvas.setFont(font, 16)
        canvas.drawString(60, size[1] - 80, f"第{number}页 居民户籍证明 Certificate of residence")
        canvas.drawString(60, 60, f"第{number}页 页脚 footer")
        canvas.showPage()
    canvas.save()
    if not rotate:
        return buffer.getvalue()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    for page in writer.pages:
        page.rotation = rotate
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def simple(seals: Seals) -> bytes:
    """A one-page reportlab document with Chinese text, sealed at B-B."""
    return seals.b_b.seal(_pages(A4), seals.department).pdf


def _annotation(**changes: Any) -> Annotation:
    values: dict[str, Any] = {
        "certificate_id": CERT_ID,
        "verification_result": "valid",
        "use_cause": "办理企业开办一件事，核验股东户籍信息",
        "requester_name": "示范市“一网通办”总门户",
        "requester_code": PORTAL_USCC,
        "item_name": "企业开办一件事",
        "made_at": MADE_AT,
        "valid_until": MADE_AT + timedelta(minutes=10),
    }
    values.update(changes)
    return Annotation(**values)


def _text(pdf: bytes, page: int = 0) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[page].extract_text()


def _squeezed(text: str) -> str:
    """Without white space: wrapped lines joined again."""
    return "".join(text.split())


def _image(pdf: bytes, directory: Path, page: int = 1, dpi: int = 36) -> Image.Image:
    """Page ``page`` (1-based) as poppler renders it for a reader."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"page-{page}-{dpi}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile", "-", str(stem)],
        input=pdf,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Image.open(stem.with_suffix(".png")).convert("RGB")


def _pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    data = iter(image.tobytes())
    return list(zip(data, data, data, strict=True))


def _count(image: Image.Image, box: tuple[int, int, int, int], test: Any) -> int:
    return sum(1 for pixel in _pixels(image.crop(box)) if test(pixel))


def _is_red(pixel: tuple[int, int, int]) -> bool:
    r, g, b = pixel
    return r > 180 and g < 110 and b < 110


def _is_annotation_blue(pixel: tuple[int, int, int]) -> bool:
    r, _, b = pixel
    return b > 90 and b - r > 50 and r < 110


# -- what the copy shows --------------------------------------------------------------------------------


def test_copy_has_the_originals_pages_page_sizes_and_rotation(seals: Seals) -> None:
    original = seals.b_b.seal(_pages(A4, landscape(A5), A4, rotate=90), seals.department).pdf
    copy = annotate(original, _annotation())
    before, after = PdfReader(io.BytesIO(original)).pages, PdfReader(io.BytesIO(copy)).pages
    assert len(after) == len(before) == 3
    for old, new in zip(before, after, strict=True):
        assert list(new.mediabox) == list(old.mediabox)
        assert list(new.cropbox) == list(old.cropbox)
        assert new.rotation == old.rotation == 90


def test_every_page_carries_the_annotation(seals: Seals) -> None:
    original = seals.b_b.seal(_pages(A4, landscape(A5)), seals.department).pdf
    copy = annotate(original, _annotation())
    for page in (0, 1):
        text = _text(copy, page)
        assert HEADER in text and f"第{page + 1}页" in text


def test_copy_text_names_use_requester_item_times_original_and_result(certificate: bytes) -> None:
    text = _text(annotate(certificate, _annotation()))
    for expected in (
        "加注件 · 仅限本次用途使用",
        "用证事由：办理企业开办一件事，核验股东户籍信息",
        f"用证单位：示范市“一网通办”总门户（{PORTAL_USCC}）",
        "办理事项：企业开办一件事",
        "制作时间：2025-03-01 10:30",
        "有效期至：2025-03-01 10:40",
        "原件核验结果：有效",
    ):
        assert expected in text
    assert f"原件标识：{CERT_ID}" in _squeezed(text)
    assert "居民户籍证明" in text and "张三" in text  # the certificate itself is still there


def test_a_use_cause_of_200_characters_is_printed_in_full(certificate: bytes) -> None:
    cause = ("因办理企业开办一件事需核验股东户籍与居住地址，Business licence application 2025；" * 5)[
        :MAX_USE_CAUSE
    ]
    assert len(cause) == 200
    copy = annotate(certificate, _annotation(use_cause=cause))
    assert _squeezed("用证事由：" + cause) in _squeezed(_text(copy))


@pytest.mark.parametrize(
    ("result", "word"), [("valid", "有效"), ("invalid", "无效"), ("indeterminate", "无法确认")]
)
def test_result_word_states_the_originals_verification(simple: bytes, result: str, word: str) -> None:
    assert f"原件核验结果：{word}" in _text(annotate(simple, _annotation(verification_result=result)))


def test_times_are_printed_in_china_standard_time(simple: bytes) -> None:
    made = datetime(2025, 12, 31, 18, 5, tzinfo=UTC)  # already 1 January in Beijing
    until = datetime(2026, 1, 1, 3, 15, tzinfo=timezone(timedelta(hours=-5)))  # 16:15 in Beijing
    text = _text(annotate(simple, _annotation(made_at=made, valid_until=until)))
    assert "制作时间：2026-01-01 02:05" in text
    assert "有效期至：2026-01-01 16:15" in text


def test_copy_metadata_names_the_original(simple: bytes) -> None:
    metadata = PdfReader(io.BytesIO(annotate(simple, _annotation()))).metadata
    assert metadata is not None
    assert metadata.title == f"加注件 {CERT_ID}"
    assert metadata.producer == "hub"
    subject = str(metadata.subject)
    assert subject.startswith("加注件") and CERT_ID in subject
    found = IDENTIFIER.search(subject)  # the verifier's own pattern finds the original in /Subject
    assert found is not None and found.group(0) == CERT_ID


def test_original_page_content_is_kept_byte_for_byte(certificate: bytes) -> None:
    original = PdfReader(io.BytesIO(certificate)).pages[0].get_contents()
    copied = PdfReader(io.BytesIO(annotate(certificate, _annotation()))).pages[0]["/Contents"]
    assert isinstance(copied, ArrayObject)
    assert original is not None
    streams = [ref.get_object().get_data() for ref in copied]
    assert original.get_data() in streams  # between our "q" and our "Q …" streams
    assert streams[0].strip() == b"q" and streams[-1].lstrip().startswith(b"Q")


@needs_poppler
def test_the_originals_visible_seal_is_still_seen_on_the_copy(certificate: bytes, tmp_path: Path) -> None:
    # The seal's appearance lives in the original's signature widget, which the copy drops: it must
    # have been drawn into the page. Look at the upper part of the seal box, above the annotation.
    dpi, page_height = 36, A4[1]
    scale = dpi / 72
    x1, _, x2, y2 = SEAL_BOX
    region = (
        int(x1 * scale),
        int((page_height - y2) * scale),
        int(x2 * scale),
        int((page_height - 160) * scale),
    )
    unsealed = annotate(render(_face()).pdf, _annotation())
    seen_on_original = _count(_image(certificate, tmp_path / "original", dpi=dpi), region, _is_red)
    seen_on_copy = _count(
        _image(annotate(certificate, _annotation()), tmp_path / "copy", dpi=dpi), region, _is_red
    )
    assert _count(_image(unsealed, tmp_path / "unsealed", dpi=dpi), region, _is_red) == 0
    assert seen_on_original > 50
    assert seen_on_copy >= 0.9 * seen_on_original


@needs_poppler
@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_annotation_box_sits_at_the_foot_of_the_page_as_shown(rotate: int, tmp_path: Path) -> None:
    image = _image(annotate(_pages(A4, rotate=rotate), _annotation()), tmp_path)
    width, height = image.size
    pixels = _pixels(image)
    blue = [(i % width, i // width) for i, pixel in enumerate(pixels) if _is_annotation_blue(pixel)]
    assert len(blue) > 100
    assert min(y for _, y in blue) > 0.6 * height  # the box covers no more than the page's foot
    assert max(y for _, y in blue) < height - 0.03 * height  # inside the bottom margin


@needs_poppler
def test_watermark_is_light_and_leaves_the_certificate_readable(certificate: bytes, tmp_path: Path) -> None:
    copy = annotate(certificate, _annotation())
    assert WATERMARK in _text(copy)
    before, after = _image(certificate, tmp_path / "original"), _image(copy, tmp_path / "copy")
    width, height = after.size
    band = (0, int(0.25 * height), width, int(0.65 * height))  # where the diagonal crosses the body
    darkened = [
        sum(old) / 3 - sum(new) / 3
        for old, new in zip(_pixels(before.crop(band)), _pixels(after.crop(band)), strict=True)
    ]
    assert sum(1 for d in darkened if d > 5) > 500  # the watermark is there ...
    assert max(darkened) < 40  # ... as a light tint: nothing of the certificate is hidden under it


# -- no signature of the original; the hub's seal on the copy ------------------------------------------------


def test_copy_carries_none_of_the_originals_signature_structures(certificate: bytes) -> None:
    original_root = PdfReader(io.BytesIO(certificate)).root_object
    assert "/AcroForm" in original_root and "/DSS" in original_root  # a B-LTA original has both
    copy = annotate(certificate, _annotation())
    reader = PdfReader(io.BytesIO(copy))
    root = reader.root_object
    assert not {"/AcroForm", "/DSS", "/Perms", "/Names", "/OpenAction"} & set(root.keys())
    assert all("/Annots" not in page for page in reader.pages)
    for marker in (b"/Sig", b"/ByteRange", b"/DSS", b"/AcroForm", b"/DocTimeStamp", b"/Widget"):
        assert marker not in copy
    assert list(PdfFileReader(io.BytesIO(copy)).embedded_signatures) == []


@pytest.fixture(scope="module")
def sealed_copy(seals: Seals, certificate: bytes) -> bytes:
    """The copy of the B-LTA certificate, sealed with the hub's own seal (B-B, the Sealer's default box)."""
    return seals.b_b.seal(annotate(certificate, _annotation()), seals.hub).pdf


def test_hub_seal_on_the_copy_validates(seals: Seals, sealed_copy: bytes) -> None:
    report = validate_pdf(sealed_copy, [seals.pki.root_cert])
    assert report.passed, report.problems
    assert report.intact and not report.modified_after_signing
    assert report.coverage is Coverage.WHOLE_DOCUMENT
    assert (report.signed_by, report.signer_uscc) == (HUB_ORG, HUB_USCC)
    assert len(list(PdfFileReader(io.BytesIO(sealed_copy)).embedded_signatures)) == 1  # the hub's only


@needs_poppler
def test_pdfsig_reports_the_hub_seal_on_the_copy_valid(seals: Seals, sealed_copy: bytes) -> None:
    report = seals.pdfsig(sealed_copy, online=False)
    assert report.count("Signature #") == 1
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." in report


def _overlay_stream_offset(pdf: bytes) -> int:
    """Where the annotation's form XObject's stream data starts in the file."""
    reader = PdfReader(io.BytesIO(pdf))
    xobjects = cast(DictionaryObject, reader.pages[0]["/Resources"])["/XObject"]
    assert isinstance(xobjects, DictionaryObject)
    name = max((n for n in xobjects if n.startswith("/HubCopy")), key=lambda n: int(n[len("/HubCopy") :]))
    number = xobjects.raw_get(name).idnum
    found = re.search(rb"(?<![0-9])%d 0 obj" % number, pdf)
    assert found is not None
    return pdf.index(b"stream", found.end()) + len(b"stream\n")


def test_changing_the_annotation_bytes_breaks_the_hub_seal(seals: Seals, sealed_copy: bytes) -> None:
    tampered = bytearray(sealed_copy)
    tampered[_overlay_stream_offset(sealed_copy) + 40] ^= 0x01
    report = validate_pdf(bytes(tampered), [seals.pki.root_cert])
    assert not report.intact
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


@needs_poppler
def test_pdfsig_sees_the_changed_annotation_bytes(seals: Seals, sealed_copy: bytes) -> None:
    tampered = bytearray(sealed_copy)
    tampered[_overlay_stream_offset(sealed_copy) + 40] ^= 0x01
    report = seals.pdfsig(bytes(tampered), online=False)
    assert "Digest Mismatch." in report
    assert "Signature is Valid." not in report


def _without_annotation(pdf: bytes) -> bytes:
    """An incremental update that rewrites page 1 without the annotation (its last content stream)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0]
    contents = page["/Contents"]
    kept = [contents.raw_get(i) for i in range(len(contents) - 1)]
    page["/Contents"] = generic.ArrayObject(
        [*kept, writer.add_object(generic.StreamObject(stream_data=b"Q"))]
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_removing_the_annotation_after_sealing_is_reported(seals: Seals, sealed_copy: bytes) -> None:
    stripped = _without_annotation(sealed_copy)
    assert HEADER not in _text(stripped) and "居民户籍证明" in _text(stripped)  # the removal worked
    report = validate_pdf(stripped, [seals.pki.root_cert])
    assert report.modified_after_signing
    assert report.coverage is Coverage.MODIFIED
    assert not report.passed


# -- determinism and input checks --------------------------------------------------------------------------


def test_same_original_and_annotation_give_the_same_bytes(simple: bytes) -> None:
    first = annotate(simple, _annotation())
    assert annotate(simple, _annotation()) == first
    assert annotate(simple, _annotation(made_at=MADE_AT + timedelta(seconds=60))) != first


def test_control_characters_in_the_use_cause_become_spaces(simple: bytes) -> None:
    annotation = _annotation(use_cause="核验\x00户籍\n信息\t\u200b用途\x1b")
    assert annotation.use_cause == "核验 户籍 信息 用途"
    assert "用证事由：核验 户籍 信息 用途" in _text(annotate(simple, annotation))


def test_ordinary_chinese_and_ascii_text_is_accepted(simple: bytes) -> None:
    annotation = _annotation(
        use_cause="ABC abc 0123 !@#$%&*()-_=+[]{};:'\",.<>/?~ 《》【】「」、。，；：？！“”‘’…—· 龘𠀀"[:40],
        requester_name="Shifan City One-Stop Portal（示范市）",
    )
    assert "Shifan City One-Stop Portal" in _text(annotate(simple, annotation))


@pytest.mark.parametrize("char", ["\U0010fffd", "\U0001f600"])
def test_text_the_font_cannot_show_is_refused_not_boxed(simple: bytes, char: str) -> None:
    with pytest.raises(UnsupportedCharacter) as raised:
        annotate(simple, _annotation(use_cause=f"用途{char}"))
    assert raised.value.field == "use_cause"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"use_cause": "用" * (MAX_USE_CAUSE + 1)}, "use_cause"),
        ({"use_cause": " \x00\n "}, "use_cause"),
        ({"requester_name": ""}, "requester_name"),
        ({"item_name": "\t"}, "item_name"),
        ({"verification_result": "passed"}, "verification_result"),
        ({"made_at": datetime(2025, 3, 1, 10, 30)}, "made_at"),
        ({"valid_until": MADE_AT}, "valid_until"),
        ({"requester_code": "not a uscc"}, "requester_code"),
        ({"certificate_id": "1.2.156.3005.2.bogus"}, "certificate_id"),
        ({"certificate_id": CERT_ID[:-1] + ("0" if CERT_ID[-1] != "0" else "1")}, "certificate_id"),
    ],
)
def test_an_annotation_that_cannot_be_printed_is_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        _annotation(**changes)
    assert raised.value.field == field


def test_a_requester_code_with_a_wrong_check_character_is_refused() -> None:
    wrong = PORTAL_USCC[:-1] + ("0" if PORTAL_USCC[-1] != "0" else "1")
    with pytest.raises(InvalidUSCC):
        _annotation(requester_code=wrong)


def test_annotation_fields_are_stored_as_printed() -> None:
    annotation = _annotation(requester_name="  示范市\u3000门户  ")
    assert annotation.requester_name == "示范市 门户"
    assert replace(annotation) == annotation


def test_a_page_too_small_for_the_annotation_is_refused() -> None:
    with pytest.raises(ValidationFailed) as raised:
        annotate(_pages((90, 60)), _annotation(use_cause="用" * MAX_USE_CAUSE))
    assert raised.value.field == "use_cause"


@pytest.mark.parametrize("garbage", [b"", b"not a pdf", b"%PDF-1.7\n\x00\xff garbage"])
def test_an_unreadable_original_is_refused(garbage: bytes) -> None:
    with pytest.raises(PdfUnreadable):
        annotate(garbage, _annotation())


def test_an_encrypted_original_is_refused() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pages(A4))))
    writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(PdfEncrypted):
        annotate(out.getvalue(), _annotation())
