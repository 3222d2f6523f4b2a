"""Incremental updates written directly, for the plain PDFs the hub renders itself.

pyHanko reads a whole document into an object model and writes its update back out through it:
general, and the reference path for every PDF a department uploads. The hub's own certificates are
always the same simple shape — one classic cross-reference table, a flat page tree, no forms, no
annotations, no encryption — so for them an update is a few objects appended as bytes:
``SimplePdf.parse`` checks that shape (anything else raises ``NotSimple`` and goes to pyHanko), and
``Update`` appends new and changed objects with their cross-reference section (ISO 32000-2 7.5.6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NotSimple", "SimplePdf", "Update", "text_string"]

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_SUBSECTION = re.compile(rb"(\d+) (\d+)\s*\r?\n")
_REF = rb"(\d+) 0 R"


class NotSimple(Exception):
    """The document is not of the simple shape the direct path writes updates for."""


@dataclass(frozen=True)
class SimplePdf:
    """What an update needs from a simple document: its trailer and the objects it rewrites."""

    data: bytes
    startxref: int
    size: int
    root: int
    info: int | None
    ids: bytes | None  # the trailer's /ID array, as written
    catalog: bytes  # the catalog dictionary, ``<< … >>``
    pages: tuple[int, ...]  # page object numbers, in order
    offsets: dict[int, int]

    @classmethod
    def parse(cls, data: bytes) -> SimplePdf:
        """Read the trailer, catalog and page tree of ``data``; ``NotSimple`` unless the shape is plain."""
        found = _STARTXREF.search(data, max(0, len(data) - 64))
        if found is None or not data.startswith(b"%PDF-"):
            raise NotSimple("no startxref at the end")
        startxref = int(found.group(1))
        if data[startxref : startxref + 4] != b"xref":
            raise NotSimple("not a classic cross-reference table")
        trailer_at = data.find(b"trailer", startxref, found.start())
        if trailer_at < 0:
            raise NotSimple("no trailer")
        offsets = _xref_offsets(data[startxref + 4 : trailer_at])
        trailer = data[trailer_at + 7 : found.start()]
        if any(key in trailer for key in (b"/Prev", b"/Encrypt", b"/XRefStm")):
            raise NotSimple("the document has been updated before, or is encrypted")
        size, root = _int(trailer, rb"/Size (\d+)"), _int(trailer, rb"/Root " + _REF)
        info = _int(trailer, rb"/Info " + _REF, required=False) or None
        ids = re.search(rb"/ID\s*(\[[^\]]*\])", trailer)
        pdf = cls(data, startxref, size, root, info, ids.group(1) if ids else None, b"", (), offsets)
        catalog = pdf.dictionary(root)
        if b"/Catalog" not in catalog or any(k in catalog for k in (b"/AcroForm", b"/DSS", b"/Perms")):
            raise NotSimple("the catalog already has forms, a DSS or permissions")
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", pdf.dictionary(_int(catalog, rb"/Pages " + _REF)))
        if kids is None:
            raise NotSimple("no page list")
        pages = tuple(int(n) for n in re.findall(_REF, kids.group(1)))
        for page in pages:
            if not re.search(rb"/Type\s*/Page\b", pdf.dictionary(page)):
                raise NotSimple("a nested page tree")
        return cls(data, startxref, size, root, info, pdf.ids, catalog, pages, offsets)

    def dictionary(self, number: int) -> bytes:
        """Object ``number``'s dictionary (``<< … >>``); ``NotSimple`` if it holds strings or a stream."""
        offset = self.offsets.get(number)
        if offset is None:
            raise NotSimple(f"object {number} is not in the cross-reference table")
        header = re.compile(rb"%d 0 obj\s*" % number).match(self.data, offset)
        if header is None or self.data[header.end() : header.end() + 2] != b"<<":
            raise NotSimple(f"object {number} is not a dictionary where the table says")
        start = header.end()
        depth, i = 0, start
        while i < len(self.data):
            two = self.data[i : i + 2]
            if two == b"<<":
                depth, i = depth + 1, i + 2
                continue
            if two == b">>":
                depth, i = depth - 1, i + 2
                if depth == 0:
                    break
                continue
            if self.data[i] in b"()":
                raise NotSimple(f"object {number} holds strings")
            i += 1
        body = self.data[start:i]
        if re.match(rb"\s*stream", self.data[i : i + 16]):
            raise NotSimple(f"object {number} is a stream")
        return body


def _xref_offsets(table: bytes) -> dict[int, int]:
    offsets: dict[int, int] = {}
    pos = len(table) - len(table.lstrip())
    while True:
        head = _SUBSECTION.match(table, pos)
        if head is None:
            break
        first, count = int(head.group(1)), int(head.group(2))
        pos = head.end()
        for number in range(first, first + count):
            entry = table[pos : pos + 20]
            if len(entry) < 18:
                raise NotSimple("a short cross-reference entry")
            if entry[17:18] == b"n":
                offsets[number] = int(entry[:10])
            pos += 20
        while pos < len(table) and table[pos] in b" \r\n":
            pos += 1
    if table[pos:].strip():
        raise NotSimple("an unreadable cross-reference table")
    return offsets


def _int(text: bytes, pattern: bytes, *, required: bool = True) -> int:
    found = re.search(pattern, text)
    if found is None:
        if required:
            raise NotSimple(f"no {pattern!r}")
        return 0
    return int(found.group(1))


def text_string(text: str) -> bytes:
    """A PDF text string: PDFDocEncoding-safe ASCII as a literal, anything else as UTF-16BE hex."""
    if text.isascii() and text.isprintable() and not any(c in text for c in "()\\"):
        return b"(" + text.encode() + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


class Update:
    """New and changed objects appended to a document, with their cross-reference section."""

    def __init__(
        self, base: bytes | bytearray, *, size: int, prev: int, root: int, info: int | None, ids: bytes | None
    ):
        self.base = base
        self.next_number = size
        self._prev, self._root, self._info, self._ids = prev, root, info, ids
        self._objects: list[tuple[int, bytes]] = []

    def reserve(self) -> int:
        """A fresh object number."""
        number = self.next_number
        self.next_number += 1
        return number

    def put(self, number: int, body: bytes) -> None:
        """Object ``number`` (new, or replacing the old one) is ``body``."""
        self._objects.append((number, body))

    def stream(self, number: int, entries: bytes, data: bytes) -> None:
        """Object ``number`` is a stream of ``data`` (already encoded) with dictionary ``entries``."""
        self.put(number, b"<<%s /Length %d>>\nstream\n%s\nendstream" % (entries, len(data), data))

    def write(self) -> tuple[bytearray, int, dict[int, int]]:
        """The whole document with the update appended, the offset of its cross-reference section,
        and where each object of the update starts."""
        out = bytearray(self.base)
        if not out.endswith(b"\n"):
            out += b"\n"
        offsets: dict[int, int] = {}
        for number, body in self._objects:
            offsets[number] = len(out)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n"
        numbers = sorted(offsets)
        run_start = 0
        for i in range(1, len(numbers) + 1):
            if i == len(numbers) or numbers[i] != numbers[i - 1] + 1:
                run = numbers[run_start:i]
                out += b"%d %d\n" % (run[0], len(run))
                for number in run:
                    out += b"%010d 00000 n \n" % offsets[number]
                run_start = i
        trailer = b"/Size %d /Root %d 0 R" % (self.next_number, self._root)
        if self._info:
            trailer += b" /Info %d 0 R" % self._info
        if self._ids:
            trailer += b" /ID " + self._ids
        trailer += b" /Prev %d" % self._prev
        out += b"trailer\n<<%s>>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
        return out, xref, offsets
