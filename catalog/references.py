"""Reference checks: every organization, certificate type, data resource and item a body names exists."""

# The catalog in place is asked through a CatalogLookup: catalog.service implements it over the
# database, catalog.catalogfile over a file being loaded (falling back to the database).

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from catalog.errors import UnknownReference
from catalog.schemas import CatalogBody, CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from catalog.validation import format_loc

__all__ = ["CatalogLookup", "check_references"]


class CatalogLookup(Protocol):
    """What :func:`check_references` needs to know about the catalog already in place."""

    def has_organization(self, code: str) -> bool: ...

    def certificate_type_fields(self, type_code: str) -> Iterable[str] | None:
        """The face field names of a certificate type, or None when there is no such type."""
        ...

    def has_data_resource(self, code: str) -> bool: ...

    def has_item(self, code: str) -> bool: ...


def _unknown(path: Sequence[str | int], message: str) -> UnknownReference:
    field = format_loc(path)
    return UnknownReference(f"{field}: {message}", loc=path, message=message, field=field)


def check_references(body: CatalogBody, lookup: CatalogLookup, *, prefix: Sequence[str | int] = ()) -> None:
    """Raise UnknownReference (code ``unknown_reference``) at the first reference that does not exist.

    Checks: issuers and ``org`` are organizations; every certificate type of a material or a form
    source exists, and a form source's field is one of that type's face fields; every data resource
    exists; every item of a one-thing (fixed or added by an option) exists.
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
