"""The direct sealing path: a PAdES seal written as bytes around parts encoded once.

For a document of the simple shape ``signing.pdf_update`` accepts (every certificate the hub
renders), sealing is: append the signature field, its widget with the department's seal image
(pre-compressed, ``signing.seal_image``) and a signature dictionary with room reserved for the CMS;
hash the byte range; sign the signed attributes of a ``SignedDataTemplate``; timestamp the
signature; write the CMS into the reserved room; for B-LT append the DSS (certificates, OCSP
responses and CRLs fetched and checked once per seal and refresh, ``DssMaterial``) in a second
update, as pyHanko does. No object model is built and nothing is re-serialized. The result has
the same structure as pyHanko's: the tests check every such file with pyHanko's validator, poppler's
``pdfsig`` and ``qpdf --check``. Anything else goes through pyHanko (``signing.pades``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from signing.pdf_update import NotSimple, SimplePdf, Update, text_string
from signing.seal_image import SealImage
from signing.signed_data import SIGNATURE_TIME_STAMP_TOKEN, SignedDataTemplate, attribute

__all__ = ["DssMaterial", "ReservedTooSmall", "seal_simple"]

_BYTE_RANGE_ROOM = b"0 0000000000 0000000000 0000000000"


class ReservedTooSmall(Exception):
    """The CMS came out larger than the room reserved for it (an unusual timestamp authority)."""


@dataclass(frozen=True)
class DssMaterial:
    """What a B-LT seal's document security store holds, as DER: checked once, embedded in every file."""

    certificates: tuple[bytes, ...]
    ocsp_responses: tuple[bytes, ...]
    crls: tuple[bytes, ...]


async def seal_simple(
    pdf: SimplePdf,
    *,
    template: SignedDataTemplate,
    sign: Callable[[bytes], Awaitable[bytes]],
    timestamp: Callable[[bytes], Awaitable[bytes]] | None,
    dss: DssMaterial | None,
    image: SealImage,
    page: int,
    box: tuple[int, int, int, int],
    field_name: str,
    signer_name: str,
    reason: str | None,
    location: str | None,
    reserved: int,
    now: datetime | None = None,
) -> bytes:
    """``pdf`` sealed: ``sign`` signs the DER signed attributes, ``timestamp`` (if any) returns a DER
    token over a SHA-256 digest, ``reserved`` is the room for the hex-encoded CMS."""
    page_number = pdf.pages[page]
    page_dict = pdf.dictionary(page_number)
    if b"/Annots" in page_dict:
        raise NotSimple("the page has annotations")
    update = Update(pdf.data, size=pdf.size, prev=pdf.startxref, root=pdf.root, info=pdf.info, ids=pdf.ids)
    widget, signature, appearance, picture, mask = (update.reserve() for _ in range(5))
    acroform = b"/AcroForm << /Fields [%d 0 R] /SigFlags 3 >>" % widget
    update.put(pdf.root, _extended(pdf.catalog, acroform))
    update.put(page_number, _extended(page_dict, b"/Annots [%d 0 R]" % widget))
    rect = b"%d %d %d %d" % box
    update.put(
        widget,
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /F 132 /T %s /Rect [%s] /P %d 0 R /V %d 0 R"
        b" /AP << /N %d 0 R >> >>" % (text_string(field_name), rect, page_number, signature, appearance),
    )
    common = b" /Type /XObject /Subtype /Image /Width %d /Height %d" % (image.width, image.height)
    common += b" /BitsPerComponent 8 /Filter /FlateDecode"
    update.stream(mask, common + b" /ColorSpace /DeviceGray", image.alpha_flate)
    update.stream(picture, common + b" /ColorSpace /DeviceRGB /SMask %d 0 R" % mask, image.rgb_flate)
    width, height = box[2] - box[0], box[3] - box[1]
    update.stream(
        appearance,
        b" /Type /XObject /Subtype /Form /BBox [0 0 %d %d] /Resources << /XObject << /Seal %d 0 R >> >>"
        % (width, height, picture),
        b"q %d 0 0 %d 0 0 cm /Seal Do Q" % (width, height),
    )
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    entries = [
        b"/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached",
        b"/Name " + text_string(signer_name),
        moment.strftime("/M (D:%Y%m%d%H%M%S+00'00')").encode(),
    ]
    if reason:
        entries.append(b"/Reason " + text_string(reason))
    if location:
        entries.append(b"/Location " + text_string(location))
    entries.append(b"/ByteRange [" + _BYTE_RANGE_ROOM + b"]")
    entries.append(b"/Contents <" + b"0" * reserved + b">")
    update.put(signature, b"<< " + b" ".join(entries) + b" >>")
    out, xref, offsets = update.write()

    # The byte range: everything but the hex string of /Contents (its angle brackets included).
    room = out.index(b"/ByteRange [", offsets[signature]) + len(b"/ByteRange [")
    start = out.index(b"/Contents <", room) + len(b"/Contents ")
    end = start + reserved + 2
    ranges = b"0 %d %d %d" % (start, end, len(out) - end)
    out[room : room + len(_BYTE_RANGE_ROOM)] = ranges.ljust(len(_BYTE_RANGE_ROOM))
    view = memoryview(out)
    digest = hashlib.sha256(view[:start])
    digest.update(view[end:])
    view.release()

    signed_attributes = template.signed_attributes(digest.digest())
    signature_value = await sign(signed_attributes)
    unsigned = []
    if timestamp is not None:
        token = await timestamp(hashlib.sha256(signature_value).digest())
        unsigned.append(attribute(SIGNATURE_TIME_STAMP_TOKEN, token))
    cms = template.assemble(signed_attributes, signature_value, unsigned_attributes=unsigned).hex().encode()
    if len(cms) > reserved:
        raise ReservedTooSmall(f"the CMS needs {len(cms)} hex digits, {reserved} were reserved")
    out[start + 1 : start + 1 + len(cms)] = cms
    if dss is None:
        return bytes(out)
    return bytes(_with_dss(out, pdf, xref, update.next_number, acroform, dss))


def _with_dss(
    signed: bytearray, pdf: SimplePdf, prev: int, size: int, acroform: bytes, dss: DssMaterial
) -> bytearray:
    """A second update holding the document security store (B-LT), as pyHanko writes it."""
    update = Update(signed, size=size, prev=prev, root=pdf.root, info=pdf.info, ids=pdf.ids)
    arrays = []
    for key, blobs in ((b"/Certs", dss.certificates), (b"/OCSPs", dss.ocsp_responses), (b"/CRLs", dss.crls)):
        numbers = []
        for blob in blobs:
            number = update.reserve()
            update.stream(number, b"", blob)
            numbers.append(b"%d 0 R" % number)
        if numbers:
            arrays.append(key + b" [" + b" ".join(numbers) + b"]")
    store = update.reserve()
    update.put(store, b"<< /Type /DSS " + b" ".join(arrays) + b" >>")
    update.put(pdf.root, _extended(pdf.catalog, acroform + b" /DSS %d 0 R" % store))
    out, _, _ = update.write()
    return out


def _extended(dictionary: bytes, entries: bytes) -> bytes:
    """``dictionary`` (``<< … >>``) with ``entries`` added before its end."""
    return dictionary[:-2].rstrip() + b"\n" + entries + b"\n>>"
