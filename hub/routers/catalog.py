"""The catalog over HTTP: certificate types, data resources, items, one-things, organizations (write),
search and the one-things' questionnaire. Reads are public; writes need an admin client.

PUT creates or replaces the whole entry and answers with what is stored (the body, normalised,
plus ``code``, ``created_at``, ``updated_at``): ``201`` when it was created, ``200`` otherwise
(also when nothing changed — then nothing is written and ``updated_at`` stays).

Search: the embedded index is updated inside the write's own transaction (catalog.service); an
external index (Elasticsearch, ``state.search``) is fed after the request's commit through the
session's ``after_commit`` event (:func:`catalog.search.follow_commits`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog import service
from catalog.models import Item, Organization
from catalog.questionnaire import evaluate
from catalog.schemas import (
    CertificateTypeIn,
    DataResourceIn,
    ItemIn,
    Name,
    OneThingIn,
    OrganizationKind,
    QuestionIn,
)
from catalog.search import EmbeddedSearchIndex, Kind, SearchIndex, follow_commits
from hub.deps import AdminDep, ReadSessionDep, SessionDep, StateDep
from hub.routers.organizations import OrganizationOut
from hub.services import register_organization

# --------------------------------------------------------------------------------------------
# 422s that name the exact field
# --------------------------------------------------------------------------------------------


def _with_path(error: dict[str, Any]) -> dict[str, Any]:
    # catalog.schemas reports errors below a validator's own location in ctx["path"]
    # (e.g. issuers -> issuers[1]); fold it into loc so the problem names the exact field.
    path = (error.get("ctx") or {}).get("path")
    if not path:
        return error
    return {**error, "loc": (*error.get("loc", ()), *path)}


class PreciseValidationRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise RequestValidationError([_with_path(e) for e in exc.errors()], body=exc.body) from None

        return route


router = APIRouter(prefix="/api/v1", tags=["catalog"], route_class=PreciseValidationRoute)


# --------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------


class _Stored(BaseModel):
    code: str
    created_at: datetime
    updated_at: datetime


class CertificateTypeOut(CertificateTypeIn, _Stored):
    """A stored certificate type."""


class DataResourceOut(DataResourceIn, _Stored):
    """A stored data resource."""


class ItemOut(ItemIn, _Stored):
    """A stored service item."""


class OneThingOut(OneThingIn, _Stored):
    """A stored one-thing."""


class CertificateTypePage(BaseModel):
    total: int
    items: list[CertificateTypeOut]


class DataResourcePage(BaseModel):
    total: int
    items: list[DataResourceOut]


class ItemPage(BaseModel):
    total: int
    items: list[ItemOut]


class OneThingPage(BaseModel):
    total: int
    items: list[OneThingOut]


class OrganizationPut(BaseModel):
    """An organization's PUT body; its 统一社会信用代码 is in the URL."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: OrganizationKind
    demo: bool = False


class SearchHitOut(BaseModel):
    kind: Kind
    code: str
    name: str


class SearchOut(BaseModel):
    total: int
    hits: list[SearchHitOut]


class QuestionnaireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, str] = Field(default_factory=dict, description="question id → chosen option value")


class AnswerErrorOut(BaseModel):
    code: str = Field(description="unknown_question | invalid_option | not_applicable")
    question_id: str
    detail: str


class ItemSummary(BaseModel):
    code: str
    name: str
    org: str


class QuestionnaireOut(BaseModel):
    complete: bool = Field(description="every applicable question has a valid answer; items are final")
    items: list[str] = Field(description="item codes that apply given the answers so far")
    item_details: list[ItemSummary]
    next_questions: list[QuestionIn] = Field(description="applicable questions still to answer, in order")
    asked: list[str] = Field(description="ids of every applicable question, in order")
    answers: dict[str, str] = Field(description="the answers taken into account")
    errors: list[AnswerErrorOut] = Field(description="answers that were ignored, and why")


Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, description="entries to skip")]

_PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Replaced (or already as given)"},
    201: {"description": "Created"},
}


def _out(model: type[BaseModel], entry: service.Entry[Any]) -> Any:
    return model.model_validate(
        {
            **entry.body.model_dump(mode="json", by_alias=True),
            "code": entry.code,
            "created_at": entry.created_at,
            "updated_at": entry.updated_at,
        }
    )


def _stored(model: type[BaseModel], put: service.Put[Any], response: Response) -> Any:
    response.status_code = 201 if put.created else 200
    return _out(model, put.entry)


def catalog_writer(state: StateDep, session: SessionDep, _admin: AdminDep) -> Session:
    """The request's session, with an external search index following its commit."""
    if state.search is not None:
        follow_commits(session, state.search)
    return session


WriterDep = Annotated[Session, Depends(catalog_writer)]


# --------------------------------------------------------------------------------------------
# Certificate types
# --------------------------------------------------------------------------------------------


@router.put("/certificate-types/{type_code}", response_model=CertificateTypeOut, responses=_PUT_RESPONSES)
def put_certificate_type(
    type_code: str, body: CertificateTypeIn, session: WriterDep, response: Response
) -> Any:
    """Create or replace a certificate type (证照类型). Admin only."""
    return _stored(CertificateTypeOut, service.put_certificate_type(session, type_code, body), response)


@router.get("/certificate-types/{type_code}", response_model=CertificateTypeOut)
def get_certificate_type(type_code: str, session: ReadSessionDep) -> Any:
    """A certificate type as stored."""
    return _out(CertificateTypeOut, service.get_certificate_type(session, type_code))


@router.get("/certificate-types", response_model=CertificateTypePage)
def list_certificate_types(session: ReadSessionDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Certificate types, by code."""
    page = service.list_certificate_types(session, limit=limit, offset=offset)
    return {"total": page.total, "items": [_out(CertificateTypeOut, e) for e in page.items]}


# --------------------------------------------------------------------------------------------
# Data resources
# --------------------------------------------------------------------------------------------


@router.put("/data-resources/{code}", response_model=DataResourceOut, responses=_PUT_RESPONSES)
def put_data_resource(code: str, body: DataResourceIn, session: WriterDep, response: Response) -> Any:
    """Create or replace a data resource (数据资源). Admin only."""
    return _stored(DataResourceOut, service.put_data_resource(session, code, body), response)


@router.get("/data-resources/{code}", response_model=DataResourceOut)
def get_data_resource(code: str, session: ReadSessionDep) -> Any:
    """A data resource as stored."""
    return _out(DataResourceOut, service.get_data_resource(session, code))


@router.get("/data-resources", response_model=DataResourcePage)
def list_data_resources(session: ReadSessionDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Data resources, by code."""
    page = service.list_data_resources(session, limit=limit, offset=offset)
    return {"total": page.total, "items": [_out(DataResourceOut, e) for e in page.items]}


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


@router.put("/items/{item_code}", response_model=ItemOut, responses=_PUT_RESPONSES)
def put_item(item_code: str, body: ItemIn, session: WriterDep, response: Response) -> Any:
    """Create or replace a service item (事项) with its materials and form. Admin only."""
    return _stored(ItemOut, service.put_item(session, item_code, body), response)


@router.get("/items/{item_code}", response_model=ItemOut)
def get_item(item_code: str, session: ReadSessionDep) -> Any:
    """A service item as stored."""
    return _out(ItemOut, service.get_item(session, item_code))


@router.get("/items", response_model=ItemPage)
def list_items(session: ReadSessionDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Service items, by code."""
    page = service.list_items(session, limit=limit, offset=offset)
    return {"total": page.total, "items": [_out(ItemOut, e) for e in page.items]}


# --------------------------------------------------------------------------------------------
# One-things
# --------------------------------------------------------------------------------------------


@router.put("/one-things/{code}", response_model=OneThingOut, responses=_PUT_RESPONSES)
def put_one_thing(code: str, body: OneThingIn, session: WriterDep, response: Response) -> Any:
    """Create or replace a one-thing (一件事) and its questionnaire. Admin only."""
    return _stored(OneThingOut, service.put_one_thing(session, code, body), response)


@router.get("/one-things/{code}", response_model=OneThingOut)
def get_one_thing(code: str, session: ReadSessionDep) -> Any:
    """A one-thing as stored."""
    return _out(OneThingOut, service.get_one_thing(session, code))


@router.get("/one-things", response_model=OneThingPage)
def list_one_things(session: ReadSessionDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    """One-things, by code."""
    page = service.list_one_things(session, limit=limit, offset=offset)
    return {"total": page.total, "items": [_out(OneThingOut, e) for e in page.items]}


@router.post("/one-things/{code}/questionnaire", response_model=QuestionnaireOut)
def answer_questionnaire(code: str, body: QuestionnaireIn, session: ReadSessionDep) -> Any:
    """The progressive questionnaire (递进式问卷): given the answers so far, the next questions and
    the items that apply. Public; nothing is stored."""
    one_thing = service.get_one_thing(session, code).body
    result = evaluate(one_thing, body.answers)
    details = []
    for item_code in result.items:
        item = session.get(Item, item_code)
        if item is not None:
            details.append(ItemSummary(code=item.code, name=item.name, org=item.org_code))
    return QuestionnaireOut(
        complete=result.complete,
        items=list(result.items),
        item_details=details,
        next_questions=list(result.next_questions),
        asked=[q.id for q in result.asked],
        answers=dict(result.answers),
        errors=[
            AnswerErrorOut(code=e.code, question_id=e.question_id, detail=e.detail) for e in result.errors
        ],
    )


# --------------------------------------------------------------------------------------------
# Organizations (write) and search
# --------------------------------------------------------------------------------------------


@router.put("/organizations/{code}", response_model=OrganizationOut, responses=_PUT_RESPONSES)
def put_organization(
    code: str, body: OrganizationPut, state: StateDep, session: WriterDep, response: Response
) -> Any:
    """Register or update an organization by its 统一社会信用代码 (a department gets its seal). Admin only."""
    created = session.get(Organization, code) is None
    org = register_organization(state, session, code=code, name=body.name, kind=body.kind, demo=body.demo)
    response.status_code = 201 if created else 200
    return OrganizationOut(code=org.code, name=org.name, kind=org.kind, demo=org.demo)


def search_index(state: StateDep, session: ReadSessionDep) -> SearchIndex:
    """The configured external index, else the embedded one in this request's database session."""
    return state.search if state.search is not None else EmbeddedSearchIndex(session)


@router.get("/search", response_model=SearchOut)
def search(
    index: Annotated[SearchIndex, Depends(search_index)],
    q: Annotated[str, Query(min_length=1, max_length=200, description="words or Chinese text")],
    kind: Annotated[Kind | None, Query(description="only entries of this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> Any:
    """Full-text search of the catalog; name matches first. One- and two-character Chinese queries work."""
    result = index.search(q, kind=kind, limit=limit, offset=offset)
    return {
        "total": result.total,
        "hits": [{"kind": h.kind, "code": h.code, "name": h.name} for h in result.hits],
    }
