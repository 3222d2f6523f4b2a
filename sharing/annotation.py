"""加注件: a copy of a sealed certificate, annotated for one declared use. Bytes in, bytes out.

``annotate`` makes a new, unsigned PDF that shows every page of the original as a reader sees it, with
the annotation drawn over it: a bordered box at the foot of each page (use cause, requester, service
item, when the copy was made and until when it may be used, the original's identifier and the result
of its verification) and a light diagonal 加注件 across the page. The hub then seals the new PDF with
its own seal, so removing or changing the annotation breaks that seal.

The right end of the box is left free of text for the copy's seal: on A4 the Sealer's default box,
(400, 40, 540, 180), lands there and covers none of the annotation.

Only what is seen is carried over — the copy is a new document, not a revision of the original:

* each page is rebuilt from a short list of keys (page boxes, rotation, user unit, transparency group)
  plus its resources and content streams, which are kept byte for byte;
* the visible appearance of the page's annotations — the department's seal among them — is drawn
  into the page (flattened), and the annotations themselves are dropped;
* nothing else of the original comes along: no signature dictionaries or fields, no AcroForm, DSS,
  document timestamps, permissions, outlines, actions, structure tree or metadata. pyHanko can then
  add a signature field to the copy as to any unsigned PDF.
"""

from __future__ import annotations

import hashlib
import io
import math
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from catalog.codes import validate_uscc
from certificates.errors import PdfEncrypted, PdfUnreadable, PdfWithoutPages, UnsupportedCharacter
from certificates.fonts import face_font
from certificates.identifiers import parse as parse_identifier

# reportlab's TrueType subsetting keeps per-font state that concurrent documents corrupt; the face
# font is shared with certificate rendering, so the overlay is drawn under rendering's own lock.
from certificates.rendering import RENDER_LOCK, wrap
from kernel.errors import ValidationFailed

__all__ = [
    "HEADER",
    "MAX_USE_CAUSE",
    "RESULT_WORDS",
    "WATERMARK",
    "Annotation",
    "InvalidAnnotation",
    "annotate",
    "china_time",
    "clean_text",
]

CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")
HEADER: Final = "加注件 · 仅限本次用途使用"
WATERMARK: Final = "加注件"
RESULT_WORDS: Final = {"valid": "有效", "invalid": "无效", "indeterminate": "无法确认"}
MAX_USE_CAUSE: Final = 200
MAX_NAME: Final = 200

# The page keys a copy keeps; everything else (/Annots, /AA, /StructParents, /Metadata, …) is left behind.
_PAGE_KEYS: Final = (
    "/MediaBox",
    "/CropBox",
    "/BleedBox",
    "/TrimBox",
    "/ArtBox",
    "/Rotate",
    "/UserUnit",
    "/Group",
)
_IDENTITY: Final = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_HIDDEN, _NO_VIEW = 2, 32  # annotation flags (ISO 32000-1, 12.5.3): never shown on screen

_INK = (0.07, 0.22, 0.52)  # the annotation's blue, apart from the certificates' red frame and seals
_SIZES: Final = (8.0, 7.5, 7.0, 6.5, 6.0, 5.5, 5.0)  # text sizes tried in turn until the box is low enough
_MAX_BOX_SHARE = 0.3  # of the page height
_SEAL_SHARE = 0.27  # of the page width, kept free of text at the box's right end
_BLANKS = {"Cc", "Cf", "Zl", "Zp", "Zs"}  # control, format and separator characters: become spaces


class InvalidAnnotation(ValidationFailed):
    """An annotation that cannot be printed as given (empty, too long, naive times, unknown result)."""

    code = "invalid_annotation"


def clean_text(text: str) -> str:
    """Control, format and separator characters become spaces; runs of space one; ends stripped."""
    return " ".join("".join(" " if unicodedata.category(c) in _BLANKS else c for c in text).split())


def china_time(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM`` in China Standard Time (UTC+8)."""
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Annotation:
    """What a copy says about itself. Constructing one validates and normalizes every field: text
    fields are cleaned (control characters become spaces), so what is stored is what is printed."""

    certificate_id: str  # the original's GB/T 36904 identifier
    verification_result: str  # "valid" / "invalid" / "indeterminate": the original's, when the copy was made
    use_cause: str  # 用证事由, 1–200 characters
    requester_name: str  # the requesting organization
    requester_code: str  # its USCC
    item_name: str  # the service item the copy is for
    made_at: datetime  # aware
    valid_until: datetime  # aware, after made_at

    def __post_init__(self) -> None:
        try:
            parse_identifier(_text(self.certificate_id, "certificate_id"))
        except ValidationFailed as exc:
            raise type(exc)(exc.detail, field="certificate_id") from None
        if self.verification_result not in RESULT_WORDS:
            raise InvalidAnnotation(
                f"verification_result must be one of {', '.join(RESULT_WORDS)}", field="verification_result"
            )
        object.__setattr__(self, "use_cause", _cleaned(self.use_cause, "use_cause", MAX_USE_CAUSE))
        object.__setattr__(self, "requester_name", _cleaned(self.requester_name, "requester_name", MAX_NAME))
        object.__setattr__(self, "item_name", _cleaned(self.item_name, "item_name", MAX_NAME))
        validate_uscc(_text(self.requester_code, "requester_code"), field="requester_code", compact_only=True)
        for name in ("made_at", "valid_until"):
            moment = getattr(self, name)
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                raise InvalidAnnotation(f"{name} must be a timezone-aware datetime", field=name)
        if self.valid_until <= self.made_at:
            raise InvalidAnnotation("valid_until must be after made_at", field="valid_until")

    @property
    def result_word(self) -> str:
        return RESULT_WORDS[self.verification_result]

    def rows(self) -> list[list[tuple[str, str]]]:
        """The box's rows below its header; the fields of one row share a line where they fit."""
        return [
            [("用证事由", self.use_cause)],
            [("用证单位", f"{self.requester_name}（{self.requester_code}）")],
            [("办理事项", self.item_name)],
            [("制作时间", china_time(self.made_at)), ("有效期至", china_time(self.valid_until))],
            [("原件标识", self.certificate_id)],
            [("原件核验结果", self.result_word)],
        ]


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidAnnotation(f"{field} must be text", field=field)
    return value


def _cleaned(value: object, field: str, limit: int) -> str:
    text = clean_text(_text(value, field))
    if not 1 <= len(text) <= limit:
        raise InvalidAnnotation(f"{field} must be 1–{limit} characters", field=field)
    return text


def annotate(original_pdf: bytes, annotation: Annotation, *, font_path: str | None = None) -> bytes:
    """A new, unsigned PDF: every page of the original, with the annotation drawn on each page.

    Raises ``PdfUnreadable``/``PdfEncrypted``/``PdfWithoutPages`` for an original that cannot be
    copied and ``UnsupportedCharacter`` for text the font cannot show (never a box in its place).
    Deterministic: the same original and annotation give the same bytes.
    """
    font = face_font(font_path)
    _check_glyphs(annotation, font)
    reader = _open(original_pdf)
    writer = PdfWriter()
    try:  # pypdf parses lazily: a broken object surfaces only when it is read
        pages = list(reader.pages)
        geometry = [_geometry(page) for page in pages]
    except Exception as exc:
        raise PdfUnreadable(f"the original PDF cannot be copied ({type(exc).__name__})") from None
    overlays = _overlays(writer, sorted({g.display for g in geometry}), annotation, font)
    try:
        for page, geo in zip(pages, geometry, strict=True):
            _copy_page(writer, page, geo, overlays[geo.display])
        root = reader.root_object
        if "/OCProperties" in root:  # optional content the page content may refer to
            writer.root_object[NameObject("/OCProperties")] = root.raw_get("/OCProperties").clone(writer)
    except Exception as exc:
        raise PdfUnreadable(f"the original PDF cannot be copied ({type(exc).__name__})") from None
    writer.pdf_header = max(reader.pdf_header, "%PDF-1.7") if reader.pdf_header[:5] == "%PDF-" else "%PDF-1.7"
    stamp = _pdf_date(annotation.made_at)
    writer.add_metadata(
        {
            "/Title": f"加注件 {annotation.certificate_id}",
            "/Subject": f"加注件 of {annotation.certificate_id}",
            "/Creator": "hub",
            "/Producer": "hub",
            "/CreationDate": stamp,
            "/ModDate": stamp,
        }
    )
    # A file identifier derived from what the copy is made of: unique per copy, yet reproducible.
    digest = hashlib.sha256(original_pdf + repr(annotation).encode()).digest()[:16]
    writer._ID = ArrayObject([ByteStringObject(digest), ByteStringObject(digest)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- reading the original ----------------------------------------------------------------------------


def _open(original_pdf: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(original_pdf), strict=False)
        encrypted = reader.is_encrypted
        count = 0 if encrypted else len(reader.pages)
    except Exception as exc:  # pypdf raises many kinds of errors on broken files
        raise PdfUnreadable(f"the original is not a readable PDF ({type(exc).__name__})") from None
    if encrypted:
        raise PdfEncrypted("the original PDF is encrypted")
    if count == 0:
        raise PdfWithoutPages("the original PDF has no pages")
    return reader


@dataclass(frozen=True)
class _Geometry:
    box: tuple[float, float, float, float]  # the crop box in default user space: x0, y0, x1, y1
    rotate: int  # 0, 90, 180 or 270, clockwise

    @property
    def display(self) -> tuple[float, float]:
        """Width and height as shown (rotation applied)."""
        x0, y0, x1, y1 = self.box
        w, h = round(x1 - x0, 3), round(y1 - y0, 3)
        return (h, w) if self.rotate in (90, 270) else (w, h)

    def to_page(self) -> tuple[float, ...]:
        """The matrix from display coordinates (origin at the shown page's bottom left) to user space."""
        x0, y0, x1, y1 = self.box
        return {
            0: (1, 0, 0, 1, x0, y0),
            90: (0, 1, -1, 0, x1, y0),
            180: (-1, 0, 0, -1, x1, y1),
            270: (0, -1, 1, 0, x0, y1),
        }[self.rotate]


def _geometry(page: DictionaryObject) -> _Geometry:
    media = _rect(page.get("/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
    crop = _rect(page.get("/CropBox")) or media
    # the visible area is the crop box clipped to the media box
    box = (max(crop[0], media[0]), max(crop[1], media[1]), min(crop[2], media[2]), min(crop[3], media[3]))
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        box = media
    rotate = page.get("/Rotate", 0)
    degrees = int(rotate) if isinstance(rotate, int | float) else 0
    return _Geometry(box, (degrees - degrees % 90) % 360)


def _rect(value: object) -> tuple[float, float, float, float] | None:
    if not isinstance(value, Sequence) or len(value) != 4:
        return None
    try:
        a, b, c, d = (float(x) for x in value)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) for x in (a, b, c, d)):
        return None
    return min(a, c), min(b, d), max(a, c), max(b, d)


# -- the copy ------------------------------------------------------------------------------------------


def _copy_page(writer: PdfWriter, page: DictionaryObject, geo: _Geometry, overlay: IndirectObject) -> None:
    x0, y0, x1, y1 = _rect(page.get("/MediaBox")) or geo.box
    new = writer.add_blank_page(x1 - x0, y1 - y0)
    for key in _PAGE_KEYS:
        if key in page:
            new[NameObject(key)] = page.raw_get(key).clone(writer)

    resources = _shallow_clone(writer, page.raw_get("/Resources") if "/Resources" in page else None)
    xobjects = _shallow_clone(writer, resources.raw_get("/XObject") if "/XObject" in resources else None)
    names = _fresh_names(xobjects)
    drawn: list[bytes] = []
    for form, matrix in _appearances(page):
        name = next(names)
        xobjects[NameObject(name)] = _indirect(writer, form)
        drawn.append(b"q %s cm %s Do Q\n" % (_numbers(matrix), name.encode()))
    name = next(names)
    xobjects[NameObject(name)] = overlay
    drawn.append(b"q %s cm %s Do Q\n" % (_numbers(geo.to_page()), name.encode()))
    resources[NameObject("/XObject")] = xobjects
    new[NameObject("/Resources")] = resources

    # The original's streams, untouched, between q and Q; then its annotations' appearances and ours.
    contents = page.raw_get("/Contents") if "/Contents" in page else None
    resolved = contents.get_object() if contents is not None else None
    originals = [c for c in (resolved if isinstance(resolved, ArrayObject) else [contents]) if c is not None]
    streams = [
        _stream(writer, b"q\n"),
        *(_indirect(writer, c) for c in originals),
        _stream(writer, b"\nQ\n" + b"".join(drawn)),
    ]
    new[NameObject("/Contents")] = ArrayObject(streams)


def _appearances(page: DictionaryObject) -> Iterable[tuple[PdfObject, tuple[float, ...]]]:
    """Each shown annotation's normal appearance (unresolved) and the matrix that puts it on its
    /Rect, as a viewer draws it (ISO 32000-1, 12.5.5)."""
    annots = page.get("/Annots")
    if not isinstance(annots, ArrayObject):
        return
    for item in annots:
        annot = item.get_object()
        if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") == "/Popup":
            continue
        flags = annot.get("/F", 0)
        if isinstance(flags, int) and flags & (_HIDDEN | _NO_VIEW):
            continue
        appearances = annot.get("/AP")
        if not isinstance(appearances, DictionaryObject) or "/N" not in appearances:
            continue
        raw = appearances.raw_get("/N")
        normal = raw.get_object()
        if not isinstance(normal, StreamObject):  # a dictionary of states: the current one
            state = annot.get("/AS")
            if not isinstance(normal, DictionaryObject) or not isinstance(state, str) or state not in normal:
                continue
            raw = normal.raw_get(state)
            normal = raw.get_object()
            if not isinstance(normal, StreamObject):
                continue
        matrix = _placement(normal, _rect(annot.get("/Rect")))
        if matrix is not None:
            yield raw, matrix


def _placement(
    form: StreamObject, rect: tuple[float, float, float, float] | None
) -> tuple[float, ...] | None:
    bbox = _rect(form.get("/BBox"))
    if rect is None or bbox is None:
        return None
    raw_matrix = form.get("/Matrix")
    try:
        a, b, c, d, e, f = (float(x) for x in raw_matrix) if isinstance(raw_matrix, Sequence) else _IDENTITY
    except (TypeError, ValueError):
        return None
    corners = [(a * x + c * y + e, b * x + d * y + f) for x in (bbox[0], bbox[2]) for y in (bbox[1], bbox[3])]
    tx0, ty0 = min(p[0] for p in corners), min(p[1] for p in corners)
    tw, th = max(p[0] for p in corners) - tx0, max(p[1] for p in corners) - ty0
    rw, rh = rect[2] - rect[0], rect[3] - rect[1]
    if min(tw, th, rw, rh) <= 0:
        return None
    sx, sy = rw / tw, rh / th
    return (sx, 0.0, 0.0, sy, rect[0] - tx0 * sx, rect[1] - ty0 * sy)


def _shallow_clone(writer: PdfWriter, raw: PdfObject | None) -> DictionaryObject:
    """A new direct dictionary in the writer with the (cloned) entries of ``raw``'s dictionary."""
    resolved = raw.get_object() if raw is not None else None
    if not isinstance(resolved, DictionaryObject):
        return DictionaryObject()
    return DictionaryObject({NameObject(k): v.clone(writer) for k, v in resolved.items()})


def _fresh_names(existing: DictionaryObject) -> Iterator[str]:
    number = 0
    while True:
        name = f"/HubCopy{number}"
        number += 1
        if name not in existing:
            yield name


def _indirect(writer: PdfWriter, obj: PdfObject) -> IndirectObject:
    if isinstance(obj, IndirectObject):
        return obj.clone(writer)
    return writer._add_object(obj.clone(writer))


def _stream(writer: PdfWriter, data: bytes) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _numbers(values: Iterable[float]) -> bytes:
    return " ".join(_number(v) for v in values).encode()


def _number(value: float) -> str:
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pdf_date(moment: datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("D:%Y%m%d%H%M%S+08'00'")


# -- the overlay -----------------------------------------------------------------------------------------


def _check_glyphs(annotation: Annotation, font: str) -> None:
    """Refuse text the font cannot show: a box in place of a character would misstate the copy."""
    face = pdfmetrics.getFont(font)
    known = face.face.charToGlyph if isinstance(face, TTFont) else None
    if known is None:
        return
    for field in ("use_cause", "requester_name", "requester_code", "item_name", "certificate_id"):
        for char in getattr(annotation, field):
            if ord(char) not in known and char != " ":
                raise UnsupportedCharacter(
                    f"{field} contains U+{ord(char):04X}, which the annotation font cannot show", field=field
                )


@dataclass(frozen=True)
class _Layout:
    size: float
    height: float  # of the box
    lines: list[list[tuple[float, str, str]]]  # per line: (x offset, label part, value part)

    @property
    def header_size(self) -> float:
        return self.size * 1.3

    @property
    def padding(self) -> float:
        return self.size


def _layout(annotation: Annotation, font: str, text_width: float, size: float) -> _Layout:
    gap = 2 * size
    lines: list[list[tuple[float, str, str]]] = []
    for row in annotation.rows():
        heads = [label + "：" for label, _ in row]
        widths = [pdfmetrics.stringWidth(h + v, font, size) for h, (_, v) in zip(heads, row, strict=True)]
        if len(row) > 1:  # side by side in columns, if every field fits its column on one line
            column = text_width / len(row)
            if all(w <= column - gap for w in widths):
                lines.append(
                    [(i * column, h, v) for i, (h, (_, v)) in enumerate(zip(heads, row, strict=True))]
                )
                continue
        for head, (_, value) in zip(heads, row, strict=True):
            indent = pdfmetrics.stringWidth(head, font, size)
            if indent > text_width / 2:  # a narrow page: no hanging indent
                wrapped = wrap(head + value, font, size, text_width)
                lines += [[(0.0, "", line)] for line in wrapped]
                continue
            wrapped = wrap(value, font, size, text_width - indent)
            lines.append([(0.0, head, wrapped[0])])
            lines += [[(indent, "", line)] for line in wrapped[1:]]
    # padding, header, rule, the lines at 1.45 × size, the last one's descent, padding (as _draw draws)
    height = 2 * size + 1.4 * 1.3 * size + 1.35 * size + (len(lines) - 1) * 1.45 * size + 0.3 * size
    return _Layout(size, height, lines)


def _overlays(
    writer: PdfWriter, sizes: Sequence[tuple[float, float]], annotation: Annotation, font: str
) -> dict[tuple[float, float], IndirectObject]:
    """One form XObject per distinct display size, all drawn in one reportlab document (one font subset)."""
    rl_config.useA85 = 0  # binary streams: ASCII85 is pure Python in reportlab
    with RENDER_LOCK:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=sizes[0], invariant=1, pageCompression=1)
        for width, height in sizes:
            canvas.setPageSize((width, height))
            _draw(canvas, annotation, font, width, height)
            canvas.showPage()
        canvas.save()
    drawn = PdfReader(io.BytesIO(buffer.getvalue()))
    forms: dict[tuple[float, float], IndirectObject] = {}
    for (width, height), page in zip(sizes, drawn.pages, strict=True):
        content = page.get_contents()
        form = DecodedStreamObject()
        form.set_data(content.get_data() if content is not None else b"")
        form[NameObject("/Type")] = NameObject("/XObject")
        form[NameObject("/Subtype")] = NameObject("/Form")
        form[NameObject("/BBox")] = ArrayObject(FloatObject(v) for v in (0, 0, width, height))
        form[NameObject("/Resources")] = page.raw_get("/Resources").clone(writer)
        forms[(width, height)] = writer._add_object(form.flate_encode())
    return forms


def _draw(canvas: Canvas, annotation: Annotation, font: str, width: float, height: float) -> None:
    margin = max(12.0, min(40.0, 0.067 * min(width, height)))
    box_width = width - 2 * margin
    for size in _SIZES:
        text_width = box_width - 2 * size - _SEAL_SHARE * width
        layout = _layout(annotation, font, text_width, size)
        if layout.height <= _MAX_BOX_SHARE * height:
            break
    if layout.height > height - 2 * margin:
        raise InvalidAnnotation("the annotation does not fit on the original's page", field="use_cause")

    # the watermark first, light and beneath the box
    canvas.saveState()
    canvas.setFillColorRGB(0.45, 0.45, 0.45, alpha=0.13)
    canvas.setFont(font, 0.22 * min(width, height))
    canvas.translate(width / 2, height / 2)
    canvas.rotate(math.degrees(math.atan2(height, width)))
    canvas.drawCentredString(0, -0.08 * min(width, height), WATERMARK)
    canvas.restoreState()

    size, pad = layout.size, layout.padding
    left, bottom, top = margin, margin, margin + layout.height
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)  # opaque: what lies beneath would only blur the text
    canvas.setStrokeColorRGB(*_INK)
    canvas.setLineWidth(0.9)
    canvas.rect(left, bottom, box_width, layout.height, stroke=1, fill=1)
    canvas.restoreState()

    header = layout.header_size
    baseline = top - pad - header * 0.9
    canvas.setFillColorRGB(*_INK)
    canvas.setFont(font, header)
    canvas.drawString(left + pad, baseline, HEADER)
    rule = baseline - header * 0.5
    canvas.setStrokeColorRGB(*_INK)
    canvas.setLineWidth(0.4)
    canvas.line(left + pad, rule, left + box_width - pad, rule)

    y = rule - size * 1.35
    for line in layout.lines:
        for x, head, value in line:
            text = canvas.beginText(left + pad + x, y)
            text.setFont(font, size)
            if head:
                text.setFillColorRGB(*_INK)
                text.textOut(head)
            text.setFillGray(0.05)
            text.textOut(value)
            canvas.drawText(text)
        y -= size * 1.45
