"""Organizations (by 统一社会信用代码): departments, portals, operators."""

from __future__ import annotations

from sqlalchemy.orm import Session
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from catalog.models import Organization
from kernel.errors import NotFound, ValidationFailed

KINDS = ("department", "portal", "operator")


def validate_uscc(code: str, *, field: str = "code") -> str:
    """The compact USCC, or ValidationFailed saying what is wrong with it."""
    try:
        return str(uscc.validate(code))
    except StdnumError as e:
        raise ValidationFailed(
            f"{code!r} is not a valid 统一社会信用代码: {getattr(e, 'message', e)}", field=field
        ) from None


def put_organization(
    session: Session, *, code: str, name: str, kind: str, demo: bool = False
) -> Organization:
    """Create or update an organization (idempotent)."""
    code = validate_uscc(code)
    name = name.strip()
    if not name:
        raise ValidationFailed("name must not be empty", field="name")
    if kind not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(KINDS)}", field="kind")
    org = session.get(Organization, code)
    if org is None:
        org = Organization(code=code, name=name, kind=kind, demo=demo)
        session.add(org)
    elif (org.name, org.kind, org.demo) != (name, kind, demo):
        org.name, org.kind, org.demo = name, kind, demo
    session.flush()
    return org


def get_organization(session: Session, code: str) -> Organization:
    org = session.get(Organization, code)
    if org is None:
        raise NotFound(f"organization {code} is not registered", code="organization_not_found")
    return org
