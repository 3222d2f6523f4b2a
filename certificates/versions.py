"""A change (变更): a new version of a certificate with version + 1; the old one stops being usable."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from certificates.access import CertificateAccess
from certificates.codes import new_verification_code
from certificates.errors import InvalidTransition
from certificates.identifiers import parse
from certificates.issuance import build_version, certificate_type, check_against_type, issuer
from certificates.lifecycle import CHANGEABLE, Status, effective_status
from certificates.ports import CertificateServices, Issued
from certificates.repository import get_certificate, record_event
from certificates.requests import Holder, IssuanceRequest
from kernel.actor import Actor


def new_version(
    session: Session,
    services: CertificateServices,
    access: CertificateAccess,
    *,
    certificate_id: str,
    actor: Actor,
    request_for: Callable[[str, Holder], IssuanceRequest],
) -> Issued:
    """Replace a certificate by its next version (its issuer only); the old one points to the new.

    ``request_for(type_code, holder)`` builds the new version's request: type and holder stay the
    certificate's own."""
    old = access.check_change(actor, get_certificate(session, certificate_id, lock=True))
    if old.successor_id is not None:
        raise InvalidTransition("this version was already replaced")
    current = effective_status(old.status, old.valid_until, services.today())
    if current not in CHANGEABLE:
        raise InvalidTransition(f"a certificate in status {current.value} cannot be changed")
    holder = Holder(old.holder_name, old.holder_kind, services.vault.decrypt(old.holder_code_enc))
    request = request_for(old.type_code, holder)
    ctype = certificate_type(session, old.type_code)
    check_against_type(services, request, ctype)
    old_identifier = parse(old.id)
    identifier = old_identifier.next_version()
    code = new_verification_code()
    cert = build_version(
        services,
        identifier=identifier,
        ctype=ctype,
        issuer=issuer(session, old.issuer_code),
        request=request,
        verification_code=code,
        content_hash=request.content_hash(),
        predecessor_id=old.id,
    )
    session.add(cert)
    session.flush()
    old.successor_id = cert.id
    record_event(
        session,
        old,
        "change",
        current,
        current,
        actor.label,
        f"replaced by version {identifier.version_text}",
    )
    record_event(
        session,
        cert,
        "issue",
        None,
        Status.VALID,
        actor.label,
        f"change of version {old_identifier.version_text}",
    )
    return Issued(cert, True, code)
