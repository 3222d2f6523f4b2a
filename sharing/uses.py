"""Recording every use of someone's data (留痕) — through the audit log's one write path, in the
same transaction as the data the use released. The holder reads these back (``holders.access_log``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from audit.log import Event, record
from sharing.policy import Portal

# The actions a holder's access log shows.
LOOKUP = "sharing.lookup"
PLAN = "sharing.plan"
COPY = "sharing.copy"
COPY_FETCHED = "sharing.copy_fetched"
VERIFY_DATA = "sharing.verify_data"
ACTIONS = (LOOKUP, PLAN, COPY, COPY_FETCHED, VERIFY_DATA)


def record_use(
    session: Session,
    *,
    action: str,
    portal: Portal,
    holder_index: str,
    item_code: str | None,
    use_cause: str | None,
    certificate_ids: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> None:
    """Write down who used whose data, for which item and why, and what they were given."""
    record(
        session,
        Event(
            action=action,
            actor=portal.label,
            org_code=portal.org_code,
            subject=holder_index,
            certificate_id=certificate_ids[0] if len(certificate_ids) == 1 else None,
            item_code=item_code,
            use_cause=use_cause,
            details={"certificates": list(certificate_ids), **(details or {})},
        ),
    )
