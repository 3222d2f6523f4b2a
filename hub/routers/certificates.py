"""Certificates: issuance (single and batch), reads, lifecycle, versions."""

from __future__ import annotations

import binascii
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)
from sqlalchemy.orm import Session

from certificates.batch import issue_batch as issue_each
from certificates.errors import PdfTooLarge
from certificates.issuance import issue as issue_in_phases
from certificates.lifecycle import effective_status
from certificates.models import Certificate
from certificates.personal import face_of
from certificates.privacy import mask
from certificates.repository import get_certificate
from certificates.requests import Holder, IssuanceRequest
from certificates.status import change_status
from certificates.versions import new_version
from hub.admission import AdmissionRoute
from hub.deps import CallerDep, DepartmentDep, ReadSessionDep, SessionDep, StateDep
from hub.errors import field_path, status_for
from hub.openapi import problems
from hub.routers.params import CertificateId
from hub.state import HubState
from kernel.actor import Actor
from kernel.errors import DomainError, ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["certificates"], route_class=AdmissionRoute)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HolderIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="the holder's name as on the certificate"
    )
    kind: Literal["111", "001"] = Field(
        description="111 a citizen (居民身份证号), 001 an organization (统一社会信用代码)"
    )
    code: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="the holder's identity number or USCC (encrypted at rest)"
    )


class CertificateBody(Strict):
    """What a department sends for a change (new version)."""

    external_id: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="the department's own id of the certificate: issuance is idempotent on it"
    )
    serial: str | None = Field(
        default=None, description="the department's serial number (证照编号); null: the hub allocates one"
    )
    issued_on: date = Field(description="the day it was issued (颁证日期)")
    valid_from: date = Field(description="first day of validity")
    valid_until: date | None = Field(default=None, description="last day of validity; null: no end (长期)")
    area_code: str = Field(description="行政区划代码 of the issuing area (6 digits), part of the identifier")
    data: dict[str, Any] = Field(
        description="the face information (照面信息), by the type's field names", default_factory=dict
    )
    file: str | None = Field(default=None, description="optional base64 PDF; without it the hub renders one")


class IssueBody(CertificateBody):
    type_code: Annotated[str, Field(min_length=21, max_length=21)] = Field(
        description="the certificate type (21 characters: the defining department's USCC + 3 digits)"
    )
    holder: HolderIn = Field(description="the holder (持证主体)")


class BatchBody(Strict):
    items: Annotated[list[dict[str, Any]], Field(min_length=1)] = Field(
        description="issuance bodies, each as POST /certificates takes it"
    )


class StatusBody(Strict):
    status: Annotated[str, Field(pattern=r"^\d{2}$")] = Field(
        description="the new status: 02 暂扣 withheld, 03 撤销 withdrawn, 04 注销 cancelled, "
        "07 吊销 revoked, 01 valid again …"
    )
    reason: Annotated[str | None, Field(max_length=500)] = Field(
        default=None, description="why, for the record"
    )


class HolderOut(BaseModel):
    name: str = Field(description="the holder's name")
    kind: str = Field(description="111 a citizen, 001 an organization")
    code: str = Field(description="the holder's code, masked unless the caller may see it")


class CertificateOut(BaseModel):
    id: str = Field(description="the identifier (GB/T 36904)")
    version: str = Field(description="the version (001, 002 …): a change issues a new one")
    status: str = Field(
        description="01 有效 valid, 02 暂扣 withheld, 03 撤销 withdrawn, 04 注销 cancelled, "
        "05 失效 expired, 06 迁出 transferred, 07 吊销 revoked, 99 其他"
    )
    type_code: str = Field(description="the certificate type")
    issuer_code: str = Field(description="the issuing department (USCC)")
    holder: HolderOut = Field(description="the holder (持证主体)")
    issued_on: date = Field(description="the day it was issued")
    valid_from: date = Field(description="first day of validity")
    valid_until: date | None = Field(description="last day of validity; null: no end")
    area_code: str = Field(description="行政区划代码 of the issuing area")
    data: dict[str, Any] = Field(
        description="the face information (照面信息); personal fields masked unless the caller may see them"
    )
    sha256: str = Field(description="SHA-256 of the sealed PDF (hex)")
    signature_level: str = Field(description="the PAdES level of its seal: B-B, B-T, B-LT, B-LTA")
    verification_code: str | None = Field(
        default=None, description="the verification code (验证码), for the issuer and the holder only"
    )
    predecessor: str | None = Field(default=None, description="the version it replaced")
    successor: str | None = Field(default=None, description="the version that replaced it")
    links: dict[str, str] = Field(description="related paths: self, file (the sealed PDF)")


def _decode_file(text: str | None, max_bytes: int, field: str = "file") -> bytes | None:
    """The department's PDF from its base64, refused unread when it would decode to more than
    ``max_bytes`` (the answer ``check_uploaded_pdf`` gives after decoding, without the copy)."""
    if text is None:
        return None
    if len(text) // 4 * 3 - 2 > max_bytes:  # base64 decodes to 3 bytes per 4 characters, less padding
        raise PdfTooLarge(f"the PDF is larger than {max_bytes} bytes", field=field)
    try:
        # base64.b64decode(text, validate=True) is exactly this, after copying text into bytes.
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("file must be base64", field=field) from None


def _request(body: CertificateBody, type_code: str, holder: Holder, max_pdf_bytes: int) -> IssuanceRequest:
    return IssuanceRequest(
        type_code=type_code,
        external_id=body.external_id,
        holder=holder,
        issued_on=body.issued_on,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        area_code=body.area_code,
        data=body.data,
        serial=body.serial,
        file=_decode_file(body.file, max_pdf_bytes),
    )


def _issue_request(body: IssueBody, max_pdf_bytes: int) -> IssuanceRequest:
    holder = Holder(body.holder.name, body.holder.kind, body.holder.code)
    return _request(body, body.type_code, holder, max_pdf_bytes)


def certificate_out(
    state: HubState, cert: Certificate, caller: Actor | None, code: str | None = None
) -> CertificateOut:
    """The certificate as this caller may see it (``certificates.access`` decides what is private)."""
    vault = state.vault
    holder_code = vault.decrypt(cert.holder_code_enc)
    privileged = state.access.sees_private_codes(caller, cert)
    if privileged and code is None:
        code = vault.decrypt(cert.verification_code_enc, purpose=b"verification")
    return CertificateOut(
        id=cert.id,
        version=f"{cert.version:03d}",
        status=effective_status(cert.status, cert.valid_until, state.today()).value,
        type_code=cert.type_code,
        issuer_code=cert.issuer_code,
        holder=HolderOut(
            name=cert.holder_name,
            kind=cert.holder_kind,
            code=holder_code if privileged else mask(holder_code),
        ),
        issued_on=cert.issued_on,
        valid_from=cert.valid_from,
        valid_until=cert.valid_until,
        area_code=cert.area_code,
        data=face_of(vault, cert, masked=not privileged),
        sha256=cert.file_sha256,
        signature_level=cert.signature_level,
        verification_code=code if privileged else None,
        predecessor=cert.predecessor_id,
        successor=cert.successor_id,
        links={"self": f"/api/v1/certificates/{cert.id}", "file": f"/api/v1/certificates/{cert.id}/file"},
    )


def _readable(state: HubState, session: Session, certificate_id: str, caller: Actor) -> Certificate:
    return state.access.check_read(caller, get_certificate(session, certificate_id))


@router.post(
    "/certificates",
    status_code=201,
    response_model=CertificateOut,
    responses={
        200: {
            "description": "a repeat of an earlier issuance: the same certificate",
            "model": CertificateOut,
        },
        **problems(409, 503),  # 503: the database, the blob store or the PDF workers
    },
)
def issue(body: IssueBody, caller: DepartmentDep, state: StateDep, response: Response) -> CertificateOut:
    """Issue a certificate (idempotent on the issuer's ``external_id``)."""
    assert caller.org_code is not None
    issued = issue_in_phases(
        state.units(),
        state.certificate_services,
        issuer_code=caller.org_code,
        request=_issue_request(body, state.settings.limits.max_pdf_bytes),
        actor=caller.label,
    )
    if not issued.created:
        response.status_code = 200
    else:
        state.metrics.certificates_issued.labels(issued.certificate.signature_level).inc()
    return certificate_out(state, issued.certificate, caller, issued.verification_code)


class ItemError(BaseModel):
    code: str = Field(description="the problem's code, as a single issuance would answer")
    detail: str = Field(description="what went wrong, for people")
    field: str | None = Field(default=None, description="the item's field at fault")


class BatchResult(BaseModel):
    """One item's outcome: ``certificate`` when it was issued (201) or repeated (200), else ``error``."""

    index: int = Field(description="the item's place in the batch, from 0")
    status: int = Field(description="the status a single issuance would answer: 201, 200 (a repeat), 4xx")
    certificate: CertificateOut | None = Field(
        default=None, description="the certificate, when issued or repeated"
    )
    error: ItemError | None = Field(default=None, description="the problem, when it failed")

    @model_serializer(mode="wrap")
    def _one_of(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        data.pop("error" if self.certificate is not None else "certificate", None)
        return data


class BatchOut(BaseModel):
    results: list[BatchResult] = Field(description="one result per item, in order")


@router.post("/certificates/batch", response_model=BatchOut, responses=problems(503))
def issue_batch(body: BatchBody, caller: DepartmentDep, state: StateDep) -> BatchOut:
    """Issue up to ``limits.max_batch_items`` certificates; each item succeeds or fails alone and is
    committed with its chunk of 50 (resending the batch is safe: issuance is idempotent)."""
    limit = state.settings.limits.max_batch_items
    if len(body.items) > limit:
        raise ValidationFailed(f"a batch holds at most {limit} items", field="items")
    assert caller.org_code is not None
    outcomes = issue_each(
        state.units(),
        state.certificate_services,
        issuer_code=caller.org_code,
        requests=(_batch_item(raw, state.settings.limits.max_pdf_bytes) for raw in body.items),
        actor=caller.label,
    )
    results: list[BatchResult] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, DomainError):
            results.append(_failure(index, status_for(outcome), outcome.code, outcome.detail, outcome.field))
            continue
        if outcome.created:
            state.metrics.certificates_issued.labels(outcome.certificate.signature_level).inc()
        certificate = certificate_out(state, outcome.certificate, caller, outcome.verification_code)
        status = 201 if outcome.created else 200
        results.append(BatchResult(index=index, status=status, certificate=certificate))
    return BatchOut(results=results)


def _batch_item(raw: dict[str, Any], max_pdf_bytes: int) -> IssuanceRequest | DomainError:
    """One item's request, or the error a single issuance of it would answer."""
    try:
        return _issue_request(IssueBody.model_validate(raw), max_pdf_bytes)
    except ValidationError as e:  # report the first field at fault, as a single issuance would
        first = e.errors()[0]
        loc = field_path(tuple(first["loc"]))
        return ValidationFailed(f"{loc}: {first['msg']}", field=loc)
    except DomainError as e:  # a file that is not base64
        return e


def _failure(index: int, status: int, code: str, detail: str, field: str | None) -> BatchResult:
    return BatchResult(index=index, status=status, error=ItemError(code=code, detail=detail, field=field))


@router.get("/certificates/{certificate_id}", response_model=CertificateOut, responses=problems(404))
def read(
    certificate_id: CertificateId, caller: CallerDep, session: ReadSessionDep, state: StateDep
) -> CertificateOut:
    """A certificate, for its issuer, its holder and admins."""
    return certificate_out(state, _readable(state, session, certificate_id, caller), caller)


@router.get(
    "/certificates/{certificate_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problems(403, 404)},
)
def read_file(
    certificate_id: CertificateId, caller: CallerDep, session: ReadSessionDep, state: StateDep
) -> Response:
    """The sealed PDF, for its issuer and its holder (it prints what admins see masked)."""
    return certificate_pdf(state, caller, get_certificate(session, certificate_id))


def certificate_pdf(state: HubState, caller: Actor, cert: Certificate) -> Response:
    """The sealed PDF of ``cert`` for ``caller``, under ``check_read_file`` (the API's download and
    the holder's page ``/me`` answer with it)."""
    cert = state.access.check_read_file(caller, cert)
    pdf = state.blobs.get(cert.file_sha256)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{cert.serial}-{cert.version:03d}.pdf"'},
    )


@router.post(
    "/certificates/{certificate_id}/status", response_model=CertificateOut, responses=problems(403, 404, 409)
)
def set_status(
    certificate_id: CertificateId, body: StatusBody, caller: CallerDep, session: SessionDep, state: StateDep
) -> CertificateOut:
    """Withhold, return, withdraw, cancel, revoke … along the lifecycle table."""
    cert = change_status(
        session,
        state.access,
        certificate_id=certificate_id,
        actor=caller,
        target=body.status,
        reason=body.reason,
        today=state.today(),
    )
    return certificate_out(state, cert, caller)


@router.post(
    "/certificates/{certificate_id}/versions",
    status_code=201,
    response_model=CertificateOut,
    responses=problems(404, 409),
)
def change(
    certificate_id: CertificateId,
    body: CertificateBody,
    caller: DepartmentDep,
    session: SessionDep,
    state: StateDep,
) -> CertificateOut:
    """A change (变更): a new version; the old one stops being usable."""
    issued = new_version(
        session,
        state.certificate_services(session),
        state.access,
        certificate_id=certificate_id,
        actor=caller,
        request_for=lambda type_code, holder: _request(
            body, type_code, holder, state.settings.limits.max_pdf_bytes
        ),
    )
    return certificate_out(state, issued.certificate, caller, issued.verification_code)
