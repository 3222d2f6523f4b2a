"""Validation reports for sealed PDFs: data in the AdES vocabulary, never exceptions.

``validate_pdf`` answers "is this seal good?" for any bytes at all — a sealed PDF, an unsigned one,
a corrupt file — offline: trust roots and intermediates come from the caller, revocation data from
the document's DSS (B-LT/B-LTA) and optionally from the caller's own records.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.core import Void
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext

from signing.blocking import blocking
from signing.crl import RevocationInfo

__all__ = [
    "LEVELS",
    "Coverage",
    "Indication",
    "Level",
    "SignatureReport",
    "async_validate_pdf",
    "detect_level",
    "validate_pdf",
]

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")

RevocationLookup = Callable[[asn1_x509.Certificate], RevocationInfo | None]


class Indication(StrEnum):
    """The main indication of a validation (ETSI EN 319 102-1)."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class Coverage(StrEnum):
    """How much of the file the seal vouches for."""

    WHOLE_DOCUMENT = "whole_document"
    """The seal covers every byte of the file."""
    ARCHIVAL_UPDATES = "archival_updates"
    """Later updates only add validation data or document timestamps — nothing shown changed."""
    MODIFIED = "modified"
    """Something was changed or added after sealing that may alter what the document shows."""
    NONE = "none"
    """No seal to speak of."""


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on a document's (first) seal. ``problems`` are plain sentences for people."""

    indication: Indication
    sub_indication: str | None
    signed: bool
    intact: bool
    trusted: bool
    signed_by: str | None
    signer_uscc: str | None
    signer_serial: int | None
    signed_at: datetime | None
    timestamped: bool
    level: Level | None
    coverage: Coverage
    modified_after_signing: bool
    revoked_at: datetime | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True if the seal validated: TOTAL_PASSED."""
        return self.indication is Indication.TOTAL_PASSED


def _failed_report(
    indication: Indication, sub: str, problem: str, *, signed: bool = False
) -> SignatureReport:
    return SignatureReport(
        indication=indication,
        sub_indication=sub,
        signed=signed,
        intact=False,
        trusted=False,
        signed_by=None,
        signer_uscc=None,
        signer_serial=None,
        signed_at=None,
        timestamped=False,
        level=None,
        coverage=Coverage.NONE,
        modified_after_signing=False,
        revoked_at=None,
        problems=(problem,),
    )


async def async_validate_pdf(
    pdf_bytes: bytes,
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    intermediates: Sequence[asn1_x509.Certificate] = (),
    revocation_lookup: RevocationLookup | None = None,
    validation_time: datetime | None = None,
) -> SignatureReport:
    """Validate the first seal of ``pdf_bytes`` offline. Never raises for bad input.

    ``revocation_lookup`` lets the hub add what it knows (its database) about the seal certificate;
    ``validation_time`` pins the clock (default: the trusted timestamp's time, else now).
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception:  # pyHanko raises many kinds of errors on broken files
        return _failed_report(Indication.TOTAL_FAILED, "FORMAT_FAILURE", "The file is not a readable PDF.")
    seals = [s for s in signatures if s.sig_object_type == "/Sig"]
    if not seals:
        return _failed_report(
            Indication.INDETERMINATE, "SIGNED_DATA_NOT_FOUND", "The document carries no electronic seal."
        )
    try:
        return await _validate_seal(
            reader, seals[0], signatures, trust_roots, intermediates, revocation_lookup, validation_time
        )
    except Exception as exc:  # a malformed signature dictionary or CMS blob
        return _failed_report(
            Indication.TOTAL_FAILED,
            "FORMAT_FAILURE",
            f"The seal is malformed and cannot be checked ({type(exc).__name__}).",
            signed=True,
        )


validate_pdf = blocking(async_validate_pdf)


def detect_level(reader: PdfFileReader) -> Level | None:
    """The PAdES baseline level the document's first seal reaches, by structure (not by trust)."""
    signatures = list(reader.embedded_signatures)
    seals = [s for s in signatures if s.sig_object_type == "/Sig"]
    if not seals:
        return None
    seal = seals[0]
    doc_timestamps = _doc_timestamps_after(seal, signatures)
    if not (_signature_timestamp(seal.signed_data) is not None or doc_timestamps):
        return "B-B"
    if not _has_revinfo(reader.root):
        return "B-T"
    for ts in doc_timestamps:
        if _has_revinfo(reader.get_historical_root(ts.signed_revision)):
            return "B-LTA"
    return "B-LT"


def _doc_timestamps_after(
    seal: EmbeddedPdfSignature, signatures: Sequence[EmbeddedPdfSignature]
) -> list[EmbeddedPdfSignature]:
    return [
        s
        for s in signatures
        if s.sig_object_type == "/DocTimeStamp" and s.signed_revision > seal.signed_revision
    ]


def _has_revinfo(root: Any) -> bool:
    try:
        dss = root["/DSS"]
    except KeyError:
        return False
    return bool(len(dss.get("/OCSPs", ())) or len(dss.get("/CRLs", ())))


def _signature_timestamp(signed_data: cms.SignedData) -> cms.ContentInfo | None:
    attrs = signed_data["signer_infos"][0]["unsigned_attrs"]
    # Never ``attrs.native``: that converts the whole timestamp token (its certificates, its CMS)
    # to Python values — hundreds of milliseconds of asn1crypto work per call, for a yes/no.
    if isinstance(attrs, Void):
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            token: cms.ContentInfo = attr["values"][0]
            return token
    return None


# What a viewer shows of /Info; the hub's own updates (DSS, document timestamps) touch only
# /Producer and /ModDate.
_SHOWN_INFO = ("/Title", "/Author", "/Subject", "/Keywords", "/Creator")


def _unaccounted_changes(reader: PdfFileReader, seal: EmbeddedPdfSignature) -> str | None:
    """What changed after the seal that pyHanko's modification analysis does not report, if anything:
    bytes after the file's last revision, or a shown /Info entry changed in a later revision."""
    data = reader.stream.getvalue() if isinstance(reader.stream, io.BytesIO) else None
    if data is not None:
        last = data.rfind(b"startxref")
        found = re.match(rb"startxref\s+(\d+)\s+%%EOF", data[last:]) if last >= 0 else None
        if found is None:
            return "the file does not end with a revision"
        if data[last + found.end() :].strip(b"\r\n\t \x00"):
            return "bytes were appended after its last revision"
        if b"startxref" in data[int(found.group(1)) : last]:
            return "bytes were inserted after its last revision's cross-reference section"
    try:
        sealed = reader.get_historical_resolver(seal.signed_revision)
        now = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
        before, after = _info(sealed), _info(now)
    except Exception:  # a damaged trailer: the revisions themselves are judged by pyHanko
        return None
    changed = [key[1:] for key in _SHOWN_INFO if str(before.get(key, "")) != str(after.get(key, ""))]
    return f"its document information ({', '.join(changed)}) was changed" if changed else None


def _info(revision: Any) -> Any:
    """The /Info dictionary as of a revision (resolved in that revision, not the latest)."""
    try:
        ref = revision.trailer_view.raw_get("/Info")
    except KeyError:
        return {}
    return revision.get_object(ref.reference)


def _gen_time(token: cms.ContentInfo | cms.SignedData) -> datetime:
    """The time a timestamp token asserts; takes the token (ContentInfo) or its SignedData."""
    signed_data = token["content"] if isinstance(token, cms.ContentInfo) else token
    when: datetime = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    return when


async def _validate_seal(
    reader: PdfFileReader,
    seal: EmbeddedPdfSignature,
    signatures: list[EmbeddedPdfSignature],
    trust_roots: Sequence[asn1_x509.Certificate],
    intermediates: Sequence[asn1_x509.Certificate],
    revocation_lookup: RevocationLookup | None,
    validation_time: datetime | None,
) -> SignatureReport:
    level = detect_level(reader)
    cert = seal.signer_cert
    subject = cert.subject.native
    signed_by = subject.get("organization_name") or subject.get("common_name")
    uscc = subject.get("organization_identifier") or subject.get("serial_number")
    problems: list[str] = []

    # The time of the earliest timestamp over the seal is when it provably existed.
    ts_token = _signature_timestamp(seal.signed_data)
    doc_ts = _doc_timestamps_after(seal, signatures)
    claimed_ts_time = _gen_time(ts_token) if ts_token is not None else None
    doc_ts_time = _gen_time(doc_ts[0].signed_data) if doc_ts and claimed_ts_time is None else None

    moment = validation_time or claimed_ts_time or doc_ts_time
    evidence = _Evidence.read(reader, trust_roots, intermediates)
    status = await _run_validation(seal, evidence, moment)
    timestamp_ok = _timestamp_ok(status)
    if doc_ts_time is not None:
        timestamp_ok = await _doc_timestamp_ok(doc_ts[0], evidence)
    if moment is not None and validation_time is None and not timestamp_ok:
        # the claimed time is not backed by a trusted timestamp: judge the certificate as of now
        status = await _run_validation(seal, evidence, None)
        moment = None
    signed_at = claimed_ts_time or doc_ts_time or status.signer_reported_dt

    coverage, modified = _coverage(status)
    if not modified:
        # pyHanko's difference analysis looks at revisions only: it allows bytes appended after the
        # last one, and changes to the document information, which a reader shows as the title.
        changed = _unaccounted_changes(reader, seal)
        if changed:
            coverage, modified = Coverage.MODIFIED, True
            problems.append(f"after the seal, {changed}")
    revoked_at: datetime | None = None
    if revocation_lookup is not None:
        info = revocation_lookup(cert)
        if info is not None:
            revoked_at = info.revoked_at

    indication = Indication.TOTAL_PASSED
    sub: str | None = None
    if not status.intact:
        indication, sub = Indication.TOTAL_FAILED, "HASH_FAILURE"
        problems.append("The document was altered after sealing: its content no longer matches the seal.")
    elif not status.valid:
        indication, sub = Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
        problems.append("The seal's cryptographic signature is invalid.")
    if status.intact and status.valid and not status.trusted:
        if status.revoked:
            indication, sub = Indication.TOTAL_FAILED, "REVOKED"
            problems.append("The seal certificate was revoked.")
        else:
            indication, sub = Indication.INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"
            problems.append("The seal was not issued by a trusted authority.")
    if revoked_at is not None:
        proven_before = signed_at is not None and timestamp_ok and signed_at < revoked_at
        if not proven_before:
            if indication is Indication.TOTAL_PASSED:
                indication, sub = Indication.TOTAL_FAILED, "REVOKED"
            problems.append(f"The seal certificate was revoked on {revoked_at:%Y-%m-%d}.")
    if modified:
        if indication is Indication.TOTAL_PASSED:
            indication, sub = Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"
        problems.append("Content was added or changed after sealing.")
    if level in ("B-T", "B-LT", "B-LTA") and not timestamp_ok and status.intact:
        problems.append("The timestamp on the seal could not be verified.")
        if indication is Indication.TOTAL_PASSED:
            indication, sub = Indication.INDETERMINATE, "TIMESTAMP_ORDER_FAILURE"

    return SignatureReport(
        indication=indication,
        sub_indication=sub,
        signed=True,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        signed_by=signed_by,
        signer_uscc=uscc,
        signer_serial=int(cert.serial_number),
        signed_at=signed_at,
        timestamped=timestamp_ok,
        level=level,
        coverage=coverage,
        modified_after_signing=modified,
        revoked_at=revoked_at,
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class _Evidence:
    """What every validation context of one document starts from, read and parsed once: the
    caller's trust roots and intermediates and the document's DSS (certificates, OCSP responses,
    CRLs). pyHanko's ``DocumentSecurityStore.as_validation_context`` reads and parses the DSS again
    for each context, and a B-T/B-LT seal needs two (the seal at its timestamp's time, the
    timestamp now) — three or four when a timestamp fails or a document timestamp is checked.
    Each context still gets its own certificate registry and revocation manager; only the parsed
    objects are shared."""

    trust_roots: tuple[asn1_x509.Certificate, ...]
    certs: tuple[asn1_x509.Certificate, ...]
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...] | None
    crls: tuple[asn1_crl.CertificateList, ...] | None

    @classmethod
    def read(
        cls,
        reader: PdfFileReader,
        trust_roots: Sequence[asn1_x509.Certificate],
        intermediates: Sequence[asn1_x509.Certificate],
    ) -> _Evidence:
        roots, extra = tuple(trust_roots), tuple(intermediates)
        try:
            dss = DocumentSecurityStore.read_dss(reader)
        except Exception:  # no DSS (or an unreadable one): validate with what the caller gave
            return cls(roots, extra, None, None)
        # The caller's own certificates (already parsed) stand for the same bytes in the DSS.
        given = {cert.dump(): cert for cert in (*roots, *extra)}
        certs = []
        for ref in dss.certs.values():
            der = ref.get_object().read_data(DecodePurpose.CERTIFICATE)
            certs.append(given.get(der) or asn1_x509.Certificate.load(der))
        ocsps = tuple(
            asn1_ocsp.OCSPResponse.load(ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE))
            for ref in dss.ocsps
        )
        crls = tuple(
            asn1_crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL)) for ref in dss.crls
        )
        # DSS certificates first, then the caller's: the order as_validation_context gives them.
        return cls(roots, (*certs, *extra), ocsps, crls)

    def context(self, moment: datetime | None) -> ValidationContext:
        kwargs: dict[str, Any] = {
            "trust_roots": list(self.trust_roots),
            "other_certs": list(self.certs),
            "allow_fetching": False,
            "revocation_mode": "soft-fail",
        }
        if self.ocsps is not None and self.crls is not None:
            kwargs["ocsps"] = list(self.ocsps)
            kwargs["crls"] = list(self.crls)
        if moment is not None:
            kwargs["moment"] = moment
            kwargs["best_signature_time"] = moment
        return ValidationContext(**kwargs)


async def _run_validation(
    seal: EmbeddedPdfSignature, evidence: _Evidence, moment: datetime | None
) -> PdfSignatureStatus:
    return await async_validate_pdf_signature(
        seal,
        signer_validation_context=evidence.context(moment),
        ts_validation_context=evidence.context(None),
    )


async def _doc_timestamp_ok(ts: EmbeddedPdfSignature, evidence: _Evidence) -> bool:
    status = await async_validate_pdf_timestamp(ts, validation_context=evidence.context(None))
    return bool(status.intact and status.valid and status.trusted)


def _timestamp_ok(status: PdfSignatureStatus) -> bool:
    ts = status.timestamp_validity
    return ts is not None and bool(ts.intact and ts.valid and ts.trusted)


def _coverage(status: PdfSignatureStatus) -> tuple[Coverage, bool]:
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return Coverage.WHOLE_DOCUMENT, False
    if status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and status.modification_level in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
    ):
        return Coverage.ARCHIVAL_UPDATES, False
    return Coverage.MODIFIED, True
