"""The statuses of applications, tasks and commitments, and how an application's follows its tasks.

application: in_review → supplement_required ⇄ in_review → approved → completed (certificates
issued), or rejected, or withdrawn. task: pending → approved | rejected | supplement_required
(→ pending again when supplied); cancelled when its application is rejected or withdrawn first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from applications.models import Application, Commitment, Task

# applications
IN_REVIEW = "in_review"
SUPPLEMENT_REQUIRED = "supplement_required"
APPROVED = "approved"
COMPLETED = "completed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
OPEN_STATUSES = (IN_REVIEW, SUPPLEMENT_REQUIRED)  # not yet decided
DECIDED_STATUSES = (APPROVED, COMPLETED, REJECTED)
APPLICATION_STATUSES = (IN_REVIEW, SUPPLEMENT_REQUIRED, APPROVED, COMPLETED, REJECTED, WITHDRAWN)

# tasks (and the decisions that lead to them)
PENDING = "pending"
CANCELLED = "cancelled"
TASK_STATUSES = (PENDING, APPROVED, REJECTED, SUPPLEMENT_REQUIRED, CANCELLED)
DECISIONS = {"approve": APPROVED, "reject": REJECTED, "supplement": SUPPLEMENT_REQUIRED}

# commitments
OPEN = "open"
OVERDUE = "overdue"  # open, and past its due date (a filter, not a stored status)
FULFILLED = "fulfilled"
BREACHED = "breached"
COMMITMENT_STATUSES = (OPEN, FULFILLED, BREACHED, CANCELLED)


def follow_tasks(
    application: Application, tasks: Iterable[Task], commitments: Iterable[Commitment], now: datetime
) -> str:
    """Set the application's status from its tasks' (any rejected → rejected; any supplement asked →
    supplement_required; all approved → approved; else in_review) and return it. A rejected
    application's undecided tasks and open commitments are cancelled."""
    if application.status not in OPEN_STATUSES:
        return application.status
    tasks = list(tasks)
    statuses = {t.status for t in tasks}
    if REJECTED in statuses:
        application.status = REJECTED
        application.decided_at = now
        close_open(tasks, commitments, now)
    elif SUPPLEMENT_REQUIRED in statuses:
        application.status = SUPPLEMENT_REQUIRED
    elif statuses == {APPROVED}:
        application.status = APPROVED
        application.decided_at = now
    else:
        application.status = IN_REVIEW
    return application.status


def close_open(tasks: Iterable[Task], commitments: Iterable[Commitment], now: datetime) -> None:
    """Cancel what is still open of an application that ends without approval."""
    for task in tasks:
        if task.status in (PENDING, SUPPLEMENT_REQUIRED):
            task.status = CANCELLED
    for commitment in commitments:
        if commitment.status == OPEN:
            commitment.status = CANCELLED
            commitment.closed_at = now
