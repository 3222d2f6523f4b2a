"""poppler's pdfsig as an independent validator: an NSS database trusting one root, and a runner."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path


class Pdfsig:
    """``Pdfsig(directory, root_pem)(pdf_bytes)`` → pdfsig's report (it exits 0 even for bad signatures)."""

    def __init__(self, directory: Path, root_pem: str | bytes) -> None:
        self.directory = Path(directory)
        self.nss = self.directory / "nss"
        self.nss.mkdir(parents=True, exist_ok=True)
        root = self.directory / "root.pem"
        root.write_bytes(root_pem.encode() if isinstance(root_pem, str) else root_pem)
        subprocess.run(["certutil", "-N", "-d", f"sql:{self.nss}", "--empty-password"], check=True)
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{self.nss}", "-n", "hubroot", "-t", "CT,C,C", "-i", str(root)],
            check=True,
        )
        self._names = itertools.count()

    def __call__(self, pdf: bytes, *, online: bool = True) -> str:
        """The report; ``online=False`` skips NSS's OCSP request to the seal certificate's responder."""
        path = self.directory / f"doc{next(self._names)}.pdf"
        path.write_bytes(pdf)
        args = ["pdfsig", "-nssdir", f"sql:{self.nss}", *([] if online else ["-no-ocsp"]), str(path)]
        return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False).stdout
