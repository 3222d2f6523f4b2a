"""Every step of an application is an audit event about the holder (``audit.log.record``), in the
same transaction as the step: the holder reads them in their access log (``/me/access-log``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from applications.models import Application
from audit.log import Event, record

PRE_REVIEW = "application.pre_review"  # the plan recomputed for a pre-review (one per item)
INTAKE = "application.intake"  # the plan recomputed at intake (one per item)
SUBMITTED = "application.submitted"
DECIDED = "application.decided"  # a task decided, by a clerk or automatically
SUPPLEMENTED = "application.supplemented"
WITHDRAWN = "application.withdrawn"
CERTIFICATE_ISSUED = "application.certificate_issued"
COMPLETED = "application.completed"
COMMITMENT_FULFILLED = "application.commitment_fulfilled"
COMMITMENT_BREACHED = "application.commitment_breached"
RATED = "application.rated"

ACTIONS = (
    PRE_REVIEW,
    INTAKE,
    SUBMITTED,
    DECIDED,
    SUPPLEMENTED,
    WITHDRAWN,
    CERTIFICATE_ISSUED,
    COMPLETED,
    COMMITMENT_FULFILLED,
    COMMITMENT_BREACHED,
    RATED,
)


def record_step(
    session: Session,
    application: Application,
    action: str,
    *,
    actor: str,
    org_code: str | None,
    item_code: str | None = None,
    certificate_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write down one step of ``application``, about its holder."""
    record(
        session,
        Event(
            action=action,
            actor=actor,
            org_code=org_code,
            subject=application.holder_index,
            certificate_id=certificate_id,
            item_code=item_code,
            use_cause=application.use_cause,
            details={"application": application.id, **(details or {})},
        ),
    )
