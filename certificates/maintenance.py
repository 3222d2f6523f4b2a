"""Housekeeping over stored certificates: orphaned blobs (``hub storage gc``), files stored in clear
(``hub storage encrypt``) and signatures below the configured level (``hub signatures upgrade``).
Each file in its own unit of work."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.blobstore import BlobCorrupted, BlobStore
from certificates.models import Certificate
from certificates.ports import Sealing
from kernel.db import UnitOfWork
from signing.validation import LEVELS, Level

log = logging.getLogger("certificates.maintenance")

RANK: dict[str, int] = {level: rank for rank, level in enumerate(LEVELS)}


def collect_garbage(
    unit_of_work: UnitOfWork,
    blobs: BlobStore,
    *,
    cutoff: datetime,
    also_referenced: Sequence[Callable[[Session, str], bool]] = (),
) -> int:
    """Delete blobs older than ``cutoff`` that no certificate row points to, nor any of the other
    owners of stored files ``also_referenced`` asks (an application's uploaded materials)."""
    removed = 0
    for sha256 in list(blobs.list_older_than(cutoff)):
        with unit_of_work() as session:
            referenced = session.scalar(
                select(Certificate.id).where(Certificate.file_sha256 == sha256).limit(1)
            ) is not None or any(check(session, sha256) for check in also_referenced)
        if not referenced:
            blobs.delete(sha256)
            removed += 1
    return removed


def upgrade_signatures(
    unit_of_work: UnitOfWork, blobs: BlobStore, sealing_for: Callable[[Session], Sealing], *, target: Level
) -> tuple[int, int]:
    """Raise files sealed below ``target`` (e.g. while the timestamp authority was down): (done, failed)."""
    done = failed = 0
    with unit_of_work() as session:
        ids = [
            c.id
            for c in session.scalars(select(Certificate).where(Certificate.signature_level != target))
            if RANK.get(c.signature_level, 0) < RANK[target]
        ]
    for cid in ids:
        try:
            with unit_of_work() as session:
                cert = session.scalar(select(Certificate).where(Certificate.id == cid).with_for_update())
                assert cert is not None
                result = sealing_for(session).upgrade(blobs.get(cert.file_sha256), target)
                cert.file_sha256 = blobs.put(result.pdf)
                cert.signature_level = result.level
            done += 1
        except Exception as e:  # one file failing must not stop the others; it is retried next run
            log.warning(
                "signature upgrade failed", extra={"fields": {"certificate": cid, "error": type(e).__name__}}
            )
            failed += 1
    return done, failed


def seal_stored_files(blobs: BlobStore) -> int:
    """Rewrite every stored file through the store, which seals it (``certificates.envelope``):
    files stored in clear before encryption at rest come out sealed. Returns how many were read."""
    count = 0
    for sha256 in list(blobs.list_older_than(datetime.now(UTC) + timedelta(days=1))):
        try:
            data = blobs.get(sha256)
        except BlobCorrupted:
            log.error("stored file %s is damaged: left as it is", sha256)
            continue
        blobs.put(data)
        count += 1
    return count
