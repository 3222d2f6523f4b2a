"""Annotated copies (加注件): a portal's copy of a certificate for one declared use.

The copy is a new PDF — the original's page with a visible annotation (use cause, requester, item,
when it was made, until when it may be used, the original's identifier and verification result) —
sealed with the hub's own seal, so removing the annotation breaks the seal. It is served once, from
an unguessable URL, within ten minutes; then the link answers 410 and the bytes are gone.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.queries import find_organization
from certificates.blobstore import BlobStore
from certificates.lifecycle import usability
from certificates.repository import get_certificate
from certificates.verification import verify_pdf
from kernel.actor import Actor
from kernel.errors import Conflict
from sharing.annotation import Annotation, annotate
from sharing.errors import CopyGone, CopyNotFound
from sharing.models import AnnotatedCopy
from sharing.policy import Portal, certificate_use
from sharing.uses import COPY, COPY_FETCHED, record_use
from signing.validation import SignatureReport

COPY_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class CopyServices:
    """What making a copy needs from outside the database; wired by the hub."""

    blobs: BlobStore
    validate: Callable[[bytes], SignatureReport]  # the original's seal, against the hub's trust list
    seal: Callable[[bytes], bytes]  # sealed with the hub's own seal
    font_path: str | None = None


@dataclass(frozen=True)
class IssuedCopy:
    token: str  # the URL's secret: shown once, stored only as a hash
    expires_at: datetime


def make_copy(
    session: Session,
    services: CopyServices,
    *,
    actor: Actor,
    certificate_id: str,
    item_code: str,
    use_cause: str,
    now: datetime,
) -> IssuedCopy:
    """Annotate and seal a copy of a usable certificate the portal may have for this item."""
    use = certificate_use(
        session, actor=actor, certificate_id=certificate_id, item_code=item_code, use_cause=use_cause, now=now
    )
    portal, cause, item, cert = use.portal, use.cause, use.item, use.cert
    if not usability(cert, now.date()).usable:
        raise Conflict("the certificate is not usable now", code="certificate_not_usable")
    original = services.blobs.get(cert.file_sha256)
    verdict = verify_pdf(session, original, services.validate(original), now.date())
    requester = find_organization(session, portal.org_code)
    expires_at = now + COPY_LIFETIME
    annotation = Annotation(
        certificate_id=cert.id,
        verification_result=verdict.result,
        use_cause=cause,
        requester_name=requester.name if requester else portal.org_code,
        requester_code=portal.org_code,
        item_name=item.name,
        made_at=now,
        valid_until=expires_at,
    )
    sealed = services.seal(annotate(original, annotation, font_path=services.font_path))
    token = secrets.token_urlsafe(32)
    _forget_expired(session, now)
    session.add(
        AnnotatedCopy(
            token_hash=_hash(token),
            certificate_id=cert.id,
            requester_code=portal.org_code,
            client_id=portal.client_id,
            item_code=item_code,
            use_cause=cause,
            created_at=now,
            expires_at=expires_at,
            pdf=sealed,
        )
    )
    record_use(
        session,
        action=COPY,
        portal=portal,
        holder_index=cert.holder_index,
        item_code=item_code,
        use_cause=cause,
        certificate_ids=[cert.id],
        details={"expires_at": expires_at.isoformat(), "original_result": verdict.result},
    )
    return IssuedCopy(token, expires_at)


def fetch_copy(session: Session, token: str, *, now: datetime) -> tuple[str, bytes]:
    """The copy's PDF (and its certificate id), once: a second fetch, or one after expiry, is 410."""
    stmt = select(AnnotatedCopy).where(AnnotatedCopy.token_hash == _hash(token)).with_for_update()
    row = session.scalar(stmt)
    if row is None:
        raise CopyNotFound("no such copy")
    if row.fetched_at is not None or row.expires_at <= now or row.pdf is None:
        raise CopyGone("this copy was fetched already or has expired")
    pdf = row.pdf
    row.fetched_at, row.pdf = now, None
    cert = get_certificate(session, row.certificate_id)  # kept: a foreign key of the copy
    org = find_organization(session, row.requester_code)
    record_use(
        session,
        action=COPY_FETCHED,
        portal=_requester(row, org.name if org else row.requester_code),
        holder_index=cert.holder_index,
        item_code=row.item_code,
        use_cause=row.use_cause,
        certificate_ids=[cert.id],
    )
    return cert.id, pdf


def _requester(row: AnnotatedCopy, name: str) -> Portal:
    return Portal(row.requester_code, row.client_id, f"client:{row.client_id}" if row.client_id else name)


def _forget_expired(session: Session, now: datetime) -> None:
    """Drop the bytes of copies whose time is over (the rows stay: they answer 410, and tell the story)."""
    session.execute(
        update(AnnotatedCopy)
        .where(AnnotatedCopy.expires_at <= now, AnnotatedCopy.pdf.is_not(None))
        .values(pdf=None)
    )


def _hash(token: str) -> str:
    return hashlib.sha256(b"hub/copy:" + token.encode()).hexdigest()
