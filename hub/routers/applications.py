"""Applications (一件事): pre-review, intake, the departments' tasks and decisions, supplements,
withdrawal, commitments, ratings, and the holder's own list. The rules are in ``applications/``;
this module translates HTTP to them and back.

Intake and decisions commit before the certificates of an approved application are issued
(``hub.services.try_to_complete``): issuance runs in its own units of work, and a failure there
leaves the application ``approved`` for the next try, never a decision lost."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from applications.commitments import breach, fulfil, list_commitments
from applications.decisions import decide, supply, withdraw
from applications.models import Commitment, Task
from applications.ratings import rate, summarize
from applications.requests import ApplicationRequest, GivenMaterial
from applications.review import pre_review
from applications.status import COMMITMENT_STATUSES, OVERDUE, TASK_STATUSES
from applications.views import ApplicationView, is_overdue, list_tasks, my_applications, view_application
from certificates.requests import Holder
from hub import services
from hub.admission import AdmissionRoute
from hub.deps import CallerDep, ReadSessionDep, StateDep
from hub.openapi import PreReviewProblem, problems
from hub.routers.certificates import _decode_file
from hub.routers.params import ApplicationId, CommitmentId, Offset, PageSize, TaskId
from hub.services import try_to_complete
from hub.state import HubState
from kernel.actor import Actor
from kernel.db import unit_of_work
from kernel.errors import ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["applications"], route_class=AdmissionRoute)

Code = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicantIn(Strict):
    kind: Literal["111", "001"] = Field(description="the holder's kind: 111 a citizen, 001 an organization")
    code: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="the holder's identity number (居民身份证号) or 统一社会信用代码"
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="the holder's name as on their identity document"
    )


class MaterialIn(Strict):
    """One material of one item, given as exactly one of: a certificate on file, a PDF (base64), a
    written commitment (告知承诺) or a tolerated absence (容缺). Materials on file need not be named:
    the plan finds them."""

    item_code: Code = Field(description="the service item the material is for")
    code: Code = Field(description="the material's code in that item: M03")
    certificate_id: Annotated[str | None, Field(max_length=100)] = Field(
        default=None, description="a certificate of the holder given as the material (its identifier)"
    )
    file: str | None = Field(default=None, description="a PDF, base64")
    commitment: bool = Field(
        default=False,
        description="告知承诺: the applicant commits to hand it in later (where the item allows)",
    )
    tolerated: bool = Field(
        default=False, description="容缺: the applicant supplies it later (where the item allows)"
    )

    @model_validator(mode="after")
    def _one_way(self) -> MaterialIn:
        given = [self.certificate_id is not None, self.file is not None, self.commitment, self.tolerated]
        if sum(given) != 1:
            raise ValueError("give exactly one of certificate_id, file, commitment or tolerated")
        return self


Scalar = str | int | float | bool | None


class ApplicationIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "one_thing": "OT-NEWBORN",
                    "answers": {"hukou": "elsewhere", "mother_insured": "no"},
                    "holder": {"kind": "111", "code": "310104199203154523", "name": "林晓梅（演示）"},
                    "use_cause": "办理新生儿出生一件事",
                    "external_id": "portal-2026-000123",
                    "form": {"WJ-BIRTH-CERTIFICATE": {"child_name": "林小满"}},
                    "materials": [
                        {"item_code": "WJ-BIRTH-CERTIFICATE", "code": "M04", "commitment": True},
                    ],
                }
            ]
        },
    )

    one_thing: Code = Field(description="the one-thing applied for: OT-NEWBORN")
    answers: dict[Code, Code] = Field(
        description="the questionnaire's answers (question id → option value)", default_factory=dict
    )
    holder: ApplicantIn = Field(description="whom the application is for (the holder, 申请人)")
    use_cause: Annotated[str, Field(min_length=1, max_length=200, description="用证事由")]
    external_id: Annotated[str, Field(min_length=1, max_length=200, description="the portal's own reference")]
    form: dict[Code, dict[Code, Scalar]] = Field(default_factory=dict, description="item -> field -> value")
    materials: list[MaterialIn] = Field(
        description="materials given: a certificate, an uploaded PDF, a commitment or a tolerated gap",
        default_factory=list,
    )
    area_code: Annotated[str | None, Field(pattern=r"^[1-9]\d{5}$")] = Field(
        default=None, description="行政区划代码 of the certificates issued on approval; default HUB_AREA_CODE"
    )


def _given(state: HubState, materials: list[MaterialIn]) -> list[GivenMaterial]:
    limits = state.settings.limits
    files = [m for m in materials if m.file is not None]
    if len(files) > limits.max_application_files:
        raise ValidationFailed(f"at most {limits.max_application_files} files per request", field="materials")
    return [
        GivenMaterial(
            item_code=m.item_code,
            code=m.code,
            certificate_id=m.certificate_id,
            file=_decode_file(m.file, limits.max_pdf_bytes, field=f"materials[{i}].file"),
            commitment=m.commitment,
            tolerated=m.tolerated,
        )
        for i, m in enumerate(materials)
    ]


def _request(state: HubState, body: ApplicationIn) -> ApplicationRequest:
    return ApplicationRequest(
        one_thing=body.one_thing,
        answers=body.answers,
        holder=Holder(body.holder.name, body.holder.kind, body.holder.code),
        use_cause=body.use_cause,
        external_id=body.external_id,
        form=body.form,
        materials=_given(state, body.materials),
        area_code=body.area_code,
    )


class FlagOut(BaseModel):
    code: str = Field(
        description="why a person must look (a risk flag): commitment_used, tolerated_used, "
        "field_unverified, certificate_withheld …"
    )
    detail: str = Field(description="the flag, for people")
    material: str | None = Field(
        default=None, description="the material it is about, by its code in the item"
    )
    field: str | None = Field(default=None, description="the form field it is about")


class ItemReviewOut(BaseModel):
    item_code: str = Field(description="the service item")
    org: str = Field(description="the department deciding it (USCC)")
    review: str = Field(description="the item's review mode: auto or manual")
    auto_decidable: bool = Field(description="intake would approve it with no clerk (no flags, review auto)")
    flags: list[FlagOut] = Field(description="what sends it to a person")


class PreReviewOut(BaseModel):
    ok: bool = Field(description="intake would accept the application as it is")
    problems: list[PreReviewProblem] = Field(description="what must change before intake accepts it")
    auto_decidable: list[str] = Field(description="the items intake would approve with no clerk")
    items: list[ItemReviewOut] = Field(description="each item's review")


@router.post("/applications/pre-review", response_model=PreReviewOut, responses=problems(403, 503))
def pre_review_application(body: ApplicationIn, caller: CallerDep, state: StateDep) -> PreReviewOut:
    """智能预审: what intake would say, creating nothing (the use of the holder's data is recorded)."""
    with unit_of_work(state.sessions) as session:
        review = pre_review(
            session,
            state.vault,
            actor=caller,
            request=_request(state, body),
            check_upload=state.pdf_checks.check_upload,
            now=state.clock(),
        )
    return PreReviewOut(
        ok=review.ok,
        problems=[PreReviewProblem(**p.as_dict()) for p in review.problems],
        auto_decidable=review.auto_decidable,
        items=[
            ItemReviewOut(
                item_code=i.item_code,
                org=i.org_code,
                review=i.review,
                auto_decidable=i.auto_decidable,
                flags=[FlagOut(**f.as_dict()) for f in i.flags],
            )
            for i in review.items
        ],
    )


class HolderOut(BaseModel):
    name: str = Field(description="the holder's name")
    kind: str = Field(description="111 a citizen, 001 an organization")
    code: str = Field(
        description="the holder's code, masked for all but the holder and the portal that filed"
    )


class TaskOut(BaseModel):
    id: str = Field(description="the task's id")
    application_id: str = Field(description="the application it belongs to")
    item_code: str = Field(description="the service item it decides")
    org: str = Field(description="the department deciding it (USCC)")
    status: str = Field(
        description="pending, approved, rejected, supplement_required (补正 asked) or cancelled"
    )
    due_on: date | None = Field(description="the day a decision is due (办理时限); null: no time limit")
    overdue: bool = Field(description="still pending after due_on")
    decided_by: str | None = Field(description='"auto", or the deciding client\'s id')
    decided_at: datetime | None = Field(description="when it was decided; null while pending")
    rule: str | None = Field(description="the rule that decided: auto:all_materials_on_file or manual")
    reason: str | None = Field(description="the decision's reason (a rejection's or what to supply)")
    flags: list[FlagOut] = Field(description="risks that sent the item to a clerk")
    requested: list[str] = Field(description="materials asked for in a supplement")
    certificate_id: str | None = Field(description="issued on approval (统一发证)")


class CommitmentOut(BaseModel):
    id: str = Field(description="the commitment's id")
    application_id: str = Field(description="the application it was made in")
    item_code: str = Field(description="the service item of the material")
    material: str = Field(description="the material promised, by its code in the item")
    due_on: date = Field(description="the day it must be handed in")
    status: str = Field(description="open, fulfilled, breached or cancelled")
    overdue: bool = Field(description="still open after due_on")
    certificate_id: str | None = Field(description="the certificate that fulfilled it")
    file_sha256: str | None = Field(description="SHA-256 of the PDF that fulfilled it")
    reason: str | None = Field(description="why it was marked breached")
    closed_at: datetime | None = Field(description="when it was fulfilled or breached; null while open")


class MaterialOut(BaseModel):
    item_code: str = Field(description="the service item of the material")
    code: str = Field(description="the material's code in that item")
    kind: str = Field(description="how it was met: certificate, data_resource, file, commitment or tolerated")
    certificate_id: str | None = Field(description="the certificate given, when one was")
    data_resource: str | None = Field(description="the data resource that satisfied it, when one did")
    file_sha256: str | None = Field(description="SHA-256 of the uploaded PDF, when one was")
    round: int = Field(description="0 at intake, then 1, 2 … for each supplement")


class IssuedOut(BaseModel):
    item_code: str = Field(description="the service item whose approval issued it")
    certificate_id: str = Field(description="the certificate issued (统一发证)")


class RatingOut(BaseModel):
    score: int = Field(description="1 (非常不满意) to 5 (非常满意)")
    comment: str | None = Field(description="the holder's words")
    created_at: datetime = Field(description="when the holder rated")


class ApplicationOut(BaseModel):
    id: str = Field(description="the application's id")
    one_thing: str = Field(description="the one-thing applied for")
    answers: dict[str, str] = Field(description="the questionnaire's answers")
    external_id: str = Field(description="the portal's own id of the application (idempotency key)")
    portal: str = Field(description="the portal that filed it (USCC)")
    status: str = Field(
        description="in_review, supplement_required, approved, completed (certificates issued), rejected or "
        "withdrawn"
    )
    submitted_at: datetime = Field(description="when it was filed")
    decided_at: datetime | None = Field(description="when its last task was decided")
    completed_at: datetime | None = Field(description="when every certificate due was issued")
    holder: HolderOut = Field(description="whom it is for")
    use_cause: str = Field(description="why the holder's data is used (用证事由)")
    tasks: list[TaskOut] = Field(
        description="one task per service item, for its department (the caller's part only, for a department)"
    )
    certificates: list[IssuedOut] = Field(description="certificates issued on approval (统一发证)")
    commitments: list[CommitmentOut] = Field(description="written commitments (告知承诺) to follow up")
    materials: list[MaterialOut] = Field(description="the materials given")
    form: dict[str, dict[str, Any]] = Field(description="the form's values, by service item then field")
    breached: bool = Field(description="a commitment of this application was breached")
    rating: RatingOut | None = Field(description="the holder's rating (好差评); null until rated")


def task_out(task: Task, now: datetime) -> TaskOut:
    return TaskOut(
        id=task.id,
        application_id=task.application_id,
        item_code=task.item_code,
        org=task.org_code,
        status=task.status,
        due_on=task.due_on,
        overdue=is_overdue(task, now),
        decided_by=task.decided_by,
        decided_at=task.decided_at,
        rule=task.rule,
        reason=task.reason,
        flags=[FlagOut(**f) for f in task.flags],
        requested=list(task.requested),
        certificate_id=task.certificate_id,
    )


def commitment_out(c: Commitment, now: datetime) -> CommitmentOut:
    return CommitmentOut(
        id=c.id,
        application_id=c.application_id,
        item_code=c.item_code,
        material=c.material_code,
        due_on=c.due_on,
        status=c.status,
        overdue=c.status == "open" and c.due_on < now.date(),
        certificate_id=c.certificate_id,
        file_sha256=c.file_sha256,
        reason=c.reason,
        closed_at=c.closed_at,
    )


def application_out(view: ApplicationView, now: datetime) -> ApplicationOut:
    app = view.application
    return ApplicationOut(
        id=app.id,
        one_thing=app.one_thing,
        answers=app.answers,
        external_id=app.external_id,
        portal=app.portal_code,
        status=app.status,
        submitted_at=app.submitted_at,
        decided_at=app.decided_at,
        completed_at=app.completed_at,
        holder=HolderOut(name=app.holder_name, kind=app.holder_kind, code=view.holder_code),
        use_cause=app.use_cause,
        tasks=[task_out(t, now) for t in view.tasks],
        certificates=[
            IssuedOut(item_code=t.item_code, certificate_id=t.certificate_id)
            for t in view.tasks
            if t.certificate_id
        ],
        commitments=[commitment_out(c, now) for c in view.commitments],
        materials=[
            MaterialOut(
                item_code=m.item_code,
                code=m.material_code,
                kind=m.kind,
                certificate_id=m.certificate_id,
                data_resource=m.data_resource,
                file_sha256=m.file_sha256,
                round=m.round,
            )
            for m in view.materials
        ],
        form=view.form,
        breached=app.breached,
        rating=RatingOut(
            score=view.rating.score, comment=view.rating.comment, created_at=view.rating.created_at
        )
        if view.rating
        else None,
    )


def _view(state: HubState, caller: Actor, application_id: str) -> ApplicationOut:
    with unit_of_work(state.read_sessions) as session:
        view = view_application(session, state.vault, actor=caller, application_id=application_id)
        return application_out(view, state.clock())


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationOut,
    responses={
        200: {
            "description": "a repeat of an earlier submission: the same application",
            "model": ApplicationOut,
        },
        **problems(403, 409, 503),
    },
)
def submit_application(
    body: ApplicationIn, caller: CallerDep, state: StateDep, response: Response
) -> ApplicationOut:
    """一表申请, 一口受理: pre-review, then one application and one task per item (idempotent on the
    portal's ``external_id``). A failed pre-review is 422 ``pre_review_failed`` and creates nothing."""
    with unit_of_work(state.sessions) as session:
        submitted = services.submit_application(state, session, actor=caller, request=_request(state, body))
        app_id, status = submitted.application.id, submitted.application.status
    if not submitted.created:
        response.status_code = 200
    if status == "approved":
        try_to_complete(state, app_id)
    return _view(state, caller, app_id)


@router.get("/applications/{application_id}", response_model=ApplicationOut, responses=problems(404, 503))
def read_application(application_id: ApplicationId, caller: CallerDep, state: StateDep) -> ApplicationOut:
    """For the submitting portal, the holder, departments with a task in it (their part), admins."""
    return _view(state, caller, application_id)


class SupplementIn(Strict):
    materials: Annotated[list[MaterialIn], Field(min_length=1)] = Field(
        description="the materials a department asked for (补正)"
    )


@router.post(
    "/applications/{application_id}/supplements",
    response_model=ApplicationOut,
    responses=problems(403, 404, 409, 503),
)
def supply_materials(
    application_id: ApplicationId, body: SupplementIn, caller: CallerDep, state: StateDep
) -> ApplicationOut:
    """The submitting portal supplies what a department asked for (补正); the task is pending again."""
    with unit_of_work(state.sessions) as session:
        supply(
            session,
            state.vault,
            state.blobs,
            actor=caller,
            application_id=application_id,
            materials=_given(state, body.materials),
            check_upload=state.pdf_checks.check_upload,
            now=state.clock(),
        )
    return _view(state, caller, application_id)


@router.delete(
    "/applications/{application_id}", response_model=ApplicationOut, responses=problems(403, 404, 409, 503)
)
def withdraw_application(application_id: ApplicationId, caller: CallerDep, state: StateDep) -> ApplicationOut:
    """The submitting portal or the holder withdraws an application not yet decided."""
    with unit_of_work(state.sessions) as session:
        withdraw(session, state.vault, actor=caller, application_id=application_id, now=state.clock())
    return _view(state, caller, application_id)


class RatingIn(Strict):
    score: Annotated[int, Field(ge=1, le=5)] = Field(description="1 (非常不满意) to 5 (非常满意)")
    comment: Annotated[str | None, Field(max_length=500)] = Field(
        default=None, description="the holder's words, optional"
    )


@router.post(
    "/applications/{application_id}/rating",
    status_code=201,
    response_model=RatingOut,
    responses=problems(403, 404, 409, 503),
)
def rate_application(
    application_id: ApplicationId, body: RatingIn, caller: CallerDep, state: StateDep
) -> RatingOut:
    """好差评: the holder rates a decided application, once."""
    with unit_of_work(state.sessions) as session:
        rating = rate(
            session,
            state.vault,
            actor=caller,
            application_id=application_id,
            score=body.score,
            comment=body.comment,
            now=state.clock(),
        )
        return RatingOut(score=rating.score, comment=rating.comment, created_at=rating.created_at)


class RatingsOut(BaseModel):
    count: int = Field(description="ratings counted")
    average: float | None = Field(description="their mean score; null without ratings")
    distribution: dict[str, int] = Field(description='how many ratings gave each score ("1" … "5")')


@router.get("/ratings", response_model=RatingsOut, responses=problems(403, 404))
def ratings(
    caller: CallerDep,
    session: ReadSessionDep,
    item_code: Annotated[
        str | None, Query(max_length=64, description="only this service item (事项), by its code")
    ] = None,
    org: Annotated[
        str | None, Query(max_length=18, description="only the items of this department (USCC)")
    ] = None,
) -> RatingsOut:
    """Ratings per item and department: admins see all, a department its own items."""
    summary = summarize(session, actor=caller, item_code=item_code, org=org)
    return RatingsOut(count=summary.count, average=summary.average, distribution=summary.distribution)


class TaskRowOut(TaskOut):
    one_thing: str = Field(description="the application's one-thing")
    holder_name: str = Field(description="the applicant's name")
    submitted_at: datetime = Field(description="when the application was filed")


class TasksOut(BaseModel):
    tasks: list[TaskRowOut] = Field(description="the department's tasks, oldest first")


@router.get("/tasks", response_model=TasksOut, responses=problems(403))
def tasks(
    caller: CallerDep,
    session: ReadSessionDep,
    state: StateDep,
    status: Annotated[
        str | None,
        Query(max_length=24, description="only tasks in this status: " + ", ".join(TASK_STATUSES)),
    ] = None,
    overdue: Annotated[
        bool, Query(description="only undecided tasks (pending, supplement_required) past their due date")
    ] = False,
    limit: PageSize = 50,
    offset: Offset = 0,
) -> TasksOut:
    """The department's own tasks, the soonest due first (``overdue``: undecided past the due date)."""
    now = state.clock()
    rows = list_tasks(
        session, actor=caller, status=status, overdue=overdue, now=now, limit=limit, offset=offset
    )
    return TasksOut(
        tasks=[
            TaskRowOut(
                **task_out(r.task, now).model_dump(),
                one_thing=r.application.one_thing,
                holder_name=r.application.holder_name,
                submitted_at=r.application.submitted_at,
            )
            for r in rows
        ]
    )


class DecisionIn(Strict):
    decision: Literal["approve", "reject", "supplement"] = Field(
        description="approve, reject, or supplement (补正: ask for materials)"
    )
    reason: Annotated[str | None, Field(max_length=500)] = Field(
        default=None, description="why: required to reject or to ask for a supplement"
    )
    requested: list[Code] = Field(default_factory=list, description="supplement: the materials to supply")


class DecisionOut(TaskOut):
    application_status: str = Field(description="the application's status after the decision")


@router.post("/tasks/{task_id}/decision", response_model=DecisionOut, responses=problems(403, 404, 409, 503))
def decide_task(task_id: TaskId, body: DecisionIn, caller: CallerDep, state: StateDep) -> DecisionOut:
    """Approve, reject (with a reason) or ask for a supplement; only the task's department; once.
    An application this approves has its certificates issued after the decision is committed."""
    now = state.clock()
    with unit_of_work(state.sessions) as session:
        decided = decide(
            session,
            actor=caller,
            task_id=task_id,
            decision=body.decision,
            reason=body.reason,
            requested=body.requested,
            now=now,
        )
        application_id, status = decided.application.id, decided.application.status
    # Issuance, for this application if approved, and for any an earlier failure left approved.
    try_to_complete(state, application_id if status == "approved" else None)
    with unit_of_work(state.read_sessions) as session:
        view = view_application(session, state.vault, actor=caller, application_id=application_id)
        task = next(t for t in view.tasks if t.id == task_id)
        return DecisionOut(**task_out(task, now).model_dump(), application_status=view.application.status)


class CommitmentsOut(BaseModel):
    commitments: list[CommitmentOut] = Field(description="the department's commitments")


@router.get("/commitments", response_model=CommitmentsOut, responses=problems(403))
def commitments(
    caller: CallerDep,
    session: ReadSessionDep,
    state: StateDep,
    status: Annotated[
        str | None,
        Query(
            max_length=16,
            description="only commitments in this status: "
            + ", ".join((*COMMITMENT_STATUSES, OVERDUE))
            + " (open, past its due date)",
        ),
    ] = None,
    limit: PageSize = 50,
    offset: Offset = 0,
) -> CommitmentsOut:
    """The department's commitments: ``open``, ``overdue`` (open, past due), ``fulfilled``, ``breached``."""
    now = state.clock()
    found = list_commitments(session, actor=caller, status=status, now=now, limit=limit, offset=offset)
    return CommitmentsOut(commitments=[commitment_out(c, now) for c in found])


class FulfilIn(Strict):
    certificate_id: Annotated[str | None, Field(max_length=100)] = Field(
        default=None, description="the certificate that fulfils it (or give file)"
    )
    file: str | None = Field(default=None, description="a PDF, base64")


@router.post(
    "/commitments/{commitment_id}/fulfil",
    response_model=CommitmentOut,
    responses=problems(403, 404, 409, 503),
)
def fulfil_commitment(
    commitment_id: CommitmentId, body: FulfilIn, caller: CallerDep, state: StateDep
) -> CommitmentOut:
    """The committed material has come: a certificate of the holder, or a PDF."""
    now = state.clock()
    with unit_of_work(state.sessions) as session:
        c = fulfil(
            session,
            state.blobs,
            actor=caller,
            commitment_id=commitment_id,
            certificate_id=body.certificate_id,
            file=_decode_file(body.file, state.settings.limits.max_pdf_bytes),
            check_upload=state.pdf_checks.check_upload,
            now=now,
        )
        return commitment_out(c, now)


class BreachIn(Strict):
    reason: Text = Field(description="why the commitment is breached")


@router.post(
    "/commitments/{commitment_id}/breach",
    response_model=CommitmentOut,
    responses=problems(403, 404, 409, 503),
)
def breach_commitment(
    commitment_id: CommitmentId, body: BreachIn, caller: CallerDep, state: StateDep
) -> CommitmentOut:
    """The commitment was not kept: recorded on the application and in the audit log."""
    now = state.clock()
    with unit_of_work(state.sessions) as session:
        c = breach(session, actor=caller, commitment_id=commitment_id, reason=body.reason, now=now)
        return commitment_out(c, now)


class MyApplicationsOut(BaseModel):
    applications: list[ApplicationOut] = Field(description="the holder's applications, newest first")


@router.get("/me/applications", response_model=MyApplicationsOut, responses=problems(403), tags=["holders"])
def me_applications(
    caller: CallerDep,
    session: ReadSessionDep,
    state: StateDep,
    limit: PageSize = 50,
    offset: Offset = 0,
) -> MyApplicationsOut:
    """The signed-in holder's applications with their tasks, newest first."""
    now = state.clock()
    views = my_applications(session, state.vault, actor=caller, limit=limit, offset=offset)
    return MyApplicationsOut(applications=[application_out(v, now) for v in views])
