"""Reading PDFs from outside — the seal's report, the identifier a file declares, a department's
upload check — in the hub's PDF workers (``hub/isolation.py``), bounded by ``Limits.pdf_check_*``.

Past a bound, the domain's ``PdfTooComplex`` (422 ``pdf_too_complex``); every worker busy for the
wall time, ``Unavailable`` (503 ``pdf_workers_busy``). docs/signing.md, "Untrusted PDFs".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from certificates.errors import PdfTooComplex
from certificates.untrusted_pdf import declared_identifier, seal_report
from certificates.uploads import check_uploaded_pdf
from hub.isolation import Bounds, IsolatedPool, LimitExceeded, PoolBusy
from hub.sealing import HubSigning
from hub.settings import Limits
from kernel.errors import Unavailable
from signing.validation import SignatureReport

R = TypeVar("R")

# What every PDF worker imports before its first call: the functions the hub runs in it.
PDF_WORKER_MODULES = ("certificates.untrusted_pdf", "certificates.uploads")

# The wall time a PDF check may take, in multiples of its CPU time: the workers run below the
# server's priority, so on a busy machine an honest file waits its turn instead of being refused.
WALL_PER_CPU_SECOND = 3


def build_pdf_workers(limits: Limits) -> IsolatedPool:
    """The PDF workers (not started: ``start()`` in the lifespan, or the first call, starts them)."""
    bounds = Bounds(
        seconds=WALL_PER_CPU_SECOND * limits.pdf_check_seconds,
        cpu_seconds=limits.pdf_check_seconds,
        memory_bytes=limits.pdf_check_memory_bytes,
    )
    return IsolatedPool(limits.pdf_check_workers, bounds, preload=PDF_WORKER_MODULES)


class PdfChecks:
    """What the hub reads from a PDF from outside, each read in a PDF worker."""

    def __init__(self, limits: Limits, signing: HubSigning) -> None:
        self.workers = build_pdf_workers(limits)
        self.signing = signing
        self.max_pdf_bytes = limits.max_pdf_bytes

    def start(self) -> None:
        """Start the workers now (they import in the background), not at the first PDF."""
        self.workers.start()

    def close(self) -> None:
        self.workers.close()

    def validate(self, session: Session, pdf: bytes) -> SignatureReport:
        """The seal's report for a PDF, against the hub's trust anchors.

        The registry's word on the seal certificate's revocation needs the database, so it is asked
        here, by the serial the report names; when the seal was revoked (rare) the worker validates
        again knowing it."""
        anchors = self.signing.trust_anchors()
        report = self._call(seal_report, pdf, anchors, {})
        serial = report.signer_serial
        if serial is not None:
            with self.signing.using(session):
                revoked = self.signing.revocation_of(serial)
            if revoked is not None:
                report = self._call(seal_report, pdf, anchors, {serial: revoked})
        return report

    def declared_identifier(self, pdf: bytes) -> str | None:
        """The certificate identifier a PDF declares, if any."""
        return self._call(declared_identifier, pdf)

    def check_upload(self, pdf: bytes) -> None:
        """A department's own PDF, checked before sealing (``check_uploaded_pdf``)."""
        self._call(partial(check_uploaded_pdf, max_bytes=self.max_pdf_bytes), pdf)

    def _call(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in a PDF worker. Up to ``pdf_check_workers`` calls run at once, each in its
        own process — side by side, where threads validating at once took turns under one GIL and
        cost more CPU each (docs/benchmarks.md, "Verification")."""
        try:
            return self.workers.call(fn, *args)
        except LimitExceeded as exc:
            raise PdfTooComplex(_beyond(exc), field="file") from None
        except PoolBusy:
            raise Unavailable(
                "every PDF worker is busy; retry later",
                retry_after=max(1, round(self.workers.bounds.seconds)),
                code="pdf_workers_busy",
            ) from None


def _beyond(exc: LimitExceeded) -> str:
    """Why a PDF could not be read, in words for whoever sent it."""
    bounds = exc.bounds
    if exc.reason == "memory":
        return f"the PDF could not be read within {bounds.memory_bytes // (1024 * 1024)} MiB of memory"
    if exc.reason == "cpu":
        return f"the PDF could not be read within {bounds.cpu:g} seconds of CPU time"
    if exc.reason == "crashed":
        return "the PDF stopped the process reading it"
    return f"the PDF could not be read within {bounds.seconds:g} seconds"
