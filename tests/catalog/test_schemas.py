"""Structural validation of the catalog PUT bodies: every bad input names its field."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.schemas import (
    DEFAULT_COMMITMENT_DAYS,
    CertificateTypeIn,
    DataResourceIn,
    FormFieldIn,
    ItemIn,
    MaterialIn,
    OneThingIn,
    OrganizationIn,
)
from catalog.validation import validate_body
from kernel.errors import ValidationFailed
from tests.catalog.bodies import ORG, OTHER_ORG, TYPE, certificate_type, item, mutate, one_thing


def field_of(model: type[Any], data: Any) -> str | None:
    with pytest.raises(ValidationFailed) as info:
        validate_body(model, data)
    assert info.value.code == "validation_failed"
    return info.value.field


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
    assert form.model_dump(mode="json") == {**item()["form"][0], "required": False}


def test_a_single_when_value_is_stored_as_a_list() -> None:
    model = validate_body(OneThingIn, one_thing())
    assert model.questions[1].when == {"signboard": ["yes"]}


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
        (ItemIn, item(), ["form", 0, "required"], "sometimes", "form[0].required"),
        (ItemIn, item(), ["time_limit_days"], 0, "time_limit_days"),
        (ItemIn, item(), ["time_limit_days"], 3651, "time_limit_days"),
        (ItemIn, item(), ["review"], "robot", "review"),
        (ItemIn, item(), ["issues"], {"type_code": TYPE, "data": {}}, "issues.data"),
        (ItemIn, item(), ["issues"], {"type_code": "x", "data": {"a": "premises"}}, "issues.type_code"),
        (ItemIn, item(), ["issues"], {"type_code": TYPE, "dat": {"a": "premises"}}, "issues.dat"),
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


def data_resource() -> dict[str, Any]:
    return {
        "name": "企业登记信息",
        "org": ORG,
        "sharing": "conditional",
        "update_frequency": "daily",
        "fields": [{"name": "uscc", "label": "代码"}, {"name": "name", "label": "名称"}],
    }


@pytest.mark.parametrize(
    ("model", "base", "path", "value", "field", "message"),
    [
        (
            CertificateTypeIn,
            certificate_type(),
            ["issuers"],
            [ORG, OTHER_ORG, ORG],
            "issuers[2]",
            f"issuer {ORG!r} is listed twice",
        ),
        (
            CertificateTypeIn,
            certificate_type(),
            ["fields", 1, "name"],
            "company_name",
            "fields[1].name",
            "field 'company_name' is defined twice",
        ),
        (
            DataResourceIn,
            data_resource(),
            ["fields", 1, "name"],
            "uscc",
            "fields[1].name",
            "field 'uscc' is defined twice",
        ),
        (
            ItemIn,
            item(),
            ["materials", 1, "code"],
            "M01",
            "materials[1].code",
            "material code 'M01' is used twice",
        ),
        (
            ItemIn,
            item(),
            ["materials", 0, "certificate_types"],
            [TYPE, TYPE],
            "materials[0].certificate_types[1]",
            f"certificate type {TYPE!r} is listed twice",
        ),
        (
            ItemIn,
            item(),
            ["materials", 1, "data_resources"],
            ["DR", "DR"],
            "materials[1].data_resources[1]",
            "data resource 'DR' is listed twice",
        ),
        (
            ItemIn,
            item(),
            ["form", 1, "name"],
            "company_name",
            "form[1].name",
            "form field 'company_name' is defined twice",
        ),
        (OneThingIn, one_thing(), ["items"], ["A", "A"], "items[1]", "item 'A' is listed twice"),
        (
            OneThingIn,
            one_thing(),
            ["questions", 0, "options", 0, "add_items"],
            ["B", "B"],
            "questions[0].options[0].add_items[1]",
            "item 'B' is listed twice",
        ),
        (
            OneThingIn,
            one_thing(),
            ["questions", 0, "options", 1, "value"],
            "yes",
            "questions[0].options[1].value",
            "option value 'yes' is used twice",
        ),
        (
            OneThingIn,
            one_thing(),
            ["questions", 1, "id"],
            "signboard",
            "questions[1].id",
            "question id 'signboard' is used twice",
        ),
    ],
)
def test_a_repeat_in_a_list_names_the_second_occurrence(
    model: type[Any], base: dict[str, Any], path: list[str | int], value: Any, field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_body(model, mutate(base, path, value))
    assert info.value.field == field
    assert info.value.detail == f"{field}: {message}"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (ORG.lower(), "a USCC is written as 18 capital letters and digits, no separators"),
        (ORG[:8] + "-" + ORG[8:], "a USCC is written as 18 capital letters and digits, no separators"),
        (
            ORG[:-1] + ("0" if ORG[-1] != "0" else "1"),
            "not a valid USCC (统一社会信用代码): The number's checksum",
        ),
        (ORG[:10], "not a valid USCC (统一社会信用代码): The number has an invalid length."),
    ],
)
def test_a_bad_uscc_in_a_body_says_what_is_wrong(code: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_body(OrganizationIn, {"code": code, "name": "示范局", "kind": "department"})
    assert info.value.field == "code"
    assert info.value.detail.startswith(f"code: {message}")


# -- the rules of an item: time limit, review, commitments, the certificate it issues -----------------


def an_item_issuing(data: dict[str, str]) -> dict[str, Any]:
    return {**item(), "issues": {"type_code": TYPE, "data": data}}


def test_an_item_without_rules_gets_the_defaults() -> None:
    model = validate_body(ItemIn, item())
    assert (model.time_limit_days, model.review, model.issues) == (None, "manual", None)
    assert [f.required for f in model.form] == [False, False]
    assert [m.commitment_days for m in model.materials] == [None, None]


def test_the_rules_are_kept_as_given() -> None:
    data = {**an_item_issuing({"company_name": "company_name"}), "time_limit_days": 10, "review": "auto"}
    data["form"][1]["required"] = True
    model = validate_body(ItemIn, data)
    assert (model.time_limit_days, model.review) == (10, "auto")
    assert model.issues is not None and model.issues.type_code == TYPE
    assert model.issues.data == {"company_name": "company_name"}
    assert model.form[1].required is True


@pytest.mark.parametrize("days", [1, 3650])
def test_time_limits_and_commitment_days_take_one_day_to_ten_years(days: int) -> None:
    data = mutate(item(), ["materials", 1], {"code": "M02", "name": "承诺", "commitment": True})
    data["materials"][1]["commitment_days"] = days
    model = validate_body(ItemIn, {**data, "time_limit_days": days})
    assert model.time_limit_days == days and model.materials[1].commitment_days == days


@pytest.mark.parametrize("days", [0, 3651, -30])
def test_commitment_days_out_of_bounds_are_refused(days: int) -> None:
    data = mutate(item(), ["materials", 1], {"code": "M02", "name": "承诺", "commitment": True})
    data["materials"][1]["commitment_days"] = days
    assert field_of(ItemIn, data) == "materials[1].commitment_days"


def test_commitment_days_without_a_commitment_are_refused() -> None:
    data = mutate(item(), ["materials", 1, "commitment_days"], 30)
    with pytest.raises(ValidationFailed) as info:
        validate_body(ItemIn, data)
    assert info.value.field == "materials[1].commitment_days"
    assert "commitment: true" in info.value.detail


def test_a_commitment_gives_its_own_days_or_the_default() -> None:
    material = {"code": "M01", "name": "承诺书", "commitment": True}
    assert validate_body(MaterialIn, material).days_to_fulfil == DEFAULT_COMMITMENT_DAYS == 30
    assert validate_body(MaterialIn, {**material, "commitment_days": 60}).days_to_fulfil == 60


def test_issues_may_only_name_form_fields_of_the_item() -> None:
    data = an_item_issuing({"company_name": "company_name", "established_on": "opened_on"})
    with pytest.raises(ValidationFailed) as info:
        validate_body(ItemIn, data)
    assert info.value.field == "issues.data.established_on"
    assert "'opened_on'" in info.value.detail


def test_issues_face_fields_and_form_fields_are_snake_case() -> None:
    assert (field_of(ItemIn, an_item_issuing({"Company": "company_name"})) or "").startswith(
        "issues.data.Company"
    )
    assert field_of(ItemIn, an_item_issuing({"company_name": "Company"})) == "issues.data.company_name"
