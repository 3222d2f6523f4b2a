"""The face of a certificate (证照照面) as a one-page A4 PDF, ready to be sealed.

The layout leaves an empty box where the signer places the visible seal (``SEAL_BOX``), and draws
the QR code as vector paths from text another module prepares (the signed offline payload).
Rendering is deterministic: the same face gives the same bytes, which keeps re-issuance idempotent
and lets tests compare documents.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from certificates.errors import FaceTooLong, UnsupportedCharacter
from certificates.fonts import face_font
from signing.qr.image import qr_modules

PAGE_WIDTH, PAGE_HEIGHT = A4
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points, origin bottom left

# An official seal is 42 mm across; the box leaves a margin around it. Nothing is printed inside it,
# so the signer's visible seal never covers text; the issuer's name and the date sit just above.
SEAL_CENTRE = (PAGE_WIDTH - 160.0, 165.0)
SEAL_SIZE = 130.0
SEAL_BOX: Box = (
    SEAL_CENTRE[0] - SEAL_SIZE / 2,
    SEAL_CENTRE[1] - SEAL_SIZE / 2,
    SEAL_CENTRE[0] + SEAL_SIZE / 2,
    SEAL_CENTRE[1] + SEAL_SIZE / 2,
)
SEAL_PAGE = 0
QR_BOX: Box = (64.0, 100.0, 64.0 + 130.0, 100.0 + 130.0)

_MARGIN = 70.0
_LABEL_WIDTH = 120.0
_BODY_TOP = PAGE_HEIGHT - 200.0
_BODY_BOTTOM = 300.0
_FONT_SIZES = (13.0, 12.0, 11.0, 10.0, 9.0)  # tried in turn until the fields fit
_QR_QUIET_MODULES = 4
_DARK_RUN = re.compile(rb"[\x01]+")


@dataclass(frozen=True)
class CertificateFace:
    """Everything printed on the certificate; values are display strings (masked where needed)."""

    type_name: str
    title: str
    fields: Sequence[tuple[str, str]]
    holder_name: str
    holder_code_masked: str
    issuer_name: str
    issued_on: date
    valid_from: date
    valid_until: date | None  # None: no end (长期)
    identifier: str
    verification_code: str
    qr_text: str


@dataclass(frozen=True)
class RenderedCertificate:
    pdf: bytes
    seal_box: Box = SEAL_BOX
    page: int = SEAL_PAGE
    qr_box: Box = field(default=QR_BOX)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


RENDER_LOCK = threading.Lock()


def render(face: CertificateFace, *, font_path: str | os.PathLike[str] | None = None) -> RenderedCertificate:
    """Render ``face`` to a one-page A4 PDF, leaving ``SEAL_BOX`` on page 0 empty for the seal."""
    font = face_font(font_path)
    # Binary streams: ASCII85-encoding the font subset is pure Python in reportlab (~1 ms a page).
    rl_config.useA85 = 0
    _check_glyphs(face, font)
    rows = _rows(face)
    size, laid_out = _fit(rows, font)

    # reportlab's TrueType subsetting keeps per-font state that concurrent documents corrupt (a
    # KeyError mid-subset under threads): one page at a time. Rendering is CPU-bound Python under the
    # GIL, so the lock costs no throughput.
    with RENDER_LOCK:
        buffer = io.BytesIO()
        canvas = Canvas(
            buffer, pagesize=A4, invariant=1, pageCompression=1, initialFontName=font, initialFontSize=12
        )
        # Fixed dates and IDs make the output a function of the face alone (dates shown: the issue date).
        stamp = f"D:{face.issued_on:%Y%m%d}000000+08'00'"
        canvas.setDateFormatter(lambda *_: stamp)
        canvas.setTitle(face.title)
        canvas.setSubject(face.identifier)
        canvas.setAuthor(face.issuer_name)
        canvas.setCreator("hub")
        canvas.setProducer("hub")

        _draw_frame(canvas)
        _draw_heading(canvas, face, font)
        _draw_rows(canvas, laid_out, font, size)
        _draw_qr(canvas, face, font)
        _draw_issuer(canvas, face, font)
        canvas.setFont(font, 8)
        canvas.setFillGray(0.3)
        canvas.drawCentredString(PAGE_WIDTH / 2, 48, f"电子证照标识：{face.identifier}")
        canvas.showPage()
        canvas.save()
    return RenderedCertificate(pdf=buffer.getvalue())


# -- layout ------------------------------------------------------------------------------------------


def _rows(face: CertificateFace) -> list[tuple[str, str]]:
    until = chinese_date(face.valid_until) if face.valid_until is not None else "长期"
    return [
        ("持证主体", face.holder_name),
        ("证件号码", face.holder_code_masked),
        *((str(label), str(value)) for label, value in face.fields),
        ("有效期限", f"{chinese_date(face.valid_from)} 至 {until}"),
    ]


def _fit(rows: list[tuple[str, str]], font: str) -> tuple[float, list[tuple[list[str], list[str]]]]:
    """The largest font size at which every row fits the body, with each row's wrapped lines."""
    value_width = PAGE_WIDTH - 2 * _MARGIN - _LABEL_WIDTH
    for size in _FONT_SIZES:
        leading = size * 1.6
        laid_out = [
            (wrap(label, font, size, _LABEL_WIDTH - 12), wrap(value, font, size, value_width))
            for label, value in rows
        ]
        lines = sum(max(len(label), len(value)) for label, value in laid_out)
        gaps = (len(rows) - 1) * size * 0.6
        if lines * leading + gaps <= _BODY_TOP - _BODY_BOTTOM:
            return size, laid_out
    raise FaceTooLong(
        "the certificate's fields do not fit on one page", field="data"
    )


_TOKEN = re.compile(r"\n|[ \t]+|[0-9A-Za-z\u00C0-\u024F.,;:!?%()'\"/@&+_-]+|.", re.DOTALL)


_NO_LINE_START = set("，。、；：！？）》」』】〕’”%,.;:!?)]}")


def _fitting_prefix(text: str, font: str, size: float, width: float) -> int:
    """How many leading characters of ``text`` fit in ``width`` (at least one): one pass, linear in
    what it scans — a long unbroken word must not cost quadratic time."""
    total = 0.0
    for i, char in enumerate(text):
        total += pdfmetrics.stringWidth(char, font, size)
        if total > width:
            return max(1, i)
    return len(text)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``: Chinese breaks between any two characters, Latin words
    and numbers stay whole unless a single one is wider than the line."""
    lines: list[str] = []
    line = ""
    for piece in _TOKEN.findall(text):
        if piece == "\n":
            lines.append(line.rstrip())
            line = ""
            continue
        if piece.isspace() and not line:
            continue
        candidate = line + piece
        if pdfmetrics.stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        carried = ""
        if piece in _NO_LINE_START and len(line) > 1:
            # 避头: closing punctuation never starts a line; the character before it comes along.
            line, carried = line[:-1], line[-1]
        if line.strip():
            lines.append(line.rstrip())
        line = "" if piece.isspace() else carried + piece
        while True:  # a word longer than the line is cut where the line is full
            cut = _fitting_prefix(line, font, size, width)
            if cut == len(line):
                break
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def _check_glyphs(face: CertificateFace, font: str) -> None:
    """Refuse text the font cannot show: a box in place of a rare character (生僻字) would mislead."""
    ttf = pdfmetrics.getFont(font)
    known = ttf.face.charToGlyph if isinstance(ttf, TTFont) else None
    if known is None:
        return
    texts = {
        "holder.name": face.holder_name,
        "title": face.title + face.type_name,
        "issuer": face.issuer_name,
        "data": "".join(label + value for label, value in face.fields),
    }
    for where, text in texts.items():
        for char in text:
            if char not in "\n\t" and ord(char) not in known:
                raise UnsupportedCharacter(
                    f"{where} contains U+{ord(char):04X}, which the certificate font cannot show",
                    field=where,
                )


# -- drawing -----------------------------------------------------------------------------------------


def _draw_frame(canvas: Canvas) -> None:
    canvas.setStrokeColorRGB(0.55, 0.12, 0.12)
    canvas.setLineWidth(2)
    canvas.rect(28, 28, PAGE_WIDTH - 56, PAGE_HEIGHT - 56)
    canvas.setLineWidth(0.6)
    canvas.rect(34, 34, PAGE_WIDTH - 68, PAGE_HEIGHT - 68)


def _draw_heading(canvas: Canvas, face: CertificateFace, font: str) -> None:
    canvas.setFillGray(0)
    size = 28.0
    while size > 14 and pdfmetrics.stringWidth(face.title, font, size) > PAGE_WIDTH - 2 * _MARGIN:
        size -= 1
    canvas.setFont(font, size)
    canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 118, face.title)
    if face.type_name and face.type_name != face.title:
        canvas.setFont(font, 12)
        canvas.setFillGray(0.3)
        canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 142, face.type_name)
    canvas.setStrokeColorRGB(0.55, 0.12, 0.12)
    canvas.setLineWidth(0.8)
    canvas.line(_MARGIN, PAGE_HEIGHT - 162, PAGE_WIDTH - _MARGIN, PAGE_HEIGHT - 162)


def _draw_rows(canvas: Canvas, laid_out: list[tuple[list[str], list[str]]], font: str, size: float) -> None:
    leading = size * 1.6
    y = _BODY_TOP
    for labels, values in laid_out:
        canvas.setFont(font, size)
        canvas.setFillGray(0.35)
        for offset, line in enumerate(labels):
            canvas.drawString(_MARGIN, y - offset * leading, line)
        canvas.setFillGray(0)
        for offset, line in enumerate(values):
            canvas.drawString(_MARGIN + _LABEL_WIDTH, y - offset * leading, line)
        y -= max(len(labels), len(values)) * leading + size * 0.6


def _draw_qr(canvas: Canvas, face: CertificateFace, font: str) -> None:
    x1, y1, x2, y2 = QR_BOX
    matrix = qr_modules(face.qr_text)
    size = len(matrix)
    unit = (x2 - x1) / (size + 2 * _QR_QUIET_MODULES)
    # Draw in module units (origin at the symbol's top left, y down) so every coordinate is a
    # small integer; one rectangle per horizontal run of dark modules keeps the path short.
    operators = [
        f"{run.start()} {row_index} {run.end() - run.start()} 1 re"
        for row_index, row in enumerate(matrix)
        for run in _DARK_RUN.finditer(row)
    ]
    canvas.saveState()
    canvas.setFillGray(0)
    canvas.transform(unit, 0, 0, -unit, x1 + _QR_QUIET_MODULES * unit, y2 - _QR_QUIET_MODULES * unit)
    canvas.addLiteral("\n".join(operators) + "\nf")
    canvas.restoreState()
    centre = (x1 + x2) / 2
    canvas.setFont(font, 9)
    canvas.setFillGray(0.3)
    canvas.drawCentredString(centre, y1 - 8, "扫码核验")
    canvas.setFont(font, 10)
    canvas.setFillGray(0)
    canvas.drawCentredString(centre, y1 - 24, f"核验码：{face.verification_code}")


def _draw_issuer(canvas: Canvas, face: CertificateFace, font: str) -> None:
    centre_x = (SEAL_BOX[0] + SEAL_BOX[2]) / 2
    top = SEAL_BOX[3]
    canvas.setFillGray(0)
    size = 13.0
    while size > 8 and pdfmetrics.stringWidth(face.issuer_name, font, size) > 2 * (
        PAGE_WIDTH - 40 - centre_x
    ):
        size -= 0.5
    canvas.setFont(font, size)
    canvas.drawCentredString(centre_x, top + 34, face.issuer_name)
    canvas.setFont(font, 11)
    canvas.drawCentredString(centre_x, top + 12, f"发证日期：{chinese_date(face.issued_on)}")
