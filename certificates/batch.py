"""Issuing many certificates in one call: each item in its own units of work, succeeding or failing alone.

A long batch never holds the (SQLite) write lock for minutes, and an item reported issued is kept
even if the connection drops before the answer. Resending a batch is safe: issuance is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from sqlalchemy.orm import Session

from certificates.issuance import UnitsOfWork, issue
from certificates.ports import CertificateServices, Issued
from certificates.requests import IssuanceRequest
from kernel.errors import DomainError


def issue_batch(
    units: UnitsOfWork,
    services_for: Callable[[Session], CertificateServices],
    *,
    issuer_code: str,
    requests: Iterable[IssuanceRequest | DomainError],
    actor: str,
) -> Iterator[Issued | DomainError]:
    """Each request's outcome, in order, once its unit of work has committed (or failed).

    An item that already failed before reaching here (a body that did not parse) is passed
    through as its error, so the outcomes line up with the items."""
    for request in requests:
        if isinstance(request, DomainError):
            yield request
            continue
        try:
            issued = issue(units, services_for, issuer_code=issuer_code, request=request, actor=actor)
        except DomainError as e:
            yield e
            continue
        yield issued
