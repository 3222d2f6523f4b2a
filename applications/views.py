"""Who sees an application, and which parts of it.

| caller                              | sees                                                      |
|-------------------------------------|-----------------------------------------------------------|
| the holder (citizen token)          | all of it, holder code in clear                           |
| the submitting portal               | all of it, holder code masked                             |
| a department with a task in it      | its own tasks, and the form, materials and commitments of |
|                                     | its own items only; holder code in clear (it handles it)  |
| an admin                            | all of it, holder code masked                             |
| anyone else                         | nothing: 404, as for an application that does not exist   |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from applications.errors import ApplicationNotFound
from applications.intake import open_form
from applications.models import Application, Commitment, Rating, SuppliedMaterial, Task
from applications.repository import (
    applications_of_holder,
    commitments_of,
    get_application,
    materials_of,
    rating_of,
    tasks_of,
)
from applications.status import PENDING, SUPPLEMENT_REQUIRED, TASK_STATUSES
from certificates.privacy import HolderVault, mask
from kernel.actor import Actor, Role
from kernel.errors import Forbidden, ValidationFailed


class Audience(StrEnum):
    HOLDER = "holder"
    PORTAL = "portal"
    DEPARTMENT = "department"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApplicationView:
    application: Application
    audience: Audience
    holder_code: str  # in clear or masked, as the audience may see it
    tasks: list[Task]
    materials: list[SuppliedMaterial]
    commitments: list[Commitment]
    form: dict[str, dict[str, Any]]
    rating: Rating | None


def audience_of(vault: HolderVault, actor: Actor, app: Application, tasks: list[Task]) -> Audience | None:
    if actor.role is Role.ADMIN:
        return Audience.ADMIN
    if actor.role is Role.PORTAL and actor.org_code == app.portal_code:
        return Audience.PORTAL
    citizen = actor.citizen
    if (
        citizen is not None
        and vault.blind_index(citizen.holder_kind, citizen.holder_code) == app.holder_index
    ):
        return Audience.HOLDER
    if actor.role is Role.DEPARTMENT and any(t.org_code == actor.org_code for t in tasks):
        return Audience.DEPARTMENT
    return None


def view_application(
    session: Session, vault: HolderVault, *, actor: Actor, application_id: str
) -> ApplicationView:
    """The application as ``actor`` may see it, or 404."""
    app = get_application(session, application_id)
    tasks = tasks_of(session, app.id)
    audience = audience_of(vault, actor, app, tasks)
    if audience is None:
        raise ApplicationNotFound("no such application")
    return build_view(session, vault, app, tasks, audience, actor.org_code)


def build_view(
    session: Session,
    vault: HolderVault,
    app: Application,
    tasks: list[Task],
    audience: Audience,
    org_code: str | None,
) -> ApplicationView:
    materials = materials_of(session, app.id)
    commitments = commitments_of(session, app.id)
    form = open_form(vault, app)
    if audience is Audience.DEPARTMENT:
        own = {t.item_code for t in tasks if t.org_code == org_code}
        tasks = [t for t in tasks if t.item_code in own]
        materials = [m for m in materials if m.item_code in own]
        commitments = [c for c in commitments if c.item_code in own]
        form = {item: values for item, values in form.items() if item in own}
    elif audience is Audience.ADMIN:
        form = {}  # personal data: the operators run the hub, they do not read applications
    code = vault.decrypt(app.holder_code_enc)
    clear = audience in (Audience.HOLDER, Audience.DEPARTMENT)
    return ApplicationView(
        app,
        audience,
        code if clear else mask(code),
        tasks,
        materials,
        commitments,
        form,
        rating_of(session, app.id),
    )


def my_applications(
    session: Session, vault: HolderVault, *, actor: Actor, limit: int, offset: int
) -> list[ApplicationView]:
    """The signed-in holder's applications, newest first."""
    citizen = actor.citizen
    if citizen is None:
        raise Forbidden("this needs a citizen token", code="forbidden")
    index = vault.blind_index(citizen.holder_kind, citizen.holder_code)
    return [
        build_view(session, vault, app, tasks_of(session, app.id), Audience.HOLDER, None)
        for app in applications_of_holder(session, index, limit=limit, offset=offset)
    ]


@dataclass(frozen=True)
class TaskRow:
    task: Task
    application: Application
    overdue: bool


def list_tasks(
    session: Session,
    *,
    actor: Actor,
    status: str | None,
    overdue: bool,
    now: datetime,
    limit: int,
    offset: int,
) -> list[TaskRow]:
    """The department's own tasks, oldest due first; ``overdue``: undecided and past the due date."""
    if actor.role is not Role.DEPARTMENT or actor.org_code is None:
        raise Forbidden("this needs the role department", code="forbidden")
    if status is not None and status not in TASK_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(TASK_STATUSES)}", field="status")
    stmt = (
        select(Task, Application)
        .join(Application, Application.id == Task.application_id)
        .where(Task.org_code == actor.org_code)
    )
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if overdue:
        stmt = stmt.where(Task.status.in_([PENDING, SUPPLEMENT_REQUIRED]), Task.due_on < now.date())
    stmt = (
        stmt.order_by(Task.due_on.is_(None), Task.due_on, Application.submitted_at, Task.id)
        .limit(limit)
        .offset(offset)
    )
    return [TaskRow(task, app, is_overdue(task, now)) for task, app in session.execute(stmt).all()]


def is_overdue(task: Task, now: datetime) -> bool:
    return (
        task.status in (PENDING, SUPPLEMENT_REQUIRED) and task.due_on is not None and task.due_on < now.date()
    )
