"""Sealing throughput: a naive pyHanko loop against ``signing.pades.Sealer``.

    .venv/bin/python bench/sealing.py [N]        (default N=200)

(a) naive: per document, render a one-page PDF, load the signer from PEM files, sign with a CJK
    text stamp, let pyHanko estimate the signature size (it signs twice).
(b) Sealer: render the same PDF, seal with keys loaded once, the cached seal image and
    ``bytes_reserved``.
Both at B-B and at B-T (in-process TSA). At B-LT the Sealer building its validation context
(OCSP responses, root CRL, validated chain) per document against reusing it for five minutes.
Single process: docs/s is per core.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from signing.filekeys import FileKeyStore
from signing.pades import DEFAULT_BOX, Level, Sealer, SealIdentity
from signing.pki.authority import HubPKI
from signing.revocation import PkiRevocationProvider
from signing.seal_image import DEFAULT_FONT
from signing.tsa import LocalTimeStamper, TimestampAuthority

MASTER_KEY = b"bench master key, 32 bytes long!"
DEPT = "测试市公安局"
USCC = "11330100MB0000001X"


def render(i: int) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setFont("Helvetica", 18)
    pdf.drawString(72, 760, f"Certificate No. {i:08d}")
    pdf.drawString(72, 730, "Holder: Zhang San")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def timed(label: str, n: int, one: Callable[[int], object]) -> float:
    one(-1)  # warm-up: imports, caches, the TSA's first token
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        one(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ms = 1000 * wall / n
    print(f"  {label:<34} {ms:8.1f} ms/doc  {n / cpu:8.1f} docs/s per core (cpu {1000 * cpu / n:.1f} ms/doc)")
    return ms


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    work = Path(tempfile.mkdtemp(prefix="bench-sealing-"))
    pki = HubPKI.open_or_create(
        work / "pki", MASTER_KEY, org_name="测试市大数据局", base_url="http://127.0.0.1"
    )
    keystore = FileKeyStore(work / "keys", MASTER_KEY)
    cert = pki.issue_seal_certificate(keystore.ensure_key("dept"), DEPT, USCC)
    seal = SealIdentity("dept", cert, DEPT, USCC)
    authority = TimestampAuthority(pki.tsa_cert, pki.tsa_key, pki.chain)

    # files the naive loop loads on every document, as a script calling pyHanko per file would
    key_file, cert_file, chain_file = work / "seal.key.pem", work / "seal.crt.pem", work / "chain.pem"
    signer = keystore.signer("dept", cert, pki.chain)
    key_obj = signer._key
    key_file.write_bytes(
        key_obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(_pem(cert.dump()))
    chain_file.write_bytes(b"".join(_pem(c.dump()) for c in pki.chain))
    text_style = _text_box_style(work)

    def naive(level: Level) -> Callable[[int], object]:
        def one(i: int) -> object:
            pdf = render(i)
            fresh = signers.SimpleSigner.load(
                str(key_file), str(cert_file), ca_chain_files=(str(chain_file),)
            )
            assert fresh is not None
            style = TextStampStyle(  # a text stamp, as pyHanko's defaults would have it
                stamp_text=f"{DEPT}\n电子证照专用章\n%(ts)s" if text_style else "Sealed: %(signer)s\n%(ts)s",
                text_box_style=text_style or TextBoxStyle(),
            )
            meta = signers.PdfSignatureMetadata(
                field_name="Seal", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
            )
            pdf_signer = signers.PdfSigner(
                meta,
                fresh,
                timestamper=LocalTimeStamper(authority) if level == "B-T" else None,
                stamp_style=style,
                new_field_spec=fields.SigFieldSpec("Seal", on_page=0, box=DEFAULT_BOX),
            )
            out = io.BytesIO()
            pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out)
            return out

        return one

    def ours(sealer: Sealer) -> Callable[[int], object]:
        def one(i: int) -> object:
            result = sealer.seal(render(i), seal)
            assert result.level == sealer.level
            return result

        return one

    print(f"sealing {n} one-page certificates (EC P-256, SHA-256), single process")
    timed("render only (reportlab)", n, render)
    for level in ("B-B", "B-T"):
        print(f"{level}:")
        naive_ms = timed("(a) naive pyHanko loop", n, naive(level))
        timestamper = LocalTimeStamper(authority) if level == "B-T" else None
        reference = Sealer(pki, keystore, timestamper=timestamper, level=level, direct=False)
        reference_ms = timed("(b) Sealer, pyHanko path", n, ours(reference))
        direct = Sealer(pki, keystore, timestamper=timestamper, level=level)
        direct_ms = timed("(c) Sealer, direct path", n, ours(direct))
        print(f"  speed-up over naive: pyHanko path {naive_ms / reference_ms:.1f}x,", end="")
        print(f" direct {naive_ms / direct_ms:.1f}x")
    print("B-LT (OCSP responses + root CRL from the hub's own PKI, embedded in the DSS):")
    revocation = PkiRevocationProvider(pki, lambda serial: None)
    stamper = LocalTimeStamper(authority)
    fresh = Sealer(
        pki,
        keystore,
        timestamper=stamper,
        level="B-LT",
        revocation=revocation,
        context_ttl=timedelta(0),
        direct=False,
    )
    fresh_ms = timed("(b) pyHanko path, context per document", n, ours(fresh))
    cached = Sealer(pki, keystore, timestamper=stamper, level="B-LT", revocation=revocation, direct=False)
    cached_ms = timed("(c) pyHanko path, context reused 5 min", n, ours(cached))
    direct = Sealer(pki, keystore, timestamper=stamper, level="B-LT", revocation=revocation)
    direct_ms = timed("(d) direct path, DSS material reused", n, ours(direct))
    print(f"  speed-up {fresh_ms / cached_ms:.2f}x (context reuse), ", end="")
    print(f"{cached_ms / direct_ms:.1f}x (direct path)")


def _text_box_style(work: Path) -> TextBoxStyle | None:
    """A CJK text stamp when pyHanko's OpenType support (fontTools, uharfbuzz) is installed.

    Without it pyHanko can only use its built-in Latin font, which needs no subsetting, so the
    naive loop below is then *faster* than a real CJK text stamp (~650 ms more per signature).
    """
    try:
        import uharfbuzz  # noqa: F401
        from fontTools.ttLib import TTCollection
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    except ImportError:
        print("note: pyHanko[opentype] missing, naive loop uses the built-in Latin font (no CJK subsetting)")
        return None
    font_file = work / "wqy-microhei.ttf"
    TTCollection(str(DEFAULT_FONT)).fonts[0].save(str(font_file))
    return TextBoxStyle(font=GlyphAccumulatorFactory(str(font_file)))


def _pem(der: bytes) -> bytes:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


if __name__ == "__main__":
    main()
