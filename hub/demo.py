"""Demonstration data: the demo catalog, a few hundred certificates across its types and holders,
and clients to try the API with. Everything is marked as demonstration data (示范市, （演示）)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from catalog.queries import demo_issuable_types
from certificates.issuance import issue_certificate
from certificates.requests import Holder, IssuanceRequest
from hub.state import HubState
from kernel.errors import Conflict

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
]
COMPANY_WORDS = ["餐饮", "商贸", "科技", "物业", "食品", "文化", "建设", "咨询"]
DISTRICTS = [
    ("310101", "黄浦区"),
    ("310104", "徐汇区"),
    ("310105", "长宁区"),
    ("310106", "静安区"),
    ("310107", "普陀区"),
]


@dataclass
class DemoHolders:
    rng: random.Random
    persons: list[Holder] = field(default_factory=list)
    companies: list[Holder] = field(default_factory=list)

    def make(self, n_persons: int, n_companies: int) -> None:
        for i in range(n_persons):
            area = self.rng.choice(DISTRICTS)[0]
            birth = date(1960, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 45))
            body = f"{area}{birth:%Y%m%d}{i % 1000:03d}"
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
            self.persons.append(Holder(name, "111", body + ric.calc_check_digit(body + "0")))
        for i in range(n_companies):
            body = f"91310{self.rng.randrange(100, 999)}MA{i:07d}"[:17]
            name = f"示范{self.rng.choice(COMPANY_WORDS)}有限公司{i + 1}号（演示）"
            self.companies.append(Holder(name, "001", body + uscc.calc_check_digit(body)))


def _value(f: dict[str, Any], holder: Holder, rng: random.Random, issued: date) -> Any:
    kind, name = f.get("type", "string"), f["name"]
    if kind == "date":
        return (issued - timedelta(days=rng.randrange(0, 3650))).isoformat()
    if kind == "number":
        return rng.choice([50, 100, 200, 500, 1000])
    if kind == "boolean":
        return rng.random() < 0.5
    label = str(f.get("label", ""))
    if name in ("uscc", "id_number", "holder_code") or "信用代码" in label or "身份号码" in label:
        return holder.code
    if "name" in name and ("company" in name or "holder" in name or name == "name"):
        return holder.name
    if "representative" in name or "负责人" in label or "姓名" in label:
        return rng.choice(SURNAMES) + rng.choice(GIVEN)
    if "address" in name or "地址" in label or "住所" in label:
        return f"示范市{rng.choice(DISTRICTS)[1]}示范路{rng.randrange(1, 999)}号"
    return f"{f.get('label', name)}（演示）"


def issue_demo_certificates(
    state: HubState, session: Session, *, count: int = 300, seed: int = 20261125
) -> int:
    """Issue ``count`` demo certificates spread over every demo type; idempotent (external ids are fixed)."""
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
    holders = DemoHolders(rng)
    holders.make(60, 40)
    types = demo_issuable_types(session)
    if not types:
        return 0
    services = state.certificate_services(session)
    issued = 0
    for i in range(count):
        ctype, issuer = types[i % len(types)]
        pool = holders.persons if ctype.holder_kind == "111" else holders.companies
        holder = pool[rng.randrange(len(pool))]
        issued_on = date(2025, 11, 25) - timedelta(days=rng.randrange(0, 900))
        years = ctype.validity_years
        valid_until = issued_on + timedelta(days=365 * years - 1) if years else None
        data = {f["name"]: _value(f, holder, rng, issued_on) for f in ctype.fields}
        request = IssuanceRequest(
            type_code=ctype.code,
            external_id=f"demo-{i:04d}",
            holder=holder,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=valid_until,
            area_code=rng.choice(DISTRICTS)[0],
            data=data,
        )
        try:
            with session.begin_nested():
                result = issue_certificate(
                    session, services, issuer_code=issuer, request=request, actor="demo"
                )
        except Conflict:
            continue  # issued by an earlier version of the demo with other data: keep that one
        issued += int(result.created)
    return issued
