"""catalog.service: the repository and its rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import service
from catalog.catalogfile import CatalogBundle, parse_catalog
from catalog.models import CertificateType, Item, OneThing, Organization, SearchDocument
from catalog.organizations import put_organization
from catalog.references import CertificateTypeView
from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from catalog.search import EmbeddedSearchIndex, SearchDoc, SearchResult, follow_commits
from kernel.errors import NotFound, ValidationFailed
from tests.factories import new_uscc


@pytest.fixture
def org(session: Session) -> str:
    code = new_uscc()
    put_organization(session, code=code, name="测试市场监督管理局", kind="department")
    return code


def a_type(org: str, **over: Any) -> CertificateTypeIn:
    body: dict[str, Any] = {
        "name": "营业执照",
        "holder_kind": "001",
        "issuers": [org],
        "sharing": "unconditional",
        "fields": [{"name": "company_name", "label": "名称", "required": True}],
    }
    return CertificateTypeIn.model_validate({**body, **over})


def an_item(org: str, type_code: str, **over: Any) -> ItemIn:
    body: dict[str, Any] = {
        "name": "食品经营许可",
        "org": org,
        "materials": [{"code": "M01", "name": "营业执照", "certificate_types": [type_code]}],
        "form": [
            {
                "name": "company",
                "label": "企业名称",
                "from": {"type_code": type_code, "field": "company_name"},
            }
        ],
    }
    return ItemIn.model_validate({**body, **over})


def search_row(session: Session, kind: str, code: str) -> SearchDocument | None:
    return session.get(SearchDocument, (kind, code))


# -- put / get ----------------------------------------------------------------------------------


def test_put_then_get_returns_the_body(session: Session, org: str) -> None:
    put = service.put_certificate_type(session, org + "001", a_type(org))
    assert put.created and put.changed
    got = service.get_certificate_type(session, org + "001")
    assert got.body == a_type(org) and got.code == org + "001"


def test_putting_the_same_body_writes_nothing(session: Session, org: str) -> None:
    first = service.put_certificate_type(session, org + "001", a_type(org))
    again = service.put_certificate_type(session, org + "001", a_type(org))
    assert not again.created and not again.changed
    assert again.entry.updated_at == first.entry.updated_at
    row = search_row(session, "certificate-type", org + "001")
    assert row is not None and row.version == 1


def test_a_changed_body_is_stored_and_reindexed(session: Session, org: str) -> None:
    service.put_certificate_type(session, org + "001", a_type(org))
    put = service.put_certificate_type(session, org + "001", a_type(org, name="营业执照（电子）"))
    assert put.changed and not put.created
    assert session.get(CertificateType, org + "001").name == "营业执照（电子）"  # type: ignore[union-attr]
    row = search_row(session, "certificate-type", org + "001")
    assert row is not None and row.version == 2 and row.name == "营业执照（电子）"


def test_issuers_follow_the_type(session: Session, org: str) -> None:
    other = new_uscc()
    put_organization(session, code=other, name="另一个部门", kind="department")
    service.put_certificate_type(session, org + "001", a_type(org))
    assert service.can_issue(session, org + "001", org) and not service.can_issue(session, org + "001", other)
    service.put_certificate_type(session, org + "001", a_type(org, issuers=[other]))
    assert service.can_issue(session, org + "001", other) and not service.can_issue(session, org + "001", org)


def test_item_round_trips_with_its_form_source(session: Session, org: str) -> None:
    service.put_certificate_type(session, org + "001", a_type(org))
    service.put_item(session, "IT-1", an_item(org, org + "001"))
    stored = service.get_item(session, "IT-1").body
    assert stored.form[0].source is not None and stored.form[0].source.field == "company_name"
    assert session.get(Item, "IT-1").definition["form"][0]["from"]["field"] == "company_name"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("getter", "code"),
    [
        (service.get_certificate_type, "certificate_type_not_found"),
        (service.get_data_resource, "data_resource_not_found"),
        (service.get_item, "item_not_found"),
        (service.get_one_thing, "one_thing_not_found"),
    ],
)
def test_unknown_codes_are_not_found(session: Session, getter: Any, code: str) -> None:
    with pytest.raises(NotFound) as err:
        getter(session, "NOPE")
    assert err.value.code == code


def test_bad_codes_are_refused(session: Session, org: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.put_certificate_type(session, org + "01", a_type(org))
    assert err.value.field == "type_code"
    body = DataResourceIn.model_validate(
        {
            "name": "库",
            "org": org,
            "sharing": "none",
            "fields": [{"name": "a", "label": "A"}],
            "update_frequency": "daily",
        }
    )
    with pytest.raises(ValidationFailed) as err:
        service.put_data_resource(session, "a/b", body)
    assert err.value.field == "code"


# -- references -------------------------------------------------------------------------------


def test_references_are_checked_against_the_database(session: Session, org: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        service.put_certificate_type(session, org + "001", a_type(new_uscc()))
    assert (err.value.code, err.value.field) == ("unknown_reference", "issuers[0]")
    with pytest.raises(ValidationFailed) as err:
        service.put_item(session, "IT-1", an_item(org, org + "001"))
    assert err.value.field == "materials[0].certificate_types[0]"
    with pytest.raises(ValidationFailed) as err:
        service.put_one_thing(session, "OT-1", OneThingIn(name="一件事", items=["IT-1"]))
    assert err.value.field == "items[0]"


def test_form_source_field_must_be_a_face_field(session: Session, org: str) -> None:
    service.put_certificate_type(session, org + "001", a_type(org))
    item = an_item(
        org,
        org + "001",
        form=[{"name": "x", "label": "X", "from": {"type_code": org + "001", "field": "nope"}}],
    )
    with pytest.raises(ValidationFailed) as err:
        service.put_item(session, "IT-1", item)
    assert err.value.field == "form[0].from.field"


def test_database_lookup_knows_face_fields(session: Session, org: str) -> None:
    service.put_certificate_type(session, org + "001", a_type(org))
    lookup = service.DatabaseLookup(session)
    assert set(lookup.certificate_type_fields(org + "001") or ()) == {"company_name"}
    assert lookup.certificate_type_fields(org + "002") is None
    assert lookup.has_organization(org) and not lookup.has_item("IT-1")


def test_database_lookup_knows_required_fields_and_issuers(session: Session, org: str) -> None:
    fields = [
        {"name": "company_name", "label": "名称", "required": True},
        {"name": "address", "label": "住所"},
    ]
    service.put_certificate_type(session, org + "001", a_type(org, fields=fields))
    view = service.DatabaseLookup(session).certificate_type(org + "001")
    assert view == CertificateTypeView(
        fields=frozenset({"company_name", "address"}),
        required_fields=frozenset({"company_name"}),
        issuers=frozenset({org}),
    )
    assert service.DatabaseLookup(session).certificate_type(org + "002") is None


# -- the certificate an item issues -------------------------------------------------------------


def issuing(org: str, type_code: str, **data: str) -> ItemIn:
    """The example item (its material and form refer to ``org``'s type 001), issuing ``type_code``
    with the face taken from ``data`` (face field → form field)."""
    return an_item(org, org + "001", issues={"type_code": type_code, "data": data})


def test_an_item_issuing_a_type_it_fills_is_stored(session: Session, org: str) -> None:
    service.put_certificate_type(session, org + "001", a_type(org))
    service.put_item(session, "IT-1", issuing(org, org + "001", company_name="company"))
    stored = service.get_item(session, "IT-1").body
    assert stored.issues is not None and stored.issues.data == {"company_name": "company"}
    definition = session.get(Item, "IT-1").definition  # type: ignore[union-attr]
    assert definition["issues"] == {"type_code": org + "001", "data": {"company_name": "company"}}


@pytest.mark.parametrize(
    ("issued", "data", "code", "field", "says"),
    [
        ("002", {"company_name": "company"}, "unknown_reference", "issues.type_code", "no certificate type"),
        ("other", {"company_name": "company"}, "validation_failed", "issues.type_code", "is not issued by"),
        (
            "001",
            {"company_name": "company", "name": "company"},
            "unknown_reference",
            "issues.data.name",
            "no field",
        ),
        ("001", {"address": "company"}, "validation_failed", "issues.data", "'company_name'"),
    ],
)
def test_issues_are_checked_against_the_database(
    session: Session, org: str, issued: str, data: dict[str, str], code: str, field: str, says: str
) -> None:
    other = new_uscc()
    put_organization(session, code=other, name="另一个部门", kind="department")
    fields = [
        {"name": "company_name", "label": "名称", "required": True},
        {"name": "address", "label": "住所"},
    ]
    service.put_certificate_type(session, org + "001", a_type(org, fields=fields))
    service.put_certificate_type(session, other + "001", a_type(other))
    type_code = other + "001" if issued == "other" else org + issued
    with pytest.raises(ValidationFailed) as err:
        service.put_item(session, "IT-1", issuing(org, type_code, **data))
    assert (err.value.code, err.value.field) == (code, field)
    assert says in err.value.detail
    assert session.get(Item, "IT-1") is None


def test_a_file_may_issue_a_type_the_database_holds(session: Session, org: str) -> None:
    service.put_certificate_type(session, org + "001", a_type(org))
    text = f"""
items:
  - code: IT-1
    name: 食品经营许可
    org: "{org}"
    form: [{{name: company, label: 企业名称}}]
    issues: {{type_code: "{org}001", data: {{company_name: company}}}}
"""
    bundle = parse_catalog(text, fmt="yaml", existing=service.DatabaseLookup(session))
    assert bundle.items["IT-1"].issues is not None
    with pytest.raises(ValidationFailed) as err:
        parse_catalog(
            text.replace("company_name:", "name:"), fmt="yaml", existing=service.DatabaseLookup(session)
        )
    assert err.value.field == "items[0].issues.data.name"


# -- lists ------------------------------------------------------------------------------------


def test_lists_page_by_code(session: Session, org: str) -> None:
    for n in ("003", "001", "002"):
        service.put_certificate_type(session, org + n, a_type(org))
    page = service.list_certificate_types(session, limit=2, offset=1)
    assert page.total == 3 and [e.code for e in page.items] == [org + "002", org + "003"]


# -- bundles ------------------------------------------------------------------------------------


def test_demo_bundle_loads_in_dependency_order(session: Session) -> None:
    report = service.load_bundle(session, service.demo_bundle(service.DatabaseLookup(session)))
    assert report.counts["one_things"]["created"] == 3
    assert session.execute(select(func.count()).select_from(OneThing)).scalar_one() == 3
    found = EmbeddedSearchIndex(session).search("开办餐饮店")
    assert found.hits[0].kind == "one-thing"


def test_loading_a_bundle_twice_changes_nothing(session: Session) -> None:
    bundle = service.demo_bundle(service.DatabaseLookup(session))
    service.load_bundle(session, bundle)
    stamps = {
        (type(r).__name__, r.code): r.updated_at
        for m in (Organization, CertificateType, Item, OneThing)
        for r in session.scalars(select(m))
    }
    versions = session.execute(select(func.sum(SearchDocument.version))).scalar_one()
    session.expire_all()
    report = service.load_bundle(session, bundle)
    assert not report.changed
    assert all(c["unchanged"] == sum(c.values()) for c in report.counts.values())
    after = {
        (type(r).__name__, r.code): r.updated_at
        for m in (Organization, CertificateType, Item, OneThing)
        for r in session.scalars(select(m))
    }
    assert after == stamps
    assert session.execute(select(func.sum(SearchDocument.version))).scalar_one() == versions


def test_a_changed_entry_is_counted_as_updated(session: Session, org: str) -> None:
    text = f"""
organizations:
  - {{code: "{org}", name: 测试市场监督管理局, kind: department}}
certificate_types:
  - {{code: "{org}001", name: 营业执照, holder_kind: "001", issuers: ["{org}"], sharing: none,
     fields: [{{name: company_name, label: 名称}}]}}
"""
    service.load_bundle(session, parse_catalog(text, fmt="yaml"))
    report = service.load_bundle(
        session, parse_catalog(text.replace("营业执照", "营业执照（副本）"), fmt="yaml")
    )
    assert report.counts["certificate_types"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert report.counts["organizations"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_organizations_go_through_the_given_writer(session: Session) -> None:
    seen: list[str] = []

    def writer(session: Session, **org: Any) -> Organization:
        seen.append(org["code"])
        return put_organization(session, **org)

    code = new_uscc()
    bundle = parse_catalog(f'organizations: [{{code: "{code}", name: 部门, kind: department}}]', fmt="yaml")
    service.load_bundle(session, bundle, put_organization=writer)
    assert seen == [code]


def test_a_bundle_cannot_leave_a_dangling_reference(session: Session, org: str) -> None:
    # Validated against nothing but itself, then loaded into a database that lacks the type.
    missing = new_uscc() + "001"
    bundle = CatalogBundle(items={"IT-1": an_item(org, missing)})
    with pytest.raises(ValidationFailed) as err:
        service.load_bundle(session, bundle)
    assert err.value.field == "items[0].materials[0].certificate_types[0]"
    assert "IT-1" in err.value.detail


def test_all_search_documents_cover_the_catalog(session: Session) -> None:
    service.load_bundle(session, service.demo_bundle())
    docs = service.all_search_documents(session)
    assert len(docs) == session.execute(select(func.count()).select_from(SearchDocument)).scalar_one()
    assert {d.kind for d in docs} == {"certificate-type", "data-resource", "item", "one-thing"}


# -- an external index follows commits ----------------------------------------------------------


class RecordingIndex:
    """A fake external index that only records what it is told (honestly a fake)."""

    def __init__(self) -> None:
        self.indexed: list[SearchDoc] = []
        self.removed: list[tuple[str, str]] = []

    def index(self, docs: Iterable[SearchDoc]) -> None:
        self.indexed.extend(docs)

    def remove(self, kind: str, code: str) -> None:
        self.removed.append((kind, code))

    def search(self, q: str, *, kind: str | None = None, limit: int = 20, offset: int = 0) -> SearchResult:
        return SearchResult(0, ())

    def rebuild(self, docs: Iterable[SearchDoc]) -> None:
        self.indexed = list(docs)

    def ping(self) -> None:
        pass


def test_external_index_sees_writes_only_after_commit(session: Session, org: str) -> None:
    external = RecordingIndex()
    follow_commits(session, external)
    service.put_certificate_type(session, org + "001", a_type(org))
    assert external.indexed == []
    session.commit()
    assert [d.code for d in external.indexed] == [org + "001"]


def test_external_index_never_sees_rolled_back_writes(session: Session, org: str) -> None:
    session.commit()
    external = RecordingIndex()
    follow_commits(session, external)
    service.put_certificate_type(session, org + "001", a_type(org))
    session.rollback()
    session.commit()
    assert external.indexed == []
