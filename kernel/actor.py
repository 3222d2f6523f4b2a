"""The acting party: who asks the hub to do something — an API client of some organization, or a
citizen signed in through the identity provider. Domains decide what an ``Actor`` may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    DEPARTMENT = "department"  # 发证部门: issues and manages its certificates
    PORTAL = "portal"  # 办事门户: asks for a holder's materials
    ADMIN = "admin"  # the hub's operators
    CITIZEN = "citizen"  # a holder (person or company), signed in


@dataclass(frozen=True)
class Citizen:
    """A signed-in holder: the kind of code (111 identity number, 001 USCC), the code, the name."""

    holder_kind: str
    holder_code: str
    name: str


@dataclass(frozen=True)
class Actor:
    """Who is acting: an API client (role + organization) or a citizen."""

    role: Role
    client_id: str | None = None
    org_code: str | None = None
    citizen: Citizen | None = None

    @classmethod
    def for_client(cls, role: str, client_id: str, org_code: str | None) -> Actor:
        return cls(Role(role), client_id=client_id, org_code=org_code)

    @classmethod
    def for_citizen(cls, citizen: Citizen) -> Actor:
        return cls(Role.CITIZEN, citizen=citizen)

    @property
    def label(self) -> str:
        """How the actor is written into histories: never a personal identity number."""
        if self.citizen is not None:
            return "citizen"
        return f"client:{self.client_id}"

    def is_department(self, org_code: str) -> bool:
        """This actor is the department ``org_code`` itself."""
        return self.role is Role.DEPARTMENT and self.org_code == org_code


SYSTEM = "system"  # the label of work the hub does by itself (expiry, upgrades)
