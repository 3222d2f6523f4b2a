"""Sharing for portals: lookup, the plan (checklist + prefilled form), annotated copies, data checks.

Every call carries ``item_code`` and ``use_cause`` and is recorded in the holder's access log in the
same transaction; ``sharing/policy.py`` decides what a portal may have."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.admission import AdmissionRoute
from hub.deps import CallerDep, SessionDep, StateDep
from hub.openapi import problems
from hub.routers.certificates import CertificateOut, certificate_out
from sharing.copies import fetch_copy, make_copy
from sharing.holders import holder_ref
from sharing.lookup import lookup
from sharing.plan import make_plan
from sharing.verify_data import verify_data

# Portals only (403 for anyone else), and what sharing/policy.py lets them have (403 consent_required …).
router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"], route_class=AdmissionRoute)

UseCause = Annotated[str, Field(min_length=1, max_length=200, description="用证事由: why the data is used")]
ItemCode = Annotated[str, Field(min_length=1, max_length=64, description="the item (事项) of the use")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HolderIn(Strict):
    kind: Literal["111", "001"] = Field(description="111 a citizen, 001 an organization")
    code: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="the holder's identity number or USCC"
    )


class LookupIn(Strict):
    holder: HolderIn = Field(description="whose certificates")
    item_code: ItemCode
    use_cause: UseCause
    type_codes: list[Annotated[str, Field(min_length=21, max_length=21)]] = Field(
        default_factory=list, description="the types wanted; empty: every type the item's materials accept"
    )


class LookupOut(BaseModel):
    certificates: list[CertificateOut] = Field(description="the holder's certificates the portal may have")


@router.post("/lookup", response_model=LookupOut, responses=problems(403))
def lookup_certificates(body: LookupIn, caller: CallerDep, session: SessionDep, state: StateDep) -> LookupOut:
    """The holder's usable certificates of these types, for one item and use cause (holder codes masked)."""
    found = lookup(
        session,
        state.vault,
        actor=caller,
        holder=holder_ref(state.vault, body.holder.kind, body.holder.code),
        item_code=body.item_code,
        use_cause=body.use_cause,
        type_codes=body.type_codes,
        now=state.clock(),
    )
    return LookupOut(certificates=[certificate_out(state, c, caller) for c in found])


class PlanIn(Strict):
    holder: HolderIn = Field(description="whom the plan is for")
    use_cause: UseCause
    one_thing: Annotated[str | None, Field(max_length=64)] = Field(
        default=None, description="the one-thing (or give items)"
    )
    answers: dict[str, str] = Field(
        description="the questionnaire's answers (question id → option value)", default_factory=dict
    )
    items: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        description="service items, without a one-thing", default_factory=list
    )


class MaterialOut(BaseModel):
    item_code: str = Field(description="the service item")
    code: str = Field(description="the material's code in it")
    name: str = Field(description="its name")
    required: bool = Field(description="an application needs it")
    state: Literal["on_file", "upload", "tolerated", "commitment"] = Field(
        description="on_file (免提交: a certificate or data is at hand), upload, "
        "tolerated (容缺), commitment (告知承诺)"
    )
    certificate_id: str | None = Field(default=None, description="the holder's certificate on file for it")
    data_resource: str | None = Field(default=None, description="the data resource on file for it")


class SourceOut(BaseModel):
    certificate_id: str = Field(description="the certificate the value was read from")
    field: str = Field(description="its face field")


class FormValueOut(BaseModel):
    item_code: str = Field(description="the service item")
    name: str = Field(description="the form field")
    label: str = Field(description="how people read it")
    value: Any = Field(default=None, description="the prefilled value; null: to fill in")
    source: SourceOut | None = Field(default=None, description="where the value came from")
    overridden: list[str] = Field(
        default_factory=list, description="other usable certificates that disagree; the newest won"
    )


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[str] = Field(description="the service items the answers lead to")
    materials: list[MaterialOut] = Field(description="the checklist: each material and how it is met")
    form: list[FormValueOut] = Field(description="the form, prefilled (一表申请)")
    complete: bool = Field(description="every question needed is answered")
    pending_questions: list[str] = Field(description="questions still to answer")


@router.post("/plan", response_model=PlanOut, responses=problems(403))
def plan(body: PlanIn, caller: CallerDep, session: SessionDep, state: StateDep) -> Any:
    """Materials checklist (on file / upload / 容缺 / 告知承诺) and the prefilled one form, with sources."""
    result = make_plan(
        session,
        state.vault,
        actor=caller,
        holder=holder_ref(state.vault, body.holder.kind, body.holder.code),
        use_cause=body.use_cause,
        one_thing=body.one_thing,
        answers=body.answers,
        items=body.items,
        now=state.clock(),
    )
    return PlanOut.model_validate(result, from_attributes=True)


class CopyIn(Strict):
    certificate_id: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="the certificate to copy"
    )
    item_code: ItemCode
    use_cause: UseCause


class CopyOut(BaseModel):
    url: str = Field(description="where the annotated copy can be fetched, once, without a token")
    expires_at: datetime = Field(description="when that URL stops working")


@router.post("/copies", status_code=201, response_model=CopyOut, responses=problems(403, 404, 409))
def request_copy(body: CopyIn, caller: CallerDep, session: SessionDep, state: StateDep) -> CopyOut:
    """An annotated copy (加注件), sealed by the hub, at a URL that serves it once within ten minutes."""
    issued = make_copy(
        session,
        state.copy_services(session),
        actor=caller,
        certificate_id=body.certificate_id,
        item_code=body.item_code,
        use_cause=body.use_cause,
        now=state.clock(),
    )
    url = f"{state.settings.public_url}/api/v1/sharing/copies/{issued.token}"
    return CopyOut(url=url, expires_at=issued.expires_at)


@router.get(
    "/copies/{token}",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        **problems(404),
        410: {"description": "fetched already or expired"},
    },
)
def download_copy(
    token: Annotated[
        str, Path(description="the copy's one-time token, from the link POST /sharing/copies answered")
    ],
    session: SessionDep,
    state: StateDep,
) -> Response:
    """The annotated copy, once (the link is the credential); afterwards 410."""
    certificate_id, pdf = fetch_copy(session, token, now=state.clock())
    serial = certificate_id.split(".")[-3] if certificate_id.count(".") >= 3 else "copy"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="copy-{serial}.pdf"',
            "Cache-Control": "no-store",
        },
    )


class VerifyDataIn(Strict):
    certificate_id: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="the certificate to check against"
    )
    data: dict[str, Any] = Field(description="the values to check, by face field")
    item_code: ItemCode
    use_cause: UseCause


class VerifyDataOut(BaseModel):
    result: int = Field(description="0 correct and valid … 7 partly wrong (docs/sharing.md)")
    mismatched: list[str] = Field(description="the fields whose values differ")


@router.post("/verify-data", response_model=VerifyDataOut, responses=problems(403))
def check_data(body: VerifyDataIn, caller: CallerDep, session: SessionDep, state: StateDep) -> VerifyDataOut:
    """Does this face data match the certificate? The codes of the sharing services, never the true values."""
    check = verify_data(
        session,
        state.vault,
        actor=caller,
        certificate_id=body.certificate_id,
        data=body.data,
        item_code=body.item_code,
        use_cause=body.use_cause,
        now=state.clock(),
    )
    return VerifyDataOut(result=check.result, mismatched=list(check.mismatched))
