"""A faster reader for PDF hex strings in pyHanko, applied when ``signing`` is imported.

pyHanko (0.38) reads a hex string ``<…>`` one byte at a time in Python: a ``read(1)``, a
whitespace loop and a membership test per hex digit. A seal's ``/Contents`` is such a string —
10–20 thousand digits for a hub seal — so every validation of a sealed PDF spent about 6 ms, a
quarter of pyHanko's whole validation, just reading the CMS blob's hex (measured in
docs/benchmarks.md, "Verification").

The replacement reads ahead to the closing ``>``, drops PDF whitespace with ``bytes.translate`` and
decodes with ``binascii``. Whenever the string holds anything else — a comment (``%``), a character
that is not a hex digit, or no ``>`` before the end of the stream — it rewinds and hands the stream
to pyHanko's own reader, so comments are skipped and malformed input raises exactly as before. The
result (padding of an odd digit count with ``0``, ``pdf_string`` of the bytes) and the stream
position after the call are pyHanko's; ``tests/signing/test_pdf_hexstring_fix.py`` checks both on
random and hostile inputs against the original.
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Callable
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

__all__ = ["ORIGINAL", "PATCHED", "apply", "read_hex_string_from_stream"]

_HEX_DIGITS = b"0123456789abcdefABCDEF"
_CHUNK = 64 * 1024
PATCHED_FLAG = "_hub_fast_hex_strings"

ORIGINAL: Callable[[Any], Any] = getattr(generic, "_hub_original_read_hex_string", None) or (
    generic.read_hex_string_from_stream
)


def read_hex_string_from_stream(stream: Any) -> Any:
    """pyHanko's ``read_hex_string_from_stream``, reading the digits in one piece when it can."""
    start = stream.tell()
    stream.read(1)  # the opening "<"
    parts: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:  # no ">" before the end: let pyHanko raise its own error
            stream.seek(start, io.SEEK_SET)
            return ORIGINAL(stream)
        end = chunk.find(b">")
        if end >= 0:
            parts.append(chunk[:end])
            break
        parts.append(chunk)
    raw = b"".join(parts)
    digits = raw.translate(None, PDF_WHITESPACE)
    if digits.translate(None, _HEX_DIGITS):  # a comment, or a character pyHanko refuses
        stream.seek(start, io.SEEK_SET)
        return ORIGINAL(stream)
    stream.seek(start + 1 + len(raw) + 1, io.SEEK_SET)  # just after the ">", as pyHanko leaves it
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def apply() -> bool:
    """Install the reader once (``read_object`` looks the function up in its module each call)."""
    if getattr(generic, PATCHED_FLAG, False):
        return True
    generic._hub_original_read_hex_string = ORIGINAL  # type: ignore[attr-defined]
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    setattr(generic, PATCHED_FLAG, True)
    return True


PATCHED = apply()
