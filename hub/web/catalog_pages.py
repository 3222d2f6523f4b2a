"""The catalog as pages: search on the home page (the API's search index), a service item's guide,
and a one-thing's progressive questionnaire ending in its checklist (一次告知).

The questionnaire runs one step at a time on the server: each step is a GET form carrying the
answers so far, and the engine the API uses (``catalog.questionnaire.evaluate``, as
``POST /api/v1/one-things/{code}/questionnaire``) decides the next question and when it is done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from catalog import service
from catalog.queries import find_certificate_type, find_items, organization_names
from catalog.questionnaire import evaluate
from catalog.search import SearchIndex
from catalog.service import ONE_THING
from hub.deps import ReadSessionDep, StateDep
from hub.routers.params import OneThingCode
from hub.routers.search import search_index
from hub.web.apply import demo_portal_registered, submit_context
from hub.web.routing import PageRoute
from hub.web.signin import HolderDep
from hub.web.templating import render
from kernel.db import unit_of_work
from sharing.holders import signed_in_holder
from sharing.me import my_materials_on_file

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KIND_LABELS = {
    "certificate-type": "证照类型",
    "data-resource": "数据资源",
    "item": "事项",
    "one-thing": "一件事",
}
REVIEW_LABELS = {"auto": "智能审批（无人干预）", "manual": "人工审核"}
SEARCH_LIMIT = 20
ItemCode = Annotated[str, Path(max_length=64)]


def _href(kind: str, code: str) -> str | None:
    return {"one-thing": f"/guide/{code}", "item": f"/items/{code}"}.get(kind)


@router.get("/")
def home(
    request: Request,
    index: Annotated[SearchIndex, Depends(search_index)],
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    query = q.strip()
    hits: list[dict[str, Any]] = []
    total = 0
    if query:
        result = index.search(query, limit=SEARCH_LIMIT)
        total = result.total
        hits = [
            {
                "kind": KIND_LABELS.get(h.kind, h.kind),
                "code": h.code,
                "name": h.name,
                "href": _href(h.kind, h.code),
            }
            for h in result.hits
        ]
    return render(request, "home.html", {"q": query, "hits": hits, "total": total})


def _type_names(session: Any, codes: set[str]) -> dict[str, str]:
    names = {}
    for code in codes:
        view = find_certificate_type(session, code)
        names[code] = view.name if view is not None else code
    return names


def _item_views(session: Any, codes: list[str], on_file: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """What the checklist shows of each item: its department, limits, review, issue and materials."""
    bodies = [(code, service.get_item(session, code).body) for code in codes]
    orgs = organization_names(session, {body.org for _, body in bodies})
    types = {t for _, body in bodies for m in body.materials for t in m.certificate_types}
    types |= {body.issues.type_code for _, body in bodies if body.issues is not None}
    type_names = _type_names(session, types)
    return [
        {
            "code": code,
            "body": body,
            "org_name": orgs.get(body.org, body.org),
            "review": REVIEW_LABELS.get(body.review, body.review),
            "issues": type_names.get(body.issues.type_code) if body.issues is not None else None,
            "materials": [
                {
                    "m": m,
                    "types": [type_names.get(t, t) for t in m.certificate_types],
                    "on_file": on_file.get((code, m.code)),
                }
                for m in body.materials
            ],
        }
        for code, body in bodies
    ]


def _on_file(state: Any, session: Any, holder: Any, items: list[str]) -> dict[tuple[str, str], str]:
    if holder is None:
        return {}
    _, ref = signed_in_holder(state.vault, holder)
    found: dict[tuple[str, str], str] = my_materials_on_file(
        session, state.vault, ref, items, now=state.clock()
    )
    return found


@router.get("/items/{item_code}")
def item_page(
    request: Request, item_code: ItemCode, session: ReadSessionDep, state: StateDep, holder: HolderDep
) -> Response:
    service.get_item(session, item_code)  # 404 page when there is none
    items = _item_views(session, [item_code], _on_file(state, session, holder, [item_code]))
    return render(request, "item.html", {"item": items[0], "signed_in": holder is not None})


@router.get("/guide")
def guide_index(request: Request, session: ReadSessionDep) -> Response:
    page = service.list_entries(session, ONE_THING, limit=200)
    return render(request, "guide_index.html", {"one_things": page.items})


@router.get("/guide/{code}")
def guide(request: Request, code: OneThingCode, state: StateDep, holder: HolderDep) -> Response:
    context = guide_context(request, code, state, holder, request.query_params)
    if context["complete"] and holder is not None and demo_portal_registered(state):
        context.update(submit_context(state, holder, code, context["one_thing"], context["answers"]))
    return render(request, "guide.html", context)


def guide_context(
    request: Request, code: str, state: Any, holder: Any, given: Mapping[str, str]
) -> dict[str, Any]:
    """The guide at the answers ``given``: the next question, or the checklist when complete."""
    with unit_of_work(state.read_sessions) as session:
        one_thing = service.get_one_thing(session, code).body
        question_ids = {q.id for q in one_thing.questions}
        # The answers so far: the parameters named after the one-thing's questions.
        answers = {k: v for k, v in given.items() if k in question_ids and len(v) <= 64}
        result = evaluate(one_thing, answers)
        asked = [
            {
                "question": q,
                "answer": next((o.label for o in q.options if o.value == result.answers.get(q.id)), None),
            }
            for q in result.asked
            if q.id in result.answers
        ]
        context: dict[str, Any] = {
            "code": code,
            "one_thing": one_thing,
            "answers": dict(result.answers),
            "asked": asked,
            "errors": list(result.errors),
            "complete": result.complete,
            "question": result.next_questions[0] if result.next_questions else None,
            "step": len(asked) + 1,
            "signed_in": holder is not None,
            "form_items": None,
        }
        if result.complete:
            items = list(result.items)
            names = find_items(session, items)
            context["items"] = _item_views(
                session, [c for c in items if c in names], _on_file(state, session, holder, items)
            )
    return context
