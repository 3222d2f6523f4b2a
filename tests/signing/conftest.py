"""A generated test PKI, a live local OCSP responder, and sealed sample documents.

The hub's base URL points at a small HTTP server in this process, so poppler/NSS can check the seal
certificate's status online (pdfsig does an OCSP request to the AIA URL) against our own responder.
Everything heavy is session-scoped: one PKI, one key, one sealed document per level.
"""

from __future__ import annotations

import base64
import io
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from signing.crl import RevocationInfo
from signing.filekeys import FileKeyStore
from signing.ocsp import respond
from signing.pades import Level, Sealer, SealIdentity
from signing.pki.authority import HubPKI
from signing.revocation import PkiRevocationProvider
from signing.tsa import LocalTimeStamper, TimestampAuthority
from tests.pdfsig import Pdfsig

MASTER_KEY = b"test master key, 32 bytes long!!"
HUB_ORG = "测试市大数据局"
DEPT = "测试市公安局"
USCC = "11330100MB0000001X"
VISIBLE_TEXT = "Certificate of residence"


@dataclass
class HubEnv:
    directory: Path
    pki: HubPKI
    keystore: FileKeyStore
    seal: SealIdentity
    authority: TimestampAuthority
    timestamper: LocalTimeStamper
    revocation: PkiRevocationProvider
    revoked: dict[int, RevocationInfo] = field(default_factory=dict)
    sealers: dict[str, Sealer] = field(default_factory=dict)

    def status_of(self, serial: int) -> RevocationInfo | None:
        return self.revoked.get(serial)

    def sealer(self, level: Level, *, direct: bool = True) -> Sealer:
        """The session's sealer for ``level``; ``direct=False`` keeps pyHanko for every document."""
        key = f"{level}/{'direct' if direct else 'pyhanko'}"
        if key not in self.sealers:
            self.sealers[key] = Sealer(
                self.pki,
                self.keystore,
                timestamper=self.timestamper if level != "B-B" else None,
                level=level,
                revocation=self.revocation,
                direct=direct,
            )
        return self.sealers[key]


class _PkiHandler(BaseHTTPRequestHandler):
    env: HubEnv | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _ocsp(self, body: bytes) -> None:
        env = _PkiHandler.env
        assert env is not None
        out = respond(
            body,
            env.status_of,
            responder_cert=env.pki.ocsp_cert,
            responder_key=env.pki.ocsp_key,
            ca_cert=env.pki.issuing_cert,
            now=datetime.now(UTC),
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self._ocsp(self.rfile.read(length))

    def do_GET(self) -> None:
        prefix = "/pki/ocsp/"
        if self.path.startswith(prefix):
            self._ocsp(base64.b64decode(urllib.parse.unquote(self.path[len(prefix) :])))
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture(scope="session")
def pki_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PkiHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory, pki_server: str) -> HubEnv:
    directory = tmp_path_factory.mktemp("hub")
    pki = HubPKI.open_or_create(directory / "pki", MASTER_KEY, org_name=HUB_ORG, base_url=pki_server)
    keystore = FileKeyStore(directory / "keys", MASTER_KEY)
    cert = pki.issue_seal_certificate(keystore.ensure_key("dept-police"), DEPT, USCC)
    authority = TimestampAuthority(pki.tsa_cert, pki.tsa_key, pki.chain)
    env = HubEnv(
        directory=directory,
        pki=pki,
        keystore=keystore,
        seal=SealIdentity("dept-police", cert, DEPT, USCC),
        authority=authority,
        timestamper=LocalTimeStamper(authority),
        revocation=None,  # type: ignore[arg-type]  # set just below, it needs env.status_of
    )
    env.revocation = PkiRevocationProvider(pki, env.status_of)
    _PkiHandler.env = env
    return env


def make_pdf(text: str = VISIBLE_TEXT) -> bytes:
    buffer = io.BytesIO()
    # uncompressed page content, so a test can flip one visible letter
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    pdf.setFont("Helvetica", 18)
    pdf.drawString(72, 760, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def sample_pdf() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session", params=["direct", "pyhanko"])
def writer(request: pytest.FixtureRequest) -> str:
    """Who writes the seal: the direct path (``signing.direct``) or pyHanko, the reference path.
    Every test of a sealed document runs against both."""
    return str(request.param)


@pytest.fixture(scope="session")
def sealed(hub: HubEnv, sample_pdf: bytes, writer: str) -> Callable[[Level], bytes]:
    """One sealed copy of the sample per level and writer, made on first use."""
    cache: dict[str, bytes] = {}

    def get(level: Level) -> bytes:
        if level not in cache:
            result = hub.sealer(level, direct=writer == "direct").seal(sample_pdf, hub.seal)
            assert result.level == level
            cache[level] = result.pdf
        return cache[level]

    return get


@pytest.fixture(scope="session")
def pdfsig(tmp_path_factory: pytest.TempPathFactory, hub: HubEnv) -> Callable[[bytes], str]:
    """Run poppler's pdfsig, trusting the test PKI's root, on PDF bytes; return its report."""
    return Pdfsig(tmp_path_factory.mktemp("pdfsig"), (hub.directory / "pki" / "root.crt.pem").read_bytes())


def first_signature_block(pdfsig_output: str) -> str:
    """The part of pdfsig's report about signature #1 (the seal)."""
    block = pdfsig_output.split("Signature #1:", 1)[1]
    return block.split("Signature #2:", 1)[0]
