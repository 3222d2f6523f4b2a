"""Hostile PDFs against the functions the hub runs on a file from outside: the seal's report
(``certificates.untrusted_pdf.seal_report``), the identifier a file declares, and the check of a
department's own PDF before sealing (``certificates.uploads.check_uploaded_pdf``).

Each runs in a PDF worker built as the hub builds them (``hub.pdf_checks.build_pdf_workers``, default
bounds), so each case is held to the production time and memory bound; a file that needs more is
stopped by that bound (``LimitExceeded``). The endpoints' answers: ``tests/hub/test_hostile_pdfs.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from pyhanko.pdf_utils.generic import DictionaryObject, NameObject, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from certificates.untrusted_pdf import TrustAnchors, declared_identifier, seal_report
from certificates.uploads import check_uploaded_pdf
from hub.isolation import IsolatedPool, LimitExceeded
from hub.pdf_checks import build_pdf_workers
from hub.settings import Limits
from kernel.errors import DomainError
from signing.crl import RevocationInfo
from signing.filekeys import FileKeyStore
from signing.pades import Sealer, SealIdentity
from signing.pki.authority import HubPKI
from signing.validation import SignatureReport
from tests import hostile

KEY = b"hostile corpus test key, 32 byte"
USCC = "11310000MB0000001X"
LIMITS = Limits()


@dataclass(frozen=True)
class Authority:
    anchors: TrustAnchors
    sealed: bytes
    serial: int


def _authority(directory: Path, name: str) -> Authority:
    pki = HubPKI.open_or_create(directory / "pki", KEY, org_name=name, base_url="http://127.0.0.1:9")
    keys = FileKeyStore(directory / "keys", KEY)
    cert = pki.issue_seal_certificate(keys.ensure_key("seal"), "示范市市场监督管理局", USCC)
    identity = SealIdentity("seal", cert, "示范市市场监督管理局", USCC)
    sealed = Sealer(pki, keys, timestamper=None, level="B-B").seal(hostile.plain(), identity).pdf
    anchors = TrustAnchors((pki.root_cert.dump(),), (pki.issuing_cert.dump(),))
    return Authority(anchors, sealed, int(cert.serial_number))


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return _authority(tmp_path_factory.mktemp("ours"), "测试市大数据局")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """A self-made CA the caller does not trust, sealing in a department's name."""
    return _authority(tmp_path_factory.mktemp("foreign"), "外省某局")


@pytest.fixture(scope="module")
def workers() -> Iterator[IsolatedPool]:
    pool = build_pdf_workers(LIMITS)
    yield pool
    pool.close()


def _javascript_after(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): pdf_string("app.alert(1)")}
    )
    writer.root["/OpenAction"] = writer.add_object(action)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def corpus(ours: Authority, foreign: Authority) -> dict[str, bytes]:
    return {
        "5,000 fields in one object stream": hostile.fields_in_one_object_stream(5000),
        "a million objects": hostile.fields_in_one_object_stream(1_000_000, fields_packed=True),
        "400 million field visits in 280 kB": hostile.one_field_listed_many_times(),
        "a truncated seal": ours.sealed[: len(ours.sealed) // 2],
        "a looping /Prev": hostile.looping_prev(),
        "bytes after %%EOF": ours.sealed + b"\nbytes after the end of the file\n",
        "a page of 1 GiB of zeros": hostile.inflation_bomb(),
        "an object stream of 1 GiB of zeros": hostile.object_stream_bomb(),
        "encrypted": hostile.encrypted(),
        "JavaScript on open": hostile.open_action_javascript(),
        "JavaScript added after the seal": _javascript_after(ours.sealed),
        "a field that is its own kid": hostile.field_that_is_its_own_kid(),
        "a page tree that holds itself": hostile.page_tree_loop(),
        "an object that refers to itself": hostile.self_reference(),
        "a foreign CA's seal": foreign.sealed,
        "unsealed": hostile.plain(),
        "our seal": ours.sealed,
    }


LIMIT = "beyond the bounds"
# case: (indication, sub-indication, a phrase of the problems) of the seal's report
REPORTS: dict[str, tuple[str, str | None, str] | str] = {
    "5,000 fields in one object stream": ("INDETERMINATE", "SIGNED_DATA_NOT_FOUND", "no electronic seal"),
    "a million objects": LIMIT,
    "400 million field visits in 280 kB": LIMIT,
    "a truncated seal": ("TOTAL_FAILED", "FORMAT_FAILURE", "not a readable PDF"),
    "a looping /Prev": ("TOTAL_FAILED", "FORMAT_FAILURE", "not a readable PDF"),
    "bytes after %%EOF": ("TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", "appended after its last revision"),
    "a page of 1 GiB of zeros": ("INDETERMINATE", "SIGNED_DATA_NOT_FOUND", "no electronic seal"),
    "an object stream of 1 GiB of zeros": ("TOTAL_FAILED", "FORMAT_FAILURE", "not a readable PDF"),
    "encrypted": ("INDETERMINATE", "SIGNED_DATA_NOT_FOUND", "no electronic seal"),
    "JavaScript on open": ("INDETERMINATE", "SIGNED_DATA_NOT_FOUND", "no electronic seal"),
    "JavaScript added after the seal": ("TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", "changed after sealing"),
    "a field that is its own kid": ("TOTAL_FAILED", "FORMAT_FAILURE", "not a readable PDF"),
    "a page tree that holds itself": ("INDETERMINATE", "SIGNED_DATA_NOT_FOUND", "no electronic seal"),
    "an object that refers to itself": ("TOTAL_FAILED", "FORMAT_FAILURE", "not a readable PDF"),
    "a foreign CA's seal": (
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "not issued by a trusted authority",
    ),
    "unsealed": ("INDETERMINATE", "SIGNED_DATA_NOT_FOUND", "no electronic seal"),
    "our seal": ("TOTAL_PASSED", None, ""),
}
# case: the error code a department's upload gets (None: accepted for sealing)
UPLOADS: dict[str, str | None] = {
    "5,000 fields in one object stream": None,
    "a million objects": LIMIT,
    "400 million field visits in 280 kB": LIMIT,
    "a truncated seal": "pdf_unreadable",
    "a looping /Prev": "pdf_unreadable",
    "bytes after %%EOF": None,
    "a page of 1 GiB of zeros": "pdf_too_large",
    "an object stream of 1 GiB of zeros": "pdf_unreadable",
    "encrypted": "pdf_encrypted",
    "JavaScript on open": "pdf_javascript",
    "JavaScript added after the seal": "pdf_javascript",
    "a field that is its own kid": "pdf_unreadable",
    "a page tree that holds itself": "pdf_unreadable",
    "an object that refers to itself": "pdf_unreadable",
    "a foreign CA's seal": None,
    "unsealed": None,
    "our seal": None,
}


@pytest.mark.parametrize("case", list(REPORTS))
def test_the_seals_report(
    case: str, corpus: dict[str, bytes], ours: Authority, workers: IsolatedPool
) -> None:
    expected = REPORTS[case]
    if expected == LIMIT:
        with pytest.raises(LimitExceeded):
            workers.call(seal_report, corpus[case], ours.anchors, {})
        return
    report: SignatureReport = workers.call(seal_report, corpus[case], ours.anchors, {})
    assert isinstance(expected, tuple)
    indication, sub, phrase = expected
    assert (report.indication, report.sub_indication) == (indication, sub), report.problems
    assert phrase in " / ".join(report.problems)


@pytest.mark.parametrize("case", list(UPLOADS))
def test_the_upload_check(case: str, corpus: dict[str, bytes], workers: IsolatedPool) -> None:
    check = partial(check_uploaded_pdf, max_bytes=LIMITS.max_pdf_bytes)
    expected = UPLOADS[case]
    if expected == LIMIT:
        with pytest.raises(LimitExceeded):
            workers.call(check, corpus[case])
        return
    if expected is None:
        workers.call(check, corpus[case])
        return
    with pytest.raises(DomainError) as caught:
        workers.call(check, corpus[case])
    assert (caught.value.code, caught.value.field) == (expected, "file")


def test_a_seal_the_caller_knows_was_revoked_fails(ours: Authority, workers: IsolatedPool) -> None:
    """The registry's revocations reach the worker as data, by serial number."""
    revoked = {ours.serial: RevocationInfo(datetime(2020, 1, 1, tzinfo=UTC))}
    report: SignatureReport = workers.call(seal_report, ours.sealed, ours.anchors, revoked)
    assert (report.indication, report.sub_indication) == ("TOTAL_FAILED", "REVOKED")


IDENTIFIER = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"


def test_the_identifier_a_file_declares_is_read() -> None:
    info = b"<</Subject(%s)>>" % IDENTIFIER.encode()
    declaring = hostile.classic({**hostile.ONE_PAGE, 4: info}, trailer=b"/Info 4 0 R")
    assert declared_identifier(declaring) == IDENTIFIER


@pytest.mark.parametrize("case", ["a looping /Prev", "an object that refers to itself", "encrypted"])
def test_a_hostile_file_declares_no_identifier(
    case: str, corpus: dict[str, bytes], workers: IsolatedPool
) -> None:
    assert workers.call(declared_identifier, corpus[case]) is None
