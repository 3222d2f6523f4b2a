"""Reference checks against a CatalogLookup: every unknown reference is named by its path."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.references import check_references
from catalog.schemas import CertificateTypeIn, DataResourceIn, ItemIn, OneThingIn
from catalog.validation import validate_body
from kernel.errors import ValidationFailed
from tests.catalog.bodies import ORG, OTHER_ORG, TYPE, certificate_type, item, mutate, one_thing


class FakeLookup:
    def __init__(self) -> None:
        self.orgs = {ORG}
        self.types = {TYPE: {"company_name", "established_on"}}
        self.resources = {"DR-1"}
        self.items = {"A", "B", "C"}

    def has_organization(self, code: str) -> bool:
        return code in self.orgs

    def certificate_type_fields(self, type_code: str) -> set[str] | None:
        return self.types.get(type_code)

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
