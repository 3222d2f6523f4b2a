"""The seams of issuance: what it needs from outside the database (sealing, rendering, the vault,
blob storage, upload checks, the clock), and what it hands back. The hub wires them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from certificates.blobstore import BlobStore
from certificates.models import Certificate
from certificates.privacy import HolderVault
from certificates.requests import IssuanceRequest
from kernel.clock import today as utc_today
from signing.validation import Level

SealBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class SealedPdf:
    pdf: bytes
    level: str


class Sealing(Protocol):
    """Where sealed bytes come from: the hub wires the signing library in here."""

    def seal(self, pdf: bytes, *, issuer_code: str, seal_box: SealBox | None) -> SealedPdf:
        """The PDF sealed with the issuer's current seal (placed in ``seal_box`` when given)."""
        ...

    def prepare(self, issuer_code: str) -> None:
        """Make sure the issuer has a seal to seal with (creating one writes: call it in a write unit)."""
        ...

    def upgrade(self, pdf: bytes, level: Level) -> SealedPdf:
        """An already sealed PDF raised to ``level`` (timestamps, validation data)."""
        ...


@dataclass(frozen=True)
class Draft:
    """Everything the renderer needs to draw one certificate."""

    identifier: str
    type_name: str
    type_fields: list[dict[str, Any]]
    issuer_name: str
    request: IssuanceRequest
    verification_code: str


class Renderer(Protocol):
    def __call__(self, draft: Draft) -> tuple[bytes, SealBox | None]: ...


@dataclass
class CertificateServices:
    """What issuance needs from outside the database; built by the hub for one unit of work."""

    vault: HolderVault
    blobs: BlobStore
    sealing: Sealing
    render: Renderer
    check_upload: Callable[[bytes], None]
    today: Callable[[], date] = utc_today


@dataclass(frozen=True)
class Issued:
    """An issuance's outcome: the certificate, whether this call created it, its verification code."""

    certificate: Certificate
    created: bool
    verification_code: str
