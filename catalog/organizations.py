"""Organizations (by 统一社会信用代码): departments, portals, operators."""

from __future__ import annotations

from sqlalchemy.orm import Session

from audit.log import Event
from audit.log import record as audit_record
from catalog.codes import validate_uscc
from catalog.errors import OrganizationNotFound
from catalog.models import Organization
from kernel.errors import ValidationFailed

KINDS = ("department", "portal", "operator")


def put_organization(
    session: Session, *, code: str, name: str, kind: str, demo: bool = False, actor: str = "system"
) -> Organization:
    """Create or update an organization (idempotent); a code with separators is stored compact.
    A change is an entry of the audit log, by ``actor``."""
    code = validate_uscc(code, field="code")
    name = name.strip()
    if not name:
        raise ValidationFailed("name must not be empty", field="name")
    if kind not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(KINDS)}", field="kind")
    org = session.get(Organization, code)
    action = None
    if org is None:
        org = Organization(code=code, name=name, kind=kind, demo=demo)
        session.add(org)
        action = "organization.create"
    elif (org.name, org.kind, org.demo) != (name, kind, demo):
        org.name, org.kind, org.demo = name, kind, demo
        action = "organization.update"
    session.flush()
    if action is not None:
        details = {"name": name, "kind": kind}
        audit_record(session, Event(action=action, actor=actor, org_code=code, details=details))
    return org


def get_organization(session: Session, code: str) -> Organization:
    """A registered organization, or OrganizationNotFound."""
    org = session.get(Organization, code)
    if org is None:
        raise OrganizationNotFound(f"organization {code} is not registered")
    return org
