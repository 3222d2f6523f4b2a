"""Structural validation of the catalog PUT bodies and the reference check."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest
from stdnum.cn import uscc

from catalog.schemas import (
    CertificateTypeIn,
    DataResourceIn,
    FormFieldIn,
    ItemIn,
    OneThingIn,
    OrganizationIn,
    catalog_code_valid,
    check_references,
    format_loc,
    type_code_valid,
    uscc_valid,
    validate_body,
)
from kernel.errors import ValidationFailed


def make_uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


ORG = make_uscc("11310000DEM000091")
OTHER_ORG = make_uscc("11310000DEM000081")
TYPE = ORG + "001"
PUBLISHED_TYPE = "11100000000013338W032"  # from a published GB/T 36904 identifier


def certificate_type() -> dict[str, Any]:
    return {
        "name": "营业执照",
        "holder_kind": "001",
        "issuers": [ORG],
        "sharing": "unconditional",
        "validity_years": None,
        "fields": [
            {"name": "company_name", "label": "名称", "type": "string", "required": True},
            {"name": "established_on", "label": "成立日期", "type": "date"},
        ],
    }


def item() -> dict[str, Any]:
    return {
        "name": "食品经营许可",
        "org": ORG,
        "materials": [
            {
                "code": "M01",
                "name": "营业执照",
                "required": True,
                "tolerated": False,
                "commitment": False,
                "certificate_types": [TYPE],
                "data_resources": [],
            },
            {"code": "M02", "name": "布局图"},
        ],
        "form": [
            {
                "name": "company_name",
                "label": "企业名称",
                "from": {"type_code": TYPE, "field": "company_name"},
            },
            {"name": "premises", "label": "经营场所"},
        ],
    }


def one_thing() -> dict[str, Any]:
    return {
        "name": "开办餐饮店一件事",
        "items": ["A"],
        "questions": [
            {
                "id": "signboard",
                "text": "是否设置户外招牌？",
                "when": {},
                "options": [
                    {"value": "yes", "label": "是", "add_items": ["B"]},
                    {"value": "no", "label": "否", "add_items": []},
                ],
            },
            {
                "id": "size",
                "text": "招牌规模？",
                "when": {"signboard": "yes"},
                "options": [
                    {"value": "small", "label": "小", "add_items": []},
                    {"value": "large", "label": "大", "add_items": ["C"]},
                ],
            },
        ],
    }


def field_of(model: type[Any], data: Any) -> str | None:
    with pytest.raises(ValidationFailed) as info:
        validate_body(model, data)
    assert info.value.code == "validation_failed"
    return info.value.field


def test_uscc_valid_accepts_a_computed_code_and_rejects_a_wrong_check_character() -> None:
    assert uscc_valid(ORG)
    wrong = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    assert not uscc_valid(wrong)
    assert not uscc_valid(ORG.lower())


def test_type_code_is_a_uscc_plus_three_digits() -> None:
    assert type_code_valid(TYPE)
    assert type_code_valid(PUBLISHED_TYPE)
    assert not type_code_valid(ORG + "01")
    assert not type_code_valid(ORG + "0A1")
    wrong_check = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    assert not type_code_valid(wrong_check + "001")


def test_catalog_codes_are_url_safe() -> None:
    assert catalog_code_valid("SC-FOOD-LICENCE")
    assert catalog_code_valid("310101.001_2")
    assert not catalog_code_valid("a/b")
    assert not catalog_code_valid("-x")
    assert not catalog_code_valid("")
    assert not catalog_code_valid("x" * 65)


def test_format_loc_writes_lists_with_brackets() -> None:
    assert format_loc(("materials", 0, "certificate_types", 1)) == "materials[0].certificate_types[1]"


def test_good_bodies_validate() -> None:
    validate_body(OrganizationIn, {"code": ORG, "name": "示范局", "kind": "department"})
    validate_body(CertificateTypeIn, certificate_type())
    validate_body(ItemIn, item())
    validate_body(OneThingIn, one_thing())
    validate_body(
        DataResourceIn,
        {
            "name": "企业登记信息",
            "org": ORG,
            "sharing": "conditional",
            "update_frequency": "daily",
            "fields": [{"name": "uscc", "label": "代码"}],
        },
    )


def test_form_field_keeps_the_contract_key_from() -> None:
    form = validate_body(FormFieldIn, item()["form"][0])
    assert form.model_dump()["from"] == {"type_code": TYPE, "field": "company_name"}
    assert form.model_dump(mode="json") == item()["form"][0]


def test_a_single_when_value_is_stored_as_a_list() -> None:
    model = validate_body(OneThingIn, one_thing())
    assert model.questions[1].when == {"signboard": ["yes"]}


def mutate(base: dict[str, Any], path: Iterable[str | int], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    *head, last = list(path)
    target: Any = data
    for part in head:
        target = target[part]
    target[last] = value
    return data


@pytest.mark.parametrize(
    ("model", "base", "path", "value", "field"),
    [
        (OrganizationIn, {"code": ORG, "name": "x", "kind": "department"}, ["code"], ORG[:-1] + "@", "code"),
        (OrganizationIn, {"code": ORG, "name": "x", "kind": "department"}, ["kind"], "bank", "kind"),
        (OrganizationIn, {"code": ORG, "name": "x", "kind": "department"}, ["name"], "  ", "name"),
        (OrganizationIn, {"code": ORG, "name": "x", "kind": "department"}, ["kidn"], "portal", "kidn"),
        (CertificateTypeIn, certificate_type(), ["holder_kind"], "112", "holder_kind"),
        (CertificateTypeIn, certificate_type(), ["issuers"], [], "issuers"),
        (CertificateTypeIn, certificate_type(), ["issuers", 0], "91310000MA1FL0000X", "issuers[0]"),
        (CertificateTypeIn, certificate_type(), ["sharing"], "public", "sharing"),
        (CertificateTypeIn, certificate_type(), ["validity_years"], 0, "validity_years"),
        (CertificateTypeIn, certificate_type(), ["fields", 1, "name"], "company_name", "fields[1].name"),
        (CertificateTypeIn, certificate_type(), ["fields", 0, "name"], "CompanyName", "fields[0].name"),
        (CertificateTypeIn, certificate_type(), ["fields", 0, "type"], "text", "fields[0].type"),
        (CertificateTypeIn, certificate_type(), ["fields", 0, "lable"], "名称", "fields[0].lable"),
        (ItemIn, item(), ["org"], "not-a-uscc", "org"),
        (ItemIn, item(), ["materials", 1, "code"], "M01", "materials[1].code"),
        (ItemIn, item(), ["materials", 0, "certificate_types", 0], ORG, "materials[0].certificate_types[0]"),
        (
            ItemIn,
            item(),
            ["materials", 0, "certificate_types"],
            [TYPE, TYPE],
            "materials[0].certificate_types[1]",
        ),
        (ItemIn, item(), ["materials", 0, "data_resources"], ["a b"], "materials[0].data_resources[0]"),
        (ItemIn, item(), ["form", 1, "name"], "company_name", "form[1].name"),
        (ItemIn, item(), ["form", 0, "from", "type_code"], "x", "form[0].from.type_code"),
        (ItemIn, item(), ["form", 0, "from", "fields"], "x", "form[0].from.fields"),
        (OneThingIn, one_thing(), ["questions", 1, "id"], "signboard", "questions[1].id"),
        (
            OneThingIn,
            one_thing(),
            ["questions", 0, "options", 1, "value"],
            "yes",
            "questions[0].options[1].value",
        ),
        (OneThingIn, one_thing(), ["questions", 0, "options"], [], "questions[0].options"),
        (OneThingIn, one_thing(), ["questions", 1, "when"], {"nope": "yes"}, "questions[1].when.nope"),
        (OneThingIn, one_thing(), ["questions", 1, "when"], {"size": "small"}, "questions[1].when.size"),
        (
            OneThingIn,
            one_thing(),
            ["questions", 1, "when"],
            {"signboard": "maybe"},
            "questions[1].when.signboard[0]",
        ),
        (OneThingIn, one_thing(), ["questions", 1, "when"], {"signboard": []}, "questions[1].when.signboard"),
        (OneThingIn, one_thing(), ["items"], ["A", "A"], "items[1]"),
    ],
)
def test_a_bad_input_names_its_field(
    model: type[Any], base: dict[str, Any], path: list[str | int], value: Any, field: str
) -> None:
    assert field_of(model, mutate(base, path, value)) == field


def test_when_may_not_refer_to_a_later_question() -> None:
    data = one_thing()
    data["questions"][0]["when"] = {"size": "large"}
    with pytest.raises(ValidationFailed) as info:
        validate_body(OneThingIn, data)
    assert info.value.field == "questions[0].when.size"
    assert "earlier" in info.value.detail


def test_a_one_thing_without_any_item_is_refused() -> None:
    data = {"name": "空", "items": [], "questions": []}
    assert field_of(OneThingIn, data) == "items"


def test_validate_body_prefix_is_prepended() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_body(ItemIn, mutate(item(), ["org"], "x"), prefix=("items", 4))
    assert info.value.field == "items[4].org"


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
