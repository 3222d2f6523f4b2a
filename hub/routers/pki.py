"""The hub's PKI services over HTTP: RFC 3161 timestamps, OCSP (RFC 6960), CRLs, CA certificates."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from hub.admission import AdmissionRoute
from hub.deps import ReadSessionDep, StateDep, TimestampRate
from hub.errors import problem
from hub.openapi import problems
from hub.settings import PKI_REQUEST_BYTES

router = APIRouter(prefix="/pki", tags=["pki"], route_class=AdmissionRoute)

MAX_REQUEST = PKI_REQUEST_BYTES  # also refused before it is received (Limits.small_routes)


def _der_body(media_type: str) -> dict[str, Any]:
    """The request body of a DER endpoint (read raw, not by FastAPI), for the OpenAPI document."""
    schema = {"type": "string", "format": "binary", "maxLength": MAX_REQUEST}
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


async def _body(request: Request) -> bytes:
    body = await request.body()
    return body[: MAX_REQUEST + 1]


@router.post(
    "/tsa",
    response_class=Response,
    # Timestamps are for anyone: they may be rate limited (429).
    responses={200: {"content": {"application/timestamp-reply": {}}}, **problems(413, 429)},
    openapi_extra=_der_body("application/timestamp-query"),
    dependencies=[TimestampRate],
)
async def timestamp(request: Request, state: StateDep) -> Response:
    """RFC 3161 timestamp authority (``application/timestamp-query``)."""
    body = await _body(request)
    if len(body) > MAX_REQUEST:
        return problem(413, "payload_too_large", "timestamp requests are small")
    return Response(state.signing.tsa.respond(body), media_type="application/timestamp-reply")


@router.post(
    "/ocsp",
    response_class=Response,
    responses={200: {"content": {"application/ocsp-response": {}}}, **problems(413)},
    openapi_extra=_der_body("application/ocsp-request"),
)
async def ocsp_post(request: Request, state: StateDep, session: ReadSessionDep) -> Response:
    """OCSP responder for seal certificates (``application/ocsp-request``)."""
    body = await _body(request)
    if len(body) > MAX_REQUEST:
        return problem(413, "payload_too_large", "OCSP requests are small")
    from starlette.concurrency import run_in_threadpool

    der = await run_in_threadpool(state.signing.ocsp_response, session, body)
    return Response(der, media_type="application/ocsp-response")


@router.get(
    "/ocsp/{encoded:path}",
    response_class=Response,
    # A path the route cannot take (a line break in it) is no resource at all: 404.
    responses={200: {"content": {"application/ocsp-response": {}}}, **problems(404)},
)
def ocsp_get(
    encoded: Annotated[str, Path(description="the DER OCSP request, base64-encoded (RFC 6960 A.1)")],
    state: StateDep,
    session: ReadSessionDep,
) -> Response:
    """OCSP over GET: the DER request base64-encoded in the path."""
    try:
        der = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        der = b""
    return Response(state.signing.ocsp_response(session, der), media_type="application/ocsp-response")


@router.get("/crl", response_class=Response, responses={200: {"content": {"application/pkix-crl": {}}}})
def crl(state: StateDep, session: ReadSessionDep) -> Response:
    """The issuing CA's CRL: revoked seal certificates."""
    return Response(state.signing.crl(session), media_type="application/pkix-crl")


@router.get("/crl/root", response_class=Response, responses={200: {"content": {"application/pkix-crl": {}}}})
def root_crl(state: StateDep) -> Response:
    """The root's CRL (covering the issuing CA)."""
    return Response(state.signing.root_crl(), media_type="application/pkix-crl")


@router.get("/ca.crt", response_class=Response, responses={200: {"content": {"application/pkix-cert": {}}}})
def issuing_ca(state: StateDep) -> Response:
    return Response(state.signing.pki.issuing_cert.dump(), media_type="application/pkix-cert")


@router.get("/root.crt", response_class=Response, responses={200: {"content": {"application/pkix-cert": {}}}})
def root_ca(state: StateDep) -> Response:
    return Response(state.signing.pki.root_cert.dump(), media_type="application/pkix-cert")
