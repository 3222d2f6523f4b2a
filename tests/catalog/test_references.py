"""Reference checks against a CatalogLookup: every unknown reference is named by its path."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.references import CertificateTypeView, check_references
from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from catalog.validation import validate_body
from kernel.errors import ValidationFailed
from tests.catalog.bodies import ORG, OTHER_ORG, TYPE, certificate_type, item, mutate, one_thing


class FakeLookup:
    def __init__(self) -> None:
        self.orgs = {ORG}
        self.types = {TYPE: CertificateTypeView.of(validate_body(CertificateTypeIn, certificate_type()))}
        self.resources = {"DR-1"}
        self.items = {"A", "B", "C"}

    def has_organization(self, code: str) -> bool:
        return code in self.orgs

    def certificate_type(self, type_code: str) -> CertificateTypeView | None:
        return self.types.get(type_code)

    def certificate_type_fields(self, type_code: str) -> frozenset[str] | None:
        view = self.types.get(type_code)
        return None if view is None else view.fields

    def has_data_resource(self, code: str) -> bool:
        return code in self.resources

    def has_item(self, code: str) -> bool:
        return code in self.items


def reference_error(body: Any) -> str | None:
    with pytest.raises(ValidationFailed) as info:
        check_references(body, FakeLookup())
    assert info.value.code == "unknown_reference"
    return info.value.field


def test_references_that_exist_pass() -> None:
    lookup = FakeLookup()
    check_references(validate_body(CertificateTypeIn, certificate_type()), lookup)
    check_references(validate_body(ItemIn, item()), lookup)
    check_references(validate_body(OneThingIn, one_thing()), lookup)


def test_unknown_issuer_is_named() -> None:
    body = validate_body(CertificateTypeIn, mutate(certificate_type(), ["issuers"], [ORG, OTHER_ORG]))
    assert reference_error(body) == "issuers[1]"


def test_unknown_item_org_is_named() -> None:
    assert reference_error(validate_body(ItemIn, mutate(item(), ["org"], OTHER_ORG))) == "org"


def test_unknown_material_certificate_type_is_named() -> None:
    body = validate_body(
        ItemIn, mutate(item(), ["materials", 0, "certificate_types"], [TYPE, OTHER_ORG + "001"])
    )
    assert reference_error(body) == "materials[0].certificate_types[1]"


def test_unknown_data_resource_is_named() -> None:
    body = validate_body(ItemIn, mutate(item(), ["materials", 1, "data_resources"], ["DR-1", "DR-2"]))
    assert reference_error(body) == "materials[1].data_resources[1]"


def test_form_source_field_must_be_a_face_field_of_the_type() -> None:
    body = validate_body(ItemIn, mutate(item(), ["form", 0, "from", "field"], "address"))
    assert reference_error(body) == "form[0].from.field"


def test_form_source_type_must_exist() -> None:
    body = validate_body(ItemIn, mutate(item(), ["form", 0, "from", "type_code"], OTHER_ORG + "002"))
    assert reference_error(body) == "form[0].from.type_code"


def test_one_thing_items_and_added_items_must_exist() -> None:
    assert (
        reference_error(validate_body(OneThingIn, mutate(one_thing(), ["items"], ["A", "Z"]))) == "items[1]"
    )
    body = validate_body(OneThingIn, mutate(one_thing(), ["questions", 1, "options", 1, "add_items"], ["Z"]))
    assert reference_error(body) == "questions[1].options[1].add_items[0]"


def test_data_resource_org_must_exist() -> None:
    body = validate_body(
        DataResourceIn,
        {
            "name": "n",
            "org": OTHER_ORG,
            "sharing": "none",
            "update_frequency": "daily",
            "fields": [{"name": "a", "label": "A"}],
        },
    )
    assert reference_error(body) == "org"


# -- the certificate an item issues --------------------------------------------------------------


def issuing(type_code: str = TYPE, **data: str) -> ItemIn:
    """The example item, issuing ``type_code`` with the face taken from ``data`` (face field → form field)."""
    return validate_body(ItemIn, {**item(), "issues": {"type_code": type_code, "data": data}})


def test_the_type_view_knows_fields_required_fields_and_issuers() -> None:
    view = FakeLookup().types[TYPE]
    assert view.fields == {"company_name", "established_on"}
    assert view.required_fields == {"company_name"} and view.issuers == {ORG}


def test_an_item_issuing_a_type_it_fills_passes() -> None:
    check_references(issuing(company_name="company_name"), FakeLookup())
    check_references(issuing(company_name="company_name", established_on="premises"), FakeLookup())


def test_the_issued_type_must_exist() -> None:
    assert reference_error(issuing(OTHER_ORG + "001", company_name="company_name")) == "issues.type_code"


def test_the_items_organization_must_issue_the_type() -> None:
    lookup = FakeLookup()
    lookup.orgs.add(OTHER_ORG)
    body = validate_body(
        ItemIn,
        {**item(), "org": OTHER_ORG, "issues": {"type_code": TYPE, "data": {"company_name": "company_name"}}},
    )
    with pytest.raises(ValidationFailed) as info:
        check_references(body, lookup)
    assert (info.value.code, info.value.field) == ("validation_failed", "issues.type_code")
    assert info.value.detail == (
        f"issues.type_code: certificate type {TYPE} is not issued by organization {OTHER_ORG}"
    )


def test_every_face_field_named_must_be_a_field_of_the_type() -> None:
    body = issuing(company_name="company_name", opened_on="premises")
    assert reference_error(body) == "issues.data.opened_on"


def test_every_required_face_field_must_be_taken_from_the_form() -> None:
    body = issuing(established_on="premises")
    with pytest.raises(ValidationFailed) as info:
        check_references(body, FakeLookup())
    assert (info.value.code, info.value.field) == ("validation_failed", "issues.data")
    assert "'company_name'" in info.value.detail


def test_every_unmapped_required_face_field_is_named() -> None:
    lookup = FakeLookup()
    lookup.types[TYPE] = CertificateTypeView(
        fields=frozenset({"company_name", "established_on", "address"}),
        required_fields=frozenset({"company_name", "established_on", "address"}),
        issuers=frozenset({ORG}),
    )
    with pytest.raises(ValidationFailed) as info:
        check_references(issuing(company_name="company_name"), lookup)
    assert info.value.field == "issues.data"
    assert "'address', 'established_on'" in info.value.detail
