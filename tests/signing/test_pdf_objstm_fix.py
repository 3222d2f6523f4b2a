"""pyHanko's object-stream reader, replaced (signing/pdf_objstm_fix.py): a stream's header is parsed
once, not once per object read — and every object, error and strict-mode refusal is pyHanko's own."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

import signing.pdf_objstm_fix as fix
from tests.hostile import PAGE, assemble, fields_in_one_object_stream, object_stream, stream_object

CATALOG = {1: b"<</Type/Catalog/Pages 2 0 R>>", 2: b"<</Type/Pages/Kids[3 0 R]/Count 1>>", 3: PAGE}
MEMBERS = [(10, b"<</A 1>>"), (11, b"[1 2 3]"), (12, b"(a string)"), (13, b"42"), (14, b"/Name")]


@pytest.fixture
def header_parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many numbers pyHanko's number reader parsed (an object stream's header is numbers)."""
    calls = [0]
    original = generic.NumberObject.read_from_stream

    def counting(stream):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(stream)

    monkeypatch.setattr(generic.NumberObject, "read_from_stream", staticmethod(counting))
    yield calls


def _read_every_field(data: bytes) -> int:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    return sum(1 for ref in reader.root["/AcroForm"]["/Fields"] if ref.get_object()["/T"] == "f")


def test_the_patch_is_applied_when_signing_is_imported() -> None:
    assert fix.PATCHED, "pyHanko's _get_object_from_stream changed: re-check signing/pdf_objstm_fix.py"
    assert PdfFileReader._get_object_from_stream is fix.get_object_from_stream
    assert fix.apply() is True  # idempotent
    assert fix.ORIGINAL is not fix.get_object_from_stream


def test_reading_every_object_of_a_stream_parses_its_header_once(header_parses: list[int]) -> None:
    count = 600
    assert _read_every_field(fields_in_one_object_stream(count)) == count
    # Two numbers per header entry, once; plus what the rest of the file holds.
    assert header_parses[0] < 3 * count + 100


def test_pyhankos_own_reader_parses_the_header_again_for_every_object(
    header_parses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the patch exists: without it the same file costs a quadratic number of parses."""
    monkeypatch.setattr(PdfFileReader, "_get_object_from_stream", fix.ORIGINAL)
    count = 600
    assert _read_every_field(fields_in_one_object_stream(count)) == count
    assert header_parses[0] > count * count // 2


def _stream_pdf(stream: bytes, listed: dict[int, int]) -> bytes:
    """The catalog, and object 4 an object stream whose objects ``listed`` (number → index) the
    cross-reference stream says it holds."""
    return assemble({**CATALOG, 4: stream}, compressed={n: (4, i) for n, i in listed.items()})


def _intact() -> dict[int, int]:
    return {number: index for index, (number, _) in enumerate(MEMBERS)}


CASES = {
    "intact": _stream_pdf(object_stream(MEMBERS), _intact()),
    "a number listed twice in the header": _stream_pdf(
        object_stream(MEMBERS, header=b"10 0 11 9 10 17 13 30 14 33"), _intact()
    ),
    "an object at another index than the cross-reference says": _stream_pdf(
        object_stream(MEMBERS), {10: 1, 11: 0, 12: 2, 13: 4, 14: 3}
    ),
    "a header damaged halfway": _stream_pdf(
        object_stream(MEMBERS, header=b"10 0 11 9 12 x 13 30 14 33"), _intact()
    ),
    "a header that ends before /N entries": _stream_pdf(object_stream(MEMBERS, n=9), {**_intact(), 20: 6}),
    "a header that runs into the end of the stream": _stream_pdf(
        object_stream([], header=b"10 0 11 0", n=9), {10: 0, 11: 1, 12: 2}
    ),
    "a header longer than /N": _stream_pdf(object_stream(MEMBERS, n=3), _intact()),
    "an object the header does not list": _stream_pdf(object_stream(MEMBERS[:3]), _intact()),
    "an unreadable object": _stream_pdf(object_stream([*MEMBERS[:2], (12, b")(<<")]), _intact()),
    "a reference where an object belongs": _stream_pdf(
        object_stream([*MEMBERS[:2], (12, b"3 0 R")]), _intact()
    ),
    "an offset beyond the data": _stream_pdf(
        object_stream(MEMBERS, header=b"10 0 11 9 12 9999 13 30 14 33"), _intact()
    ),
    "a fractional offset": _stream_pdf(
        object_stream(MEMBERS, header=b"10 0 11 9.5 12 17 13 30 14 33"), _intact()
    ),
    "an index past /N": _stream_pdf(object_stream(MEMBERS), {**_intact(), 15: 7}),
    "a stream that is not an object stream": _stream_pdf(stream_object(b"/Type/XObject", b"x"), _intact()),
}


def _outcomes(data: bytes, strict: bool) -> list[object]:
    """What reading objects 10–21 gives, in order: a description of each object, or of its error."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=strict)
    except Exception as exc:
        return [("open", type(exc).__name__, str(exc))]
    out: list[object] = []
    for number in range(10, 22):
        try:
            obj = reader.get_object(generic.Reference(number, 0, reader))
        except BaseException as exc:  # pyHanko asserts too: compare whatever it raises
            out.append((type(exc).__name__, str(exc)))
        else:
            out.append((type(obj).__name__, None if isinstance(obj, generic.NullObject) else repr(obj)))
    return out


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_object_and_error_is_pyhankos(case: str, strict: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    data = CASES[case]
    patched = _outcomes(data, strict)
    monkeypatch.setattr(PdfFileReader, "_get_object_from_stream", fix.ORIGINAL)
    assert patched == _outcomes(data, strict)
