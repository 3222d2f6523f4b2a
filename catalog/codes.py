"""The catalog's code formats: 统一社会信用代码 (USCC), certificate type codes, catalog codes, identifiers."""

from __future__ import annotations

import re

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from catalog.errors import InvalidUSCC, USCCNotCompact

__all__ = [
    "USCC_NOT_COMPACT",
    "catalog_code_valid",
    "identifier_valid",
    "type_code_valid",
    "uscc_valid",
    "validate_uscc",
]

# Codes of items, data resources, one-things and materials travel in URL paths: no slash, no space.
_CATALOG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
# Field names and question ids end up as JSON keys and form names: identifier-like snake_case.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TYPE_CODE_SUFFIX = re.compile(r"[0-9]{3}")

USCC_NOT_COMPACT = "a USCC is written as 18 capital letters and digits, no separators"


def validate_uscc(code: str, *, field: str | None = None, compact_only: bool = False) -> str:
    """The compact form of a 统一社会信用代码 (GB 32100, check character verified), or InvalidUSCC.

    The one USCC check of the hub. ``compact_only`` refuses (USCCNotCompact) a code written with
    separators or lowercase letters instead of compacting it; ``field`` goes into the error.
    """
    compact = uscc.compact(code)
    if compact_only and compact != code:
        raise USCCNotCompact(code, USCC_NOT_COMPACT, field=field)
    try:
        return str(uscc.validate(compact))
    except StdnumError as exc:
        raise InvalidUSCC(code, str(exc), field=field) from None


def uscc_valid(code: str) -> bool:
    """True for a 统一社会信用代码 (GB 32100) in canonical form: 18 characters, valid check character."""
    if not isinstance(code, str):
        return False
    try:
        validate_uscc(code, compact_only=True)
    except InvalidUSCC:
        return False
    return True


def type_code_valid(code: str) -> bool:
    """True for a certificate type code: the defining organization's USCC followed by 3 digits."""
    return (
        isinstance(code, str)
        and len(code) == 21
        and uscc_valid(code[:18])
        and _TYPE_CODE_SUFFIX.fullmatch(code[18:]) is not None
    )


def catalog_code_valid(code: str) -> bool:
    """True for a code of an item, data resource, one-thing or material (URL-safe, 1–64 chars)."""
    return isinstance(code, str) and _CATALOG_CODE.fullmatch(code) is not None


def identifier_valid(name: str) -> bool:
    """True for a field name or question id: snake_case, a lowercase letter first, up to 64 chars."""
    return _IDENTIFIER.fullmatch(name) is not None
