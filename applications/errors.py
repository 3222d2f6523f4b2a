"""The applications domain's errors, one class per answer a portal, a department or a holder can get."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed


class PreReviewFailed(ValidationFailed):
    """智能预审 found problems: each names the item, the material or field, and a ``code``."""

    code = "pre_review_failed"

    def __init__(self, problems: Sequence[dict[str, Any]], *, code: str | None = None) -> None:
        first = problems[0]
        where = first.get("material") or first.get("field") or ""
        detail = f"{len(problems)} problem(s); first: {first['item_code']} {where}: {first['detail']}"
        super().__init__(detail, code=code, extra={"problems": list(problems)})


class ApplicationNotFound(NotFound):
    code = "application_not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


class CommitmentNotFound(NotFound):
    code = "commitment_not_found"


class InvalidTransition(Conflict):
    """A task, application or commitment is not in a state that allows this step."""

    code = "invalid_transition"


class ExternalIdConflict(Conflict):
    code = "external_id_conflict"


class AlreadyRated(Conflict):
    code = "already_rated"


class NotDecided(Conflict):
    code = "not_decided"


class NotYourTask(Forbidden):
    """Only the task's (or commitment's) own department may decide it."""

    code = "forbidden"
