"""Data verification (数据核验): does submitted face data match the certificate? Answered with the
result codes of the sharing services (standards.md) and the names of mismatched fields — never the
true values.

- 0 correct and valid: every submitted field matches and the certificate is usable now;
- 1 not activated (未生效): matches, but its validity has not begun;
- 2 temporarily invalid (暂时无效): matches, but it is withheld (02);
- 3 invalid (无效): matches, but withdrawn, cancelled, expired, revoked … or replaced by a newer version;
- 4 not enough data: nothing was submitted;
- 5 not found: no such certificate for this portal (unknown, or not releasable to it for this item);
- 6 missing data: a submitted field the certificate holds no value for;
- 7 partly wrong: a submitted value differs from the certificate's.

The data is judged before the status: a portal learns a certificate's status only for data that
matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from certificates.errors import CertificateNotFound
from certificates.lifecycle import Status, Usability, usability
from certificates.personal import face_of
from certificates.privacy import HolderVault
from certificates.requests import has_value
from kernel.actor import Actor
from sharing.policy import certificate_use
from sharing.uses import VERIFY_DATA, record_use

CORRECT, NOT_ACTIVATED, TEMPORARILY_INVALID, INVALID = 0, 1, 2, 3
NOT_ENOUGH_DATA, NOT_FOUND, MISSING_DATA, PARTLY_WRONG = 4, 5, 6, 7


@dataclass(frozen=True)
class DataCheck:
    result: int
    mismatched: tuple[str, ...] = ()


def verify_data(
    session: Session,
    vault: HolderVault,
    *,
    actor: Actor,
    certificate_id: str,
    data: dict[str, Any],
    item_code: str,
    use_cause: str,
    now: datetime,
) -> DataCheck:
    """Compare ``data`` with the certificate's face; recorded as a use of the holder's data."""
    try:
        use = certificate_use(
            session,
            actor=actor,
            certificate_id=certificate_id,
            item_code=item_code,
            use_cause=use_cause,
            now=now,
        )
    except CertificateNotFound:  # unknown, or not the portal's to have: existence is as private as the data
        return DataCheck(NOT_FOUND)
    portal, cause, cert = use.portal, use.cause, use.cert
    check = judge(face_of(vault, cert), data, usability(cert, now.date()))
    record_use(
        session,
        action=VERIFY_DATA,
        portal=portal,
        holder_index=cert.holder_index,
        item_code=item_code,
        use_cause=cause,
        certificate_ids=[cert.id],
        details={"result": check.result, "fields": sorted(data), "mismatched": list(check.mismatched)},
    )
    return check


def judge(face: dict[str, Any], submitted: dict[str, Any], state: Usability) -> DataCheck:
    """The result code for ``submitted`` against the certificate's ``face`` and its usability now."""
    if not submitted:
        return DataCheck(NOT_ENOUGH_DATA)
    held = {k: v for k, v in submitted.items() if has_value(face.get(k))}
    wrong = tuple(sorted(k for k, v in held.items() if _text(face[k]) != _text(v)))
    if wrong:
        return DataCheck(PARTLY_WRONG, wrong)
    missing = tuple(sorted(k for k in submitted if not has_value(face.get(k))))
    if missing:
        return DataCheck(MISSING_DATA, missing)
    if state.usable:
        return DataCheck(CORRECT)
    if state.replaced_by is None and state.status is Status.VALID and state.not_yet_valid:
        return DataCheck(NOT_ACTIVATED)
    if state.replaced_by is None and state.status is Status.WITHHELD:
        return DataCheck(TEMPORARILY_INVALID)
    return DataCheck(INVALID)



def _text(value: Any) -> str:
    # Submitted data comes as JSON from another system: 3 and "3", true and "true" are the same answer.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()
