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

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from audit.log import Event
from audit.log import record as audit_record
from catalog.catalogfile import SECTIONS, CatalogBundle, load_catalog_file
from catalog.codes import catalog_code_valid, type_code_valid
from catalog.errors import CertificateTypeNotFound, DataResourceNotFound, ItemNotFound, OneThingNotFound
from catalog.models import CertificateType, CertificateTypeIssuer, DataResource, Item, OneThing, Organization
from catalog.organizations import put_organization as _put_organization
from catalog.references import CatalogLookup, CertificateTypeView, check_references
from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from catalog.search import EmbeddedSearchIndex, SearchDoc, record_change
from kernel.errors import NotFound, ValidationFailed

__all__ = [
    "CERTIFICATE_TYPE",
    "DATA_RESOURCE",
    "ITEM",
    "ONE_THING",
    "DatabaseLookup",
    "Entry",
    "EntryKind",
    "LoadReport",
    "Page",
    "Put",
    "all_search_documents",
    "can_issue",
    "demo_bundle",
    "get_certificate_type",
    "get_data_resource",
    "get_entry",
    "get_item",
    "get_one_thing",
    "list_certificate_types",
    "list_data_resources",
    "list_entries",
    "list_items",
    "list_one_things",
    "load_bundle",
    "put_certificate_type",
    "put_data_resource",
    "put_entry",
    "put_item",
    "put_one_thing",
]

# Constrained, not bound: generic code then sees the fields every kind of body has (name, keywords).
M = TypeVar("M", CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn)
EntryBody = CertificateTypeIn | DataResourceIn | ItemIn | OneThingIn
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
    """One page of a listing by code, and how many entries there are in all."""

    total: int
    items: list[Entry[M]]


class DatabaseLookup:
    """:class:`catalog.references.CatalogLookup` over the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def has_organization(self, code: str) -> bool:
        """Whether the organization is registered."""
        return self.session.get(Organization, code) is not None

    def certificate_type(self, type_code: str) -> CertificateTypeView | None:
        """A certificate type's face fields and issuers, or None when there is no such type."""
        row = self.session.get(CertificateType, type_code)
        return None if row is None else CertificateTypeView.of_definition(row.definition)

    def certificate_type_fields(self, type_code: str) -> Iterable[str] | None:
        """The face field names of a certificate type, or None when there is no such type."""
        view = self.certificate_type(type_code)
        return None if view is None else view.fields

    def has_data_resource(self, code: str) -> bool:
        """Whether the data resource exists."""
        return self.session.get(DataResource, code) is not None

    def has_item(self, code: str) -> bool:
        """Whether the service item exists."""
        return self.session.get(Item, code) is not None


# --------------------------------------------------------------------------------------------
# One kind of entry: its table, model, search text and how its columns follow the body
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryKind(Generic[M]):
    """One kind of catalog entry: its names, its table and its body, and its NotFound."""

    name: str  # the search kind, as in the API: certificate-type, data-resource, ...
    label: str  # for messages: "certificate type"
    table: Any  # one of the Row tables (a Union does not type-check as a constructor)
    model: type[M]
    code_field: str  # the URL parameter, for 422 messages
    not_found: type[NotFound]


CERTIFICATE_TYPE = EntryKind(
    "certificate-type",
    "certificate type",
    CertificateType,
    CertificateTypeIn,
    "type_code",
    CertificateTypeNotFound,
)
DATA_RESOURCE = EntryKind(
    "data-resource", "data resource", DataResource, DataResourceIn, "code", DataResourceNotFound
)
ITEM = EntryKind("item", "item", Item, ItemIn, "item_code", ItemNotFound)
ONE_THING = EntryKind("one-thing", "one-thing", OneThing, OneThingIn, "code", OneThingNotFound)


def _columns(body: EntryBody) -> dict[str, Any]:
    """The columns queried beside the stored definition, as the body sets them."""
    match body:
        case CertificateTypeIn():
            return {"name": body.name, "holder_kind": body.holder_kind, "sharing": body.sharing}
        case DataResourceIn() | ItemIn():
            return {"name": body.name, "org_code": body.org}
        case OneThingIn():
            return {"name": body.name}


def _own_search_text(body: EntryBody) -> list[str]:
    """What a kind adds to the search text, after the description and keywords every kind has."""
    match body:
        case CertificateTypeIn() | DataResourceIn():
            return [f.label for f in body.fields]
        case ItemIn():
            return [*(m.name for m in body.materials), *(f.label for f in body.form)]
        case OneThingIn():
            return [*(q.text for q in body.questions), *(o.label for q in body.questions for o in q.options)]


def _definition(body: EntryBody) -> dict[str, Any]:
    # by_alias: a form field's source is stored under the contract's key "from".
    return body.model_dump(mode="json", by_alias=True)


def _entry(kind: EntryKind[M], row: Row) -> Entry[M]:
    return Entry(
        code=row.code,
        body=kind.model.model_validate(row.definition),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _search_doc(kind: EntryKind[M], code: str, body: M) -> SearchDoc:
    parts = [code, body.description or "", *body.keywords, *_own_search_text(body)]
    return SearchDoc(kind=kind.name, code=code, name=body.name, body="\n".join(p for p in parts if p))


def _check_code(kind: EntryKind[M], code: str) -> None:
    if kind is CERTIFICATE_TYPE:
        valid, what = type_code_valid(code), "the defining organization's USCC followed by 3 digits"
    else:
        valid = catalog_code_valid(code)
        what = "1–64 letters, digits, '_', '.' or '-', starting with a letter or digit"
    if not valid:
        raise ValidationFailed(f"{kind.code_field}: a {kind.label} code is {what}", field=kind.code_field)


def put_entry(session: Session, kind: EntryKind[M], code: str, body: M, *, actor: str = "system") -> Put[M]:
    """Create or replace an entry of ``kind``; its code and references are checked first. A change is
    an entry of the audit log, by ``actor``."""
    _check_code(kind, code)
    check_references(body, DatabaseLookup(session))
    definition = _definition(body)
    columns = _columns(body)
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
        if isinstance(body, CertificateTypeIn):
            _sync_issuers(session, code, body.issuers)
        doc = _search_doc(kind, code, body)
        EmbeddedSearchIndex(session).index([doc])
        record_change(session, doc)
        action = "catalog.create" if created else "catalog.update"
        audit_record(session, Event(action=action, actor=actor, details={"kind": kind.name, "code": code}))
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


def get_entry(session: Session, kind: EntryKind[M], code: str) -> Entry[M]:
    """An entry of ``kind``, or the kind's NotFound."""
    row = session.get(kind.table, code)
    if row is None:
        raise kind.not_found(f"no {kind.label} {code!r}")
    return _entry(kind, row)


def list_entries(session: Session, kind: EntryKind[M], *, limit: int = 50, offset: int = 0) -> Page[M]:
    """A page of the entries of ``kind``, by code."""
    total = session.execute(select(func.count()).select_from(kind.table)).scalar_one()
    rows = session.scalars(select(kind.table).order_by(kind.table.code).limit(limit).offset(offset)).all()
    return Page(total=total, items=[_entry(kind, r) for r in rows])


# --------------------------------------------------------------------------------------------
# Public verbs
# --------------------------------------------------------------------------------------------


def put_certificate_type(session: Session, code: str, body: CertificateTypeIn) -> Put[CertificateTypeIn]:
    """Create or replace a certificate type (证照类型); its issuers must be registered organizations."""
    return put_entry(session, CERTIFICATE_TYPE, code, body)


def put_data_resource(session: Session, code: str, body: DataResourceIn) -> Put[DataResourceIn]:
    """Create or replace a data resource (数据资源); its organization must be registered."""
    return put_entry(session, DATA_RESOURCE, code, body)


def put_item(session: Session, code: str, body: ItemIn) -> Put[ItemIn]:
    """Create or replace a service item (事项); every type, resource and form source must exist."""
    return put_entry(session, ITEM, code, body)


def put_one_thing(session: Session, code: str, body: OneThingIn) -> Put[OneThingIn]:
    """Create or replace a one-thing (一件事); every item it can involve must exist."""
    return put_entry(session, ONE_THING, code, body)


def get_certificate_type(session: Session, code: str) -> Entry[CertificateTypeIn]:
    """A certificate type, or CertificateTypeNotFound."""
    return get_entry(session, CERTIFICATE_TYPE, code)


def get_data_resource(session: Session, code: str) -> Entry[DataResourceIn]:
    """A data resource, or DataResourceNotFound."""
    return get_entry(session, DATA_RESOURCE, code)


def get_item(session: Session, code: str) -> Entry[ItemIn]:
    """A service item, or ItemNotFound."""
    return get_entry(session, ITEM, code)


def get_one_thing(session: Session, code: str) -> Entry[OneThingIn]:
    """A one-thing, or OneThingNotFound."""
    return get_entry(session, ONE_THING, code)


def list_certificate_types(session: Session, *, limit: int = 50, offset: int = 0) -> Page[CertificateTypeIn]:
    """Certificate types by code."""
    return list_entries(session, CERTIFICATE_TYPE, limit=limit, offset=offset)


def list_data_resources(session: Session, *, limit: int = 50, offset: int = 0) -> Page[DataResourceIn]:
    """Data resources by code."""
    return list_entries(session, DATA_RESOURCE, limit=limit, offset=offset)


def list_items(session: Session, *, limit: int = 50, offset: int = 0) -> Page[ItemIn]:
    """Service items by code."""
    return list_entries(session, ITEM, limit=limit, offset=offset)


def list_one_things(session: Session, *, limit: int = 50, offset: int = 0) -> Page[OneThingIn]:
    """One-things by code."""
    return list_entries(session, ONE_THING, limit=limit, offset=offset)


def can_issue(session: Session, type_code: str, org_code: str) -> bool:
    """Whether ``org_code`` is among the issuers of certificate type ``type_code``."""
    return session.get(CertificateTypeIssuer, (type_code, org_code)) is not None


def all_search_documents(session: Session) -> list[SearchDoc]:
    """The search document of every catalog entry, from the catalog tables (for a reindex)."""
    docs: list[SearchDoc] = []
    kinds: tuple[EntryKind[Any], ...] = (CERTIFICATE_TYPE, DATA_RESOURCE, ITEM, ONE_THING)
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
