"""What the catalog's routers share: precise 422s, the admin writer session, paging, one kind's routes."""

# No ``from __future__ import annotations`` here: the endpoints that add_entry_routes builds are
# annotated with the kind's own models, and FastAPI reads those annotations as live objects.

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from catalog import service
from catalog.search import follow_commits
from hub.admission import AdmissionRoute
from hub.deps import CatalogEditorDep, ReadSessionDep, SessionDep, StateDep
from hub.openapi import problems
from hub.routers.params import Offset

Out = TypeVar("Out", bound=BaseModel)

# --------------------------------------------------------------------------------------------
# 422s that name the exact field
# --------------------------------------------------------------------------------------------


def _with_path(error: dict[str, Any]) -> dict[str, Any]:
    # catalog.validation reports errors below a validator's own location in ctx["path"]
    # (e.g. issuers -> issuers[1]); fold it into loc so the problem names the exact field.
    path = (error.get("ctx") or {}).get("path")
    if not path:
        return error
    return {**error, "loc": (*error.get("loc", ()), *path)}


class PreciseValidationRoute(AdmissionRoute):
    """A route whose 422s name the field below a list or model validator (``issuers[1]``), admitted
    (authenticated) before its body is read (``hub.admission``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise RequestValidationError([_with_path(e) for e in exc.errors()], body=exc.body) from None

        return route


def catalog_router() -> APIRouter:
    """A router for catalog routes: under /api/v1, tagged catalog, with precise 422s."""
    return APIRouter(prefix="/api/v1", tags=["catalog"], route_class=PreciseValidationRoute)


# --------------------------------------------------------------------------------------------
# Writing and paging
# --------------------------------------------------------------------------------------------


class CatalogWrite(NamedTuple):
    session: Session
    actor: str


def catalog_writer(state: StateDep, session: SessionDep, editor: CatalogEditorDep) -> CatalogWrite:
    """The request's session, with an external search index following its commit, and its editor."""
    if state.search is not None:
        follow_commits(session, state.search)
    return CatalogWrite(session, editor.label)


WriterDep = Annotated[CatalogWrite, Depends(catalog_writer)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]

PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Replaced (or already as given)"},
    201: {"description": "Created"},
}


# --------------------------------------------------------------------------------------------
# One kind of entry: PUT and GET by code, and a page of them
# --------------------------------------------------------------------------------------------


class Stored(BaseModel):
    """What the catalog adds to a body it stores: the code and when it was created and last changed."""

    code: str = Field(description="the entry's code, as in its URL")
    created_at: datetime = Field(description="when it was first stored")
    updated_at: datetime = Field(description="when it was last replaced")


class EntryPage(BaseModel, Generic[Out]):
    """A page of entries by code, and how many there are in all."""

    total: int = Field(description="entries in all")
    items: list[Out] = Field(description="this page of them, by code")


def _out(model: type[Out], entry: service.Entry[Any]) -> Out:
    return model.model_validate(
        {
            **entry.body.model_dump(mode="json", by_alias=True),
            "code": entry.code,
            "created_at": entry.created_at,
            "updated_at": entry.updated_at,
        }
    )


def add_entry_routes(
    router: APIRouter,
    path: str,
    kind: service.EntryKind[Any],
    out: type[Out],
    page: type[EntryPage[Out]],
    *,
    label: str,
    put_doc: str,
) -> None:
    """Add ``PUT`` and ``GET {path}/{code}`` and ``GET {path}`` for one kind of entry.

    PUT creates or replaces the whole entry and answers with what is stored (the body, normalised,
    plus ``code``, ``created_at``, ``updated_at``): ``201`` when it was created, ``200`` otherwise
    (also when nothing changed — then nothing is written and ``updated_at`` stays).

    The URL parameter is the kind's ``code_field``; the operation names (and so the OpenAPI
    operation ids) are ``put_<kind>``, ``get_<kind>`` and ``list_<kind>s``; ``label`` ("service
    item") words the GET descriptions.
    """
    entry_path = f"{path}/{{{kind.code_field}}}"
    name = kind.name.replace("-", "_")
    # The URL parameter keeps its public name (type_code, item_code, code) through the alias.
    Code = Annotated[str, Path(alias=kind.code_field, description=f"the {label}'s code, as in the catalog")]
    Body = kind.model  # a runtime model, so mypy cannot take it as a type (hence the ignore below)

    @router.put(
        entry_path,
        name=f"put_{name}",
        description=put_doc,
        response_model=out,
        responses={**PUT_RESPONSES, 201: {"description": "Created", "model": out}},
    )
    def put_entry(entry_code: Code, body: Body, write: WriterDep, response: Response) -> Any:  # type: ignore[valid-type]
        stored = service.put_entry(write.session, kind, entry_code, body, actor=write.actor)
        response.status_code = 201 if stored.created else 200
        return _out(out, stored.entry)

    @router.get(
        entry_path,
        name=f"get_{name}",
        description=f"A {label} as stored.",
        response_model=out,
        responses=problems(404),
    )
    def get_entry(entry_code: Code, session: ReadSessionDep) -> Any:
        return _out(out, service.get_entry(session, kind, entry_code))

    plural = f"{label[0].upper()}{label[1:]}s"

    @router.get(path, name=f"list_{name}s", description=f"{plural}, by code.", response_model=page)
    def list_entries(session: ReadSessionDep, limit: Limit = 50, offset: Offset = 0) -> Any:
        found = service.list_entries(session, kind, limit=limit, offset=offset)
        return page(total=found.total, items=[_out(out, e) for e in found.items])
