"""Bodies of the catalog PUT requests (public contract, see api.md) and their validation.

Two layers of checks:

* structural — done by the pydantic models themselves: shapes, code formats, uniqueness inside one
  body, questionnaire conditions that only look backwards. Unknown keys are refused
  (``extra="forbid"``) so a typo fails loudly instead of being silently dropped.
* references — :func:`check_references` asks a :class:`CatalogLookup` whether every organization,
  certificate type, data resource and item a body mentions exists. The database layer implements
  the lookup over its tables; :mod:`catalog.catalogfile` implements it over a file being loaded.

Both report :class:`~kernel.errors.ValidationFailed` whose ``field`` is a path such as
``materials[0].certificate_types[1]`` (see :func:`validate_body`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from kernel.errors import ValidationFailed

__all__ = [
    "CatalogLookup",
    "CertificateTypeIn",
    "DataResourceIn",
    "FieldDef",
    "FieldSource",
    "FormFieldIn",
    "ItemIn",
    "MaterialIn",
    "OneThingIn",
    "OptionIn",
    "OrganizationIn",
    "QuestionIn",
    "catalog_code_valid",
    "check_references",
    "format_loc",
    "type_code_valid",
    "uscc_valid",
    "validate_body",
]

# --------------------------------------------------------------------------------------------
# Code formats
# --------------------------------------------------------------------------------------------

# Codes of items, data resources, one-things and materials travel in URL paths: no slash, no space.
_CATALOG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
# Field names and question ids end up as JSON keys and form names: identifier-like snake_case.
_SNAKE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TYPE_CODE_SUFFIX = re.compile(r"[0-9]{3}")


def uscc_valid(code: str) -> bool:
    """True for a 统一社会信用代码 (GB 32100) in canonical form: 18 characters, valid check character."""
    if not isinstance(code, str) or uscc.compact(code) != code:
        return False
    return uscc.is_valid(code)


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


def _check_uscc(value: str) -> str:
    if uscc.compact(value) != value:
        raise PydanticCustomError("uscc", "a USCC is written as 18 capital letters and digits, no separators")
    try:
        uscc.validate(value)
    except StdnumError as exc:
        raise PydanticCustomError(
            "uscc", "not a valid USCC (统一社会信用代码): {reason}", {"reason": str(exc)}
        ) from None
    return value


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


def _check_snake(value: str) -> str:
    if _SNAKE.fullmatch(value) is None:
        raise PydanticCustomError(
            "identifier", "must be snake_case: a lowercase letter, then lowercase letters, digits or '_'"
        )
    return value


USCC = Annotated[str, AfterValidator(_check_uscc)]
TypeCode = Annotated[str, AfterValidator(_check_type_code)]
CatalogCode = Annotated[str, AfterValidator(_check_catalog_code)]
Identifier = Annotated[str, AfterValidator(_check_snake)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]

Sharing = Literal["unconditional", "conditional", "none"]
HolderKind = Literal["111", "001"]
FieldType = Literal["string", "date", "number", "boolean"]
OrganizationKind = Literal["department", "portal", "operator"]


# --------------------------------------------------------------------------------------------
# Errors with a path
# --------------------------------------------------------------------------------------------


def _fail(path: Sequence[str | int], message: str) -> PydanticCustomError:
    """An error for a position *below* the validator's own location (kept in ``ctx['path']``)."""
    return PydanticCustomError("invalid", "{message}", {"message": message, "path": tuple(path)})


def format_loc(loc: Iterable[str | int]) -> str:
    """``("materials", 0, "certificate_types", 1)`` → ``"materials[0].certificate_types[1]"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _error_loc(error: Any) -> tuple[str | int, ...]:
    ctx = error.get("ctx") or {}
    return tuple(error["loc"]) + tuple(ctx.get("path", ()))


def _validation_failed(exc: ValidationError, prefix: Sequence[str | int] = ()) -> ValidationFailed:
    errors = exc.errors(include_url=False)
    # A misspelt key shows up twice (the key is unknown, the intended one is missing): name the typo.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = (*prefix, *_error_loc(first))
    field = format_loc(loc)
    detail = f"{field}: {first['msg']}" if field else first["msg"]
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    failed = ValidationFailed(detail, field=field or None)
    failed.loc = loc  # type: ignore[attr-defined]
    failed.message = first["msg"]  # type: ignore[attr-defined]
    return failed


M = TypeVar("M", bound=BaseModel)


def validate_body(model: type[M], data: Any, *, prefix: Sequence[str | int] = ()) -> M:
    """Validate ``data`` as ``model``; a failure becomes ValidationFailed naming the field path.

    ``prefix`` is prepended to the path (the catalog file uses ``("items", 3)``). The exception also
    carries ``loc`` (the path as a tuple) and ``message`` (the detail without the path), for callers
    that map the path to a position in a file.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_failed(exc, prefix) from None


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duplicates(values: Iterable[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    dups = []
    for i, value in enumerate(values):
        if value in seen:
            dups.append((i, value))
        seen.add(value)
    return dups


def _unique_codes(values: list[str], what: str) -> list[str]:
    for i, value in _duplicates(values):
        raise _fail((i,), f"{what} {value!r} is listed twice")
    return values


class OrganizationIn(_Body):
    """An organization, known by its 统一社会信用代码."""

    code: USCC
    name: Name
    kind: OrganizationKind
    # Demonstration data, never a real body: the demo catalog sets it so nobody mistakes it.
    demo: bool = False


class FieldDef(_Body):
    """One field of a certificate's face information (照面信息) or of a data resource."""

    name: Identifier
    label: Label
    type: FieldType = "string"
    required: bool = False


def _unique_field_names(fields: list[FieldDef]) -> list[FieldDef]:
    for i, name in _duplicates(f.name for f in fields):
        raise _fail((i, "name"), f"field {name!r} is defined twice")
    return fields


class CertificateTypeIn(_Body):
    """A certificate type (证照类型); its code (21 characters) is in the URL."""

    name: Name
    holder_kind: HolderKind
    issuers: list[USCC] = Field(min_length=1)
    sharing: Sharing
    validity_years: int | None = Field(default=None, ge=1, le=100)
    fields: list[FieldDef] = Field(min_length=1)
    description: Description | None = None
    keywords: list[Keyword] = Field(default_factory=list)

    @field_validator("issuers")
    @classmethod
    def _issuers_unique(cls, value: list[str]) -> list[str]:
        return _unique_codes(value, "issuer")

    @field_validator("fields")
    @classmethod
    def _fields_unique(cls, fields: list[FieldDef]) -> list[FieldDef]:
        return _unique_field_names(fields)


class DataResourceIn(_Body):
    """An entry of the data resource catalog (数据资源目录); its code is in the URL."""

    name: Name
    org: USCC
    sharing: Sharing
    fields: list[FieldDef] = Field(min_length=1)
    # Free text on purpose ("daily", "realtime", "每月"): the contract does not enumerate it.
    update_frequency: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    description: Description | None = None
    keywords: list[Keyword] = Field(default_factory=list)

    @field_validator("fields")
    @classmethod
    def _fields_unique(cls, fields: list[FieldDef]) -> list[FieldDef]:
        return _unique_field_names(fields)


class MaterialIn(_Body):
    """A material (材料) an item needs, and which certificate types or data resources satisfy it."""

    code: CatalogCode
    name: Name
    required: bool = True
    tolerated: bool = False  # 容缺: the application proceeds without it, to be supplied later
    commitment: bool = False  # 告知承诺: a written commitment replaces it
    certificate_types: list[TypeCode] = Field(default_factory=list)
    data_resources: list[CatalogCode] = Field(default_factory=list)

    @field_validator("certificate_types")
    @classmethod
    def _types_unique(cls, value: list[str]) -> list[str]:
        return _unique_codes(value, "certificate type")

    @field_validator("data_resources")
    @classmethod
    def _resources_unique(cls, value: list[str]) -> list[str]:
        return _unique_codes(value, "data resource")


class FieldSource(_Body):
    """Where a form field's value comes from: a face field of a certificate type."""

    type_code: TypeCode
    field: Identifier


class FormFieldIn(_Body):
    """A field of the one application form (一表申请), optionally prefilled from a certificate."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    name: Identifier
    label: Label
    # "from" is the contract's key; it is a Python keyword, hence the alias.
    source: FieldSource | None = Field(default=None, alias="from")


class ItemIn(_Body):
    """A service item (事项); its code is in the URL."""

    name: Name
    org: USCC
    materials: list[MaterialIn] = Field(default_factory=list)
    form: list[FormFieldIn] = Field(default_factory=list)
    description: Description | None = None
    keywords: list[Keyword] = Field(default_factory=list)

    @field_validator("materials")
    @classmethod
    def _materials_unique(cls, materials: list[MaterialIn]) -> list[MaterialIn]:
        for i, code in _duplicates(m.code for m in materials):
            raise _fail((i, "code"), f"material code {code!r} is used twice")
        return materials

    @field_validator("form")
    @classmethod
    def _form_unique(cls, form: list[FormFieldIn]) -> list[FormFieldIn]:
        for i, name in _duplicates(f.name for f in form):
            raise _fail((i, "name"), f"form field {name!r} is defined twice")
        return form


class OptionIn(_Body):
    """One answer to a question, and the items it adds."""

    value: CatalogCode
    label: Label
    add_items: list[CatalogCode] = Field(default_factory=list)

    @field_validator("add_items")
    @classmethod
    def _items_unique(cls, value: list[str]) -> list[str]:
        return _unique_codes(value, "item")


def _as_value_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


WhenValues = Annotated[list[CatalogCode], Field(min_length=1)]


class QuestionIn(_Body):
    """A question of the progressive questionnaire (递进式问卷).

    ``when`` maps earlier question ids to the answer (or list of answers, any of which will do)
    they must have had; every entry must hold. ``{}`` means always asked. A single string is
    accepted and stored as a one-element list.
    """

    id: Identifier
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    when: dict[Identifier, WhenValues] = Field(default_factory=dict)
    options: list[OptionIn] = Field(min_length=1)

    @field_validator("when", mode="before")
    @classmethod
    def _when_lists(cls, when: Any) -> Any:
        if isinstance(when, dict):
            return {k: _as_value_list(v) for k, v in when.items()}
        return when

    @field_validator("options")
    @classmethod
    def _values_unique(cls, options: list[OptionIn]) -> list[OptionIn]:
        for i, value in _duplicates(o.value for o in options):
            raise _fail((i, "value"), f"option value {value!r} is used twice")
        return options

    def option(self, value: str) -> OptionIn | None:
        """The option with this value, if any."""
        return next((o for o in self.options if o.value == value), None)


class OneThingIn(_Body):
    """A one-thing (一件事): items that always apply plus a questionnaire that adds more."""

    name: Name
    items: list[CatalogCode] = Field(default_factory=list)
    questions: list[QuestionIn] = Field(default_factory=list)
    description: Description | None = None
    keywords: list[Keyword] = Field(default_factory=list)

    @field_validator("items")
    @classmethod
    def _items_unique(cls, value: list[str]) -> list[str]:
        return _unique_codes(value, "item")

    @model_validator(mode="after")
    def _questionnaire_looks_backwards(self) -> OneThingIn:
        # `when` may only name EARLIER questions and their existing option values: the
        # questionnaire is then a DAG in list order, and a cycle cannot be written down.
        earlier: dict[str, QuestionIn] = {}
        for qi, question in enumerate(self.questions):
            if question.id in earlier:
                raise _fail(("questions", qi, "id"), f"question id {question.id!r} is used twice")
            for ref, values in question.when.items():
                path: tuple[str | int, ...] = ("questions", qi, "when", ref)
                target = earlier.get(ref)
                if target is None:
                    if ref == question.id or any(q.id == ref for q in self.questions):
                        message = f"'when' may only refer to earlier questions; {ref!r} is not earlier"
                        raise _fail(path, message)
                    raise _fail(path, f"no question {ref!r}")
                for vi, value in enumerate(values):
                    if target.option(value) is None:
                        raise _fail((*path, vi), f"question {ref!r} has no option {value!r}")
            earlier[question.id] = question
        if not self.items and not any(o.add_items for q in self.questions for o in q.options):
            raise _fail(("items",), "a one-thing needs at least one item, fixed or added by an answer")
        return self

    def question(self, question_id: str) -> QuestionIn | None:
        """The question with this id, if any."""
        return next((q for q in self.questions if q.id == question_id), None)

    def all_item_codes(self) -> list[str]:
        """Every item this one-thing can ever involve, fixed ones first, without duplicates."""
        codes = list(self.items)
        for question in self.questions:
            for option in question.options:
                codes.extend(option.add_items)
        return list(dict.fromkeys(codes))


# --------------------------------------------------------------------------------------------
# Cross references
# --------------------------------------------------------------------------------------------


class CatalogLookup(Protocol):
    """What :func:`check_references` needs to know about the catalog already in place."""

    def has_organization(self, code: str) -> bool: ...

    def certificate_type_fields(self, type_code: str) -> Iterable[str] | None:
        """The face field names of a certificate type, or None when there is no such type."""
        ...

    def has_data_resource(self, code: str) -> bool: ...

    def has_item(self, code: str) -> bool: ...


CatalogBody = OrganizationIn | CertificateTypeIn | DataResourceIn | ItemIn | OneThingIn


def _reference_error(path: Sequence[str | int], message: str) -> ValidationFailed:
    field = format_loc(path)
    failed = ValidationFailed(f"{field}: {message}", field=field, code="unknown_reference")
    failed.loc = tuple(path)  # type: ignore[attr-defined]
    failed.message = message  # type: ignore[attr-defined]
    return failed


def check_references(body: CatalogBody, lookup: CatalogLookup, *, prefix: Sequence[str | int] = ()) -> None:
    """Raise ValidationFailed (code ``unknown_reference``) at the first reference that does not exist.

    Checks: issuers and ``org`` are organizations; every certificate type of a material or a form
    source exists, and a form source's field is one of that type's face fields; every data resource
    exists; every item of a one-thing (fixed or added by an option) exists.
    """
    p = tuple(prefix)
    if isinstance(body, CertificateTypeIn):
        for i, issuer in enumerate(body.issuers):
            if not lookup.has_organization(issuer):
                raise _reference_error((*p, "issuers", i), f"no organization {issuer}")
    elif isinstance(body, DataResourceIn):
        if not lookup.has_organization(body.org):
            raise _reference_error((*p, "org"), f"no organization {body.org}")
    elif isinstance(body, ItemIn):
        if not lookup.has_organization(body.org):
            raise _reference_error((*p, "org"), f"no organization {body.org}")
        for mi, material in enumerate(body.materials):
            for ti, type_code in enumerate(material.certificate_types):
                if lookup.certificate_type_fields(type_code) is None:
                    path = (*p, "materials", mi, "certificate_types", ti)
                    raise _reference_error(path, f"no certificate type {type_code}")
            for ri, resource in enumerate(material.data_resources):
                if not lookup.has_data_resource(resource):
                    path = (*p, "materials", mi, "data_resources", ri)
                    raise _reference_error(path, f"no data resource {resource!r}")
        for fi, form_field in enumerate(body.form):
            source = form_field.source
            if source is None:
                continue
            fields = lookup.certificate_type_fields(source.type_code)
            if fields is None:
                path = (*p, "form", fi, "from", "type_code")
                raise _reference_error(path, f"no certificate type {source.type_code}")
            if source.field not in set(fields):
                path = (*p, "form", fi, "from", "field")
                message = f"certificate type {source.type_code} has no field {source.field!r}"
                raise _reference_error(path, message)
    elif isinstance(body, OneThingIn):
        for ii, item in enumerate(body.items):
            if not lookup.has_item(item):
                raise _reference_error((*p, "items", ii), f"no item {item!r}")
        for qi, question in enumerate(body.questions):
            for oi, option in enumerate(question.options):
                for ai, item in enumerate(option.add_items):
                    if not lookup.has_item(item):
                        path = (*p, "questions", qi, "options", oi, "add_items", ai)
                        raise _reference_error(path, f"no item {item!r}")
