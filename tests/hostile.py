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
