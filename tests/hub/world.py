"""A small world every endpoint can be called in: the demo catalog, one certificate with a known
issuer and holder, a consent, an annotated copy waiting to be fetched, a signed audit checkpoint —
and every kind of caller (``tests.hub.callers``) with its headers.

Seeded through the domains in the caller's session (a transaction the test rolls back); the
authorization matrix and the Schemathesis run both stand on it."""

from __future__ import annotations

import base64
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session

from applications.decisions import decide
from applications.repository import commitments_of, tasks_of
from applications.requests import ApplicationRequest, GivenMaterial
from audit.checkpoints import make_checkpoint
from audit.log import append_pending
from catalog import service
from catalog.organizations import get_organization
from certificates.identifiers import CertificateIdentifier, parse
from certificates.personal import face_of
from certificates.repository import get_certificate
from certificates.requests import Holder
from hub.demo import BIRTH_CERTIFICATE, DEMO_CITIZEN, DEMO_PORTAL, grant_demo_consents
from hub.services import submit_application
from hub.state import HubState
from kernel.actor import Actor
from sharing import consents
from sharing.copies import make_copy
from sharing.holders import holder_ref
from tests.factories import add_org, bearer, client_token, new_ric
from tests.hostile import plain
from tests.hub.callers import (
    ADMIN,
    HOLDER,
    ISSUER,
    OTHER_DEPARTMENT,
    OTHER_HOLDER,
    PORTAL_WITH_CONSENT,
    PORTAL_WITHOUT_CONSENT,
    unknown_callers,
)
from tests.hub.test_verify_qr import scan_qr
from tests.sharing.demo_world import load_demo_world

ITEM = "WJ-VACCINATION"  # needs the birth certificate; the holder consented to the demo portal for it
ONE_THING = "OT-NEWBORN"
DATA_RESOURCE = "DR-GA-HOUSEHOLD"
CAUSE = "办理预防接种证"
PLAN_ANSWERS = {"hukou": "elsewhere", "mother_insured": "no"}
REVIEWED_ITEM = "WJ-BIRTH-CERTIFICATE"  # of ONE_THING: decided by a clerk of the ISSUER's department


@dataclass(frozen=True)
class World:
    headers: dict[str, dict[str, str]]  # by caller (tests.hub.callers)
    certificate_id: str  # the holder's birth certificate, issued by ISSUER
    unknown_certificate_id: str  # well formed, of the same type and issuer, never issued
    type_code: str
    verification_code: str
    certificate: dict[str, Any]  # what its issuer sent (an issuance body)
    pdf: bytes
    qr_payload: str
    holder: dict[str, str]  # {"kind", "code"}
    unknown_holder: dict[str, str]  # a valid identity number nobody holds anything under
    issuer_org: str
    portal_org: str
    consent_id: str  # the holder's consent to the portal with consent, for ITEM
    copy_token: str  # an annotated copy the portal with consent asked for, not fetched yet
    ocsp_request: bytes  # for the issuer's seal certificate
    timestamp_request: bytes
    catalog: dict[str, dict[str, Any]]  # PUT path -> the body stored there
    applications: Applications

    def __getitem__(self, caller: str) -> dict[str, str]:
        return self.headers[caller]


@dataclass(frozen=True)
class Applications:
    """Three applications of the holder for ONE_THING, filed by the portal with consent; the
    REVIEWED_ITEM's task of each waits for the ISSUER's department in a different state."""

    in_review: str  # its task pending, with a commitment open
    pending_task: str
    commitment: str
    supplement_required: str  # a supplement asked of the portal
    rejected: str  # decided, not yet rated


def seed_world(state: HubState, session: Session) -> World:
    demo = load_demo_world(state, session)
    assert state.dev_idp is not None
    now = state.clock()
    birth_id = next(i for i in demo.certificates if parse(i).type_code == BIRTH_CERTIFICATE)
    cert = get_certificate(session, birth_id)
    other_department = add_org(state, session)
    admin_token = client_token(state, session, admin=True)

    grant_demo_consents(state, session, now=now)
    holder = holder_ref(state.vault, DEMO_CITIZEN.kind, DEMO_CITIZEN.code)
    consent = next(c for c in consents.consents_of(session, holder) if c.item_code == ITEM)
    portal_client = demo.portal_token.split("_")[1]
    copy = make_copy(
        session,
        state.copy_services(session),
        actor=Actor.for_client("portal", portal_client, DEMO_PORTAL),
        certificate_id=birth_id,
        item_code=ITEM,
        use_cause=CAUSE,
        now=now,
    )
    applications = _seed_applications(state, session, demo.department_token, cert.issuer_code, portal_client)
    append_pending(
        session
    )  # number the entries recorded so far, as a commit would: the checkpoint covers them
    make_checkpoint(
        session,
        origin=state.settings.public_url,
        sign=state.signing.sign_checkpoint,
        timestamp=state.signing.timestamp_token,
    )
    session.flush()

    pdf = state.blobs.get(cert.file_sha256)
    with tempfile.TemporaryDirectory() as tmp:
        qr_payload = scan_qr(pdf, Path(tmp))
    ident = parse(birth_id)
    headers = unknown_callers(
        state.dev_idp, holder_kind=DEMO_CITIZEN.kind, holder_code=DEMO_CITIZEN.code, client_token=admin_token
    )
    headers |= {
        ISSUER: bearer(demo.department_token),
        OTHER_DEPARTMENT: bearer(client_token(state, session, org=other_department)),
        PORTAL_WITH_CONSENT: bearer(demo.portal_token),
        PORTAL_WITHOUT_CONSENT: bearer(demo.other_portal_token),
        HOLDER: bearer(demo.citizen_token),
        OTHER_HOLDER: bearer(demo.other_citizen_token),
        ADMIN: bearer(admin_token),
    }
    return World(
        headers=headers,
        certificate_id=birth_id,
        unknown_certificate_id=str(CertificateIdentifier(ident.type_code, ident.issuer_code, "9" * 20)),
        type_code=cert.type_code,
        verification_code=state.vault.decrypt(cert.verification_code_enc, purpose=b"verification"),
        certificate={
            "type_code": cert.type_code,
            "external_id": "matrix-birth-certificate",
            "holder": {"name": DEMO_CITIZEN.name, "kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code},
            "issued_on": cert.issued_on.isoformat(),
            "valid_from": cert.valid_from.isoformat(),
            "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
            "area_code": cert.area_code,
            "data": face_of(state.vault, cert),
        },
        pdf=pdf,
        qr_payload=qr_payload,
        holder={"kind": DEMO_CITIZEN.kind, "code": DEMO_CITIZEN.code},
        unknown_holder={"kind": "111", "code": new_ric()},
        issuer_org=cert.issuer_code,
        portal_org=DEMO_PORTAL,
        consent_id=consent.id,
        copy_token=copy.token,
        ocsp_request=_ocsp_request(state, session, cert.issuer_code),
        timestamp_request=_timestamp_request(),
        catalog=_catalog_bodies(session, cert.type_code, cert.issuer_code),
        applications=applications,
    )


def application_form() -> dict[str, dict[str, Any]]:
    """The form of an application for ONE_THING with PLAN_ANSWERS: the required fields the
    certificates on file do not fill."""
    return {
        REVIEWED_ITEM: {"child_name": "林小满"},
        ITEM: {"vaccination_unit": "示范市徐汇区社区卫生服务中心（演示）"},
    }


def application_body(holder: dict[str, str], external_id: str) -> dict[str, Any]:
    """What a portal sends to file an application for ONE_THING for ``holder``: a file for M03, a
    commitment (告知承诺) for M04, the birth certificate found on file."""
    return {
        "one_thing": ONE_THING,
        "answers": PLAN_ANSWERS,
        "holder": {"kind": holder["kind"], "code": holder["code"], "name": DEMO_CITIZEN.name},
        "use_cause": CAUSE,
        "external_id": external_id,
        "form": application_form(),
        "materials": [
            {"item_code": REVIEWED_ITEM, "code": "M03", "file": base64.b64encode(plain()).decode()},
            {"item_code": REVIEWED_ITEM, "code": "M04", "commitment": True},
        ],
    }


def _seed_applications(
    state: HubState, session: Session, department_token: str, department: str, portal_client: str
) -> Applications:
    """Three applications through the domain, as the routers would file and decide them."""
    now = state.clock()
    portal = Actor.for_client("portal", portal_client, DEMO_PORTAL)
    clerk = Actor.for_client("department", department_token.split("_")[1], department)

    def filed(external_id: str) -> tuple[str, str]:
        request = ApplicationRequest(
            one_thing=ONE_THING,
            answers=PLAN_ANSWERS,
            holder=Holder(DEMO_CITIZEN.name, DEMO_CITIZEN.kind, DEMO_CITIZEN.code),
            use_cause=CAUSE,
            external_id=external_id,
            form=application_form(),
            materials=[
                GivenMaterial(item_code=REVIEWED_ITEM, code="M03", file=plain()),
                GivenMaterial(item_code=REVIEWED_ITEM, code="M04", commitment=True),
            ],
        )
        app = submit_application(state, session, actor=portal, request=request).application
        task = next(t for t in tasks_of(session, app.id) if t.item_code == REVIEWED_ITEM)
        return app.id, task.id

    def decided(external_id: str, decision: str, **how: Any) -> str:
        app_id, task_id = filed(external_id)
        decide(session, actor=clerk, task_id=task_id, decision=decision, now=now, **how)
        return app_id

    in_review, pending_task = filed("matrix-in-review")
    commitment = next(c.id for c in commitments_of(session, in_review))
    return Applications(
        in_review=in_review,
        pending_task=pending_task,
        commitment=commitment,
        supplement_required=decided("matrix-supplement", "supplement", reason="请补正", requested=["M03"]),
        rejected=decided("matrix-rejected", "reject", reason="材料不符（测试）", requested=[]),
    )


def _ocsp_request(state: HubState, session: Session, org: str) -> bytes:
    seal = x509.load_der_x509_certificate(state.signing.identity(session, org).cert.dump())
    issuer = x509.load_der_x509_certificate(state.signing.pki.issuing_cert.dump())
    request = ocsp.OCSPRequestBuilder().add_certificate(seal, issuer, hashes.SHA256()).build()
    return request.public_bytes(serialization.Encoding.DER)


def _timestamp_request() -> bytes:
    imprint = {
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "hashed_message": hashlib.sha256(b"a document").digest(),
    }
    return tsp.TimeStampReq({"version": 1, "message_imprint": imprint, "nonce": 7, "cert_req": True}).dump()


def _catalog_bodies(session: Session, type_code: str, org: str) -> dict[str, dict[str, Any]]:
    """What is stored at each catalog PUT path: putting it back changes nothing (200)."""

    def body(kind: service.EntryKind[Any], code: str) -> dict[str, Any]:
        stored = service.get_entry(session, kind, code).body
        return dict(stored.model_dump(mode="json", by_alias=True))

    found = get_organization(session, org)
    return {
        f"/api/v1/certificate-types/{type_code}": body(service.CERTIFICATE_TYPE, type_code),
        f"/api/v1/data-resources/{DATA_RESOURCE}": body(service.DATA_RESOURCE, DATA_RESOURCE),
        f"/api/v1/items/{ITEM}": body(service.ITEM, ITEM),
        f"/api/v1/one-things/{ONE_THING}": body(service.ONE_THING, ONE_THING),
        f"/api/v1/organizations/{org}": {"name": found.name, "kind": found.kind, "demo": found.demo},
    }


def encoded_ocsp(request: bytes) -> str:
    """An OCSP request for the GET form (RFC 6960 A.1): base64 in the path."""
    return base64.b64encode(request).decode()
