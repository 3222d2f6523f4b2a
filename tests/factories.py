"""Small builders for test data: valid codes, organizations, clients, tokens."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from catalog.clients import create_client
from hub.services import register_organization
from hub.state import HubState

_counter = itertools.count(1)


def new_uscc(prefix: str = "11310000") -> str:
    """A valid 统一社会信用代码, different on every call."""
    body = f"{prefix}MB{next(_counter):07d}"[:17]
    return body + uscc.calc_check_digit(body)


def new_ric(birth: str = "19900101", area: str = "310101") -> str:
    """A valid 18-character resident identity number."""
    body = f"{area}{birth}{next(_counter) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def add_org(state: HubState, session: Session, kind: str = "department", name: str | None = None) -> str:
    code = new_uscc("11310000" if kind == "department" else "12310000")
    register_organization(state, session, code=code, name=name or f"测试{kind}{code[-4:]}", kind=kind)
    session.flush()
    return code


def client_token(state: HubState, session: Session, *, org: str | None = None, admin: bool = False) -> str:
    issued = create_client(session, state.token_hash_key, name="test", org_code=org, admin=admin)
    session.flush()
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


DEFAULT_FIELDS = [
    {"name": "company_name", "label": "名称", "type": "string", "required": True},
    {"name": "capital", "label": "注册资本（万元）", "type": "number", "required": False},
    {"name": "established", "label": "成立日期", "type": "date", "required": False},
    {"name": "chain", "label": "连锁经营", "type": "boolean", "required": False},
]


def add_certificate_type(
    session: Session,
    *,
    definer: str,
    issuers: list[str],
    holder_kind: str = "001",
    fields: list[dict[str, object]] | None = None,
    name: str = "营业执照",
    sharing: str = "conditional",
) -> str:
    """A certificate type written straight to the tables (catalog endpoints are tested elsewhere)."""
    from catalog.models import CertificateType, CertificateTypeIssuer

    code = f"{definer}{next(_counter) % 1000:03d}"
    definition = {
        "name": name,
        "holder_kind": holder_kind,
        "issuers": issuers,
        "sharing": sharing,
        "validity_years": None,
        "fields": fields if fields is not None else DEFAULT_FIELDS,
    }
    session.add(
        CertificateType(code=code, name=name, holder_kind=holder_kind, sharing=sharing, definition=definition)
    )
    session.flush()
    for org in issuers:
        session.add(CertificateTypeIssuer(type_code=code, org_code=org))
    session.flush()
    return code


def issue_body(
    type_code: str, holder_code: str, /, *, external_id: str | None = None, **over: object
) -> dict[str, object]:
    body: dict[str, object] = {
        "type_code": type_code,
        "external_id": external_id or f"ext-{next(_counter)}",
        "holder": {"name": "示范餐饮有限公司", "kind": "001", "code": holder_code},
        "issued_on": "2025-11-25",
        "valid_from": "2025-11-25",
        "valid_until": "2035-11-24",
        "area_code": "310101",
        "data": {
            "company_name": "示范餐饮有限公司",
            "capital": 100,
            "established": "2020-01-02",
            "chain": False,
        },
    }
    body.update(over)
    return body
