from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)
from reportlab.pdfgen.canvas import Canvas

from certificates.uploads import check_uploaded_pdf
from kernel.errors import PayloadTooLarge, ValidationFailed

LIMIT = 5 * 1024 * 1024


def plain_pdf() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    canvas.drawString(72, 720, "A certificate made by a department")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def rewritten(change: Callable[[PdfWriter], None]) -> bytes:
    """The plain PDF after ``change``, saved by pypdf."""
    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf()))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def javascript_action(script: str = "app.alert(1)") -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(script),
        }
    )


def add_document_javascript(writer: PdfWriter) -> None:
    """A document-level script: /Root /Names /JavaScript, run when the file opens."""
    tree = DictionaryObject(
        {
            NameObject("/Names"): ArrayObject(
                [TextStringObject("init"), writer._add_object(javascript_action())]
            )
        }
    )
    names = writer._root_object.get("/Names")
    if names is None:
        names = DictionaryObject()
        writer._root_object[NameObject("/Names")] = writer._add_object(names)
    names.get_object()[NameObject("/JavaScript")] = writer._add_object(tree)


def add_annotation(writer: PdfWriter, annotation: DictionaryObject) -> None:
    annotation.update(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 50, 50)]),
        }
    )
    page = writer.pages[0]
    annotations = page.get("/Annots")
    if annotations is None:
        annotations = ArrayObject()
        page[NameObject("/Annots")] = annotations
    annotations.append(writer._add_object(annotation))


def refusal(data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        check_uploaded_pdf(data, max_bytes=LIMIT)
    assert caught.value.field == "file"
    return caught.value


def test_a_plain_pdf_is_accepted() -> None:
    check_uploaded_pdf(plain_pdf(), max_bytes=LIMIT)


def test_a_pdf_rewritten_by_pypdf_is_accepted() -> None:
    check_uploaded_pdf(rewritten(lambda writer: None), max_bytes=LIMIT)


def test_a_rendered_certificate_is_accepted() -> None:
    from certificates.rendering import render
    from tests.certificates.test_rendering import FACE

    check_uploaded_pdf(render(FACE).pdf, max_bytes=LIMIT)


def test_a_pdf_over_the_limit_is_too_large() -> None:
    data = plain_pdf()
    check_uploaded_pdf(data, max_bytes=len(data))
    with pytest.raises(PayloadTooLarge) as caught:
        check_uploaded_pdf(data, max_bytes=len(data) - 1)
    assert caught.value.field == "file"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, not a pdf", b"%PDF-1.7\n%garbage without objects\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 100],
)
def test_what_is_not_a_readable_pdf_is_refused(data: bytes) -> None:
    assert refusal(data).code == "pdf_unreadable"


def test_a_truncated_pdf_is_refused() -> None:
    data = plain_pdf()
    assert refusal(data[: len(data) // 3]).code in {"pdf_unreadable", "pdf_no_pages"}


def test_an_encrypted_pdf_is_refused() -> None:
    assert refusal(rewritten(lambda writer: writer.encrypt("secret"))).code == "pdf_encrypted"


def test_an_encrypted_pdf_with_an_empty_password_is_refused() -> None:
    data = rewritten(lambda writer: writer.encrypt(user_password="", owner_password="owner"))
    assert refusal(data).code == "pdf_encrypted"


def test_a_pdf_without_pages_is_refused() -> None:
    out = io.BytesIO()
    PdfWriter().write(out)
    assert refusal(out.getvalue()).code == "pdf_no_pages"


def test_document_javascript_is_refused() -> None:
    assert refusal(rewritten(add_document_javascript)).code == "pdf_javascript"


def test_an_open_action_running_javascript_is_refused() -> None:
    def change(writer: PdfWriter) -> None:
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(javascript_action())

    assert refusal(rewritten(change)).code == "pdf_javascript"


def test_additional_actions_on_a_page_are_refused() -> None:
    def change(writer: PdfWriter) -> None:
        writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): javascript_action()})

    assert refusal(rewritten(change)).code == "pdf_javascript"


def test_a_link_running_javascript_is_refused() -> None:
    def change(writer: PdfWriter) -> None:
        add_annotation(
            writer,
            DictionaryObject(
                {NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): javascript_action()}
            ),
        )

    assert refusal(rewritten(change)).code == "pdf_javascript"


def test_a_launch_action_is_refused() -> None:
    launch = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )

    def change(writer: PdfWriter) -> None:
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(launch)

    assert refusal(rewritten(change)).code == "pdf_active_content"


def test_embedded_files_are_refused() -> None:
    data = rewritten(lambda writer: writer.add_attachment("data.xml", b"<x/>"))
    assert refusal(data).code == "pdf_attachment"


def test_a_file_attachment_annotation_is_refused() -> None:
    def change(writer: PdfWriter) -> None:
        file_spec = DictionaryObject(
            {NameObject("/Type"): NameObject("/Filespec"), NameObject("/F"): TextStringObject("payload.exe")}
        )
        add_annotation(
            writer,
            DictionaryObject(
                {NameObject("/Subtype"): NameObject("/FileAttachment"), NameObject("/FS"): file_spec}
            ),
        )

    assert refusal(rewritten(change)).code == "pdf_attachment"


def test_javascript_is_reported_before_attachments() -> None:
    def change(writer: PdfWriter) -> None:
        writer.add_attachment("data.xml", b"<x/>")
        add_document_javascript(writer)

    assert refusal(rewritten(change)).code == "pdf_javascript"


def _page_of_zeros(megabytes: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``megabytes`` MB of zeros (kilobytes on disk)."""
    compressor = zlib.compressobj(9)
    chunk = b"\x00" * (1024 * 1024)
    content = b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_page_that_inflates_a_thousandfold_is_too_large() -> None:
    bomb = _page_of_zeros(200)  # ~200 kB on disk, 200 MB of content: it was accepted and sealed
    assert len(bomb) < 1024 * 1024
    with pytest.raises(PayloadTooLarge, match="inflates"):
        check_uploaded_pdf(bomb, max_bytes=10 * 1024 * 1024)
    check_uploaded_pdf(_page_of_zeros(2), max_bytes=10 * 1024 * 1024)  # modest content is fine


def test_a_form_whose_field_tree_loops_is_refused() -> None:
    """It was accepted and sealed, and every verifier then found the certificate unreadable."""
    from tests.hostile import field_that_is_its_own_kid

    assert refusal(field_that_is_its_own_kid()).code == "pdf_unreadable"
