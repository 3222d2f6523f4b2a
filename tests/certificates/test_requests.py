"""An issuance request against its certificate type: each rule names the field at fault."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from certificates.requests import Holder, IssuanceRequest, check_request
from kernel.errors import ValidationFailed
from tests.factories import new_ric, new_uscc

FIELDS: list[dict[str, Any]] = [
    {"name": "name", "label": "姓名", "type": "string", "required": True},
    {"name": "born_on", "label": "出生日期", "type": "date"},
    {"name": "children", "label": "子女数", "type": "number"},
    {"name": "married", "label": "已婚", "type": "boolean"},
]


def _request(**changes: Any) -> IssuanceRequest:
    base = IssuanceRequest(
        type_code=new_uscc() + "001",
        external_id="ext-1",
        holder=Holder("张三", "111", new_ric()),
        issued_on=date(2026, 1, 1),
        valid_from=date(2026, 1, 1),
        valid_until=date(2031, 1, 1),
        area_code="310101",
        data={"name": "张三", "born_on": "1990-01-01", "children": 1, "married": False},
    )
    return replace(base, **changes)


def test_a_good_request_passes() -> None:
    check_request(_request(), FIELDS, "111")


def _field_at_fault(req: IssuanceRequest, holder_kind: str = "111") -> str | None:
    with pytest.raises(ValidationFailed) as e:
        check_request(req, FIELDS, holder_kind)
    return e.value.field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"external_id": "has space"}, "external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"serial": "abc"}, "serial"),
        ({"holder": Holder("  ", "111", "110101199003074514")}, "holder.name"),
        ({"holder": Holder("张\x00三", "111", "110101199003074514")}, "holder.name"),
        ({"holder": Holder("张三", "002", "110101199003074514")}, "holder.kind"),
        ({"holder": Holder("张三", "111", "110101199003074515")}, "holder.code"),  # wrong check digit
        ({"area_code": "31010"}, "area_code"),
        ({"area_code": "010101"}, "area_code"),
        ({"valid_from": date(2025, 12, 31)}, "valid_from"),
        ({"valid_until": date(2025, 12, 31)}, "valid_until"),
        ({"data": {"name": "张三", "unknown": "x"}}, "data.unknown"),
        ({"data": {"born_on": "1990-01-01"}}, "data.name"),
        ({"data": {"name": ""}}, "data.name"),
        ({"data": {"name": "a\x07b"}}, "data.name"),
        ({"data": {"name": "长" * 2001}}, "data.name"),
        ({"data": {"name": "张三", "born_on": "1990-1-1"}}, "data.born_on"),
        ({"data": {"name": "张三", "born_on": "1990-02-30"}}, "data.born_on"),
        ({"data": {"name": "张三", "children": True}}, "data.children"),
        ({"data": {"name": "张三", "children": "1"}}, "data.children"),
        ({"data": {"name": "张三", "married": "no"}}, "data.married"),
        ({"data": {"name": 3}}, "data.name"),
    ],
)
def test_each_rule_names_its_field(changes: dict[str, Any], field: str) -> None:
    assert _field_at_fault(_request(**changes)) == field


def test_the_holder_must_be_of_the_types_kind() -> None:
    assert _field_at_fault(_request(), holder_kind="001") == "holder.kind"


def test_a_company_holder_needs_a_valid_uscc() -> None:
    company = Holder("示范餐饮有限公司", "001", new_uscc("91310000"))
    check_request(_request(holder=company), FIELDS, "001")
    bad = Holder("示范餐饮有限公司", "001", company.code[:-1] + ("0" if company.code[-1] != "0" else "1"))
    assert _field_at_fault(_request(holder=bad), holder_kind="001") == "holder.code"


def test_the_message_never_repeats_the_identity_number() -> None:
    code = "110101199003074515"
    with pytest.raises(ValidationFailed) as e:
        check_request(_request(holder=Holder("张三", "111", code)), FIELDS, "111")
    assert code not in e.value.detail


def test_the_same_content_has_the_same_hash_and_any_change_another() -> None:
    a = _request()
    assert a.content_hash() == replace(a).content_hash()
    assert a.content_hash() != replace(a, area_code="310104").content_hash()
    assert a.content_hash() != replace(a, file=b"%PDF-1.7").content_hash()
