"""Organizations: public reads."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from catalog.organizations import get_organization
from hub.deps import ReadSessionDep

router = APIRouter(prefix="/api/v1", tags=["catalog"])


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: Literal["department", "portal", "operator"]
    demo: bool


@router.get("/organizations/{code}", response_model=OrganizationOut)
def read_organization(code: str, session: ReadSessionDep) -> OrganizationOut:
    """An organization by its 统一社会信用代码."""
    org = get_organization(session, code)
    return OrganizationOut.model_validate(org, from_attributes=True)
