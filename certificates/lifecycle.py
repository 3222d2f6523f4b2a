"""Certificate status codes (GB/T 36901–36906 as implemented) and the one table of allowed transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from certificates.errors import InvalidTransition


class Status(StrEnum):
    VALID = "01"  # 有效
    WITHHELD = "02"  # 暂扣
    WITHDRAWN = "03"  # 撤销
    CANCELLED = "04"  # 注销
    EXPIRED = "05"  # 失效
    TRANSFERRED = "06"  # 迁出
    REVOKED = "07"  # 吊销
    OTHER = "99"  # 其他 (needs a description)


# from -> {to: action}. 03, 04, 06 and 07 are final for a version; expiry is final (renewal is a
# new version); "other" can be returned to valid once settled.
TRANSITIONS: dict[Status, dict[Status, str]] = {
    Status.VALID: {
        Status.WITHHELD: "withhold",
        Status.WITHDRAWN: "withdraw",
        Status.CANCELLED: "cancel",
        Status.EXPIRED: "expire",
        Status.TRANSFERRED: "transfer",
        Status.REVOKED: "revoke",
        Status.OTHER: "other",
    },
    Status.WITHHELD: {
        Status.VALID: "return",
        Status.WITHDRAWN: "withdraw",
        Status.CANCELLED: "cancel",
        Status.EXPIRED: "expire",
        Status.REVOKED: "revoke",
    },
    Status.OTHER: {
        Status.VALID: "return",
        Status.WITHDRAWN: "withdraw",
        Status.CANCELLED: "cancel",
        Status.REVOKED: "revoke",
    },
    Status.EXPIRED: {},
    Status.WITHDRAWN: {},
    Status.CANCELLED: {},
    Status.TRANSFERRED: {},
    Status.REVOKED: {},
}

# Statuses from which a change (new version) may be made.
CHANGEABLE = {Status.VALID, Status.WITHHELD}


def transition(current: Status, target: Status) -> str:
    """The action name for ``current -> target``, or InvalidTransition."""
    action = TRANSITIONS[current].get(target)
    if action is None:
        raise InvalidTransition(f"a certificate in status {current.value} cannot go to {target.value}")
    return action


def effective_status(stored: str, valid_until: date | None, today: date) -> Status:
    """Validity past ``valid_until`` reads as expired at once, before ``hub certificates expire`` runs."""
    status = Status(stored)
    if status in (Status.VALID, Status.WITHHELD) and valid_until is not None and valid_until < today:
        return Status.EXPIRED
    return status


class CertificateState(Protocol):
    """What the usability rule reads of a certificate version (a ``Certificate`` row has it)."""

    @property
    def status(self) -> str: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def successor_id(self) -> str | None: ...


@dataclass(frozen=True)
class Usability:
    """Whether a version is usable now (可用: the current version, status 01, inside its validity),
    and if not, each reason why."""

    status: Status  # effective today
    replaced_by: str | None
    not_yet_valid: bool

    @property
    def usable(self) -> bool:
        return self.replaced_by is None and self.status is Status.VALID and not self.not_yet_valid


def usability(cert: CertificateState, today: date) -> Usability:
    """The one rule of "usable now", used by holder look-ups and by every verification."""
    status = effective_status(cert.status, cert.valid_until, today)
    return Usability(
        status=status,
        replaced_by=cert.successor_id,
        not_yet_valid=cert.valid_from > today,
    )
