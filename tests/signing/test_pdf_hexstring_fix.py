"""pyHanko's hex-string reader, replaced (signing/pdf_hexstring_fix.py): same objects, same stream
position, same errors as pyHanko's own on every input — well-formed, odd, commented or hostile."""

from __future__ import annotations

import io
import random

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

import signing.pdf_hexstring_fix as fix

WHITESPACE = b" \n\r\t\f\x00"


def _outcome(reader, data: bytes):  # type: ignore[no-untyped-def]
    """What a reader makes of ``data``: (type, value, position after) or the error's type."""
    stream = io.BytesIO(data)
    try:
        obj = reader(stream)
    except Exception as exc:  # compare whatever pyHanko raises
        return ("error", type(exc))
    return (type(obj), bytes(obj) if isinstance(obj, bytes) else str(obj), stream.tell())


def _same(data: bytes) -> None:
    assert _outcome(fix.read_hex_string_from_stream, data) == _outcome(fix.ORIGINAL, data), data[:80]


def test_the_patch_is_applied_when_signing_is_imported() -> None:
    assert fix.PATCHED and generic.read_hex_string_from_stream is fix.read_hex_string_from_stream
    assert fix.apply() is True  # idempotent
    assert fix.ORIGINAL is not fix.read_hex_string_from_stream


@pytest.mark.parametrize(
    "data",
    [
        b"<>",
        b"<41>",
        b"<414>",  # odd: padded with 0, as pyHanko does
        b"<4 1\n4\r2\t\f\x0043>",
        b"<FEFF004100420043>",  # a UTF-16 text string
        b"<feff00e4>rest",  # the position after ">" matters to the caller
        b"<41 % a comment > with a bracket\n 42>",  # comments are pyHanko's to skip
        b"<41%\n42>",
        b"<4G>",  # not a hex digit
        b"<41 <42>",
        b"<41",  # no end
        b"<",
        b"<41 %",
        "<41é>".encode(),
    ],
)
def test_edge_cases_match_pyhanko(data: bytes) -> None:
    _same(data)


def test_random_inputs_match_pyhanko() -> None:
    rng = random.Random(20261201)
    alphabet = b"0123456789abcdefABCDEF"
    noise = WHITESPACE + b"%<>()[]/gG\xff"
    for _ in range(3000):
        n = rng.randrange(0, 200)
        digits = bytes(rng.choice(alphabet) for _ in range(n))
        body = bytearray()
        for d in digits:
            body.append(d)
            if rng.random() < 0.2:
                body += bytes(rng.choice(WHITESPACE) for _ in range(rng.randrange(1, 3)))
            if rng.random() < 0.01:
                body.append(rng.choice(noise))
        tail = rng.choice([b">", b"> 0 obj", b"", b">>", b"\n>"])
        _same(b"<" + bytes(body) + tail)


def test_a_long_string_across_read_chunks() -> None:
    digits = bytes(random.Random(1).choice(b"0123456789abcdef") for _ in range(3 * 64 * 1024 + 7))
    data = b"<" + digits + b">trailer"
    _same(data)
    stream = io.BytesIO(data)
    obj = fix.read_hex_string_from_stream(stream)
    raw = obj.original_bytes if isinstance(obj, generic.TextStringObject) else bytes(obj)
    assert raw == bytes.fromhex((digits + b"0").decode())
    assert stream.read() == b"trailer"


def test_malformed_input_raises_pyhankos_error() -> None:
    with pytest.raises(PdfStreamError):
        fix.read_hex_string_from_stream(io.BytesIO(b"<4G>"))
    with pytest.raises(PdfStreamError):
        fix.read_hex_string_from_stream(io.BytesIO(b"<41"))
