"""Issuing many certificates in one call: each item succeeds or fails alone.

The items go through the phases of ``issuance.issue`` a chunk at a time: every item of the chunk
checked in one read, their serials allocated in one short write, each rendered and sealed with no
write lock held (one read for the chunk, its files written behind on other threads), and all
their rows added in one commit (a savepoint each) once every file is stored. A long batch never
holds the (SQLite) write lock through sealing, two worker processes seal in parallel, and an item
is answered only once its chunk has committed. Resending a batch is safe: issuance is idempotent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from sqlalchemy.orm import Session

from certificates.blobstore import WriteBehind
from certificates.issuance import (
    Checked,
    Drafted,
    UnitsOfWork,
    allocate,
    check_issuance,
    record_issuance,
    seal_draft,
)
from certificates.models import Certificate
from certificates.ports import CertificateServices, Issued
from certificates.requests import IssuanceRequest
from kernel.errors import DomainError

CHUNK = 50  # items committed together: bounds the work redone after a crash and the answer's delay
# Blob writes of a chunk run here, overlapping the rendering of the next item (fsync and S3 calls
# release the GIL); every write is waited for before the chunk's rows commit.
_BLOB_WRITERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="blob-write")

Outcome = Issued | DomainError


def issue_batch(
    units: UnitsOfWork,
    services_for: Callable[[Session], CertificateServices],
    *,
    issuer_code: str,
    requests: Iterable[IssuanceRequest | DomainError],
    actor: str,
    chunk: int = CHUNK,
) -> Iterator[Outcome]:
    """Each request's outcome, in order, once its chunk has committed (or failed).

    An item that already failed before reaching here (a body that did not parse) is passed
    through as its error, so the outcomes line up with the items."""
    items = iter(requests)
    while part := list(islice(items, chunk)):
        yield from _issue_chunk(units, services_for, issuer_code=issuer_code, requests=part, actor=actor)


def _issue_chunk(
    units: UnitsOfWork,
    services_for: Callable[[Session], CertificateServices],
    *,
    issuer_code: str,
    requests: list[IssuanceRequest | DomainError],
    actor: str,
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [e if isinstance(e, DomainError) else None for e in requests]
    checked: dict[int, Checked] = {}
    with units.read() as session:
        services = services_for(session)
        for index, request in enumerate(requests):
            if isinstance(request, DomainError):
                continue
            try:
                result = check_issuance(session, services, issuer_code=issuer_code, request=request)
            except DomainError as e:
                outcomes[index] = e
                continue
            if isinstance(result, Issued):
                outcomes[index] = result
            else:  # the same item twice in one chunk: the second answers as a repeat when recorded
                checked[index] = result
    drafted: dict[int, Drafted] = {}
    if checked:
        try:
            with units.write() as session:
                drafts = allocate(session, services_for(session), list(checked.values()))
        except DomainError as e:  # e.g. the issuer's seal cannot be made: every checked item fails
            for index in checked:
                outcomes[index] = e
        else:
            drafted = dict(zip(checked, drafts, strict=True))
    sealed: dict[int, Certificate] = {}
    if drafted:
        with units.read() as session:  # one snapshot for the chunk: its seal is looked up once
            services = services_for(session)
            writes = WriteBehind(services.blobs, _BLOB_WRITERS)
            services = dataclasses.replace(services, blobs=writes)
            for index, draft in drafted.items():
                try:
                    sealed[index] = seal_draft(services, draft)
                except DomainError as e:
                    outcomes[index] = e
            for index, cert in list(sealed.items()):
                failure = writes.failure(cert.file_sha256)
                if failure is not None:
                    outcomes[index] = failure
                    del sealed[index]
    if sealed:
        try:
            with units.write() as session:
                services = services_for(session)
                for index, cert in sealed.items():
                    try:
                        draft = drafted[index]
                        outcomes[index] = record_issuance(session, services, draft, cert, actor=actor)
                    except DomainError as e:
                        outcomes[index] = e
        except DomainError as e:  # the commit itself failed: none of the chunk's rows were kept
            for index in sealed:
                outcomes[index] = e
    return [_answered(o) for o in outcomes]


def _answered(outcome: Outcome | None) -> Outcome:
    assert outcome is not None
    return outcome
