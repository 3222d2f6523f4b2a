"""Certificate status codes (GB/T 36901–36906 as implemented) and the one table of allowed transitions."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from kernel.errors import Conflict


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
    """The action name for ``current -> target``, or Conflict(invalid_transition)."""
    action = TRANSITIONS[current].get(target)
    if action is None:
        raise Conflict(
            f"a certificate in status {current.value} cannot go to {target.value}",
            code="invalid_transition",
        )
    return action


def effective_status(stored: str, valid_until: date | None, today: date) -> Status:
    """Validity past ``valid_until`` reads as expired at once, before ``hub certificates expire`` runs."""
    status = Status(stored)
    if status in (Status.VALID, Status.WITHHELD) and valid_until is not None and valid_until < today:
        return Status.EXPIRED
    return status


def usable(
    stored: str, valid_from: date, valid_until: date | None, successor_id: str | None, today: date
) -> bool:
    """Only a current version in status 01, inside its validity, is usable."""
    return (
        successor_id is None
        and effective_status(stored, valid_until, today) is Status.VALID
        and valid_from <= today
    )
