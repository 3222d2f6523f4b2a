"""The holder's own view (citizen token): their certificates, their consents, who used their data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.admission import AdmissionRoute
from hub.deps import CallerDep, ReadSessionDep, SessionDep, StateDep
from hub.openapi import problems
from hub.routers.certificates import CertificateOut, certificate_out
from hub.routers.params import ConsentId, Offset, PageSize
from hub.services import HOLDER_VISIBLE
from sharing import consents
from sharing.holders import signed_in_holder
from sharing.me import access_log, my_certificates
from sharing.models import Consent

# A citizen token only: any other caller is refused (403).
router = APIRouter(prefix="/api/v1/me", tags=["holders"], route_class=AdmissionRoute, responses=problems(403))


class MyCertificatesOut(BaseModel):
    certificates: list[CertificateOut] = Field(description="the holder's certificates")


@router.get("/certificates", response_model=MyCertificatesOut)
def certificates(caller: CallerDep, session: ReadSessionDep, state: StateDep) -> MyCertificatesOut:
    """Every certificate of the signed-in holder, newest first, with its download link."""
    _, holder = signed_in_holder(state.vault, caller)
    found = my_certificates(session, state.vault, holder)
    return MyCertificatesOut(certificates=[certificate_out(state, c, caller) for c in found])


class OrganizationRef(BaseModel):
    code: str | None = Field(description="the organization's USCC")
    name: str | None = Field(description="its name")


class AccessEntry(BaseModel):
    at: datetime = Field(description="when the data was used")
    action: str = Field(
        description="how: sharing.lookup, sharing.plan, sharing.copy, sharing.copy_fetched, "
        "sharing.verify_data …"
    )
    organization: OrganizationRef = Field(description="who used it")
    client_id: str | None = Field(description="the API client it used")
    item_code: str | None = Field(description="for which service item")
    use_cause: str | None = Field(description="the use cause (用证事由) given")
    certificates: list[str] = Field(description="the certificates given")
    details: dict[str, Any] = Field(description="the rest of what was recorded")


class AccessLogOut(BaseModel):
    total: int = Field(description="uses recorded in all")
    entries: list[AccessEntry] = Field(description="this page of them, newest first")


@router.get("/access-log", response_model=AccessLogOut)
def read_access_log(
    caller: CallerDep,
    session: ReadSessionDep,
    state: StateDep,
    limit: PageSize = 50,
    offset: Offset = 0,
) -> AccessLogOut:
    """Who used the holder's data — which organization, when, for which item and why — newest first."""
    _, holder = signed_in_holder(state.vault, caller)
    total, entries = access_log(session, holder, limit=limit, offset=offset, actions=HOLDER_VISIBLE)
    return AccessLogOut(
        total=total,
        entries=[
            AccessEntry(
                at=e.at,
                action=e.action,
                organization=OrganizationRef(code=e.org_code, name=e.org_name),
                client_id=e.client_id,
                item_code=e.item_code,
                use_cause=e.use_cause,
                certificates=e.certificates,
                details=e.details,
            )
            for e in entries
        ],
    )


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grantee: Annotated[str, Field(min_length=18, max_length=18, description="the portal's USCC")]
    item_code: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="the service item the consent is for"
    )
    type_codes: list[Annotated[str, Field(min_length=21, max_length=21)]] = Field(
        description="the certificate types the portal may have"
    )
    expires_at: datetime = Field(description="when the consent ends")


class ConsentOut(BaseModel):
    id: str = Field(description="the consent's id")
    grantee: str = Field(description="the portal given consent (USCC)")
    item_code: str = Field(description="the service item")
    type_codes: list[str] = Field(description="the certificate types")
    created_at: datetime = Field(description="when it was given")
    expires_at: datetime = Field(description="when it ends")
    withdrawn_at: datetime | None = Field(description="when the holder withdrew it")
    status: str = Field(description="active, expired or withdrawn")


class ConsentsOut(BaseModel):
    consents: list[ConsentOut] = Field(description="the holder's consents")


def _consent_out(c: Consent, now: datetime) -> ConsentOut:
    return ConsentOut(
        id=c.id,
        grantee=c.grantee_code,
        item_code=c.item_code,
        type_codes=list(c.type_codes),
        created_at=c.created_at,
        expires_at=c.expires_at,
        withdrawn_at=c.withdrawn_at,
        status=consents.status_of(c, now),
    )


@router.post("/consents", status_code=201, response_model=ConsentOut)
def grant_consent(body: ConsentIn, caller: CallerDep, session: SessionDep, state: StateDep) -> ConsentOut:
    """Let one portal use these certificate types for one item until ``expires_at``."""
    _, holder = signed_in_holder(state.vault, caller)
    now = state.clock()
    consent = consents.grant(
        session,
        actor=caller,
        holder=holder,
        grantee=body.grantee,
        item_code=body.item_code,
        type_codes=body.type_codes,
        expires_at=body.expires_at,
        now=now,
    )
    return _consent_out(consent, now)


@router.get("/consents", response_model=ConsentsOut)
def list_consents(caller: CallerDep, session: ReadSessionDep, state: StateDep) -> ConsentsOut:
    """Every consent the holder gave, newest first, with its status (active, withdrawn, expired)."""
    _, holder = signed_in_holder(state.vault, caller)
    now = state.clock()
    return ConsentsOut(consents=[_consent_out(c, now) for c in consents.consents_of(session, holder)])


@router.delete("/consents/{consent_id}", status_code=204, response_class=Response, responses=problems(404))
def withdraw_consent(
    consent_id: ConsentId, caller: CallerDep, session: SessionDep, state: StateDep
) -> Response:
    """Withdraw a consent; the very next call of the portal no longer has it."""
    _, holder = signed_in_holder(state.vault, caller)
    consents.withdraw(session, actor=caller, holder=holder, consent_id=consent_id, now=state.clock())
    return Response(status_code=204)
