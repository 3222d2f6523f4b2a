"""Reference checks: every organization, certificate type, data resource and item a body names exists,
and the certificate an item issues fits its type."""

# The catalog in place is asked through a CatalogLookup: catalog.service implements it over the
# database, catalog.catalogfile over a file being loaded (falling back to the database).

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from catalog.errors import PathError, UnknownReference
from catalog.schemas import CatalogBody, CertificateTypeIn, DataResourceIn, IssuesIn, ItemIn, OneThingIn
from catalog.validation import format_loc

__all__ = ["CatalogLookup", "CertificateTypeView", "check_references"]


@dataclass(frozen=True)
class CertificateTypeView:
    """What the reference checks need to know of a certificate type: its face fields, which of them
    are required, and which organizations may issue it."""

    fields: frozenset[str]
    required_fields: frozenset[str]
    issuers: frozenset[str]

    @classmethod
    def of(cls, body: CertificateTypeIn) -> CertificateTypeView:
        """The view of a certificate type body."""
        return cls(
            fields=frozenset(f.name for f in body.fields),
            required_fields=frozenset(f.name for f in body.fields if f.required),
            issuers=frozenset(body.issuers),
        )

    @classmethod
    def of_definition(cls, definition: dict[str, Any]) -> CertificateTypeView:
        """The view of a stored definition (the body as JSON), without validating it again."""
        fields = definition.get("fields", [])
        return cls(
            fields=frozenset(f["name"] for f in fields),
            required_fields=frozenset(f["name"] for f in fields if f.get("required")),
            issuers=frozenset(definition.get("issuers", [])),
        )


class CatalogLookup(Protocol):
    """What :func:`check_references` needs to know about the catalog already in place."""

    def has_organization(self, code: str) -> bool: ...

    def certificate_type(self, type_code: str) -> CertificateTypeView | None:
        """A certificate type's face fields and issuers, or None when there is no such type."""
        ...

    def certificate_type_fields(self, type_code: str) -> Iterable[str] | None:
        """The face field names of a certificate type, or None when there is no such type."""
        ...

    def has_data_resource(self, code: str) -> bool: ...

    def has_item(self, code: str) -> bool: ...


def _unknown(path: Sequence[str | int], message: str) -> UnknownReference:
    field = format_loc(path)
    return UnknownReference(f"{field}: {message}", loc=path, message=message, field=field)


def _misfit(path: Sequence[str | int], message: str) -> PathError:
    # The entry referred to exists but does not fit: a plain validation failure at the path.
    field = format_loc(path)
    return PathError(f"{field}: {message}", loc=path, message=message, field=field)


def check_references(body: CatalogBody, lookup: CatalogLookup, *, prefix: Sequence[str | int] = ()) -> None:
    """Raise UnknownReference (code ``unknown_reference``) at the first reference that does not exist,
    or a PathError (``validation_failed``) where an item's ``issues`` does not fit its type.

    Checks: issuers and ``org`` are organizations; every certificate type of a material or a form
    source exists, and a form source's field is one of that type's face fields; every data resource
    exists; every item of a one-thing (fixed or added by an option) exists. The certificate type an
    item issues exists, the item's organization is among its issuers, every key of ``issues.data``
    is one of its face fields and every required face field is a key.
    """
    p = tuple(prefix)
    if isinstance(body, CertificateTypeIn):
        for i, issuer in enumerate(body.issuers):
            if not lookup.has_organization(issuer):
                raise _unknown((*p, "issuers", i), f"no organization {issuer}")
    elif isinstance(body, DataResourceIn):
        if not lookup.has_organization(body.org):
            raise _unknown((*p, "org"), f"no organization {body.org}")
    elif isinstance(body, ItemIn):
        _check_item(body, lookup, p)
    elif isinstance(body, OneThingIn):
        _check_one_thing(body, lookup, p)


def _check_item(body: ItemIn, lookup: CatalogLookup, p: tuple[str | int, ...]) -> None:
    if not lookup.has_organization(body.org):
        raise _unknown((*p, "org"), f"no organization {body.org}")
    for mi, material in enumerate(body.materials):
        for ti, type_code in enumerate(material.certificate_types):
            if lookup.certificate_type_fields(type_code) is None:
                path = (*p, "materials", mi, "certificate_types", ti)
                raise _unknown(path, f"no certificate type {type_code}")
        for ri, resource in enumerate(material.data_resources):
            if not lookup.has_data_resource(resource):
                path = (*p, "materials", mi, "data_resources", ri)
                raise _unknown(path, f"no data resource {resource!r}")
    for fi, form_field in enumerate(body.form):
        source = form_field.source
        if source is None:
            continue
        fields = lookup.certificate_type_fields(source.type_code)
        if fields is None:
            raise _unknown((*p, "form", fi, "from", "type_code"), f"no certificate type {source.type_code}")
        if source.field not in set(fields):
            message = f"certificate type {source.type_code} has no field {source.field!r}"
            raise _unknown((*p, "form", fi, "from", "field"), message)
    if body.issues is not None:
        _check_issues(body.issues, body.org, lookup, (*p, "issues"))


def _check_issues(issues: IssuesIn, org: str, lookup: CatalogLookup, p: tuple[str | int, ...]) -> None:
    code = issues.type_code
    view = lookup.certificate_type(code)
    if view is None:
        raise _unknown((*p, "type_code"), f"no certificate type {code}")
    if org not in view.issuers:
        # The department that decides the item must be one that may issue the certificate (统一发证).
        raise _misfit((*p, "type_code"), f"certificate type {code} is not issued by organization {org}")
    for face_field in issues.data:
        if face_field not in view.fields:
            raise _unknown((*p, "data", face_field), f"certificate type {code} has no field {face_field!r}")
    unmapped = sorted(view.required_fields - issues.data.keys())
    if unmapped:
        names = ", ".join(repr(name) for name in unmapped)
        if len(unmapped) == 1:
            message = f"certificate type {code} requires face field {names}; map it from a form field"
        else:
            message = f"certificate type {code} requires face fields {names}; map each from a form field"
        raise _misfit((*p, "data"), message)


def _check_one_thing(body: OneThingIn, lookup: CatalogLookup, p: tuple[str | int, ...]) -> None:
    for ii, item in enumerate(body.items):
        if not lookup.has_item(item):
            raise _unknown((*p, "items", ii), f"no item {item!r}")
    for qi, question in enumerate(body.questions):
        for oi, option in enumerate(question.options):
            for ai, item in enumerate(option.add_items):
                if not lookup.has_item(item):
                    path = (*p, "questions", qi, "options", oi, "add_items", ai)
                    raise _unknown(path, f"no item {item!r}")
