"""Full-text search of the catalog over HTTP (public)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from catalog.search import EmbeddedSearchIndex, Kind, SearchIndex
from hub.deps import ReadSessionDep, StateDep
from hub.routers.catalog_routing import catalog_router
from hub.routers.params import Offset

router = catalog_router()


class SearchHitOut(BaseModel):
    kind: Kind = Field(description="what was found: certificate-type, data-resource, item or one-thing")
    code: str = Field(description="its code")
    name: str = Field(description="its name")


class SearchOut(BaseModel):
    total: int = Field(description="hits in all")
    hits: list[SearchHitOut] = Field(description="the best hits first")


def search_index(state: StateDep, session: ReadSessionDep) -> SearchIndex:
    """The configured external index, else the embedded one in this request's database session."""
    return state.search if state.search is not None else EmbeddedSearchIndex(session)


@router.get("/search", response_model=SearchOut)
def search(
    index: Annotated[SearchIndex, Depends(search_index)],
    q: Annotated[str, Query(min_length=1, max_length=200, description="words or Chinese text")],
    kind: Annotated[Kind | None, Query(description="only entries of this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="page size: at most this many hits (1–100)")] = 20,
    offset: Offset = 0,
) -> Any:
    """Full-text search of the catalog; name matches first. One- and two-character Chinese queries work."""
    result = index.search(q, kind=kind, limit=limit, offset=offset)
    return {
        "total": result.total,
        "hits": [{"kind": h.kind, "code": h.code, "name": h.name} for h in result.hits],
    }
