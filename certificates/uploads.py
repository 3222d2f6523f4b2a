"""Checks on a PDF a department sends instead of having the hub render it.

The file will be sealed with the hub's key and handed to citizens and other agencies, so it must be
a plain document: readable, not encrypted, with no scripts, actions that start programs, or files
hidden inside.
"""

from __future__ import annotations

import io
import zlib
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from certificates.errors import PdfEncrypted, PdfTooLarge, PdfUnreadable, PdfWithoutPages
from kernel.errors import ValidationFailed
from signing.errors import SealingFailed
from signing.pades import check_sealable

FIELD = "file"
# What the file's Flate streams may inflate to in all: a page of zeros that inflates 1,000-fold
# (a 1 MB file, 1 GB of content) would be sealed and then stall every viewer and verifier.
INFLATION_RATIO = 100
MAX_INFLATED_BYTES = 256 * 1024 * 1024
_STEP = 4 * 1024 * 1024

# Actions that run something other than navigation inside the document.
_SCRIPT_ACTIONS = {"/JavaScript"}
_ACTIVE_ACTIONS = {"/Launch", "/ImportData", "/RichMediaExecute", "/GoToE", "/SubmitForm", "/Rendition"}
# Findings in the order they are reported when a file has several.
_PRIORITY = ["pdf_javascript", "pdf_active_content", "pdf_attachment"]
_MESSAGES = {
    "pdf_javascript": "the PDF contains JavaScript or automatic actions",
    "pdf_active_content": "the PDF contains actions that launch programs, submit data or play media",
    "pdf_attachment": "the PDF carries embedded files or file attachments",
}


def check_uploaded_pdf(data: bytes, *, max_bytes: int) -> None:
    """Refuse a department's PDF unless it is readable, unencrypted, passive and within ``max_bytes``."""
    if len(data) > max_bytes:
        raise PdfTooLarge(f"the PDF is larger than {max_bytes} bytes", field=FIELD)
    if b"%PDF-" not in data[:1024]:  # where readers look for the header
        raise PdfUnreadable("the file is not a PDF", field=FIELD)
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise PdfUnreadable("the PDF cannot be read", field=FIELD) from exc
    if encrypted:
        raise PdfEncrypted("the PDF is encrypted", field=FIELD)
    budget = min(MAX_INFLATED_BYTES, max(16 * 1024 * 1024, INFLATION_RATIO * len(data)))
    try:
        pages = len(reader.pages)
        findings = _scan(reader, budget)
    except Exception as exc:  # pypdf reports damage with many exception types
        raise PdfUnreadable("the PDF cannot be read", field=FIELD) from exc
    if "pdf_inflation" in findings:
        raise PdfTooLarge(f"the PDF's content inflates to more than {budget} bytes", field=FIELD)
    if pages == 0:
        raise PdfWithoutPages("the PDF has no pages", field=FIELD)
    try:
        check_sealable(data)  # pypdf repairs what pyHanko, which seals it, refuses
    except SealingFailed as exc:
        raise PdfUnreadable("the PDF's structure is damaged (it cannot be sealed)", field=FIELD) from exc
    for code in _PRIORITY:
        if code in findings:
            raise ValidationFailed(_MESSAGES[code], field=FIELD, code=code)


def _scan(reader: PdfReader, inflation_budget: int) -> set[str]:
    """Visit every object reachable from the trailer and note what is not allowed.

    Dictionaries are inspected; stream contents only inflated, a step at a time, to learn their
    total size (``pdf_inflation`` once it passes ``inflation_budget``), never kept.
    """
    findings: set[str] = set()
    seen: set[tuple[int, int]] = set()
    inflated = 0
    stack: list[Any] = [reader.trailer]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams are dictionaries too
            _inspect(item, findings)
            if "pdf_inflation" not in findings and _name(_first_filter(item)) == "/FlateDecode":
                inflated += _inflated_size(getattr(item, "_data", b""), inflation_budget - inflated)
                if inflated > inflation_budget:
                    findings.add("pdf_inflation")
            stack.extend(value for name, value in item.items() if name not in {"/Parent", "/P"})
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return findings


def _inspect(obj: DictionaryObject, findings: set[str]) -> None:
    keys = set(obj.keys())
    # /AA: actions run on open, close, focus, page view… there is no harmless use on a certificate.
    if keys & {"/JS", "/JavaScript", "/AA"}:
        findings.add("pdf_javascript")
    if "/XFA" in keys:  # XFA forms carry their own scripts
        findings.add("pdf_javascript")
    action = _name(obj.get("/S"))
    if action in _SCRIPT_ACTIONS:
        findings.add("pdf_javascript")
    elif action in _ACTIVE_ACTIONS:
        findings.add("pdf_active_content")
    if _name(obj.get("/Subtype")) in {"/RichMedia", "/Screen", "/Movie", "/Sound"}:
        findings.add("pdf_active_content")
    if keys & {"/EmbeddedFiles", "/EF"}:
        findings.add("pdf_attachment")
    if _name(obj.get("/Subtype")) == "/FileAttachment" or _name(obj.get("/Type")) == "/EmbeddedFile":
        findings.add("pdf_attachment")


def _first_filter(obj: DictionaryObject) -> Any:
    value = obj.get("/Filter")
    if isinstance(value, IndirectObject):
        value = value.get_object()
    return value[0] if isinstance(value, ArrayObject) and value else value


def _inflated_size(encoded: bytes, budget: int) -> int:
    """How many bytes ``encoded`` inflates to, counting no further than one past ``budget``."""
    inflater = zlib.decompressobj()
    total, pending = 0, encoded
    try:
        while pending and total <= budget:
            total += len(inflater.decompress(pending, _STEP))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # a damaged stream: viewers show what inflated; the budget still counts it
    return total


def _name(value: Any) -> str | None:
    if isinstance(value, IndirectObject):
        value = value.get_object()
    return str(value) if isinstance(value, NameObject) else None
