"""Catalog files: JSON and YAML, whole-file validation, errors that say where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import uscc

from catalog.catalogfile import CatalogBundle, load_catalog_file, parse_catalog
from catalog.references import CertificateTypeView
from kernel.errors import ValidationFailed

ORG = "11310000DEM000091"
ORG += uscc.calc_check_digit(ORG)
PORTAL = "12310000DEM000092"
PORTAL += uscc.calc_check_digit(PORTAL)
TYPE = ORG + "001"

YAML = f"""\
organizations:
  - code: "{ORG}"
    name: 测试局（演示）
    kind: department
    demo: true
  - {{code: "{PORTAL}", name: 测试门户（演示）, kind: portal, demo: true}}
certificate_types:
  - code: "{TYPE}"
    name: 营业执照
    holder_kind: "001"
    issuers: ["{ORG}"]
    sharing: unconditional
    fields:
      - {{name: company_name, label: 名称, type: string, required: true}}
      - {{name: address, label: 住所}}
data_resources:
  - code: DR-1
    name: 企业登记信息
    org: "{ORG}"
    sharing: conditional
    update_frequency: daily
    fields:
      - {{name: uscc, label: 统一社会信用代码}}
items:
  - code: ITEM-A
    name: 食品经营许可
    org: "{ORG}"
    materials:
      - code: M01
        name: 营业执照
        certificate_types: ["{TYPE}"]
        data_resources: [DR-1]
    form:
      - name: company_name
        label: 企业名称
        from: {{type_code: "{TYPE}", field: company_name}}
  - code: ITEM-B
    name: 户外招牌设置
    org: "{ORG}"
one_things:
  - code: OT-1
    name: 开办餐饮店一件事
    items: [ITEM-A]
    questions:
      - id: signboard
        text: 是否设置户外招牌？
        options:
          - {{value: yes, label: 是, add_items: [ITEM-B]}}
          - {{value: no, label: 否}}
"""


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def fails(text: str, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        parse_catalog(text, **kwargs)
    return info.value


def test_yaml_file_loads_in_order(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(YAML, encoding="utf-8")
    bundle = load_catalog_file(path)
    assert list(bundle.organizations) == [ORG, PORTAL]
    assert list(bundle.certificate_types) == [TYPE]
    assert list(bundle.data_resources) == ["DR-1"]
    assert list(bundle.items) == ["ITEM-A", "ITEM-B"]
    assert bundle.one_things["OT-1"].questions[0].options[0].add_items == ["ITEM-B"]


def test_yes_and_no_stay_strings_in_yaml() -> None:
    bundle = parse_catalog(YAML, fmt="yaml")
    assert [o.value for o in bundle.one_things["OT-1"].questions[0].options] == ["yes", "no"]


def test_json_file_loads_the_same(tmp_path: Path) -> None:
    from_yaml = parse_catalog(YAML, fmt="yaml")
    data = {
        "organizations": [o.model_dump() for o in from_yaml.organizations.values()],
        "certificate_types": [{"code": c, **t.model_dump()} for c, t in from_yaml.certificate_types.items()],
        "data_resources": [{"code": c, **r.model_dump()} for c, r in from_yaml.data_resources.items()],
        "items": [{"code": c, **i.model_dump()} for c, i in from_yaml.items.items()],
        "one_things": [{"code": c, **o.model_dump()} for c, o in from_yaml.one_things.items()],
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    assert load_catalog_file(path) == from_yaml


def test_format_is_detected_from_content_without_an_extension(tmp_path: Path) -> None:
    path = tmp_path / "catalog"
    path.write_text(json.dumps({"organizations": [{"code": ORG, "name": "x", "kind": "operator"}]}))
    assert list(load_catalog_file(path).organizations) == [ORG]
    path.write_text(YAML, encoding="utf-8")
    assert list(load_catalog_file(path).one_things) == ["OT-1"]


def test_empty_file_is_an_empty_bundle() -> None:
    assert parse_catalog("", fmt="yaml") == CatalogBundle()


def test_bad_yaml_entry_names_section_index_code_and_line() -> None:
    text = YAML.replace("type: string, required: true", "type: text, required: true")
    error = fails(text, fmt="yaml", source="demo.yaml")
    entry_line = line_of(YAML, f'- code: "{TYPE}"')
    assert error.field == "certificate_types[0].fields[0].type"
    assert error.entry_line == entry_line  # type: ignore[attr-defined]
    assert error.line == line_of(YAML, "name: company_name")  # type: ignore[attr-defined]
    assert "demo.yaml" in error.detail
    assert "certificate_types[0]" in error.detail
    assert TYPE in error.detail
    assert f"line {entry_line}" in error.detail


def test_a_typo_key_fails_loudly_with_its_line() -> None:
    text = YAML.replace("    update_frequency: daily", "    update_frequncy: daily")
    error = fails(text, fmt="yaml")
    assert error.field == "data_resources[0].update_frequncy"
    assert error.line == line_of(text, "update_frequncy")  # type: ignore[attr-defined]


def test_unknown_section_is_refused() -> None:
    error = fails(YAML + "itmes: []\n", fmt="yaml")
    assert error.field == "itmes"


def test_entry_without_code_is_refused() -> None:
    error = fails(YAML.replace("  - code: ITEM-B\n", "  - \n"), fmt="yaml")
    assert error.field == "items[1].code"


def test_bad_type_code_is_refused() -> None:
    error = fails(YAML.replace(f'- code: "{TYPE}"', f'- code: "{ORG}01"'), fmt="yaml")
    assert error.field == "certificate_types[0].code"


def test_duplicate_code_in_a_section_is_refused() -> None:
    error = fails(YAML.replace("code: ITEM-B", "code: ITEM-A"), fmt="yaml")
    assert error.field == "items[1].code"
    assert "twice" in error.detail


def test_internal_reference_to_a_missing_item_names_its_line() -> None:
    text = YAML.replace("add_items: [ITEM-B]", "add_items: [ITEM-C]")
    error = fails(text, fmt="yaml")
    assert error.code == "unknown_reference"
    assert error.field == "one_things[0].questions[0].options[0].add_items[0]"
    assert error.line == line_of(text, "ITEM-C")  # type: ignore[attr-defined]
    assert error.entry_line == line_of(text, "code: OT-1")  # type: ignore[attr-defined]


def test_internal_reference_to_a_missing_face_field() -> None:
    error = fails(YAML.replace("field: company_name", "field: company"), fmt="yaml")
    assert error.field == "items[0].form[0].from.field"


def test_internal_reference_to_a_missing_organization() -> None:
    other = "11310000DEM000093"
    other += uscc.calc_check_digit(other)
    error = fails(YAML.replace(f'issuers: ["{ORG}"]', f'issuers: ["{other}"]'), fmt="yaml")
    assert error.field == "certificate_types[0].issuers[0]"


def test_internal_reference_to_a_missing_data_resource() -> None:
    error = fails(YAML.replace("data_resources: [DR-1]", "data_resources: [DR-2]"), fmt="yaml")
    assert error.field == "items[0].materials[0].data_resources[0]"


class ExistingOrg:
    """The database already knows ORG; the file only adds what depends on it."""

    def has_organization(self, code: str) -> bool:
        return code == ORG

    def certificate_type(self, type_code: str) -> CertificateTypeView | None:
        return None

    def certificate_type_fields(self, type_code: str) -> set[str] | None:
        return None

    def has_data_resource(self, code: str) -> bool:
        return False

    def has_item(self, code: str) -> bool:
        return False


def test_references_may_resolve_against_the_existing_catalog() -> None:
    text = YAML.split("certificate_types:", 1)[1]
    text = "certificate_types:" + text
    with pytest.raises(ValidationFailed):
        parse_catalog(text, fmt="yaml")
    bundle = parse_catalog(text, fmt="yaml", existing=ExistingOrg())
    assert bundle.organizations == {}
    assert list(bundle.items) == ["ITEM-A", "ITEM-B"]


def with_issues(type_code: str, **data: str) -> str:
    """The example file, ITEM-A issuing ``type_code`` with the face taken from ``data``."""
    issues = json.dumps({"type_code": type_code, "data": data})  # JSON is a YAML flow mapping
    return YAML.replace("  - code: ITEM-B\n", f"    issues: {issues}\n  - code: ITEM-B\n")


def test_an_item_issuing_a_type_of_the_file_loads() -> None:
    bundle = parse_catalog(with_issues(TYPE, company_name="company_name"), fmt="yaml")
    issues = bundle.items["ITEM-A"].issues
    assert issues is not None and (issues.type_code, issues.data) == (TYPE, {"company_name": "company_name"})


@pytest.mark.parametrize(
    ("type_code", "data", "code", "field", "says"),
    [
        (
            ORG + "002",
            {"company_name": "company_name"},
            "unknown_reference",
            "type_code",
            "no certificate type",
        ),
        (
            TYPE,
            {"company_name": "company_name", "name": "company_name"},
            "unknown_reference",
            "data.name",
            "no field 'name'",
        ),
        (
            TYPE,
            {"address": "company_name"},
            "validation_failed",
            "data",
            "requires face field 'company_name'",
        ),
        (TYPE, {"company_name": "company"}, "validation_failed", "data.company_name", "no field 'company'"),
    ],
)
def test_a_bad_issues_names_its_field_and_line(
    type_code: str, data: dict[str, str], code: str, field: str, says: str
) -> None:
    text = with_issues(type_code, **data)
    error = fails(text, fmt="yaml")
    assert (error.code, error.field) == (code, f"items[0].issues.{field}")
    assert says in error.detail
    assert error.line == line_of(text, "issues:")  # type: ignore[attr-defined]
    assert error.entry_line == line_of(text, "code: ITEM-A")  # type: ignore[attr-defined]


def test_an_item_of_an_organization_that_does_not_issue_the_type_is_refused() -> None:
    text = with_issues(TYPE, company_name="company_name")
    text = text.replace(f'    org: "{ORG}"\n    materials:', f'    org: "{PORTAL}"\n    materials:')
    error = fails(text, fmt="yaml")
    assert (error.code, error.field) == ("validation_failed", "items[0].issues.type_code")
    assert f"certificate type {TYPE} is not issued by organization {PORTAL}" in error.detail


def test_an_item_may_issue_a_type_the_database_holds() -> None:
    class ExistingType(ExistingOrg):
        def certificate_type(self, type_code: str) -> CertificateTypeView | None:
            if type_code != ORG + "002":
                return None
            return CertificateTypeView(frozenset({"holder"}), frozenset({"holder"}), frozenset({ORG}))

    text = with_issues(ORG + "002", holder="company_name")
    assert parse_catalog(text, fmt="yaml", existing=ExistingType()).items["ITEM-A"].issues is not None
    error = fails(with_issues(ORG + "002", owner="company_name"), fmt="yaml", existing=ExistingType())
    assert error.field == "items[0].issues.data.owner"


def test_json_errors_name_section_index_and_code() -> None:
    data = {"items": [{"code": "X-1", "name": "x", "org": "nope"}]}
    error = fails(json.dumps(data), fmt="json")
    assert error.field == "items[0].org"
    assert "X-1" in error.detail


def test_malformed_yaml_reports_its_line() -> None:
    error = fails("organizations:\n  - {code: [\n", fmt="yaml")
    assert "line" in error.detail


def test_malformed_json_reports_its_line() -> None:
    error = fails('{\n "items": [,]\n}', fmt="json")
    assert "line 2" in error.detail


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert "mapping" in fails("- a\n- b\n", fmt="yaml").detail


def test_unreadable_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed):
        load_catalog_file(tmp_path / "missing.yaml")
