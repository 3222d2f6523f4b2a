"""Object streams read once, not once per object, in pyHanko's reader; applied when ``signing`` is imported.

pyHanko (0.38) finds an object inside an object stream (``/Type /ObjStm``) by parsing the stream's
header — its pairs of object number and offset — from the start until it meets the object's
number, with pyHanko's byte-at-a-time number reader, every time an object of the stream is read.
Reading all N objects of one stream costs N²/2 header entries: a 34 kB PDF with 5,000 small form
fields in one object stream, all listed in ``/AcroForm /Fields`` (which ``enumerate_sig_fields``
reads to find the seals), held a CPU for 48 s of an anonymous ``POST /api/v1/verify``. pypdf had
the same loop and fixed it the same way (py-pdf/pypdf#3676, #3677).

The replacement parses a stream's header once, with pyHanko's own number reader, into a table kept
on the reader (first entry for each object number, as pyHanko's loop finds it, and where the header
stopped parsing, and why); then every object is one dictionary look-up and a ``read_object`` at
its offset, as before. Results, strict and non-strict behaviour and errors are pyHanko's — the
code below is its method with the loop replaced, and ``tests/signing/test_pdf_objstm_fix.py``
compares the two on intact, duplicated, misplaced and damaged headers. The patch is applied only
to the method it was written from (its source's SHA-256); a pyHanko whose method changed is left
alone, and the test says so.

This removes one quadratic path; what bounds the work on an untrusted PDF as a whole is the
caller's (the hub validates uploads in a worker process with time and memory limits).
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfStrictReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.reader import logger as _reader_logger

__all__ = ["ORIGINAL", "PATCHED", "apply", "get_object_from_stream"]

# pyHanko 0.38.0's PdfFileReader._get_object_from_stream, the method this one replaces.
WRITTEN_FOR = "985c7933a27ed6c9cbdaafc19f0134e0a28ad9f348965b6a812ca3dbb3a599db"
PATCHED_FLAG = "_hub_objstm_index"
_CACHE = "_hub_objstm_headers"

# pyHanko's readers, untyped: looked up at each call, as pyHanko's own method does.
_generic: Any = generic
_misc: Any = misc

ORIGINAL: Any = getattr(PdfFileReader, "_hub_original_get_object_from_stream", None) or (
    PdfFileReader._get_object_from_stream
)


@dataclass(frozen=True)
class _Header:
    """An object stream's header, parsed once: where each object number first appears (index and
    offset), up to the entry whose parsing failed, if one did, and the error it raised."""

    stream: Any  # the stream object the table was read from (the reader caches it)
    data: bytes
    entries: dict[int, tuple[int, Any]]
    error: Exception | None


def _read_header(stream: Any) -> _Header:
    data = stream.read_data(DecodePurpose.OBJECT_STREAM)
    stream_data = BytesIO(data)  # shares ``data``: no copy
    entries: dict[int, tuple[int, Any]] = {}
    error: Exception | None = None
    for i in range(stream["/N"]):
        try:
            _misc.read_non_whitespace(stream_data, seek_back=True)
            objnum = _generic.NumberObject.read_from_stream(stream_data)
            _misc.read_non_whitespace(stream_data, seek_back=True)
            offset = _generic.NumberObject.read_from_stream(stream_data)
            _misc.read_non_whitespace(stream_data, seek_back=True)
        except Exception as exc:  # pyHanko's loop would stop here for any later object
            error = exc
            break
        entries.setdefault(objnum, (i, offset))
    return _Header(stream, data, entries, error)


def _header(reader: Any, stmnum: int, stream: Any) -> _Header:
    cache: dict[int, _Header] | None = reader.__dict__.get(_CACHE)
    if cache is None:
        cache = reader.__dict__[_CACHE] = {}
    header = cache.get(stmnum)
    if header is None or header.stream is not stream:
        header = cache[stmnum] = _read_header(stream)
    return header


def get_object_from_stream(self: Any, idnum: int, stmnum: int, idx: int) -> Any:
    """pyHanko's ``PdfFileReader._get_object_from_stream``, with the stream's header parsed once."""
    # indirect reference to object in object stream
    # read the entire object stream into memory
    stream_ref = generic.Reference(stmnum, 0, self)
    stream = stream_ref.get_object()
    assert isinstance(stream, generic.StreamObject)
    # This is an xref to a stream, so its type better be a stream
    assert stream["/Type"] == "/ObjStm"
    # /N is the number of indirect objects in the stream
    if not (0 <= idx < stream["/N"]):
        if self.strict:
            raise PdfStrictReadError("Object stream does not contain index")
        else:
            return generic.NullObject()
    header = _header(self, stmnum, stream)
    found = header.entries.get(idnum)
    if found is None:
        if isinstance(header.error, ValueError):  # what pyHanko's loop catches
            if self.strict:
                raise PdfStrictReadError("Object stream header possibly corrupted")
            return generic.NullObject()
        if header.error is not None:  # what it lets through
            raise header.error
        if self.strict:
            raise PdfStrictReadError("Object not found in stream, this is a fatal error in strict mode")
        return generic.NullObject()
    i, offset = found
    if self.strict and idx != i:
        raise PdfStrictReadError("Object is in wrong index.")
    stream_data = BytesIO(header.data)
    first_object = stream["/First"]
    obj_start = first_object + offset
    stream_data.seek(obj_start)
    try:
        obj = generic.read_object(stream_data, generic.Reference(idnum, 0, self))
    except (misc.PdfStreamError, misc.PdfReadError) as e:
        # Stream object cannot be read. Normally, a critical error, but
        # Adobe Reader doesn't complain, so continue (in strict mode?)
        _reader_logger.warning(f"Invalid stream (index {i}) within object {idnum} 0: {e}")
        if self.strict:
            raise PdfStrictReadError(f"Can't read object stream: {e}") from e
        # Replace with null. Hopefully it's nothing important.
        obj = generic.NullObject()
    if isinstance(obj, (generic.StreamObject, generic.IndirectObject)):
        if self.strict:
            raise PdfStrictReadError("Encountered forbidden object type in object stream")
        else:
            return obj
    _generic.read_non_whitespace(stream_data, seek_back=True, allow_eof=True)
    return obj


def apply() -> bool:
    """Install the method once; True when pyHanko's reader is (now) patched."""
    if getattr(PdfFileReader, PATCHED_FLAG, False):
        return True
    source = inspect.getsource(ORIGINAL)
    if hashlib.sha256(source.encode()).hexdigest() != WRITTEN_FOR:
        return False  # not the method this was written from: leave it as it is
    PdfFileReader._hub_original_get_object_from_stream = ORIGINAL  # type: ignore[attr-defined]
    PdfFileReader._get_object_from_stream = get_object_from_stream  # type: ignore[method-assign]
    setattr(PdfFileReader, PATCHED_FLAG, True)
    return True


PATCHED = apply()
