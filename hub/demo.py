"""Demonstration data: the demo catalog, a few hundred certificates across its types and holders,
and clients to try the API with. Everything is marked as demonstration data (示范市, （演示）)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from catalog.clients import ensure_client
from catalog.queries import demo_issuable_types
from certificates.issuance import issue_certificate
from certificates.ports import CertificateServices, Issued
from certificates.requests import Holder, IssuanceRequest
from hub.state import HubState
from kernel.actor import Actor, Citizen
from kernel.errors import Conflict
from sharing import consents
from sharing.holders import holder_ref

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


def _identity_number(rng: random.Random) -> str:
    """A well-formed, made-up 公民身份号码 (a company's legal representative, say)."""
    birth = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 365 * 45))
    body = f"{rng.choice(DISTRICTS)[0]}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _value(f: dict[str, Any], holder: Holder, rng: random.Random, issued: date) -> Any:
    kind, name = f.get("type", "string"), f["name"]
    if kind == "date":
        return (issued - timedelta(days=rng.randrange(0, 3650))).isoformat()
    if kind == "number":
        return rng.choice([50, 100, 200, 500, 1000])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "identity_number":
        return holder.code if holder.kind == "111" else _identity_number(rng)
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


@dataclass
class DemoIssue:
    """What ``issue_demo_certificates`` did: how many it created, and who holds which (all of them,
    created now or by an earlier run), persons and companies in the order they were made."""

    created: int = 0
    held: dict[Holder, list[str]] = field(default_factory=dict)


def issue_demo_certificates(
    state: HubState,
    session: Session,
    *,
    count: int = 300,
    seed: int = 20261125,
    progress: Callable[[int, int | None], None] | None = None,
) -> DemoIssue:
    """Issue ``count`` demo certificates spread over every demo type; idempotent (external ids are
    fixed). ``progress`` is told ``(done, count)`` after each one."""
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
    holders = DemoHolders(rng)
    holders.make(60, 40)
    outcome = DemoIssue(held={h: [] for h in (*holders.persons, *holders.companies)})
    types = demo_issuable_types(session)
    if not types:
        return outcome
    services = state.certificate_services(session)
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
        result = _issue_once(session, services, issuer, request)
        if result is not None:
            outcome.created += int(result.created)
            outcome.held[holder].append(result.certificate.id)
        if progress is not None:
            progress(i + 1, count)
    return outcome


def _issue_once(
    session: Session, services: CertificateServices, issuer: str, request: IssuanceRequest
) -> Issued | None:
    """Issue (or repeat) one demo certificate; None when an earlier demo version issued other data."""
    try:
        with session.begin_nested():
            return issue_certificate(session, services, issuer_code=issuer, request=request, actor="demo")
    except Conflict:
        return None  # keep what the earlier version issued


# A demo citizen who holds certificates, and the demo portal she lets use them (the README's walk).
DEMO_CITIZEN = Holder("林晓梅（演示）", "111", "310104199203154523")
DEMO_PORTAL = "12310000DEM000031R"  # 示范市“一网通办”总门户（演示）
ID_CARD = "11310000DEM000012X001"  # 居民身份证
BIRTH_CERTIFICATE = "11310000DEM0000131001"  # 出生医学证明
MARRIAGE_CERTIFICATE = "11310000DEM0000144001"  # 结婚证
# item -> the types she lets the demo portal use for it
DEMO_CONSENTS = {
    "WJ-BIRTH-CERTIFICATE": [ID_CARD],
    "WJ-VACCINATION": [ID_CARD, BIRTH_CERTIFICATE],
}


def issue_demo_citizen(state: HubState, session: Session) -> list[str]:
    """The demo citizen's certificates (identity card, a child's birth certificate, marriage
    certificate); idempotent. Returns their identifiers."""
    rng = random.Random(DEMO_CITIZEN.code)  # noqa: S311 (reproducible demo data, not secrets)
    issuers = {ctype.code: (ctype, issuer) for ctype, issuer in demo_issuable_types(session)}
    services = state.certificate_services(session)
    issued_on = date(2025, 3, 18)
    ids = []
    for type_code in (ID_CARD, BIRTH_CERTIFICATE, MARRIAGE_CERTIFICATE):
        if type_code not in issuers:
            continue
        ctype, issuer = issuers[type_code]
        data = {f["name"]: _value(f, DEMO_CITIZEN, rng, issued_on) for f in ctype.fields}
        for name in ("name", "holder_name", "mother_name"):
            if name in data:
                data[name] = DEMO_CITIZEN.name
        if "mother_id_number" in data:
            data["mother_id_number"] = DEMO_CITIZEN.code
        years = ctype.validity_years
        request = IssuanceRequest(
            type_code=type_code,
            external_id=f"demo-citizen-{type_code[-6:]}",
            holder=DEMO_CITIZEN,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=issued_on + timedelta(days=365 * years - 1) if years else None,
            area_code="310104",
            data=data,
        )
        result = _issue_once(session, services, issuer, request)
        if result is not None:
            ids.append(result.certificate.id)
    return ids


def grant_demo_consents(state: HubState, session: Session, *, now: datetime) -> int:
    """The demo citizen's consents to the demo portal (skipped where one is in force); how many were made."""
    holder = holder_ref(state.vault, DEMO_CITIZEN.kind, DEMO_CITIZEN.code)
    actor = Actor.for_citizen(Citizen(DEMO_CITIZEN.kind, DEMO_CITIZEN.code, DEMO_CITIZEN.name))
    live = {
        c.item_code
        for c in consents.consents_of(session, holder)
        if c.grantee_code == DEMO_PORTAL and consents.status_of(c, now) == "active"
    }
    made = 0
    for item_code, type_codes in DEMO_CONSENTS.items():
        if item_code in live:
            continue
        consents.grant(
            session,
            actor=actor,
            holder=holder,
            grantee=DEMO_PORTAL,
            item_code=item_code,
            type_codes=type_codes,
            expires_at=now + timedelta(days=365),
            now=now,
        )
        made += 1
    return made


# 示范市卫生健康委员会（演示）: decides the 出生医学证明 task of 新生儿出生一件事 (the README's application).
DEMO_HEALTH = "11310000DEM0000131"


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    name: str
    org_code: str | None
    role: str
    token: str
    revoked: bool


def demo_client(
    state: HubState, session: Session, *, name: str, org_code: str | None, admin: bool = False
) -> DemoClient:
    """The demo's API client for ``org_code`` (or its admin), made the first time and the same after.

    Only a keyed hash of a token is stored, so a rerun cannot show a token it drew at random; the
    demo's tokens are derived instead — HMAC-SHA256 under the master key of what the client is for
    — so every run finds the same client and prints the same token, and no other hub (another
    master key) shares them. A client the operator revoked stays revoked (``revoked`` says so)."""
    label = f"hub/demo-client/{'admin' if admin else org_code}".encode()
    digest = hmac.new(state.master_key, label, hashlib.sha256).digest()
    client_id = "demo" + digest[:6].hex()
    secret = base64.urlsafe_b64encode(digest[8:]).rstrip(b"=").decode()
    issued, client = ensure_client(
        session,
        state.token_hash_key,
        client_id=client_id,
        secret=secret,
        name=name,
        org_code=org_code,
        admin=admin,
        actor="demo",
    )
    return DemoClient(
        issued.client_id, client.name, org_code, client.role, issued.token, client.revoked_at is not None
    )
