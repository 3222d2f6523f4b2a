"""Organizations over HTTP: public reads by 统一社会信用代码, and registration by an admin."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from catalog.fieldtypes import Name, OrganizationKind
from catalog.organizations import get_organization
from catalog.queries import find_organization
from hub.deps import ReadSessionDep, StateDep
from hub.openapi import problems
from hub.routers.catalog_routing import PUT_RESPONSES, WriterDep, catalog_router
from hub.routers.params import Uscc
from hub.services import register_organization

router = catalog_router()


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="统一社会信用代码 (USCC)")
    name: str = Field(description="the organization's name")
    kind: OrganizationKind = Field(description="department (部门), portal (服务渠道) or operator (运营方)")
    demo: bool = Field(description="demonstration data, never a real body")


class OrganizationPut(BaseModel):
    """An organization's PUT body; its 统一社会信用代码 is in the URL."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="the organization's name")
    kind: OrganizationKind = Field(description="department (部门), portal (服务渠道) or operator (运营方)")
    demo: bool = Field(default=False, description="demonstration data, never a real body")


@router.get("/organizations/{code}", response_model=OrganizationOut, responses=problems(404))
def read_organization(code: Uscc, session: ReadSessionDep) -> OrganizationOut:
    """An organization by its 统一社会信用代码."""
    org = get_organization(session, code)
    return OrganizationOut.model_validate(org, from_attributes=True)


@router.put(
    "/organizations/{code}",
    response_model=OrganizationOut,
    responses={**PUT_RESPONSES, 201: {"description": "Created", "model": OrganizationOut}},
)
def put_organization(
    code: Uscc, body: OrganizationPut, state: StateDep, write: WriterDep, response: Response
) -> Any:
    """Register or update an organization by its 统一社会信用代码 (a department gets its seal). Admin only."""
    session = write.session
    created = find_organization(session, code) is None
    org = register_organization(
        state, session, code=code, name=body.name, kind=body.kind, demo=body.demo, actor=write.actor
    )
    response.status_code = 201 if created else 200
    return OrganizationOut(code=org.code, name=org.name, kind=org.kind, demo=org.demo)
