"""提交申请 at the end of the guide: the page files the signed-in holder's application as the hub's
demo portal (``hub.demo.DEMO_PORTAL``, through the same API client ``hub demo`` prints), running
the intake the API runs (``applications.intake.submit`` with its pre-review, the uploads checked in
the bounded PDF workers) and completing an application approved at once (``try_to_complete``).

The portal sees only what the holder consented to; the page says which consents are missing and
grants them on the holder's word (a CSRF-protected POST). docs/web.md "提交申请"."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from applications.errors import PreReviewFailed
from applications.requests import ApplicationRequest, GivenMaterial
from applications.views import view_application
from catalog import service
from catalog.errors import OrganizationNotFound
from catalog.organizations import get_organization
from catalog.queries import find_certificate_type
from catalog.questionnaire import evaluate
from certificates.errors import PdfTooLarge
from certificates.requests import Holder
from hub.demo import DEMO_PORTAL, demo_client
from hub.deps import StateDep
from hub.routers.params import OneThingCode
from hub.services import submit_application, try_to_complete
from hub.state import HubState
from hub.web.routing import PageRoute
from hub.web.security import RequireCsrf
from hub.web.signin import HolderDep
from hub.web.templating import render
from kernel.actor import Actor
from kernel.db import unit_of_work
from kernel.errors import Forbidden, ValidationFailed
from sharing import consents
from sharing.holders import HolderRef, signed_in_holder
from sharing.plan import Plan, make_plan
from sharing.policy import accepted_types, live_consents

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CONSENT_DAYS = 365
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# What a pre-review problem means, in words (the API's codes; the English detail is kept beside).
PROBLEM_WORDS = {
    "material_missing": "缺少此材料：请上传 PDF，或在允许时选择告知承诺/容缺",
    "field_missing": "必填项未填写",
    "field_mismatch": "与电子证照上的内容不一致",
    "certificate_not_usable": "所选证照当前不可用",
    "commitment_not_allowed": "此材料不接受告知承诺",
    "tolerated_not_allowed": "此材料不可容缺",
    "question_unanswered": "还有问题未回答",
    "validation_failed": "填写的内容格式有误",
    "unknown_field": "表单没有这一项",
    "unknown_material": "事项没有这项材料",
    "material_given_twice": "同一材料提交了两次",
    "item_not_applicable": "本次申请不包括此事项",
}
STATUS_WORDS = {
    "in_review": "审核中",
    "supplement_required": "需补正",
    "approved": "已批准",
    "completed": "已办结",
    "rejected": "未通过",
    "withdrawn": "已撤回",
    "pending": "待审核",
    "cancelled": "已取消",
}


def demo_portal_registered(state: HubState) -> bool:
    """提交申请 acts as the demo portal: only a hub whose catalog registered it (the demo's) offers
    it; elsewhere the guide ends at its checklist, as a portal's own site would take over."""
    with unit_of_work(state.read_sessions) as session:
        try:
            get_organization(session, DEMO_PORTAL)
        except OrganizationNotFound:
            return False
    return True


def portal_actor(state: HubState, session: Session) -> Actor:
    """The demo portal, acting through the API client ``hub demo`` makes for it (the same one)."""
    client = demo_client(state, session, name="demo portal", org_code=DEMO_PORTAL)
    if client.revoked:
        raise Forbidden("演示门户的接口客户端已被吊销，无法代为提交申请。", code="portal_revoked")
    return Actor.for_client("portal", client.client_id, DEMO_PORTAL)


def use_cause(one_thing_name: str) -> str:
    return f"办理{one_thing_name}"


def missing_consents(
    session: Session, holder: HolderRef, items: Sequence[str], now: datetime
) -> list[dict[str, Any]]:
    """The items whose certificates the holder has not (or no longer) let the demo portal use."""
    missing = []
    for code in items:
        item = service.get_item(session, code).body
        if not _shareable(session, accepted_types(item)):
            continue
        live = live_consents(
            session, holder_index=holder.index, grantee_code=DEMO_PORTAL, item_code=code, now=now
        )
        if not live:
            missing.append({"code": code, "name": item.name})
    return missing


def _shareable(session: Session, types: set[str]) -> list[str]:
    found = [(t, find_certificate_type(session, t)) for t in sorted(types)]
    return [t for t, view in found if view is not None and view.sharing != "none"]


def submit_context(
    state: HubState,
    holder: Actor,
    code: str,
    one_thing: Any,
    answers: Mapping[str, str],
    *,
    problems: Sequence[Mapping[str, Any]] = (),
    typed: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """What the 提交申请 form shows: the consents missing, the fields to fill (prefilled ones read
    only), the materials not on file for the portal with how each may be given, and the problems
    of a failed pre-review next to their item, material or field."""
    now = state.clock()
    with unit_of_work(state.sessions) as session:
        _, ref = signed_in_holder(state.vault, holder)
        plan = make_plan(
            session,
            state.vault,
            actor=portal_actor(state, session),
            holder=ref,
            use_cause=use_cause(one_thing.name),
            one_thing=code,
            answers=answers,
            items=(),
            now=now,
        )
        missing = missing_consents(session, ref, plan.items, now)
        items = [_item_form(session, code, plan, problems, typed or {}) for code in plan.items]
    shown = {(i["code"], m["code"], None) for i in items for m in i["materials"]} | {
        (i["code"], None, f"form.{i['code']}.{f['name']}") for i in items for f in i["fields"]
    }
    return {
        "consents_missing": missing,
        "form_items": items,
        "other_problems": [_words(p) for p in problems if _key(p) not in shown],
        "nonce": secrets.token_urlsafe(24),
    }


def _key(p: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return (p.get("item_code"), p.get("material"), p.get("field"))


def _words(p: Mapping[str, Any]) -> str:
    return f"{PROBLEM_WORDS.get(p['code'], '有误')}（{p.get('detail', '')}）"


def _item_form(
    session: Session,
    code: str,
    plan: Plan,
    problems: Sequence[Mapping[str, Any]],
    typed: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    item = service.get_item(session, code).body
    prefilled = {f.name: f for f in plan.form if f.item_code == code}
    states = {m.code: m.state for m in plan.materials if m.item_code == code}
    fields = []
    for f in item.form:
        filled = prefilled.get(f.name)
        where = f"form.{code}.{f.name}"
        fields.append(
            {
                "name": f.name,
                "label": f.label,
                "required": f.required,
                "prefilled": filled.value if filled is not None and filled.source is not None else None,
                "typed": typed.get(code, {}).get(f.name, ""),
                "problems": [_words(p) for p in problems if _key(p) == (code, None, where)],
            }
        )
    materials = [
        {
            "code": m.code,
            "name": m.name,
            "required": m.required,
            "commitment": m.commitment,
            "tolerated": m.tolerated,
            "problems": [_words(p) for p in problems if _key(p) == (code, m.code, None)],
        }
        for m in item.materials
        if states.get(m.code) != "on_file"
    ]
    return {"code": code, "name": item.name, "fields": fields, "materials": materials}


async def _read_form(request: Request, state: HubState) -> tuple[dict[str, str], list[GivenMaterial], str]:
    """The multipart form: the answers, the typed fields, the materials given, the nonce; the API's
    limits on the number of files and their sizes."""
    limits = state.settings.limits
    form = await request.form(max_files=limits.max_application_files, max_fields=500)
    values: dict[str, str] = {}
    given: list[GivenMaterial] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if not value.filename and not value.size:
                continue  # a file input left empty
            _, item_code, code = [*name.split(":", 2), "", ""][:3]
            if value.size is not None and value.size > limits.max_pdf_bytes:
                raise PdfTooLarge(f"the PDF is larger than {limits.max_pdf_bytes} bytes", field=name)
            data = await value.read(limits.max_pdf_bytes + 1)
            if len(data) > limits.max_pdf_bytes:
                raise PdfTooLarge(f"the PDF is larger than {limits.max_pdf_bytes} bytes", field=name)
            given.append(GivenMaterial(item_code=item_code, code=code, file=data))
        elif len(value) <= 500:
            values[name] = value
    nonce = values.get("nonce", "")
    if not NONCE.fullmatch(nonce):
        raise ValidationFailed("the form's nonce is missing; reload the page", field="nonce")
    return values, given, nonce


def _choices(values: Mapping[str, str], files: list[GivenMaterial]) -> list[GivenMaterial]:
    """The materials given: an uploaded PDF wins over a 告知承诺/容缺 choice for the same material."""
    with_file = {(m.item_code, m.code) for m in files}
    chosen = list(files)
    for name, value in values.items():
        if name.startswith("way:"):
            _, item_code, code = [*name.split(":", 2), "", ""][:3]
            if (item_code, code) in with_file or value not in ("commitment", "tolerated"):
                continue
            chosen.append(
                GivenMaterial(
                    item_code=item_code,
                    code=code,
                    commitment=value == "commitment",
                    tolerated=value == "tolerated",
                )
            )
    return chosen


def _typed(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    typed: dict[str, dict[str, str]] = {}
    for name, value in values.items():
        if name.startswith("field:") and value.strip():
            _, item_code, field = [*name.split(":", 2), "", ""][:3]
            typed.setdefault(item_code, {})[field] = value.strip()
    return typed


@router.post("/guide/{code}/apply", dependencies=[RequireCsrf])
async def apply(request: Request, code: OneThingCode, state: StateDep, holder: HolderDep) -> Response:
    if holder is None:
        return RedirectResponse(f"/signin?next=/guide/{code}", status_code=303)
    values, files, nonce = await _read_form(request, state)
    # The intake, its PDF checks and the database are blocking: off the event loop, as the API's.
    return await run_in_threadpool(_file, request, code, state, holder, values, files, nonce)


def _file(
    request: Request,
    code: str,
    state: HubState,
    holder: Actor,
    values: dict[str, str],
    files: list[GivenMaterial],
    nonce: str,
) -> Response:
    """File the application as the demo portal; a failed pre-review shows the guide's form again."""
    from hub.web.catalog_pages import guide_context  # (catalog_pages imports this module)

    with unit_of_work(state.read_sessions) as session:
        one_thing = service.get_one_thing(session, code).body
    question_ids = {q.id for q in one_thing.questions}
    answers = {k[2:]: v for k, v in values.items() if k.startswith("a:") and k[2:] in question_ids}
    answers = dict(evaluate(one_thing, answers).answers)
    typed = _typed(values)
    citizen, _ = signed_in_holder(state.vault, holder)
    application = ApplicationRequest(
        one_thing=code,
        answers=answers,
        holder=Holder(citizen.name, citizen.holder_kind, citizen.holder_code),
        use_cause=use_cause(one_thing.name),
        external_id=f"web-{nonce}",
        form=typed,
        materials=_choices(values, files),
    )
    try:
        with unit_of_work(state.sessions) as session:
            actor = portal_actor(state, session)
            submitted = submit_application(state, session, actor=actor, request=application)
            app_id, status = submitted.application.id, submitted.application.status
    except PreReviewFailed as failed:
        problems = failed.extra.get("problems", [])
        context = guide_context(request, code, state, holder, answers)
        context.update(
            submit_context(state, holder, code, one_thing, answers, problems=problems, typed=typed)
        )
        context["failed"] = True
        return render(request, "guide.html", context, status_code=422)
    if status == "approved":
        try_to_complete(state, app_id)
    with unit_of_work(state.read_sessions) as session:
        view = view_application(session, state.vault, actor=actor, application_id=app_id)
        names = {t.item_code: service.get_item(session, t.item_code).body.name for t in view.tasks}
        tasks = [
            {
                "item": names[t.item_code],
                "item_code": t.item_code,
                "status": STATUS_WORDS.get(t.status, t.status),
                "due_on": t.due_on,
                "decided_by": t.decided_by,
            }
            for t in view.tasks
        ]
        app = view.application
        summary = {
            "id": app.id,
            "status": STATUS_WORDS.get(app.status, app.status),
            "one_thing": one_thing.name,
        }
    return render(request, "applied.html", {"application": summary, "tasks": tasks})


@router.post("/guide/{code}/consents", dependencies=[RequireCsrf])
async def grant_consents(
    request: Request, code: OneThingCode, state: StateDep, holder: HolderDep
) -> Response:
    """The holder lets the demo portal use their certificates for the items that lack a consent."""
    if holder is None:
        return RedirectResponse(f"/signin?next=/guide/{code}", status_code=303)
    form = await request.form(max_files=0, max_fields=100)
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return await run_in_threadpool(_grant, code, state, holder, pairs)


def _grant(code: str, state: HubState, holder: Actor, pairs: list[tuple[str, str]]) -> Response:
    now = state.clock()
    with unit_of_work(state.sessions) as session:
        one_thing = service.get_one_thing(session, code).body
        question_ids = {q.id for q in one_thing.questions}
        answers = {k[2:]: v for k, v in pairs if k.startswith("a:") and k[2:] in question_ids}
        result = evaluate(one_thing, answers)
        _, ref = signed_in_holder(state.vault, holder)
        for missing in missing_consents(session, ref, list(result.items) if result.complete else [], now):
            item = service.get_item(session, missing["code"]).body
            consents.grant(
                session,
                actor=holder,
                holder=ref,
                grantee=DEMO_PORTAL,
                item_code=missing["code"],
                type_codes=_shareable(session, accepted_types(item)),
                expires_at=now + timedelta(days=CONSENT_DAYS),
                now=now,
            )
    return RedirectResponse(f"/guide/{code}?{urlencode(result.answers)}#apply", status_code=303)
