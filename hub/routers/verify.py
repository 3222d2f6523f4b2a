"""Verification (核验) for anyone: a PDF, an identifier + code, a QR payload; and the trust list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from certificates.verification import Verification, verify_by_code, verify_pdf, verify_qr
from hub.admission import AdmissionRoute
from hub.deps import ReadSessionDep, StateDep, VerifyRate
from hub.openapi import problems
from hub.routers.params import CertificateId
from hub.state import HubState
from kernel.errors import PayloadTooLarge, ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["verification"], route_class=AdmissionRoute)


class SignatureOut(BaseModel):
    """The part of ``signing.validation.SignatureReport`` a verifier is shown."""

    model_config = ConfigDict(from_attributes=True)

    intact: bool = Field(description="the signed bytes are unchanged")
    trusted: bool = Field(description="the seal's certificate chains to a trusted root")
    signed_by: str | None = Field(description="the sealing department, from its certificate")
    signed_at: datetime | None = Field(
        description="when it was sealed (the timestamp's time when there is one)"
    )
    timestamped: bool = Field(description="a timestamp (时间戳) covers the signature")
    level: str | None = Field(description="the PAdES level found: B-B, B-T, B-LT, B-LTA")
    indication: str = Field(
        description="ETSI EN 319 102-1 indication: TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE"
    )
    sub_indication: str | None = Field(description="the ETSI sub-indication, when not passed")


class CertificateSummary(BaseModel):
    """A certificate as any verifier is shown it (``certificates.verification.CertificateSummary``):
    no holder code, no face data."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="the identifier (GB/T 36904)")
    status: str = Field(description="01 有效 valid, 02 暂扣 withheld … (as on CertificateOut)")
    type_name: str = Field(description="the certificate type's name: 出生医学证明")
    issuer_name: str = Field(description="the issuing department's name")
    issuer_code: str = Field(description="the issuing department (USCC)")
    holder_name: str = Field(description="the holder's name, as on the certificate")
    valid_until: date | None = Field(description="last day of validity; null: no end (长期)")


class VerificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    result: Literal["valid", "invalid", "indeterminate"] = Field(
        description="valid, invalid, or indeterminate (the hub cannot tell)"
    )
    signature: SignatureOut | None = Field(default=None, description="the seal's report, for a PDF")
    certificate: CertificateSummary | None = Field(
        description="the certificate as the hub knows it; null when unknown"
    )
    problems: list[str] = Field(description="why it is not valid, for people")


def verification_out(v: Verification) -> VerificationOut:
    return VerificationOut.model_validate(v)


# Verification is for anyone: it may be rate limited (429).
@router.post(
    "/verify",
    response_model=VerificationOut,
    response_model_exclude_none=False,
    dependencies=[VerifyRate],
    responses=problems(429),
)
async def verify_upload(
    file: Annotated[UploadFile, File(description="the PDF to check")],
    session: ReadSessionDep,
    state: StateDep,
) -> VerificationOut:
    """Check an uploaded PDF: its seal, and what the registry says of the certificate.

    The upload was spooled to a temporary file as it arrived (in memory up to 1 MiB, then on disk)
    and its body bounded by ``Limits.pdf_routes``; only a file within ``max_pdf_bytes`` is read,
    and only in a PDF worker (``hub.pdf_checks``): a file that needs more time or memory than
    ``Limits.pdf_check_*`` is a 422 ``pdf_too_complex``."""
    data = await read_pdf(file, state.settings.limits.max_pdf_bytes)
    return verification_out(await run_in_threadpool(check_pdf, session, state, data))


async def read_pdf(file: UploadFile, limit: int) -> bytes:
    """The uploaded file, read only when it is within ``limit`` bytes (PayloadTooLarge past it,
    ValidationFailed when it is empty). The ``/verify`` page reads its upload the same way."""
    too_large = PayloadTooLarge(f"the file exceeds {limit} bytes", code="payload_too_large")
    if file.size is not None and file.size > limit:
        raise too_large
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data:
        raise ValidationFailed("the file is empty", field="file")
    return data


def check_pdf(session: Session, state: HubState, data: bytes) -> Verification:
    """A PDF's seal, read in a PDF worker (``hub.pdf_checks``), then the registry. Blocking: called
    in a worker thread, by the API and by the ``/verify`` page."""
    report = state.validate(session, data)
    return verify_pdf(
        session,
        data,
        report,
        state.today(),
        copy_sealer=state.settings.signing.operator_code,
        declared=lambda: state.pdf_checks.declared_identifier(data),
    )


@router.get(
    "/verify/{certificate_id}",
    response_model=VerificationOut,
    dependencies=[VerifyRate],
    responses=problems(404, 429),
)
def verify_identifier(
    certificate_id: CertificateId,
    session: ReadSessionDep,
    state: StateDep,
    code: Annotated[str, Query(min_length=1, max_length=64, description="the verification code (核验码)")],
) -> VerificationOut:
    """Identifier + verification code. A wrong code is a 404, like an unknown identifier."""
    out = verification_out(verify_by_code(session, certificate_id, code, state.today()))
    return out.model_copy(update={"signature": None})


class QRBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payload: Annotated[str, Field(min_length=1, max_length=8192, description="the text of the QR code")]


@router.post("/verify/qr", response_model=VerificationOut, dependencies=[VerifyRate], responses=problems(429))
def verify_qr_payload(body: QRBody, session: ReadSessionDep, state: StateDep) -> VerificationOut:
    """A scanned QR payload: signature against the trust list, then the registry."""
    result = verify_qr(session, state.vault, body.payload, state.qr_trust(), state.clock())
    return verification_out(result).model_copy(update={"signature": None})


@router.get("/trust")
def trust(session: ReadSessionDep, state: StateDep) -> dict[str, Any]:
    """The published trust list: roots, intermediates, seal certificates and QR keys."""
    return state.signing.trust_list(session)
