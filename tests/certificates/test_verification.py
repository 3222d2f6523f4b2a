"""Verification outcomes: a PDF's answer from its seal's report and its registry entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from certificates.models import Certificate
from certificates.verification import pdf_verdict, registry_problems
from signing.validation import Coverage, Indication, SignatureReport

TODAY = date(2026, 6, 1)
ISSUER = "11310000MB00000017"

GOOD = SignatureReport(
    indication=Indication.TOTAL_PASSED,
    sub_indication=None,
    signed=True,
    intact=True,
    trusted=True,
    signed_by="示范市市场监督管理局",
    signer_uscc=ISSUER,
    signer_serial=1,
    signed_at=None,
    timestamped=True,
    level="B-LT",
    coverage=Coverage.WHOLE_DOCUMENT,
    modified_after_signing=False,
    revoked_at=None,
    problems=(),
)


def _cert(**changes: object) -> Certificate:
    values: dict[str, object] = {
        "id": "1.2.156.3005.2.X",
        "issuer_code": ISSUER,
        "status": "01",
        "valid_from": date(2026, 1, 1),
        "valid_until": None,
        "successor_id": None,
    }
    values.update(changes)
    return Certificate(**values)


def test_an_intact_trusted_seal_of_a_usable_certificate_is_valid() -> None:
    assert pdf_verdict(GOOD, _cert(), TODAY) == ("valid", ())


def test_a_document_without_a_seal_is_invalid() -> None:
    result, problems = pdf_verdict(replace(GOOD, signed=False), None, TODAY)
    assert result == "invalid" and problems == ("the document carries no seal",)


@pytest.mark.parametrize(
    "report",
    [
        replace(GOOD, indication=Indication.TOTAL_FAILED, problems=("the seal's signature is broken",)),
        replace(GOOD, intact=False),
        replace(GOOD, coverage=Coverage.MODIFIED),
        replace(GOOD, modified_after_signing=True),
    ],
)
def test_a_broken_or_altered_seal_is_invalid(report: SignatureReport) -> None:
    result, _ = pdf_verdict(report, _cert(), TODAY)
    assert result == "invalid"


def test_a_change_after_sealing_is_said_once() -> None:
    _, problems = pdf_verdict(replace(GOOD, coverage=Coverage.MODIFIED), _cert(), TODAY)
    assert problems == ("the document was changed after it was sealed",)


def test_an_untrusted_chain_is_indeterminate_and_stays_so_for_an_unusable_certificate() -> None:
    report = replace(GOOD, indication=Indication.INDETERMINATE, problems=("no trust anchor",))
    assert pdf_verdict(report, _cert(), TODAY)[0] == "indeterminate"
    result, problems = pdf_verdict(report, _cert(status="07"), TODAY)
    assert result == "indeterminate" and "the certificate was revoked (吊销)" in problems


def test_a_sound_seal_the_registry_does_not_know_is_indeterminate() -> None:
    result, problems = pdf_verdict(GOOD, None, TODAY)
    assert result == "indeterminate"
    assert problems == ("the hub's registry holds no certificate for this document",)


def test_a_seal_of_another_department_is_invalid() -> None:
    result, problems = pdf_verdict(replace(GOOD, signer_uscc="11310000MB00000025"), _cert(), TODAY)
    assert result == "invalid" and problems == ("the seal is not the issuing department's",)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"status": "02"}, "the certificate is withheld (暂扣) by its issuer"),
        ({"status": "03"}, "the certificate was withdrawn (撤销) by its issuer"),
        ({"status": "04"}, "the certificate was cancelled (注销)"),
        ({"status": "05"}, "the certificate has expired (失效)"),
        ({"valid_until": date(2026, 5, 31)}, "the certificate has expired (失效)"),
        ({"status": "06"}, "the certificate was transferred out (迁出)"),
        ({"status": "07"}, "the certificate was revoked (吊销)"),
        ({"status": "99"}, "the certificate is not in force (其他)"),
        ({"valid_from": date(2026, 6, 2)}, "the certificate is not valid yet"),
        ({"successor_id": "1.2.156.3005.2.Y"}, "this version was replaced by a newer one (1.2.156.3005.2.Y)"),
    ],
)
def test_a_sound_seal_of_an_unusable_certificate_is_invalid_and_says_why(
    changes: dict[str, object], problem: str
) -> None:
    result, problems = pdf_verdict(GOOD, _cert(**changes), TODAY)
    assert result == "invalid" and problems == (problem,)


def test_a_usable_certificate_has_no_registry_problem() -> None:
    assert registry_problems(_cert(valid_until=TODAY), TODAY) == []


def test_the_hubs_own_seal_stands_for_the_issuer_on_an_annotated_copy() -> None:
    by_hub = replace(GOOD, signer_uscc="12310000MB0HUB000J")
    assert pdf_verdict(by_hub, _cert(), TODAY, copy_sealer="12310000MB0HUB000J") == ("valid", ())
    assert pdf_verdict(by_hub, _cert(), TODAY)[0] == "invalid"  # not without being told it is the hub's
