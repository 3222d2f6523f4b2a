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

Progress = Callable[[int, int | None], None]
"""Told ``(done, total)`` as a long run goes on (the CLI draws it); it changes nothing."""


def quiet(done: int, total: int | None) -> None:
    """No progress shown."""
    return None


def collect_garbage(
    unit_of_work: UnitOfWork,
    blobs: BlobStore,
    *,
    cutoff: datetime,
    also_referenced: Sequence[Callable[[Session, str], bool]] = (),
    progress: Progress = quiet,
) -> int:
    """Delete blobs older than ``cutoff`` that no certificate row points to, nor any of the other
    owners of stored files ``also_referenced`` asks (an application's uploaded materials)."""
    removed = 0
    candidates = list(blobs.list_older_than(cutoff))
    for done, sha256 in enumerate(candidates):
        progress(done, len(candidates))
        with unit_of_work() as session:
            referenced = session.scalar(
                select(Certificate.id).where(Certificate.file_sha256 == sha256).limit(1)
            ) is not None or any(check(session, sha256) for check in also_referenced)
        if not referenced:
            blobs.delete(sha256)
            removed += 1
    progress(len(candidates), len(candidates))
    return removed


def upgrade_signatures(
    unit_of_work: UnitOfWork,
    blobs: BlobStore,
    sealing_for: Callable[[Session], Sealing],
    *,
    target: Level,
    progress: Progress = quiet,
) -> tuple[int, int]:
    """Raise files sealed below ``target`` (e.g. while the timestamp authority was down): (done, failed)."""
    done = failed = 0
    with unit_of_work() as session:
        ids = [
            c.id
            for c in session.scalars(select(Certificate).where(Certificate.signature_level != target))
            if RANK.get(c.signature_level, 0) < RANK[target]
        ]
    for n, cid in enumerate(ids):
        progress(n, len(ids))
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
    progress(len(ids), len(ids))
    return done, failed


def seal_stored_files(blobs: BlobStore, *, progress: Progress = quiet) -> int:
    """Rewrite every stored file through the store, which seals it (``certificates.envelope``):
    files stored in clear before encryption at rest come out sealed. Returns how many were read."""
    count = 0
    stored = list(blobs.list_older_than(datetime.now(UTC) + timedelta(days=1)))
    for n, sha256 in enumerate(stored):
        progress(n, len(stored))
        try:
            data = blobs.get(sha256)
        except BlobCorrupted:
            log.error("stored file %s is damaged: left as it is", sha256)
            continue
        blobs.put(data)
        count += 1
    progress(len(stored), len(stored))
    return count
