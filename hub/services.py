"""Use cases that span packages (catalog + certificates + signing), called by routers and the CLI."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Organization
from catalog.organizations import put_organization
from certificates.models import Certificate
from hub.state import HubState
from kernel.db import unit_of_work

log = logging.getLogger("hub.services")


def register_organization(
    state: HubState, session: Session, *, code: str, name: str, kind: str, demo: bool = False
) -> Organization:
    """Register or update an organization; a department gets its seal."""
    org = put_organization(session, code=code, name=name, kind=kind, demo=demo)
    if org.kind == "department":
        state.signing.ensure_seal(session, org.code, org.name)
    return org


def collect_garbage(state: HubState, *, cutoff: datetime) -> int:
    """Delete blobs older than ``cutoff`` that no certificate row points to."""
    removed = 0
    for sha256 in list(state.blobs.list_older_than(cutoff)):
        with unit_of_work(state.sessions) as session:
            referenced = session.scalar(
                select(Certificate.id).where(Certificate.file_sha256 == sha256).limit(1)
            )
        if referenced is None:
            state.blobs.delete(sha256)
            removed += 1
    return removed


def upgrade_signatures(state: HubState) -> tuple[int, int]:
    """Raise files sealed below the configured level (e.g. while the timestamp authority was down)."""
    target = state.settings.signing.level
    order = {"B-B": 0, "B-T": 1, "B-LT": 2, "B-LTA": 3}
    done = failed = 0
    with unit_of_work(state.sessions) as session:
        ids = [
            c.id
            for c in session.scalars(select(Certificate).where(Certificate.signature_level != target))
            if order.get(c.signature_level, 0) < order[target]
        ]
    for cid in ids:
        try:
            with unit_of_work(state.sessions) as session:
                cert = session.scalar(select(Certificate).where(Certificate.id == cid).with_for_update())
                assert cert is not None
                pdf = state.blobs.get(cert.file_sha256)
                with state.signing.using(session):
                    result = state.signing.sealer.upgrade(pdf, target)
                cert.file_sha256 = state.blobs.put(result.pdf)
                cert.signature_level = result.level
            done += 1
        except Exception as e:  # one file failing must not stop the others; it is retried next run
            log.warning(
                "signature upgrade failed", extra={"fields": {"certificate": cid, "error": type(e).__name__}}
            )
            failed += 1
    return done, failed
