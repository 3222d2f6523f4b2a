"""Hostile PDFs, built byte by byte in the tests (no binaries in the repository).

Each builder makes the smallest file that shows one attack on a PDF reader; ``tests/certificates/
test_hostile_pdfs.py`` and ``tests/hub/test_hostile_pdfs.py`` run them through the hub's checks,
``bench/hostile.py`` times them.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"
_XREF_ROW = struct.Struct(">BII")  # a cross-reference stream row, /W [1 4 4]


def stream_object(dictionary: bytes, data: bytes, *, deflate: bool = True) -> bytes:
    """The body of a stream object: ``<<dictionary /Length …>> stream … endstream``."""
    if deflate:
        data = zlib.compress(data, 1)  # fast: the millions-of-objects file is built in every test run
        dictionary += b"/Filter/FlateDecode"
    return b"<<%s/Length %d>>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def object_stream(
    members: list[tuple[int, bytes]], *, header: bytes | None = None, n: int | None = None
) -> bytes:
    """An object stream (``/Type /ObjStm``) holding ``members`` (number, body), with its header of
    number/offset pairs — or ``header`` as given, and ``/N`` as given, to damage it."""
    offsets, position = [], 0
    for number, body in members:
        offsets.append(b"%d %d" % (number, position))
        position += len(body) + 1
    head = (b" ".join(offsets) if header is None else header) + b"\n"
    data = head + b"\n".join(body for _, body in members)
    count = len(members) if n is None else n
    return stream_object(b"/Type/ObjStm/N %d/First %d" % (count, len(head)), data)


def assemble(
    objects: Mapping[int, bytes],
    *,
    compressed: Mapping[int, tuple[int, int]] | None = None,
    root: int = 1,
    trailer: bytes = b"",
) -> bytes:
    """A PDF whose ``objects`` (number → body) are written in order, listed in a cross-reference
    stream with the objects ``compressed`` into object streams (number → (stream, index))."""
    compressed = compressed or {}
    out = bytearray(HEADER)
    offsets: dict[int, int] = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_number = max([*objects, *compressed]) + 1
    offsets[xref_number] = len(out)
    pack = _XREF_ROW.pack
    rows = [pack(0, 0, 65535)]
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows.append(pack(1, offsets[number], 0))
        elif number in compressed:
            rows.append(pack(2, *compressed[number]))
        else:
            rows.append(pack(0, 0, 0))
    xref = stream_object(
        b"/Type/XRef/Size %d/W[1 4 4]/Root %d 0 R%s" % (xref_number + 1, root, trailer), b"".join(rows)
    )
    out += b"%d 0 obj\n%s\nendobj\nstartxref\n%d\n%%%%EOF\n" % (xref_number, xref, offsets[xref_number])
    return bytes(out)


def fields_in_one_object_stream(count: int, *, fields_packed: bool = False) -> bytes:
    """``count`` small text fields, all in one object stream, all listed in ``/AcroForm /Fields``
    (the finding: 5,000 of them, 34 kB, held a CPU for 48 s of ``POST /verify``). With
    ``fields_packed`` the ``/Fields`` array itself is in the stream too, so a million fit in a few MB."""
    first, stream_number, array_number = 10, 4, 5
    members = [(first + i, b"<</FT/Tx/T(f)>>") for i in range(count)]
    references = b" ".join(b"%d 0 R" % (first + i) for i in range(count))
    fields = b"[" + references + b"]"
    objects = {
        1: b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields %s>>>>"
        % (b"%d 0 R" % array_number if fields_packed else fields),
        2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        3: PAGE,
    }
    if fields_packed:
        members.append((array_number, fields))
    objects[stream_number] = object_stream(members)
    compressed = {number: (stream_number, index) for index, (number, _) in enumerate(members)}
    return assemble(objects, compressed=compressed)


def one_field_listed_many_times(count: int = 20_000) -> bytes:
    """One field listed ``count`` times in ``/AcroForm /Fields``, whose one kid is listed ``count``
    times in its ``/Kids``: ~280 kB and seven objects, so no object count gives it away, yet a
    reader that walks the form visits ``count``² fields (400 million by default: no machine, however
    fast, reads it within the bounds). No field repeats along one path, so it is no cycle."""
    listing = b"[" + b"10 0 R " * count + b"]"
    kids = b"[" + b"11 0 R " * count + b"]"
    catalog = b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields 5 0 R>>>>"
    members = [(10, b"<</FT/Tx/T(f)/Kids 6 0 R>>"), (11, b"<</T(k)>>"), (5, listing), (6, kids)]
    objects = {1: catalog, 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>", 3: PAGE, 4: object_stream(members)}
    return assemble(objects, compressed={number: (4, index) for index, (number, _) in enumerate(members)})


def classic(
    objects: Mapping[int, bytes], *, root: int = 1, trailer: bytes = b"", prev: int | None = None
) -> bytes:
    """A PDF with a classic cross-reference table; ``prev`` is written as the trailer's /Prev as it
    is — an offset of your choosing, the table's own for a loop."""
    out = bytearray(HEADER)
    offsets = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(
        b"%010d 00000 n \n" % offsets[n] if n in offsets else b"0000000000 65535 f \n" for n in range(1, size)
    )
    loop = b"/Prev %d" % (xref if prev == -1 else prev) if prev is not None else b""
    out += b"trailer\n<</Size %d/Root %d 0 R%s%s>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        trailer,
        loop,
        xref,
    )
    return bytes(out)


ONE_PAGE = {1: b"<</Type/Catalog/Pages 2 0 R>>", 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>", 3: PAGE}


def plain() -> bytes:
    """One empty page, nothing else: no seal."""
    return classic(ONE_PAGE)


def looping_prev() -> bytes:
    """A cross-reference table whose /Prev points at itself: a reader following it never ends."""
    return classic(ONE_PAGE, prev=-1)


def deflated_zeros(size: int) -> bytes:
    """``size`` bytes of zeros (a multiple of 1 MiB) as a zlib stream of ~size/1000 bytes, built
    without deflating them all: one MiB's blocks, flushed to a byte boundary, repeated."""
    chunk = 1024 * 1024
    assert size % chunk == 0
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the zlib wrapper is ours
    block = deflater.compress(b"\0" * chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    adler = (size % 65521) << 16 | 1  # Adler-32 of zeros: A stays 1, B adds 1 per byte
    return b"\x78\xda" + block * (size // chunk) + final + struct.pack(">I", adler)


def inflation_bomb(size: int = 1024 * 1024 * 1024) -> bytes:
    """One page whose content stream is ~1 MB on disk and ``size`` bytes (1 GiB) of zeros inflated."""
    data = deflated_zeros(size)
    content = b"<</Length %d/Filter/FlateDecode>>\nstream\n%s\nendstream" % (len(data), data)
    page = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>"
    return classic({**ONE_PAGE, 3: page, 4: content})


def object_stream_bomb(size: int = 1024 * 1024 * 1024) -> bytes:
    """The catalog inside an object stream padded with ``size`` bytes of zeros once inflated."""
    catalog = b"<</Type/Catalog/Pages 2 0 R>>"
    head = b"1 0\n"
    zeros = deflated_zeros(size)
    # The stream's data: the header and the catalog, then zeros (PDF whitespace) — one zlib stream.
    prefix = zlib.compressobj(9, zlib.DEFLATED, -15)
    lead = prefix.compress(head + catalog + b"\n") + prefix.flush(zlib.Z_FULL_FLUSH)
    body = zeros[2:-4]  # the zeros' raw blocks, behind the lead's
    adler = zlib.adler32(head + catalog + b"\n")
    adler = _adler32_append_zeros(adler, size)
    data = b"\x78\xda" + lead + body + struct.pack(">I", adler)
    stream = b"<</Type/ObjStm/N 1/First %d/Length %d/Filter/FlateDecode>>\nstream\n%s\nendstream" % (
        len(head),
        len(data),
        data,
    )
    return assemble({2: ONE_PAGE[2], 3: PAGE, 4: stream}, compressed={1: (4, 0)})


def _adler32_append_zeros(adler: int, count: int) -> int:
    """The Adler-32 of some data followed by ``count`` zero bytes, from the data's Adler-32."""
    a, b = adler & 0xFFFF, adler >> 16
    return ((b + count * a) % 65521) << 16 | a


def encrypted() -> bytes:
    """One page, encrypted (RC4-128 with pypdf's defaults) under a user password."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain())))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def open_action_javascript() -> bytes:
    """One page that runs JavaScript when opened (/OpenAction /S /JavaScript /JS)."""
    action = b"<</Type/Action/S/JavaScript/JS(app.alert\\(1\\))>>"
    catalog = b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>"
    return classic({**ONE_PAGE, 1: catalog, 4: action})


def field_that_is_its_own_kid() -> bytes:
    """A signature field whose /Kids holds itself: a form-tree walk that does not remember what it
    visited never ends."""
    catalog = b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]>>>>"
    return classic({**ONE_PAGE, 1: catalog, 4: b"<</FT/Sig/T(seal)/Kids[4 0 R]>>"})


def page_tree_loop() -> bytes:
    """A page tree whose /Kids holds its own root."""
    return classic({**ONE_PAGE, 2: b"<</Type/Pages/Kids[2 0 R 3 0 R]/Count 2>>"})


def self_reference() -> bytes:
    """An object that is only a reference to itself, standing where the form dictionary goes."""
    catalog = b"<</Type/Catalog/Pages 2 0 R/AcroForm 4 0 R>>"
    return classic({**ONE_PAGE, 1: catalog, 4: b"4 0 R"})
