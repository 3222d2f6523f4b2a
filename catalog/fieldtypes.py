"""The field types of the catalog bodies: codes, names and texts, enumerations, lists without repeats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from catalog.codes import catalog_code_valid, identifier_valid, type_code_valid, validate_uscc
from catalog.errors import InvalidUSCC, USCCNotCompact
from catalog.validation import error_below

__all__ = [
    "USCC",
    "CatalogCode",
    "Description",
    "FieldType",
    "HolderKind",
    "Identifier",
    "Keyword",
    "Label",
    "Name",
    "OrganizationKind",
    "Sharing",
    "TypeCode",
    "unique",
]

T = TypeVar("T")


def _check_uscc(value: str) -> str:
    try:
        return validate_uscc(value, compact_only=True)
    except USCCNotCompact as exc:
        raise PydanticCustomError("uscc", exc.reason) from None
    except InvalidUSCC as exc:
        raise PydanticCustomError(
            "uscc", "not a valid USCC (统一社会信用代码): {reason}", {"reason": exc.reason}
        ) from None


def _check_type_code(value: str) -> str:
    if not type_code_valid(value):
        raise PydanticCustomError(
            "type_code", "a certificate type code is the defining organization's USCC followed by 3 digits"
        )
    return value


def _check_catalog_code(value: str) -> str:
    if not catalog_code_valid(value):
        raise PydanticCustomError(
            "catalog_code", "a code is 1–64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return value


def _check_identifier(value: str) -> str:
    if not identifier_valid(value):
        raise PydanticCustomError(
            "identifier", "must be snake_case: a lowercase letter, then lowercase letters, digits or '_'"
        )
    return value


USCC = Annotated[str, AfterValidator(_check_uscc)]
TypeCode = Annotated[str, AfterValidator(_check_type_code)]
CatalogCode = Annotated[str, AfterValidator(_check_catalog_code)]
Identifier = Annotated[str, AfterValidator(_check_identifier)]
# Names, labels and keywords are one line of printable text; descriptions may break lines. Control
# characters (NUL, which PostgreSQL refuses, escape sequences, bells) are refused everywhere.
_LINE = r"^[^\x00-\x1f\x7f]*$"
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_LINE)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_LINE)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=_TEXT)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=_LINE)]

Sharing = Literal["unconditional", "conditional", "none"]
HolderKind = Literal["111", "001"]
# identity_number: a 公民身份号码, checked like a holder code; always personal data (see FieldDef.personal).
FieldType = Literal["string", "date", "number", "boolean", "identity_number"]
OrganizationKind = Literal["department", "portal", "operator"]


def unique(message: str, *, by: str | None = None) -> AfterValidator:
    """A validator for a list field that refuses a repeat, naming the second occurrence.

    ``by`` compares that attribute of each element (and the error names it, e.g. ``fields[1].name``);
    ``message`` is formatted with the repeated value: ``"field {!r} is defined twice"``.
    """
    key: Callable[[Any], Any] = (lambda element: element) if by is None else (lambda e: getattr(e, by))

    def check(values: list[T]) -> list[T]:
        seen: set[Any] = set()
        for index, element in enumerate(values):
            value = key(element)
            if value in seen:
                raise error_below((index,) if by is None else (index, by), message.format(value))
            seen.add(value)
        return values

    return AfterValidator(check)
