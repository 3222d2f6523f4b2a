"""好差评: the holder rates a decided application once (1–5, an optional comment); the ratings are
summed up per item and per department."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from applications.errors import AlreadyRated, ApplicationNotFound, NotDecided
from applications.events import RATED, record_step
from applications.models import Rating, Task
from applications.repository import get_application
from applications.status import DECIDED_STATUSES
from certificates.privacy import HolderVault
from kernel.actor import Actor, Role
from kernel.errors import Forbidden, ValidationFailed
from sharing.policy import needed_item

MAX_COMMENT = 500
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def rate(
    session: Session,
    vault: HolderVault,
    *,
    actor: Actor,
    application_id: str,
    score: int,
    comment: str | None,
    now: datetime,
) -> Rating:
    """The holder's one rating of their decided application."""
    citizen = actor.citizen
    if citizen is None:
        raise Forbidden("only the holder rates an application", code="forbidden")
    if not 1 <= score <= 5:
        raise ValidationFailed("score must be 1 to 5", field="score")
    text = (comment or "").strip() or None
    if text is not None and (len(text) > MAX_COMMENT or CONTROL.search(text)):
        raise ValidationFailed(f"comment must be at most {MAX_COMMENT} characters of text", field="comment")
    app = get_application(session, application_id, lock=True)
    if app.holder_index != vault.blind_index(citizen.holder_kind, citizen.holder_code):
        raise ApplicationNotFound("no such application")
    if app.status not in DECIDED_STATUSES:
        raise NotDecided(f"the application is {app.status}: rate it once it is decided")
    if session.get(Rating, app.id) is not None:
        raise AlreadyRated("this application has been rated")
    rating = Rating(application_id=app.id, score=score, comment=text, created_at=now)
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise AlreadyRated("this application has been rated") from None
    record_step(session, app, RATED, actor=actor.label, org_code=None, details={"score": score})
    return rating


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None
    distribution: dict[str, int]


def summarize(session: Session, *, actor: Actor, item_code: str | None, org: str | None) -> Summary:
    """Ratings of the applications that included an item (or a department's items): admins see all,
    a department only its own."""
    if actor.role is Role.DEPARTMENT:
        if org is not None and org != actor.org_code:
            raise Forbidden("a department sees the ratings of its own items only", code="forbidden")
        if item_code is not None and needed_item(session, item_code).org != actor.org_code:
            raise Forbidden("a department sees the ratings of its own items only", code="forbidden")
        org = actor.org_code
    elif actor.role is not Role.ADMIN:
        raise Forbidden("this needs the role admin or department", code="forbidden")
    rated = select(Task.application_id).distinct()
    if item_code is not None:
        rated = rated.where(Task.item_code == item_code)
    if org is not None:
        rated = rated.where(Task.org_code == org)
    rows = session.execute(
        select(Rating.score, func.count()).where(Rating.application_id.in_(rated)).group_by(Rating.score)
    ).all()
    distribution = {str(s): 0 for s in range(1, 6)}
    for score, n in rows:
        distribution[str(score)] = int(n)
    count = sum(distribution.values())
    total = sum(int(s) * n for s, n in distribution.items())
    return Summary(count, round(total / count, 2) if count else None, distribution)
