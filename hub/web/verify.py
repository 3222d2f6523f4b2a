"""证照核验 for anyone, as a page: upload a PDF, type an identifier and its verification code, paste
(or scan with the camera, ``static/verify-scan.js``) the QR text — each a plain form, answered with
the verdict in words (``hub.web.verify_words``).

The checks are the API's (``hub.routers.verify``): the same domain calls, the PDF read in a PDF
worker, the same upload limit (``Limits.pdf_routes`` bounds the body before it is read) and the
same rate limit (``HUB_LIMITS__VERIFY_RATE``, counted before the body, on the same counter as the
API's verification endpoints). A verification changes nothing, so its forms carry no CSRF token."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from certificates.errors import CertificateNotFound
from certificates.verification import verify_by_code, verify_qr
from hub.admission import Admission, admit
from hub.deps import ReadSessionDep, StateDep
from hub.routers.verify import check_pdf, read_pdf
from hub.web.routing import PageRoute
from hub.web.templating import render
from hub.web.verify_words import Answer, answer
from kernel.errors import DomainError, RateLimited

COUNTED = Admission(rates=("verify",))


class VerifyRoute(PageRoute):
    """A verification: counted against the verify rate before its body is received, as the API's
    ``AdmissionRoute`` counts; past the limit, a page saying how long to wait (429, Retry-After)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def admit_then_handle(request: Request) -> Response:
            try:
                await run_in_threadpool(admit, request, COUNTED)
            except RateLimited as exc:
                response = _page(
                    request,
                    None,
                    status_code=429,
                    message=f"核验次数太多，请 {exc.retry_after} 秒后再试。",
                )
                response.headers["Retry-After"] = str(exc.retry_after)
                return response
            return await handler(request)

        return admit_then_handle


router = APIRouter(route_class=PageRoute, include_in_schema=False)
checks = APIRouter(route_class=VerifyRoute, include_in_schema=False)

# What the page says when a check cannot be made, by the domain's code.
REFUSALS = {
    "payload_too_large": "文件太大：不能超过 {mib} MB。",
    "validation_failed": "请选择要核验的 PDF 文件（文件不能为空）。",
    "pdf_too_complex": "文件太复杂，无法在限定的时间和内存内检查。",
    "pdf_workers_busy": "核验服务正忙，请稍后再试。",
}


def _page(
    request: Request,
    result: Answer | None,
    *,
    status_code: int = 200,
    message: str | None = None,
    how: str | None = None,
    fields: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "verify.html",
        {"answer": result, "message": message, "how": how, "fields": fields or {}},
        status_code=status_code,
    )


def _refused(request: Request, state: Any, exc: DomainError, how: str) -> Response:
    mib = state.settings.limits.max_pdf_bytes / (1024 * 1024)
    words = REFUSALS.get(exc.code or "", exc.detail).format(mib=f"{mib:g}")
    status = 413 if exc.code == "payload_too_large" else (503 if exc.code == "pdf_workers_busy" else 422)
    return _page(request, None, status_code=status, message=words, how=how)


@router.get("/verify")
def verify_form(request: Request) -> Response:
    return _page(request, None)


@checks.post("/verify/pdf")
async def verify_pdf_page(
    request: Request,
    state: StateDep,
    session: ReadSessionDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    try:
        data = await read_pdf(file, state.settings.limits.max_pdf_bytes)
        verification = await run_in_threadpool(check_pdf, session, state, data)
    except DomainError as exc:
        return _refused(request, state, exc, "pdf")
    return _page(request, answer(verification, with_signature=True), how="pdf")


@checks.post("/verify/code")
def verify_code_page(
    request: Request,
    state: StateDep,
    session: ReadSessionDep,
    id: Annotated[str, Form(max_length=128)],
    code: Annotated[str, Form(max_length=64)],
) -> Response:
    fields = {"id": id.strip()}
    try:
        verification = verify_by_code(session, id.strip(), code.strip(), state.today())
    except CertificateNotFound:
        # as the API: a wrong code and an unknown identifier are one answer
        message = "没有找到这张证照：证照标识或核验码不正确，请核对后重新输入。"
        return _page(request, None, status_code=404, message=message, how="code", fields=fields)
    return _page(request, answer(verification, with_signature=False), how="code", fields=fields)


@checks.post("/verify/qr")
def verify_qr_page(
    request: Request,
    state: StateDep,
    session: ReadSessionDep,
    payload: Annotated[str, Form(max_length=8192)],
) -> Response:
    text = payload.strip()
    if not text:
        return _page(request, None, status_code=422, message="请粘贴二维码的内容。", how="qr")
    verification = verify_qr(session, state.vault, text, state.qr_trust(), state.clock())
    return _page(request, answer(verification, with_signature=False), how="qr", fields={"payload": text})


router.include_router(checks)
