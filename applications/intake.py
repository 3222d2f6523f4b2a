"""一口受理: an application becomes one row, one task per applicable item routed to the item's
department, its materials and its commitments — in the caller's one transaction. Items whose rules
allow it are approved at once (无人干预智能办理); the rest wait in their departments' queues with the
flags that sent them there.

Uploaded files are written to the blob store before the commit; a commit that fails leaves them as
orphans for ``hub storage gc``. Idempotent on (portal, ``external_id``) like issuance.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from applications.errors import ExternalIdConflict, PreReviewFailed
from applications.events import DECIDED, INTAKE, SUBMITTED, record_step
from applications.models import Application, Commitment, SuppliedMaterial, Task
from applications.repository import find_by_external_id
from applications.requests import ApplicationRequest
from applications.review import AUTO_RULE, ItemReview, Review, pre_review
from applications.status import APPROVED, IN_REVIEW, OPEN, PENDING, follow_tasks
from certificates.blobstore import BlobStore
from certificates.privacy import HolderVault
from certificates.requests import AREA_CODE
from kernel.actor import Actor
from kernel.errors import ValidationFailed
from sharing.policy import check_use_cause, portal_of

FORM_PURPOSE = b"application-form"


@dataclass(frozen=True)
class Submitted:
    application: Application
    created: bool  # False: a repeat of an earlier submission, answered with the same application


def submit(
    session: Session,
    vault: HolderVault,
    blobs: BlobStore,
    *,
    actor: Actor,
    request: ApplicationRequest,
    check_upload: Callable[[bytes], None],
    default_area_code: str,
    now: datetime,
) -> Submitted:
    """Pre-review, then take the application in; 422 ``pre_review_failed`` creates nothing."""
    portal = portal_of(actor)
    content_hash = request.content_hash()
    existing = find_by_external_id(session, portal.org_code, request.external_id)
    if existing is not None:
        return _repeat(existing, content_hash)
    area_code = request.area_code or default_area_code
    if not AREA_CODE.fullmatch(area_code):
        raise ValidationFailed("area_code must be a six-digit 行政区划代码", field="area_code")
    review = pre_review(
        session, vault, actor=actor, request=request, check_upload=check_upload, now=now, action=INTAKE
    )
    if not review.ok:
        raise PreReviewFailed([p.as_dict() for p in review.problems])
    holder = request.holder
    app = Application(
        id=uuid.uuid4().hex,
        one_thing=request.one_thing,
        answers=dict(request.answers),
        portal_code=portal.org_code,
        client_id=portal.client_id,
        external_id=request.external_id,
        content_hash=content_hash,
        holder_kind=holder.kind,
        holder_name=holder.name,
        holder_code_enc=vault.encrypt(holder.code),
        holder_index=vault.blind_index(holder.kind, holder.code),
        use_cause=check_use_cause(request.use_cause),
        area_code=area_code,
        form_enc=seal_form(vault, {i.item_code: i.form for i in review.items}),
        status=IN_REVIEW,
        submitted_at=now,
    )
    try:
        with session.begin_nested():
            session.add(app)
            session.flush()
    except IntegrityError:  # the same (portal, external_id) committed a moment ago
        raced = find_by_external_id(session, portal.org_code, request.external_id)
        if raced is None:
            raise
        return _repeat(raced, content_hash)
    tasks, commitments = _route(session, blobs, app, review, actor=actor, now=now)
    follow_tasks(app, tasks, commitments, now)
    record_step(
        session,
        app,
        SUBMITTED,
        actor=actor.label,
        org_code=portal.org_code,
        details={"one_thing": app.one_thing, "items": [t.item_code for t in tasks], "status": app.status},
    )
    for task in tasks:
        if task.decided_by == "auto":
            record_step(
                session,
                app,
                DECIDED,
                actor="auto",
                org_code=task.org_code,
                item_code=task.item_code,
                details={"task": task.id, "decision": "approve", "rule": task.rule},
            )
    return Submitted(app, True)


def _repeat(existing: Application, content_hash: str) -> Submitted:
    if existing.content_hash != content_hash:
        raise ExternalIdConflict("this external_id was already used with different content")
    return Submitted(existing, False)


def _route(
    session: Session, blobs: BlobStore, app: Application, review: Review, *, actor: Actor, now: datetime
) -> tuple[list[Task], list[Commitment]]:
    """One task per item (approved at once where the item's rules allow), its materials, its commitments."""
    tasks: list[Task] = []
    commitments: list[Commitment] = []
    for position, item in enumerate(review.items):
        task = _task(app, position, item, now)
        tasks.append(task)
        session.add(task)
        for m in item.materials:
            session.add(
                SuppliedMaterial(
                    application_id=app.id,
                    item_code=item.item_code,
                    material_code=m.material_code,
                    kind=m.kind,
                    certificate_id=m.certificate_id,
                    data_resource=m.data_resource,
                    file_sha256=blobs.put(m.file) if m.file is not None else None,
                    round=0,
                    supplied_at=now,
                )
            )
            if m.kind == "commitment":
                commitment = new_commitment(
                    app, item.item_code, item.org_code, m.material_code, m.days or 0, now
                )
                commitments.append(commitment)
                session.add(commitment)
    session.flush()
    return tasks, commitments


def _task(app: Application, position: int, item: ItemReview, now: datetime) -> Task:
    due = now.date() + timedelta(days=item.time_limit_days) if item.time_limit_days else None
    task = Task(
        id=uuid.uuid4().hex,
        application_id=app.id,
        position=position,
        item_code=item.item_code,
        org_code=item.org_code,
        status=PENDING,
        due_on=due,
        flags=[f.as_dict() for f in item.flags],
        requested=[],
    )
    if item.auto_decidable:
        task.status, task.decided_by, task.decided_at, task.rule = APPROVED, "auto", now, AUTO_RULE
    return task


def new_commitment(
    app: Application, item_code: str, org_code: str, material_code: str, days: int, now: datetime
) -> Commitment:
    return Commitment(
        id=uuid.uuid4().hex,
        application_id=app.id,
        item_code=item_code,
        material_code=material_code,
        org_code=org_code,
        due_on=now.date() + timedelta(days=days),
        status=OPEN,
        created_at=now,
    )


def seal_form(vault: HolderVault, form: dict[str, dict[str, object]]) -> bytes:
    """The whole form, sealed: it holds personal data (identity numbers, addresses)."""
    return vault.encrypt(json.dumps(form, ensure_ascii=False, sort_keys=True), purpose=FORM_PURPOSE)


def open_form(vault: HolderVault, app: Application) -> dict[str, dict[str, object]]:
    form: dict[str, dict[str, object]] = json.loads(vault.decrypt(app.form_enc, purpose=FORM_PURPOSE))
    return form
