"""The queries the application use cases share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from applications.errors import ApplicationNotFound
from applications.models import Application, Commitment, Rating, SuppliedMaterial, Task

_FRESH: dict[str, Any] = {"populate_existing": True}  # after a lock: what others committed, not the cache


def get_application(session: Session, application_id: str, *, lock: bool = False) -> Application:
    """The application (row-locked with ``lock``: decisions on its tasks then queue on it), or 404."""
    stmt = select(Application).where(Application.id == application_id)
    if lock:
        stmt = stmt.with_for_update()
    app = session.scalar(stmt.execution_options(**_FRESH))
    if app is None:
        raise ApplicationNotFound("no such application")
    return app


def find_by_external_id(session: Session, portal_code: str, external_id: str) -> Application | None:
    stmt = select(Application).where(
        Application.portal_code == portal_code, Application.external_id == external_id
    )
    return session.scalar(stmt)


def tasks_of(session: Session, application_id: str) -> list[Task]:
    stmt = select(Task).where(Task.application_id == application_id).order_by(Task.position)
    return list(session.scalars(stmt.execution_options(**_FRESH)))


def commitments_of(session: Session, application_id: str) -> list[Commitment]:
    stmt = (
        select(Commitment)
        .where(Commitment.application_id == application_id)
        .order_by(Commitment.created_at, Commitment.id)
    )
    return list(session.scalars(stmt.execution_options(**_FRESH)))


def materials_of(session: Session, application_id: str) -> list[SuppliedMaterial]:
    stmt = (
        select(SuppliedMaterial)
        .where(SuppliedMaterial.application_id == application_id)
        .order_by(SuppliedMaterial.id)
    )
    return list(session.scalars(stmt))


def rating_of(session: Session, application_id: str) -> Rating | None:
    return session.get(Rating, application_id)


def applications_of_holder(
    session: Session, holder_index: str, *, limit: int, offset: int
) -> list[Application]:
    stmt = (
        select(Application)
        .where(Application.holder_index == holder_index)
        .order_by(Application.submitted_at.desc(), Application.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt))


def list_applications(
    session: Session, *, statuses: Sequence[str] = (), limit: int = 50, offset: int = 0
) -> list[Application]:
    stmt = select(Application)
    if statuses:
        stmt = stmt.where(Application.status.in_(list(statuses)))
    stmt = stmt.order_by(Application.submitted_at.desc(), Application.id).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def file_referenced(session: Session, sha256: str) -> bool:
    """Whether an application's material or a commitment's proof is this stored file (gc keeps it)."""
    by_material = select(SuppliedMaterial.id).where(SuppliedMaterial.file_sha256 == sha256).limit(1)
    by_commitment = select(Commitment.id).where(Commitment.file_sha256 == sha256).limit(1)
    return session.scalar(by_material) is not None or session.scalar(by_commitment) is not None
