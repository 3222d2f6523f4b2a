"""The catalog's repository and rules: store and read certificate types, data resources, items and
one-things, check their references against the database, load whole catalog files.

Each definition is stored as its normalised PUT body (``definition``) beside the columns that are
queried. A write that changes nothing writes nothing (``updated_at`` stays). Every write also
updates the entry's row in ``search_documents`` in the same transaction, and records the change
for an external index to pick up after commit (:func:`catalog.search.follow_commits`).

Services only ``flush()``; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog.catalogfile import SECTIONS, CatalogBundle, load_catalog_file
from catalog.models import CertificateType, CertificateTypeIssuer, DataResource, Item, OneThing, Organization
from catalog.organizations import put_organization as _put_organization
from catalog.schemas import (
    CatalogLookup,
    CertificateTypeIn,
    DataResourceIn,
    ItemIn,
    OneThingIn,
    catalog_code_valid,
    check_references,
    type_code_valid,
)
from catalog.search import EmbeddedSearchIndex, SearchDoc, record_change
from kernel.errors import NotFound, ValidationFailed

__all__ = [
    "DatabaseLookup",
    "Entry",
    "LoadReport",
    "Page",
    "Put",
    "all_search_documents",
    "can_issue",
    "demo_bundle",
    "get_certificate_type",
    "get_data_resource",
    "get_item",
    "get_one_thing",
    "list_certificate_types",
    "list_data_resources",
    "list_items",
    "list_one_things",
    "load_bundle",
    "put_certificate_type",
    "put_data_resource",
    "put_item",
    "put_one_thing",
]

M = TypeVar("M", bound=BaseModel)
Row = CertificateType | DataResource | Item | OneThing


@dataclass(frozen=True)
class Entry(Generic[M]):
    """A stored catalog entry: its code, its body (as PUT) and when it was created and last changed."""

    code: str
    body: M
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Put(Generic[M]):
    """The outcome of a PUT: the stored entry, and whether it was created or changed."""

    entry: Entry[M]
    created: bool
    changed: bool


@dataclass(frozen=True)
class Page(Generic[M]):
    total: int
    items: list[Entry[M]]


class DatabaseLookup:
    """:class:`catalog.schemas.CatalogLookup` over the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def has_organization(self, code: str) -> bool:
        return self.session.get(Organization, code) is not None

    def certificate_type_fields(self, type_code: str) -> Iterable[str] | None:
        row = self.session.get(CertificateType, type_code)
        if row is None:
            return None
        return frozenset(f["name"] for f in row.definition.get("fields", []))

    def has_data_resource(self, code: str) -> bool:
        return self.session.get(DataResource, code) is not None

    def has_item(self, code: str) -> bool:
        return self.session.get(Item, code) is not None


# --------------------------------------------------------------------------------------------
# One kind of entry: its table, model, search text and how its columns follow the body
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind(Generic[M]):
    name: str  # the search kind, as in the API: certificate-type, data-resource, ...
    label: str  # for messages: "certificate type"
    table: Any  # one of the Row tables (a Union does not type-check as a constructor)
    model: type[M]
    code_field: str  # the URL parameter, for 422 messages
    columns: Callable[[M], dict[str, Any]]
    search_text: Callable[[M], list[str]]

    @property
    def not_found_code(self) -> str:
        return self.name.replace("-", "_") + "_not_found"


def _labels(fields: Iterable[Any]) -> list[str]:
    return [f.label for f in fields]


CERTIFICATE_TYPE: _Kind[CertificateTypeIn] = _Kind(
    "certificate-type",
    "certificate type",
    CertificateType,
    CertificateTypeIn,
    "type_code",
    lambda b: {"name": b.name, "holder_kind": b.holder_kind, "sharing": b.sharing},
    lambda b: [b.description or "", *b.keywords, *_labels(b.fields)],
)
DATA_RESOURCE: _Kind[DataResourceIn] = _Kind(
    "data-resource",
    "data resource",
    DataResource,
    DataResourceIn,
    "code",
    lambda b: {"name": b.name, "org_code": b.org},
    lambda b: [b.description or "", *b.keywords, *_labels(b.fields)],
)
ITEM: _Kind[ItemIn] = _Kind(
    "item",
    "item",
    Item,
    ItemIn,
    "item_code",
    lambda b: {"name": b.name, "org_code": b.org},
    lambda b: [b.description or "", *b.keywords, *(m.name for m in b.materials), *_labels(b.form)],
)
ONE_THING: _Kind[OneThingIn] = _Kind(
    "one-thing",
    "one-thing",
    OneThing,
    OneThingIn,
    "code",
    lambda b: {"name": b.name},
    lambda b: [
        b.description or "",
        *b.keywords,
        *(q.text for q in b.questions),
        *(o.label for q in b.questions for o in q.options),
    ],
)


def _definition(body: BaseModel) -> dict[str, Any]:
    # by_alias: a form field's source is stored under the contract's key "from".
    return body.model_dump(mode="json", by_alias=True)


def _entry(kind: _Kind[M], row: Row) -> Entry[M]:
    return Entry(
        code=row.code,
        body=kind.model.model_validate(row.definition),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _search_doc(kind: _Kind[M], code: str, body: M) -> SearchDoc:
    parts = [code, *kind.search_text(body)]
    return SearchDoc(kind=kind.name, code=code, name=body.name, body="\n".join(p for p in parts if p))  # type: ignore[attr-defined]


def _check_code(kind: _Kind[M], code: str) -> None:
    valid = type_code_valid(code) if kind is CERTIFICATE_TYPE else catalog_code_valid(code)
    if not valid:
        what = (
            "the defining organization's USCC followed by 3 digits"
            if kind is CERTIFICATE_TYPE
            else "1–64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
        raise ValidationFailed(f"{kind.code_field}: a {kind.label} code is {what}", field=kind.code_field)


def _put(session: Session, kind: _Kind[M], code: str, body: M) -> Put[M]:
    _check_code(kind, code)
    check_references(body, DatabaseLookup(session))  # type: ignore[arg-type]
    definition = _definition(body)
    columns = kind.columns(body)
    row = session.get(kind.table, code, with_for_update=True)
    created = row is None
    if row is None:
        row = kind.table(code=code, definition=definition, **columns)
        session.add(row)
        changed = True
    else:
        changed = row.definition != definition or any(getattr(row, k) != v for k, v in columns.items())
        if changed:
            row.definition = definition
            for k, v in columns.items():
                setattr(row, k, v)
    if changed:
        session.flush()
        if kind is CERTIFICATE_TYPE:
            _sync_issuers(session, code, body.issuers)  # type: ignore[attr-defined]
        doc = _search_doc(kind, code, body)
        EmbeddedSearchIndex(session).index([doc])
        record_change(session, doc)
    return Put(entry=_entry(kind, row), created=created, changed=changed)


def _sync_issuers(session: Session, type_code: str, issuers: list[str]) -> None:
    current = set(
        session.scalars(
            select(CertificateTypeIssuer.org_code).where(CertificateTypeIssuer.type_code == type_code)
        )
    )
    wanted = set(issuers)
    if current - wanted:
        session.execute(
            delete(CertificateTypeIssuer).where(
                CertificateTypeIssuer.type_code == type_code,
                CertificateTypeIssuer.org_code.in_(current - wanted),
            )
        )
    session.add_all(CertificateTypeIssuer(type_code=type_code, org_code=o) for o in sorted(wanted - current))
    session.flush()


def _get(session: Session, kind: _Kind[M], code: str) -> Entry[M]:
    row = session.get(kind.table, code)
    if row is None:
        raise NotFound(f"no {kind.label} {code!r}", code=kind.not_found_code)
    return _entry(kind, row)


def _list(session: Session, kind: _Kind[M], limit: int, offset: int) -> Page[M]:
    total = session.execute(select(func.count()).select_from(kind.table)).scalar_one()
    rows = session.scalars(select(kind.table).order_by(kind.table.code).limit(limit).offset(offset)).all()
    return Page(total=total, items=[_entry(kind, r) for r in rows])


# --------------------------------------------------------------------------------------------
# Public verbs
# --------------------------------------------------------------------------------------------


def put_certificate_type(session: Session, code: str, body: CertificateTypeIn) -> Put[CertificateTypeIn]:
    """Create or replace a certificate type (证照类型); its issuers must be registered organizations."""
    return _put(session, CERTIFICATE_TYPE, code, body)


def put_data_resource(session: Session, code: str, body: DataResourceIn) -> Put[DataResourceIn]:
    """Create or replace a data resource (数据资源); its organization must be registered."""
    return _put(session, DATA_RESOURCE, code, body)


def put_item(session: Session, code: str, body: ItemIn) -> Put[ItemIn]:
    """Create or replace a service item (事项); every type, resource and form source must exist."""
    return _put(session, ITEM, code, body)


def put_one_thing(session: Session, code: str, body: OneThingIn) -> Put[OneThingIn]:
    """Create or replace a one-thing (一件事); every item it can involve must exist."""
    return _put(session, ONE_THING, code, body)


def get_certificate_type(session: Session, code: str) -> Entry[CertificateTypeIn]:
    """A certificate type, or NotFound (``certificate_type_not_found``)."""
    return _get(session, CERTIFICATE_TYPE, code)


def get_data_resource(session: Session, code: str) -> Entry[DataResourceIn]:
    """A data resource, or NotFound (``data_resource_not_found``)."""
    return _get(session, DATA_RESOURCE, code)


def get_item(session: Session, code: str) -> Entry[ItemIn]:
    """A service item, or NotFound (``item_not_found``)."""
    return _get(session, ITEM, code)


def get_one_thing(session: Session, code: str) -> Entry[OneThingIn]:
    """A one-thing, or NotFound (``one_thing_not_found``)."""
    return _get(session, ONE_THING, code)


def list_certificate_types(session: Session, *, limit: int = 50, offset: int = 0) -> Page[CertificateTypeIn]:
    """Certificate types by code."""
    return _list(session, CERTIFICATE_TYPE, limit, offset)


def list_data_resources(session: Session, *, limit: int = 50, offset: int = 0) -> Page[DataResourceIn]:
    """Data resources by code."""
    return _list(session, DATA_RESOURCE, limit, offset)


def list_items(session: Session, *, limit: int = 50, offset: int = 0) -> Page[ItemIn]:
    """Service items by code."""
    return _list(session, ITEM, limit, offset)


def list_one_things(session: Session, *, limit: int = 50, offset: int = 0) -> Page[OneThingIn]:
    """One-things by code."""
    return _list(session, ONE_THING, limit, offset)


def can_issue(session: Session, type_code: str, org_code: str) -> bool:
    """Whether ``org_code`` is among the issuers of certificate type ``type_code``."""
    return session.get(CertificateTypeIssuer, (type_code, org_code)) is not None


def all_search_documents(session: Session) -> list[SearchDoc]:
    """The search document of every catalog entry, from the catalog tables (for a reindex)."""
    docs: list[SearchDoc] = []
    kinds: tuple[_Kind[Any], ...] = (CERTIFICATE_TYPE, DATA_RESOURCE, ITEM, ONE_THING)
    for kind in kinds:
        for row in session.scalars(select(kind.table).order_by(kind.table.code)):
            docs.append(_search_doc(kind, row.code, kind.model.model_validate(row.definition)))
    return docs


# --------------------------------------------------------------------------------------------
# Whole catalog files
# --------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """How many entries of each section were created, changed, or already as in the file."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {s: {"created": 0, "updated": 0, "unchanged": 0} for s in SECTIONS}
    )

    def count(self, section: str, *, created: bool, changed: bool) -> None:
        key = "created" if created else "updated" if changed else "unchanged"
        self.counts[section][key] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


def load_bundle(
    session: Session,
    bundle: CatalogBundle,
    *,
    put_organization: Callable[..., Organization] = _put_organization,
) -> LoadReport:
    """Write a validated catalog file in dependency order; entries already as in the file are left alone.

    Loading the same bundle twice changes nothing the second time (nothing is written, no
    ``updated_at`` moves). References are checked again against the database as each entry is
    written, so a bundle validated without ``existing`` still cannot leave a dangling reference.
    """
    report = LoadReport()
    for code, org in bundle.organizations.items():
        before = session.get(Organization, code)
        state = None if before is None else (before.name, before.kind, before.demo)
        put_organization(session, code=code, name=org.name, kind=org.kind, demo=org.demo)
        after = session.get(Organization, code)
        assert after is not None
        report.count(
            "organizations",
            created=before is None,
            changed=state is not None and state != (after.name, after.kind, after.demo),
        )
    writers: list[tuple[str, Callable[[Session, str, Any], Put[Any]], dict[str, Any]]] = [
        ("certificate_types", put_certificate_type, bundle.certificate_types),
        ("data_resources", put_data_resource, bundle.data_resources),
        ("items", put_item, bundle.items),
        ("one_things", put_one_thing, bundle.one_things),
    ]
    for section, put, entries in writers:
        for index, (code, body) in enumerate(entries.items()):
            try:
                outcome = put(session, code, body)
            except ValidationFailed as exc:
                raise ValidationFailed(
                    f"{section}[{index}] (code {code}): {exc.detail}",
                    field=f"{section}[{index}].{exc.field}" if exc.field else f"{section}[{index}]",
                    code=exc.code,
                ) from None
            report.count(section, created=outcome.created, changed=outcome.changed)
    return report


def demo_bundle(existing: CatalogLookup | None = None) -> CatalogBundle:
    """The demonstration catalog (示范市, fictitious organizations), validated, ready for load_bundle."""
    from catalog.demo import demo_catalog_path

    return load_catalog_file(demo_catalog_path(), existing=existing)
