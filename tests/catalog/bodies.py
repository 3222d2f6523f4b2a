"""Example catalog bodies (as plain data) shared by the catalog's tests, and a way to change one field."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from stdnum.cn import uscc


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


def mutate(base: dict[str, Any], path: Iterable[str | int], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(base)
    *head, last = list(path)
    target: Any = data
    for part in head:
        target = target[part]
    target[last] = value
    return data
