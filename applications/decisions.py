"""同步审批: each department decides its own tasks, in parallel; the application follows its tasks.

A decision locks the application's row first, so two departments deciding two tasks of one
application at the same moment queue on it and neither decision is lost: the second sees the
first's and the application's status follows both. The portal supplies what was asked for; the
portal or the holder may withdraw an application that is not yet decided.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from applications.errors import (
    ApplicationNotFound,
    InvalidTransition,
    NotYourTask,
    PreReviewFailed,
    TaskNotFound,
)
from applications.events import DECIDED, SUPPLEMENTED, WITHDRAWN, record_step
from applications.intake import new_commitment
from applications.models import Application, SuppliedMaterial, Task
from applications.repository import commitments_of, get_application, materials_of, tasks_of
from applications.requests import GivenMaterial
from applications.review import MaterialCheck, Problem, Satisfied, satisfy
from applications.status import (
    DECISIONS,
    OPEN_STATUSES,
    PENDING,
    SUPPLEMENT_REQUIRED,
    close_open,
    follow_tasks,
)
from applications.status import (
    WITHDRAWN as WITHDRAWN_STATUS,
)
from catalog.schemas import ItemIn
from certificates.blobstore import BlobStore
from certificates.privacy import HolderVault
from kernel.actor import Actor, Role
from kernel.errors import Forbidden, ValidationFailed
from sharing.holders import HolderRef
from sharing.policy import needed_item, portal_of

MAX_REASON = 500


@dataclass(frozen=True)
class Decided:
    task: Task
    application: Application


def decide(
    session: Session,
    *,
    actor: Actor,
    task_id: str,
    decision: str,
    reason: str | None,
    requested: Sequence[str],
    now: datetime,
) -> Decided:
    """Approve, reject (a reason is required) or ask for a supplement (the materials named)."""
    if actor.role is not Role.DEPARTMENT or actor.org_code is None:
        raise Forbidden("this needs the role department", code="forbidden")
    if decision not in DECISIONS:
        raise ValidationFailed("decision must be approve, reject or supplement", field="decision")
    task = session.get(Task, task_id)
    if task is None:
        raise TaskNotFound("no such task")
    if task.org_code != actor.org_code:
        raise NotYourTask("only the task's own department may decide it")
    reason = _reason(reason, required=decision == "reject")
    app = get_application(session, task.application_id, lock=True)  # decisions on one application queue here
    tasks = tasks_of(session, app.id)
    task = next(t for t in tasks if t.id == task_id)
    if task.status != PENDING or app.status not in OPEN_STATUSES:
        raise InvalidTransition(
            f"the task is {task.status} and the application {app.status}: it cannot be decided"
        )
    item = needed_item(session, task.item_code, field="task")
    asked = _requested(item, requested) if decision == "supplement" else []
    task.status = DECISIONS[decision]
    task.decided_by = actor.client_id or actor.label
    task.decided_at = now
    task.rule = "manual"
    task.reason = reason
    task.requested = asked
    follow_tasks(app, tasks, commitments_of(session, app.id), now)
    record_step(
        session,
        app,
        DECIDED,
        actor=actor.label,
        org_code=actor.org_code,
        item_code=task.item_code,
        details={"task": task.id, "decision": decision, "requested": asked, "status": app.status},
    )
    session.flush()
    return Decided(task, app)


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip() or None
    if required and text is None:
        raise ValidationFailed("a rejection needs a reason", field="reason")
    if text is not None and len(text) > MAX_REASON:
        raise ValidationFailed(f"reason must be at most {MAX_REASON} characters", field="reason")
    return text


def _requested(item: ItemIn, requested: Sequence[str]) -> list[str]:
    codes = list(dict.fromkeys(requested))
    if not codes:
        raise ValidationFailed("name the materials to supply", field="requested")
    known = {m.code for m in item.materials}
    for i, code in enumerate(codes):
        if code not in known:
            raise ValidationFailed(f"the item has no material {code!r}", field=f"requested[{i}]")
    return codes


def supply(
    session: Session,
    vault: HolderVault,
    blobs: BlobStore,
    *,
    actor: Actor,
    application_id: str,
    materials: Sequence[GivenMaterial],
    check_upload: Callable[[bytes], None],
    now: datetime,
) -> Application:
    """The portal supplies materials a department asked for; a task whose every requested material
    has come goes back to ``pending``. Anything not asked for, or not acceptable, fails the whole
    call (422 ``supplement_failed``, nothing kept)."""
    portal = portal_of(actor)
    app = get_application(session, application_id, lock=True)
    if app.portal_code != portal.org_code:
        raise ApplicationNotFound("no such application")
    if app.status != SUPPLEMENT_REQUIRED:
        raise InvalidTransition(f"the application is {app.status}: no supplement was asked for")
    if not materials:
        raise ValidationFailed("name at least one material", field="materials")
    tasks = {t.item_code: t for t in tasks_of(session, app.id)}
    holder = HolderRef(app.holder_kind, vault.decrypt(app.holder_code_enc), app.holder_index)
    checking = MaterialCheck(session, vault, portal, holder, check_upload, now)
    problems: list[Problem] = []
    accepted: list[tuple[Task, ItemIn, GivenMaterial, Satisfied]] = []
    seen: set[tuple[str, str]] = set()
    for given in materials:
        task = tasks.get(given.item_code)
        if task is None or task.status != SUPPLEMENT_REQUIRED or given.code not in task.requested:
            problems.append(
                Problem(
                    given.item_code,
                    "material_not_requested",
                    "no supplement of this material was asked for",
                    material=given.code,
                )
            )
            continue
        if (given.item_code, given.code) in seen:
            problems.append(
                Problem(
                    given.item_code,
                    "material_given_twice",
                    "the material is given twice",
                    material=given.code,
                )
            )
            continue
        seen.add((given.item_code, given.code))
        item = needed_item(session, given.item_code, field="materials")
        material = next(m for m in item.materials if m.code == given.code)
        try:
            outcome = satisfy(checking, given.item_code, material, given, None)
        except ValidationFailed as e:
            outcome = Problem(given.item_code, "validation_failed", e.detail, material=given.code)
        if isinstance(outcome, Problem) or outcome is None:
            problems.append(
                outcome or Problem(given.item_code, "material_missing", "nothing given", material=given.code)
            )
            continue
        accepted.append((task, item, given, outcome))
    if problems:
        raise PreReviewFailed([p.as_dict() for p in problems], code="supplement_failed")
    round_ = max((m.round for m in materials_of(session, app.id)), default=0) + 1
    for task, _item, given, outcome in accepted:
        session.add(
            SuppliedMaterial(
                application_id=app.id,
                item_code=task.item_code,
                material_code=given.code,
                kind=outcome.kind,
                certificate_id=outcome.certificate_id,
                file_sha256=blobs.put(outcome.file) if outcome.file is not None else None,
                round=round_,
                supplied_at=now,
            )
        )
        if outcome.kind == "commitment":
            session.add(
                new_commitment(app, task.item_code, task.org_code, given.code, outcome.days or 0, now)
            )
    session.flush()
    supplied_now = {(task.item_code, given.code) for task, _, given, _ in accepted}
    _reopen_supplied(session, app, list(tasks.values()), supplied_now)
    follow_tasks(app, tasks.values(), commitments_of(session, app.id), now)
    record_step(
        session,
        app,
        SUPPLEMENTED,
        actor=actor.label,
        org_code=portal.org_code,
        details={"materials": sorted(f"{i}/{c}" for i, c in supplied_now), "status": app.status},
    )
    session.flush()
    return app


def _reopen_supplied(
    session: Session, app: Application, tasks: list[Task], supplied_now: set[tuple[str, str]]
) -> None:
    """A task asked for a supplement is pending again once each requested material has come since."""
    for task in tasks:
        if task.status != SUPPLEMENT_REQUIRED or task.decided_at is None:
            continue
        asked_at = task.decided_at
        since = {
            m.material_code
            for m in materials_of(session, app.id)
            if m.item_code == task.item_code and m.round > 0 and m.supplied_at >= asked_at
        } | {code for item, code in supplied_now if item == task.item_code}
        if set(task.requested) <= since:
            task.status = PENDING
            task.decided_by = task.decided_at = task.rule = None
            task.requested = []


def withdraw(
    session: Session, vault: HolderVault, *, actor: Actor, application_id: str, now: datetime
) -> Application:
    """The submitting portal or the holder withdraws an application not yet decided (撤回)."""
    if actor.role not in (Role.PORTAL, Role.CITIZEN):
        raise Forbidden(
            "only the submitting portal or the holder may withdraw an application", code="forbidden"
        )
    app = get_application(session, application_id, lock=True)
    if not _may_withdraw(vault, actor, app):
        raise ApplicationNotFound("no such application")
    if app.status not in OPEN_STATUSES:
        raise InvalidTransition(f"the application is {app.status}: it can no longer be withdrawn")
    app.status = WITHDRAWN_STATUS
    close_open(tasks_of(session, app.id), commitments_of(session, app.id), now)
    record_step(session, app, WITHDRAWN, actor=actor.label, org_code=actor.org_code)
    session.flush()
    return app


def _may_withdraw(vault: HolderVault, actor: Actor, app: Application) -> bool:
    if actor.role is Role.PORTAL:
        return actor.org_code == app.portal_code
    citizen = actor.citizen
    if citizen is not None:
        return vault.blind_index(citizen.holder_kind, citizen.holder_code) == app.holder_index
    return False
