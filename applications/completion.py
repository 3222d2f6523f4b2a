"""统一发证: when every task of an application is approved, each item that issues a certificate has it
issued by the item's department through the normal issuance path (identifier, rendering, seal,
storage), to the applicant, with its face from the form; then the application is ``completed``.

Issuance is idempotent on an external id derived from the application and the item, and its
content is fixed by the application (issued on the day it was approved), so a completion that
failed midway (storage down) is simply run again — by ``hub applications complete`` or after the
next decision — and nothing is issued twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from applications.events import CERTIFICATE_ISSUED, record_step
from applications.events import COMPLETED as COMPLETED_EVENT
from applications.intake import open_form
from applications.models import Application, Task
from applications.repository import get_application, list_applications, tasks_of
from applications.review import face_data
from applications.status import APPROVED, COMPLETED
from catalog.queries import find_certificate_type
from certificates.issuance import UnitsOfWork, issue
from certificates.ports import CertificateServices
from certificates.privacy import HolderVault
from certificates.requests import Holder, IssuanceRequest
from sharing.policy import needed_item


@dataclass(frozen=True)
class Completion:
    application_id: str
    status: str
    issued: list[str]  # certificate ids issued (or found issued) by this run


def external_id(application_id: str, item_code: str) -> str:
    """The issuance key of an item's certificate: one per application and item, ever."""
    return f"application:{application_id}:{item_code}"


def complete(
    units: UnitsOfWork,
    services_for: Callable[[Session], CertificateServices],
    vault: HolderVault,
    *,
    application_id: str,
    now: datetime,
) -> Completion:
    """Issue what an approved application's items issue, then mark it completed. Raises what
    issuance raises (storage down …): the application then stays ``approved``, to be run again."""
    with units.read() as session:
        app = get_application(session, application_id)
        if app.status != APPROVED:
            return Completion(app.id, app.status, [])
        pending = [
            (task, request) for task, request in _requests(session, vault, app) if task.certificate_id is None
        ]
    issued: list[str] = []
    for task, request in pending:
        outcome = issue(
            units, services_for, issuer_code=task.org_code, request=request, actor=f"application:{app.id}"
        )
        certificate_id = outcome.certificate.id
        issued.append(certificate_id)
        with units.write() as session:
            locked = get_application(session, app.id, lock=True)
            row = session.get(Task, task.id)
            assert row is not None
            if row.certificate_id is None:
                row.certificate_id = certificate_id
                record_step(
                    session,
                    locked,
                    CERTIFICATE_ISSUED,
                    actor="system",
                    org_code=task.org_code,
                    item_code=task.item_code,
                    certificate_id=certificate_id,
                    details={"task": task.id, "type_code": request.type_code},
                )
    with units.write() as session:
        app = get_application(session, application_id, lock=True)
        if app.status == APPROVED:
            rows = tasks_of(session, app.id)
            needed = {t.item_code for t, _ in _requests(session, vault, app)}
            if all(t.certificate_id is not None for t in rows if t.item_code in needed):
                app.status = COMPLETED
                app.completed_at = now
                certificates = [t.certificate_id for t in rows if t.certificate_id]
                record_step(
                    session,
                    app,
                    COMPLETED_EVENT,
                    actor="system",
                    org_code=None,
                    details={"certificates": certificates},
                )
        return Completion(app.id, app.status, issued)


def _requests(session: Session, vault: HolderVault, app: Application) -> list[tuple[Task, IssuanceRequest]]:
    """For each task whose item issues a certificate, the issuance request (fixed by the application)."""
    assert app.decided_at is not None
    form = open_form(vault, app)
    issued_on = app.decided_at.date()
    holder = Holder(app.holder_name, app.holder_kind, vault.decrypt(app.holder_code_enc))
    out = []
    for task in tasks_of(session, app.id):
        item = needed_item(session, task.item_code, field="item_code")
        if item.issues is None:
            continue
        ctype = find_certificate_type(session, item.issues.type_code)
        years = ctype.validity_years if ctype is not None else None
        request = IssuanceRequest(
            type_code=item.issues.type_code,
            external_id=external_id(app.id, task.item_code),
            holder=holder,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=issued_on + timedelta(days=365 * years - 1) if years else None,
            area_code=app.area_code,
            data=face_data(item, form.get(task.item_code, {})),
        )
        out.append((task, request))
    return out


def awaiting_completion(session: Session, *, limit: int) -> list[str]:
    """Approved applications not yet completed (issuance failed or not yet run), oldest first."""
    return [a.id for a in reversed(list_applications(session, statuses=[APPROVED], limit=limit))]
