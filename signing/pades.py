"""PAdES sealing (电子签章) at baseline levels B-B, B-T, B-LT and B-LTA.

A ``Sealer`` is built once — PKI, key store, timestamp source, target level — and then seals
thousands of PDFs: keys stay loaded, the seal image is drawn once per department, and the space for
the signature is reserved up front (``bytes_reserved``) so pyHanko signs once instead of twice.

If the timestamp source fails, ``seal`` still succeeds at B-B and says so in ``SealResult.level``;
``upgrade`` later raises such a file to B-T (document timestamp), B-LT (DSS) or B-LTA.

Revocation data for B-LT is never fetched: the caller supplies it through a ``RevocationProvider``
(the hub answers from its database; ``signing.revocation.PkiRevocationProvider`` does so from the
hub's own PKI).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar, cast, get_args

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import AxisAlignment, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, PdfTimeStamper, Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathError, ValidationError

from signing.blocking import blocking
from signing.direct import DssMaterial, ReservedTooSmall, seal_simple
from signing.errors import SealingFailed, SigningError, TimestampUnavailable
from signing.keystore import KeyStore
from signing.pdf_update import NotSimple, SimplePdf
from signing.pki.authority import HubPKI
from signing.revocation import RevocationMaterial, RevocationProvider
from signing.seal_image import DEFAULT_FONT, SealImageContent, seal_image
from signing.signed_data import SignedDataTemplate
from signing.tsa import LocalTimeStamper
from signing.validation import LEVELS, Level, detect_level

__all__ = [
    "LEVELS",
    "Level",
    "SealIdentity",
    "SealResult",
    "Sealer",
    "check_sealable",
]

MD = "sha256"
_Cached = TypeVar("_Cached")
DEFAULT_BOX = (400, 40, 540, 180)  # bottom right of an A4 page, 140 pt ≈ 4.9 cm wide
_SIZE_MARGIN = 1024  # DER bytes beyond the certificates: signed attributes, signature, structure


@dataclass(frozen=True)
class SealIdentity:
    """Whose seal: the key's label in the key store and its certificate."""

    label: str
    cert: asn1_x509.Certificate
    org_name: str
    uscc: str


@dataclass(frozen=True)
class SealResult:
    """A sealed PDF, the level it reached, and its SHA-256 (hex)."""

    pdf: bytes
    level: Level
    sha256: str


class _GuardedTimeStamper(TimeStamper):
    """Wraps a timestamp source so any failure of it surfaces as ``TimestampUnavailable``."""

    def __init__(self, inner: TimeStamper) -> None:
        super().__init__(include_nonce=inner.include_nonce)  # type: ignore[no-untyped-call]
        self.inner = inner

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            return await self.inner.async_timestamp(message_digest, md_algorithm)
        except Exception as exc:  # network errors, refusals, bad responses: all mean "no timestamp now"
            raise TimestampUnavailable(f"timestamp source failed: {exc}") from exc


def _timestamp_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimestampUnavailable):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Sealer:
    """Seals PDFs with department seals; build once, call ``seal`` many times (thread-safe)."""

    def __init__(
        self,
        pki: HubPKI,
        keystore: KeyStore,
        *,
        timestamper: TimeStamper | None,
        level: Level = "B-T",
        revocation: RevocationProvider | None = None,
        font_path: Path = DEFAULT_FONT,
        context_ttl: timedelta = timedelta(minutes=5),
        direct: bool = True,
    ) -> None:
        if level not in LEVELS:
            raise ValueError(f"unknown PAdES level {level!r}; expected one of {LEVELS}")
        if level != "B-B" and timestamper is None:
            raise ValueError(f"level {level} needs a timestamp source")
        if level in ("B-LT", "B-LTA") and revocation is None:
            raise ValueError(f"level {level} needs a revocation provider")
        self.pki = pki
        self.keystore = keystore
        self.level: Level = level
        self.revocation = revocation
        self.font_path = font_path
        self._timestamper = _GuardedTimeStamper(timestamper) if timestamper is not None else None
        self._tst_size: int | None = None
        self._signers: dict[tuple[str, bytes], Signer] = {}
        # The root is the validator's trust anchor, so embedding it only costs bytes and CPU.
        self._embedded_chain = [c for c in pki.chain if c.dump() != pki.root_cert.dump()] or pki.chain
        self._lock = threading.Lock()
        # B-LT: the validation context of a seal (its OCSP responses, the root CRL, the validated
        # chain) is built once and reused for ``context_ttl``, not per document; one seal at a time
        # uses a shared context (pyHanko's validator caches paths in it).
        self._context_ttl = context_ttl
        self._contexts: dict[bytes, tuple[float, ValidationContext]] = {}
        self._context_lock = threading.Lock()
        # The direct path (``signing.direct``) for the simple PDFs the hub renders, up to B-LT; its
        # signer templates are built once per seal, its DSS material once per seal and ``context_ttl``.
        self.direct = direct
        self._templates: dict[bytes, SignedDataTemplate] = {}
        self._dss: dict[bytes, tuple[float, DssMaterial]] = {}

    def forget_revocation_state(self) -> None:
        """Drop cached validation contexts (a seal was revoked: the next B-LT seal asks afresh)."""
        with self._lock:
            self._contexts.clear()
            self._dss.clear()

    # -- sealing -------------------------------------------------------------------------------------

    async def async_seal(
        self,
        pdf_bytes: bytes,
        seal: SealIdentity,
        *,
        page: int = 0,
        box: tuple[int, int, int, int] = DEFAULT_BOX,
        reason: str | None = None,
        location: str | None = None,
        revocation: RevocationProvider | None = None,
    ) -> SealResult:
        """Seal ``pdf_bytes`` at the Sealer's level (B-B if the timestamp source is unavailable)."""
        args = (pdf_bytes, seal, page, box, reason, location, revocation or self.revocation)
        if self.level == "B-B":
            return _result(await self._sign(*args, level="B-B"), "B-B")
        try:
            return _result(await self._sign(*args, level=self.level), self.level)
        except Exception as exc:
            if not _timestamp_failed(exc):
                raise
        return _result(await self._sign(*args, level="B-B"), "B-B")

    seal = blocking(async_seal)

    async def _sign(
        self,
        pdf_bytes: bytes,
        seal: SealIdentity,
        page: int,
        box: tuple[int, int, int, int],
        reason: str | None,
        location: str | None,
        revocation: RevocationProvider | None,
        *,
        level: Level,
    ) -> bytes:
        if self.direct and level in ("B-B", "B-T", "B-LT"):
            try:
                simple = SimplePdf.parse(pdf_bytes)
                return await self._sign_direct(simple, seal, page, box, reason, location, revocation, level)
            except (NotSimple, ReservedTooSmall, IndexError):
                pass  # not a document of the plain shape (or an unusual TSA): pyHanko below
        # B-LT seals share a cached validation context, which pyHanko's validator writes to: one at a time.
        lock = self._context_lock if level in ("B-LT", "B-LTA") else nullcontext()
        with lock:
            signer = self._signer(seal)
            timestamper = self._timestamper if level != "B-B" else None
            validation_context = None
            if level in ("B-LT", "B-LTA"):
                assert revocation is not None and timestamper is not None
                validation_context = await self._cached_context(seal, revocation, timestamper)
            field_name = f"Seal-{uuid.uuid4().hex[:12]}"
            meta = PdfSignatureMetadata(
                field_name=field_name,
                md_algorithm=MD,
                subfilter=SigSeedSubFilter.PADES,
                reason=reason,
                location=location,
                name=seal.org_name,
                embed_validation_info=validation_context is not None,
                use_pades_lta=level == "B-LTA",
                validation_context=validation_context,
            )
            image = seal_image(seal.org_name, font_path=self.font_path)
            width, height = box[2] - box[0], box[3] - box[1]
            stamp = StaticStampStyle(
                border_width=0,
                background=SealImageContent(image, width, height),
                background_opacity=1.0,
                background_layout=SimpleBoxLayoutRule(
                    x_align=AxisAlignment.ALIGN_MID, y_align=AxisAlignment.ALIGN_MID, margins=Margins()
                ),
            )
            pdf_signer = PdfSigner(
                meta,
                signer,
                timestamper=timestamper,
                stamp_style=stamp,
                new_field_spec=SigFieldSpec(sig_field_name=field_name, on_page=page, box=box),
            )
            reserved = await self._bytes_reserved(signer, timestamper)
            for attempt in (reserved, None):
                try:
                    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
                except Exception as exc:
                    raise SealingFailed(f"not a readable PDF: {exc}") from exc
                out = io.BytesIO()
                try:
                    await pdf_signer.async_sign_pdf(writer, bytes_reserved=attempt, output=out)
                except PyHankoSigningError as exc:
                    if attempt is not None and "larger than expected" in str(exc):
                        continue  # our estimate was short (an unusual TSA): let pyHanko measure
                    raise
                return out.getvalue()
            raise AssertionError("unreachable")

    async def _sign_direct(
        self,
        simple: SimplePdf,
        seal: SealIdentity,
        page: int,
        box: tuple[int, int, int, int],
        reason: str | None,
        location: str | None,
        revocation: RevocationProvider | None,
        level: Level,
    ) -> bytes:
        signer = self._signer(seal)
        timestamper = self._timestamper if level != "B-B" else None
        dss = None
        if level == "B-LT":
            assert revocation is not None and timestamper is not None
            dss = await self._cached_dss(seal, revocation, timestamper)

        async def sign(data: bytes) -> bytes:
            return await signer.async_sign_raw(data, MD)

        return await seal_simple(
            simple,
            template=self._template(seal, signer),
            sign=sign,
            timestamp=self._timestamp_token if timestamper is not None else None,
            dss=dss,
            image=seal_image(seal.org_name, font_path=self.font_path),
            page=page,
            box=box,
            field_name=f"Seal-{uuid.uuid4().hex[:12]}",
            signer_name=seal.org_name,
            reason=reason,
            location=location,
            reserved=await self._bytes_reserved(signer, timestamper),
        )

    def _template(self, seal: SealIdentity, signer: Signer) -> SignedDataTemplate:
        template = self._templates.get(seal.cert.sha256)
        if template is None:
            algorithm = signer.get_signature_mechanism_for_digest(MD)
            template = SignedDataTemplate(seal.cert, [seal.cert, *self._embedded_chain], algorithm)
            with self._lock:
                if len(self._templates) > 4096:
                    self._templates.clear()
                self._templates[seal.cert.sha256] = template
        return template

    async def _timestamp_token(self, digest: bytes) -> bytes:
        """A DER signature-timestamp token over ``digest``: straight from the in-process authority's
        templates, else through the configured source."""
        assert self._timestamper is not None
        inner = self._timestamper.inner
        try:
            if isinstance(inner, LocalTimeStamper):
                return inner.authority.token(digest)
            token = await inner.async_timestamp(digest, MD)
            der: bytes = token.dump()
            return der
        except Exception as exc:  # as _GuardedTimeStamper: any failure means "no timestamp now"
            raise TimestampUnavailable(f"timestamp source failed: {exc}") from exc

    async def _cached_dss(
        self, seal: SealIdentity, revocation: RevocationProvider, timestamper: TimeStamper
    ) -> DssMaterial:
        return await self._per_seal(
            self._dss, seal, revocation, lambda: self._fresh_dss(seal, revocation, timestamper)
        )

    async def _per_seal(
        self,
        store: dict[bytes, tuple[float, _Cached]],
        seal: SealIdentity,
        revocation: RevocationProvider,
        build: Callable[[], Awaitable[_Cached]],
    ) -> _Cached:
        """What ``build`` makes for ``seal``, kept in ``store`` for ``context_ttl`` (per-call
        revocation providers are never cached)."""
        if revocation is not self.revocation:
            return await build()
        now = time.monotonic()
        with self._lock:
            cached = store.get(seal.cert.sha256)
        if cached is not None and now - cached[0] < self._context_ttl.total_seconds():
            return cached[1]
        made = await build()
        with self._lock:
            if len(store) > 4096:
                store.clear()
            store[seal.cert.sha256] = (now, made)
        return made

    async def _fresh_dss(
        self, seal: SealIdentity, revocation: RevocationProvider, timestamper: TimeStamper
    ) -> DssMaterial:
        """The seal's revocation data, after the check pyHanko makes before a B-LT signature: the
        seal's chain validates against the root with that data (a revoked seal is refused)."""
        certs, material, context = await self._revocation_state(seal, revocation, timestamper)
        validator = CertificateValidator(
            seal.cert, intermediate_certs=self.pki.chain, validation_context=context
        )
        try:
            await validator.async_validate_usage(set())  # type: ignore[no-untyped-call]
        except (PathBuildingError, PathError, ValidationError) as exc:
            raise SigningError(f"the seal's certificate could not be validated: {exc}") from exc
        responders = [
            cert
            for der in material.ocsp_responses
            for cert in (asn1_ocsp.OCSPResponse.load(der).basic_ocsp_response["certs"] or [])
        ]
        return DssMaterial(
            certificates=tuple(c.dump() for c in _unique([*certs, *responders])),
            ocsp_responses=material.ocsp_responses,
            crls=material.crls,
        )

    def _signer(self, seal: SealIdentity) -> Signer:
        key = (seal.label, seal.cert.sha256)
        signer = self._signers.get(key)
        if signer is None:
            signer = self.keystore.signer(seal.label, seal.cert, self._embedded_chain)
            with self._lock:
                if len(self._signers) > 4096:
                    self._signers.clear()
                self._signers[key] = signer
        return signer

    async def _bytes_reserved(self, signer: Signer, timestamper: TimeStamper | None) -> int:
        certs = [signer.signing_cert, *self._embedded_chain]
        der = sum(len(c.dump()) for c in certs if c is not None) + _SIZE_MARGIN
        if timestamper is not None:
            if self._tst_size is None:
                # one dummy token per Sealer, which pyHanko also caches for its own purposes
                dummy = await timestamper.async_dummy_response(MD)
                self._tst_size = len(dummy.dump()) + 256
            der += self._tst_size
        return 2 * der  # hex-encoded in /Contents

    async def _cached_context(
        self, seal: SealIdentity, revocation: RevocationProvider, timestamper: TimeStamper
    ) -> ValidationContext:
        return await self._per_seal(
            self._contexts, seal, revocation, lambda: self._validation_context(seal, revocation, timestamper)
        )

    async def _validation_context(
        self, seal: SealIdentity, revocation: RevocationProvider, timestamper: TimeStamper
    ) -> ValidationContext:
        return (await self._revocation_state(seal, revocation, timestamper))[2]

    async def _revocation_state(
        self, seal: SealIdentity, revocation: RevocationProvider, timestamper: TimeStamper
    ) -> tuple[list[asn1_x509.Certificate], RevocationMaterial, ValidationContext]:
        """The certificates of a B-LT seal (the seal's chain and the TSA's), their revocation data,
        and a validation context over both (what both writers need, once per seal and refresh)."""
        await timestamper.async_dummy_response(MD)  # learn the TSA's certificates
        certs = [seal.cert, *self.pki.chain, *timestamper.cert_registry]
        material = await asyncio.to_thread(revocation, certs)
        return certs, material, _context(self.pki, certs, material)

    # -- upgrading -----------------------------------------------------------------------------------

    async def async_upgrade(
        self, pdf_bytes: bytes, target_level: Level, *, revocation: RevocationProvider | None = None
    ) -> SealResult:
        """Raise a sealed PDF to ``target_level`` by incremental updates (never touching the seal).

        B-B -> B-T adds a document timestamp; -> B-LT adds a DSS with certificates, OCSP responses
        and CRLs; -> B-LTA adds a document timestamp over that. Raises ``TimestampUnavailable``.
        """
        if target_level not in LEVELS:
            raise ValueError(f"unknown PAdES level {target_level!r}")
        try:
            current = detect_level(PdfFileReader(io.BytesIO(pdf_bytes), strict=False))
        except Exception as exc:
            raise SealingFailed(f"not a readable PDF: {exc}") from exc
        if current is None:
            raise SealingFailed("the document carries no seal to upgrade")
        rank = LEVELS.index
        if rank(current) >= rank(target_level):
            return _result(pdf_bytes, current)
        timestamper = self._timestamper
        if timestamper is None:
            raise TimestampUnavailable("no timestamp source configured")
        revocation = revocation or self.revocation
        data = pdf_bytes
        if current == "B-B":
            data = await self._document_timestamp(data, timestamper, None)
            current = "B-T"
        if target_level in ("B-LT", "B-LTA") and current == "B-T":
            if revocation is None:
                raise SigningError("a revocation provider is needed for B-LT")
            await timestamper.async_dummy_response(MD)
            certs = [*_embedded_certs(data), *self.pki.chain, *timestamper.cert_registry]
            material = await asyncio.to_thread(revocation, certs)
            writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
            DocumentSecurityStore.supply_dss_in_writer(
                writer,
                sig_contents=None,
                certs=_unique(certs),
                ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in material.ocsp_responses],
                crls=[asn1_crl.CertificateList.load(c) for c in material.crls],
            )
            out = io.BytesIO()
            writer.write(out)  # type: ignore[no-untyped-call]
            data = out.getvalue()
            current = "B-LT"
        if target_level == "B-LTA" and current == "B-LT":
            assert revocation is not None
            await timestamper.async_dummy_response(MD)
            tsa_certs = list(timestamper.cert_registry)
            material = await asyncio.to_thread(revocation, tsa_certs)
            context = _context(self.pki, tsa_certs, material)
            data = await self._document_timestamp(data, timestamper, context)
            current = "B-LTA"
        return _result(data, current)

    upgrade = blocking(async_upgrade)

    async def _document_timestamp(
        self, data: bytes, timestamper: TimeStamper, context: ValidationContext | None
    ) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        out = io.BytesIO()
        reserved = await self._bytes_reserved_for_timestamp(timestamper)
        await PdfTimeStamper(timestamper).async_timestamp_pdf(
            writer, MD, validation_context=context, bytes_reserved=reserved, output=out
        )
        return out.getvalue()

    async def _bytes_reserved_for_timestamp(self, timestamper: TimeStamper) -> int:
        if self._tst_size is None:
            dummy = await timestamper.async_dummy_response(MD)
            self._tst_size = len(dummy.dump()) + 256
        return 2 * self._tst_size


def check_sealable(pdf_bytes: bytes) -> None:
    """Raise ``SealingFailed`` unless pyHanko can open ``pdf_bytes`` for an incremental update, find
    its first page and walk its form fields — what sealing, and every verification of the sealed
    file, will need (an upload check runs this before accepting a file). A form whose field tree
    loops was sealed, and every verifier then found the certificate unreadable."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        writer.find_page_for_modification(0)  # type: ignore[no-untyped-call]
        for _ in enumerate_sig_fields(writer):
            pass
    except Exception as exc:  # pyHanko and its reader raise many kinds for damaged files
        raise SealingFailed(f"not a readable PDF: {exc}") from exc


def _context(
    pki: HubPKI, certs: Sequence[asn1_x509.Certificate], material: RevocationMaterial
) -> ValidationContext:
    return ValidationContext(
        trust_roots=[pki.root_cert],
        other_certs=_unique([*certs, *pki.chain]),
        ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in material.ocsp_responses],
        crls=[asn1_crl.CertificateList.load(c) for c in material.crls],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def _unique(certs: Iterable[asn1_x509.Certificate]) -> list[asn1_x509.Certificate]:
    seen: dict[bytes, asn1_x509.Certificate] = {}
    for cert in certs:
        seen.setdefault(cert.sha256, cert)
    return list(seen.values())


def _embedded_certs(data: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate inside the document's signatures and their timestamp tokens."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    found: list[asn1_x509.Certificate] = []
    for sig in reader.embedded_signatures:
        found.extend(_certs_of(sig.signed_data))
        for signer_info in sig.signed_data["signer_infos"]:
            attrs = signer_info["unsigned_attrs"]
            if attrs.native is None:
                continue
            for attr in attrs:
                if attr["type"].native == "signature_time_stamp_token":
                    for token in attr["values"]:
                        found.extend(_certs_of(token["content"]))
    return found


def _certs_of(signed_data: cms.SignedData) -> list[asn1_x509.Certificate]:
    return [c.chosen for c in signed_data["certificates"] if c.name == "certificate"]


def _result(pdf: bytes, level: str) -> SealResult:
    assert level in get_args(Level)
    return SealResult(pdf=pdf, level=cast(Level, level), sha256=hashlib.sha256(pdf).hexdigest())
