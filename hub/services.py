"""Use cases that span packages (catalog + certificates + signing), called by routers and the CLI.

The rules live in the domains; this module only hands them the hub's wiring."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

import applications.repository
from applications import completion, intake
from applications.completion import Completion
from applications.events import ACTIONS as APPLICATION_ACTIONS
from applications.intake import Submitted
from applications.requests import ApplicationRequest
from catalog.models import Organization
from catalog.organizations import put_organization
from certificates import maintenance
from hub.state import HubState
from kernel.actor import Actor
from kernel.db import unit_of_work
from sharing.uses import ACTIONS as SHARING_ACTIONS

log = logging.getLogger("hub.services")

# What a holder's access log shows: the portals' uses of their data and every step of their applications.
HOLDER_VISIBLE = (*SHARING_ACTIONS, *APPLICATION_ACTIONS)


def register_organization(
    state: HubState,
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    demo: bool = False,
    actor: str = "system",
) -> Organization:
    """Register or update an organization; a department gets its seal."""
    org = put_organization(session, code=code, name=name, kind=kind, demo=demo, actor=actor)
    if org.kind == "department":
        state.signing.ensure_seal(session, org.code, org.name)
    return org


def collect_garbage(
    state: HubState, *, cutoff: datetime, progress: maintenance.Progress = maintenance.quiet
) -> int:
    """Delete blobs older than ``cutoff`` that no certificate row points to."""
    return maintenance.collect_garbage(
        partial(unit_of_work, state.sessions),
        state.blobs,
        cutoff=cutoff,
        also_referenced=[applications.repository.file_referenced],
        progress=progress,
    )


def upgrade_signatures(
    state: HubState, *, progress: maintenance.Progress = maintenance.quiet
) -> tuple[int, int]:
    """Raise files sealed below the configured level (e.g. while the timestamp authority was down)."""
    return maintenance.upgrade_signatures(
        partial(unit_of_work, state.sessions),
        state.blobs,
        state.signing.sealing_for,
        target=state.settings.signing.level,
        progress=progress,
    )


def submit_application(
    state: HubState, session: Session, *, actor: Actor, request: ApplicationRequest
) -> Submitted:
    """One-form intake (``applications.intake.submit``) wired to this hub: its vault and blob store,
    uploads checked in the PDF workers, its default area code and clock. The API, the guide's
    提交申请 page and the tests' world file applications through it."""
    return intake.submit(
        session,
        state.vault,
        state.blobs,
        actor=actor,
        request=request,
        check_upload=state.pdf_checks.check_upload,
        default_area_code=state.settings.area_code,
        now=state.clock(),
    )


def complete_application(state: HubState, application_id: str) -> Completion:
    """Issue an approved application's certificates and mark it completed (``applications.completion``)."""
    return completion.complete(
        state.units(),
        state.certificate_services,
        state.vault,
        application_id=application_id,
        now=state.clock(),
    )


def try_to_complete(state: HubState, application_id: str | None, *, backlog: int = 3) -> None:
    """After an intake or a decision: complete this application if it is approved, then up to
    ``backlog`` others left approved by an earlier failure. A failure (storage down) is logged and
    leaves the application ``approved`` for the next try or ``hub applications complete``."""
    with unit_of_work(state.read_sessions) as session:
        waiting = completion.awaiting_completion(session, limit=backlog + 1)
    if application_id is not None:
        waiting = [application_id, *[a for a in waiting if a != application_id]]
    for app_id in waiting[: backlog + 1]:
        try:
            complete_application(state, app_id)
        except Exception as e:
            log.warning(
                "application not completed yet",
                extra={"fields": {"application": app_id, "error": type(e).__name__}},
            )
