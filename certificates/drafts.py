"""From an issuance draft to the certificate's face and its rendered PDF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from certificates.ports import Draft
from certificates.privacy import mask
from certificates.rendering import CertificateFace, render
from signing.qr.claims import FACE_DIGEST_BYTES, QRClaims, canonical_face_digest
from signing.qr.cose import QRSigner


def qr_claims_for(draft: Draft, now: datetime) -> QRClaims:
    """What the offline QR code asserts: identifier, holder, validity and a digest of the face data
    (the file's own hash cannot sit inside the file)."""
    req = draft.request
    identifier_parts = draft.identifier.split(".")
    return QRClaims(
        identifier=draft.identifier,
        type_code=req.type_code,
        issuer_code=identifier_parts[6],
        holder_name=req.holder.name,
        valid_from=req.valid_from,
        valid_until=req.valid_until,
        face_digest=canonical_face_digest(req.data)[:FACE_DIGEST_BYTES],
        issued_at=now,
    )


def face_for(draft: Draft, qr_text: str) -> CertificateFace:
    """What is printed: face fields in the type's order with their labels, the holder code masked."""
    req = draft.request
    fields = []
    for f in draft.type_fields:
        value = req.data.get(f["name"])
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "是" if value else "否"
        fields.append((str(f.get("label") or f["name"]), str(value)))
    return CertificateFace(
        type_name=draft.type_name,
        title=draft.type_name,
        fields=fields,
        holder_name=req.holder.name,
        holder_code_masked=mask(req.holder.code),
        issuer_name=draft.issuer_name,
        issued_on=req.issued_on,
        valid_from=req.valid_from,
        valid_until=req.valid_until,
        identifier=draft.identifier,
        verification_code=draft.verification_code,
        qr_text=qr_text,
    )


class DraftRenderer:
    """``certificates.ports.Renderer``: draws the face with the signed QR payload on it."""

    def __init__(
        self,
        qr_signer: QRSigner,
        font_path: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.qr_signer, self.font_path, self.clock = qr_signer, font_path, clock

    def __call__(self, draft: Draft) -> tuple[bytes, tuple[float, float, float, float] | None]:
        qr_text = self.qr_signer.encode(qr_claims_for(draft, self.clock()))
        rendered = render(face_for(draft, qr_text), font_path=self.font_path)
        return rendered.pdf, tuple(rendered.seal_box)  # type: ignore[return-value]
