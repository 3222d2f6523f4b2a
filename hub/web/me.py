"""``/me``: the signed-in holder's own page — their certificates (download), consents (grant,
withdraw), who used their data (用证记录) and their applications (我的办件, with a rating form).

Each route calls the domain services the API's holder routes call (``hub/routers/me.py``,
``GET /api/v1/certificates/{id}/file``, ``GET /api/v1/me/applications``,
``POST /api/v1/applications/{id}/rating``) with the signed-in holder as the actor; the forms that
change something post with a CSRF token and redirect back to ``/me`` (post/redirect/get)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from applications.ratings import rate
from applications.status import DECIDED_STATUSES
from applications.views import ApplicationView, is_overdue, my_applications
from catalog import service
from catalog.errors import ItemNotFound, OneThingNotFound
from catalog.queries import find_certificate_type, find_items, organization_names, portals
from certificates.lifecycle import effective_status
from certificates.repository import get_certificate
from hub.deps import ReadSessionDep, SessionDep, StateDep
from hub.routers.certificates import certificate_pdf
from hub.routers.params import ApplicationId, CertificateId, ConsentId
from hub.services import HOLDER_VISIBLE
from hub.state import HubState
from hub.web.routing import PageRoute
from hub.web.security import RequireCsrf
from hub.web.signin import HolderDep
from hub.web.templating import render
from kernel.actor import Actor
from kernel.db import unit_of_work
from kernel.errors import Forbidden
from sharing import consents
from sharing.holders import HolderRef, signed_in_holder
from sharing.me import access_log, my_certificates
from sharing.policy import accepted_types

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOG_PAGE = 20  # uses of the holder's data per page of 用证记录
APPLICATIONS_SHOWN = 50

CERTIFICATE_STATUS = {
    "01": "有效",
    "02": "暂扣",
    "03": "撤销",
    "04": "注销",
    "05": "失效",
    "06": "迁出",
    "07": "吊销",
    "99": "其他",
}
CONSENT_STATUS = {"active": "生效中", "withdrawn": "已撤回", "expired": "已过期"}
APPLICATION_STATUS = {
    "in_review": "审核中",
    "supplement_required": "待补正",
    "approved": "已通过",
    "completed": "已办结",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}
TASK_STATUS = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "未通过",
    "supplement_required": "待补正",
    "cancelled": "已取消",
}
COMMITMENT_STATUS = {"open": "待补交", "fulfilled": "已补交", "breached": "已违诺", "cancelled": "已取消"}
ACTIONS = {
    "sharing.lookup": "查询证照",
    "sharing.plan": "生成办事材料清单",
    "sharing.copy": "制作加注件",
    "sharing.copy_fetched": "下载加注件",
    "sharing.verify_data": "核验数据",
}
DONE = {
    "granted": "已授权。",
    "withdrawn": "已撤回授权，该平台此后不能再使用这些证照。",
    "rated": "感谢您的评价。",
}


def _holder(state: HubState, holder: Actor | None) -> tuple[Actor, HolderRef]:
    """The signed-in holder for a form that changes something (403 page when signed out)."""
    if holder is None:
        raise Forbidden("请先登录", code="not_signed_in")
    return holder, signed_in_holder(state.vault, holder)[1]


def _back(done: str, anchor: str) -> Response:
    return RedirectResponse(f"/me?done={done}#{anchor}", status_code=303)


def _type_names(session: Session, codes: set[str]) -> dict[str, str]:
    names = {}
    for code in codes:
        view = find_certificate_type(session, code)
        names[code] = view.name if view is not None else code
    return names


def _one_thing_name(session: Session, code: str) -> str:
    try:
        return service.get_one_thing(session, code).body.name
    except OneThingNotFound:
        return code


def _certificates(state: HubState, session: Session, ref: HolderRef) -> list[dict[str, Any]]:
    found = my_certificates(session, state.vault, ref)
    types = _type_names(session, {c.type_code for c in found})
    issuers = organization_names(session, {c.issuer_code for c in found})
    today = state.today()
    return [
        {
            "id": c.id,
            "version": f"{c.version:03d}",
            "type": types[c.type_code],
            "issuer": issuers.get(c.issuer_code, c.issuer_code),
            "status": CERTIFICATE_STATUS.get(s := effective_status(c.status, c.valid_until, today).value, s),
            "usable": s == "01",
            "valid_from": c.valid_from,
            "valid_until": c.valid_until,
            "href": f"/me/certificates/{c.id}/file",
        }
        for c in found
    ]


def _consents(state: HubState, session: Session, ref: HolderRef) -> list[dict[str, Any]]:
    now = state.clock()
    found = consents.consents_of(session, ref)
    grantees = organization_names(session, {c.grantee_code for c in found})
    items = find_items(session, {c.item_code for c in found})
    types = _type_names(session, {t for c in found for t in c.type_codes})
    rows = []
    for c in found:
        status = consents.status_of(c, now)
        rows.append(
            {
                "id": c.id,
                "grantee": grantees.get(c.grantee_code, c.grantee_code),
                "item": items[c.item_code].name if c.item_code in items else c.item_code,
                "types": [types[t] for t in c.type_codes],
                "created_at": c.created_at,
                "expires_at": c.expires_at,
                "status": CONSENT_STATUS.get(status, status),
                "active": status == "active",
            }
        )
    return rows


def _grant_form(state: HubState, session: Session, item_code: str | None) -> dict[str, Any]:
    """The grant form's choices, from the catalog: the portals, the items and, once an item is
    chosen, the certificate types it needs that may be shared with portals."""
    items = [(e.code, e.body.name) for e in service.list_items(session, limit=500).items]
    chosen = None
    types: list[tuple[str, str]] = []
    if item_code:
        try:
            body = service.get_item(session, item_code).body
        except ItemNotFound:
            body = None
        if body is not None:
            chosen = {"code": item_code, "name": body.name}
            for code in sorted(accepted_types(body)):
                view = find_certificate_type(session, code)
                if view is not None and view.sharing != "none":
                    types.append((code, view.name))
    today = state.today()
    return {
        "portals": [(p.code, p.name) for p in portals(session)],
        "items": items,
        "chosen": chosen,
        "types": types,
        "min_date": today.isoformat(),
        "max_date": date.fromordinal(today.toordinal() + 365).isoformat(),
        "default_date": date.fromordinal(today.toordinal() + 30).isoformat(),
    }


def _access_log(session: Session, ref: HolderRef, offset: int) -> dict[str, Any]:
    total, entries = access_log(session, ref, limit=LOG_PAGE, offset=offset, actions=HOLDER_VISIBLE)
    items = find_items(session, {e.item_code for e in entries if e.item_code})
    return {
        "total": total,
        "offset": offset,
        "entries": [
            {
                "at": e.at,
                "who": e.org_name or e.org_code or e.actor,
                "action": ACTIONS.get(e.action, e.action),
                "item": items[e.item_code].name if e.item_code in items else e.item_code,
                "cause": e.use_cause,
                "certificates": e.certificates,
            }
            for e in entries
        ],
        "previous": max(offset - LOG_PAGE, 0) if offset > 0 else None,
        "next": offset + LOG_PAGE if offset + LOG_PAGE < total else None,
    }


def _application(session: Session, view: ApplicationView, now: datetime) -> dict[str, Any]:
    app = view.application
    items = find_items(session, {t.item_code for t in view.tasks} | {c.item_code for c in view.commitments})
    orgs = organization_names(session, {t.org_code for t in view.tasks})

    def item_name(code: str) -> str:
        return items[code].name if code in items else code

    return {
        "id": app.id,
        "one_thing": _one_thing_name(session, app.one_thing),
        "status": APPLICATION_STATUS.get(app.status, app.status),
        "submitted_at": app.submitted_at,
        "tasks": [
            {
                "item": item_name(t.item_code),
                "org": orgs.get(t.org_code, t.org_code),
                "status": TASK_STATUS.get(t.status, t.status),
                "due_on": t.due_on,
                "overdue": is_overdue(t, now),
                "decided_at": t.decided_at,
                "auto": t.decided_by == "auto",
                "reason": t.reason,
            }
            for t in view.tasks
        ],
        "certificates": [
            {
                "item": item_name(t.item_code),
                "id": t.certificate_id,
                "href": f"/me/certificates/{t.certificate_id}/file",
            }
            for t in view.tasks
            if t.certificate_id
        ],
        "commitments": [
            {
                "item": item_name(c.item_code),
                "material": c.material_code,
                "due_on": c.due_on,
                "status": COMMITMENT_STATUS.get(c.status, c.status),
            }
            for c in view.commitments
        ],
        "rating": view.rating,
        "may_rate": view.rating is None and app.status in DECIDED_STATUSES,
    }


@router.get("/me")
def me(
    request: Request,
    holder: HolderDep,
    state: StateDep,
    session: ReadSessionDep,
    item: Annotated[str | None, Query(max_length=64)] = None,
    log: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if holder is None:
        return render(request, "me_signed_out.html")
    citizen, ref = signed_in_holder(state.vault, holder)
    now = state.clock()
    views = my_applications(session, state.vault, actor=holder, limit=APPLICATIONS_SHOWN, offset=0)
    return render(
        request,
        "me.html",
        {
            "citizen": citizen,
            "done": DONE.get(done or ""),
            "certificates": _certificates(state, session, ref),
            "consents": _consents(state, session, ref),
            "grant": _grant_form(state, session, item),
            "log": _access_log(session, ref, log),
            "applications": [_application(session, v, now) for v in views],
        },
    )


@router.get("/me/certificates/{certificate_id}/file")
def certificate_file(
    request: Request,
    certificate_id: CertificateId,
    holder: HolderDep,
    state: StateDep,
    session: ReadSessionDep,
) -> Response:
    """The sealed PDF for the signed-in holder, under the API's checks (``check_read_file``): a
    certificate that is not theirs does not exist for them (404)."""
    if holder is None:
        return RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
    return certificate_pdf(state, holder, get_certificate(session, certificate_id))


@router.post("/me/consents", dependencies=[RequireCsrf])
def grant_consent(
    holder: HolderDep,
    state: StateDep,
    session: SessionDep,
    grantee: Annotated[str, Form(min_length=18, max_length=18)],
    item_code: Annotated[str, Form(min_length=1, max_length=64)],
    expires_on: Annotated[date, Form()],
    type_codes: Annotated[list[str], Form(min_length=1, max_length=50)],
) -> Response:
    """As ``POST /api/v1/me/consents``: the consent lasts to the end of ``expires_on`` (UTC)."""
    actor, ref = _holder(state, holder)
    consents.grant(
        session,
        actor=actor,
        holder=ref,
        grantee=grantee,
        item_code=item_code,
        type_codes=type_codes,
        expires_at=datetime.combine(expires_on, time.max, tzinfo=UTC),
        now=state.clock(),
    )
    return _back("granted", "consents")


@router.post("/me/consents/{consent_id}/withdraw", dependencies=[RequireCsrf])
def withdraw_consent(
    consent_id: ConsentId, holder: HolderDep, state: StateDep, session: SessionDep
) -> Response:
    """As ``DELETE /api/v1/me/consents/{id}``."""
    actor, ref = _holder(state, holder)
    consents.withdraw(session, actor=actor, holder=ref, consent_id=consent_id, now=state.clock())
    return _back("withdrawn", "consents")


@router.post("/me/applications/{application_id}/rating", dependencies=[RequireCsrf])
def rate_application(
    application_id: ApplicationId,
    holder: HolderDep,
    state: StateDep,
    score: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """As ``POST /api/v1/applications/{id}/rating`` (好差评, once)."""
    actor, _ = _holder(state, holder)
    with unit_of_work(state.sessions) as session:
        rate(
            session,
            state.vault,
            actor=actor,
            application_id=application_id,
            score=score,
            comment=comment,
            now=state.clock(),
        )
    return _back("rated", "applications")
