"""Small builders for test data: valid codes, organizations, clients, tokens."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from hub.clients import create_client
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
    return body + ric.calc_check_digit(body)


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
