"""The demonstration catalog loads and is what `hub demo` promises."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc

from catalog.catalogfile import CatalogBundle, load_catalog_file
from catalog.codes import type_code_valid
from catalog.demo import demo_catalog_path


@pytest.fixture(scope="module")
def demo() -> CatalogBundle:
    return load_catalog_file(demo_catalog_path())


def test_demo_catalog_file_ships_with_the_package() -> None:
    assert demo_catalog_path().is_file()
    assert demo_catalog_path().suffix == ".yaml"


def test_every_organization_is_marked_demo_and_named_so(demo: CatalogBundle) -> None:
    for code, org in demo.organizations.items():
        assert org.demo, code
        assert "（演示）" in org.name, code
        assert uscc.is_valid(code)


def test_organization_counts_by_kind(demo: CatalogBundle) -> None:
    kinds = [o.kind for o in demo.organizations.values()]
    assert kinds.count("department") >= 8
    assert kinds.count("portal") >= 2
    assert kinds.count("operator") >= 1


def test_government_departments_have_government_codes(demo: CatalogBundle) -> None:
    names = {o.name: code for code, o in demo.organizations.items()}
    for fragment in (
        "市场监督管理局",
        "公安局",
        "卫生健康委员会",
        "民政局",
        "规划和自然资源局",
        "税务局",
        "人力资源和社会保障局",
        "医疗保障局",
        "住房和城乡建设管理委员会",
        "绿化和市容管理局",
    ):
        code = next(c for n, c in names.items() if fragment in n)
        assert code.startswith("11"), fragment


def test_at_least_fifteen_certificate_types_with_face_fields(demo: CatalogBundle) -> None:
    assert len(demo.certificate_types) >= 15
    names = {t.name for t in demo.certificate_types.values()}
    for expected in (
        "居民身份证",
        "居民户口簿",
        "出生医学证明",
        "结婚证",
        "离婚证",
        "营业执照",
        "食品经营许可证",
        "不动产权证书",
        "机动车驾驶证",
        "机动车行驶证",
        "社会保障卡",
        "医疗保障参保凭证",
        "公共场所卫生许可证",
        "预防接种证",
    ):
        assert expected in names
    assert any("招牌" in n for n in names)
    assert any("消防安全检查" in n for n in names)
    assert any("排水" in n for n in names)
    for certificate_type in demo.certificate_types.values():
        assert certificate_type.fields


def test_type_codes_are_defined_by_a_listed_organization(demo: CatalogBundle) -> None:
    for code, certificate_type in demo.certificate_types.items():
        assert type_code_valid(code)
        assert code[:18] in demo.organizations
        assert code[:18] in certificate_type.issuers


def test_holder_kinds_fit_the_holder(demo: CatalogBundle) -> None:
    by_name = {t.name: t for t in demo.certificate_types.values()}
    for person in ("居民身份证", "出生医学证明", "结婚证", "社会保障卡", "机动车驾驶证"):
        assert by_name[person].holder_kind == "111"
    for company in ("营业执照", "食品经营许可证", "公共场所卫生许可证"):
        assert by_name[company].holder_kind == "001"


def test_sharing_levels_are_varied(demo: CatalogBundle) -> None:
    levels = {t.sharing for t in demo.certificate_types.values()}
    assert {"unconditional", "conditional"} <= levels


def test_the_three_one_things_are_there(demo: CatalogBundle) -> None:
    names = {o.name for o in demo.one_things.values()}
    assert {"开办餐饮店一件事", "新生儿出生一件事", "二手房交易登记一件事"} <= names
    assert len(demo.data_resources) >= 3


def test_materials_cover_on_file_tolerated_and_commitment(demo: CatalogBundle) -> None:
    for one_thing in demo.one_things.values():
        materials = [m for code in one_thing.all_item_codes() for m in demo.items[code].materials]
        assert any(m.certificate_types for m in materials), one_thing.name
        assert any(m.tolerated for m in materials), one_thing.name
        assert any(m.commitment for m in materials), one_thing.name


def test_forms_are_prefilled_from_certificate_faces(demo: CatalogBundle) -> None:
    for one_thing in demo.one_things.values():
        sources = [f.source for code in one_thing.all_item_codes() for f in demo.items[code].form]
        assert any(s is not None for s in sources), one_thing.name


def test_every_item_belongs_to_some_one_thing(demo: CatalogBundle) -> None:
    used = {code for o in demo.one_things.values() for code in o.all_item_codes()}
    assert used == set(demo.items)


def test_the_demo_items_carry_rules_the_applications_follow(demo: CatalogBundle) -> None:
    items = demo.items
    assert all(i.time_limit_days for i in items.values())
    vaccination, birth = items["WJ-VACCINATION"], items["WJ-BIRTH-CERTIFICATE"]
    food = items["SC-FOOD-LICENCE"]
    assert vaccination.review == "auto" and vaccination.issues is not None
    assert vaccination.issues.type_code == "11310000DEM0000131002"
    assert birth.review == "manual" and birth.issues is None
    (commitment,) = [m for m in birth.materials if m.commitment]
    assert commitment.commitment_days == 30
    assert food.review == "manual" and food.issues is not None
    assert food.issues.type_code == "11310000DEM000011T002"
    # Every item that issues fills the type's required face fields from its own form.
    for item in items.values():
        if item.issues is None:
            continue
        face = demo.certificate_types[item.issues.type_code]
        required = {f.name for f in face.fields if f.required}
        assert required <= set(item.issues.data), item.name
        assert set(item.issues.data.values()) <= {f.name for f in item.form}, item.name
