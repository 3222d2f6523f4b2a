"""Code formats: 统一社会信用代码, certificate type codes, catalog codes — and the one USCC check."""

from __future__ import annotations

import pytest

from catalog.codes import catalog_code_valid, identifier_valid, type_code_valid, uscc_valid, validate_uscc
from catalog.errors import InvalidUSCC, USCCNotCompact
from kernel.errors import ValidationFailed
from tests.catalog.bodies import ORG, PUBLISHED_TYPE, TYPE


def test_uscc_valid_accepts_a_computed_code_and_rejects_a_wrong_check_character() -> None:
    assert uscc_valid(ORG)
    wrong = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    assert not uscc_valid(wrong)
    assert not uscc_valid(ORG.lower())


def test_type_code_is_a_uscc_plus_three_digits() -> None:
    assert type_code_valid(TYPE)
    assert type_code_valid(PUBLISHED_TYPE)
    assert not type_code_valid(ORG + "01")
    assert not type_code_valid(ORG + "0A1")
    wrong_check = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    assert not type_code_valid(wrong_check + "001")


def test_catalog_codes_are_url_safe() -> None:
    assert catalog_code_valid("SC-FOOD-LICENCE")
    assert catalog_code_valid("310101.001_2")
    assert not catalog_code_valid("a/b")
    assert not catalog_code_valid("-x")
    assert not catalog_code_valid("")
    assert not catalog_code_valid("x" * 65)


def test_validate_uscc_is_the_compact_code_or_says_why_not() -> None:
    assert validate_uscc(ORG) == ORG
    assert validate_uscc(f" {ORG[:8]}-{ORG[8:].lower()} ") == ORG
    wrong = ORG[:-1] + ("0" if ORG[-1] != "0" else "1")
    with pytest.raises(InvalidUSCC) as info:
        validate_uscc(wrong, field="holder.code")
    assert isinstance(info.value, ValidationFailed) and info.value.code == "validation_failed"
    assert info.value.field == "holder.code"
    assert info.value.reason == "The number's checksum or check digit is invalid."
    assert wrong not in info.value.reason


def test_validate_uscc_compact_only_refuses_separators_and_lowercase() -> None:
    for written in (ORG.lower(), f"{ORG[:8]}-{ORG[8:]}", f" {ORG}"):
        with pytest.raises(USCCNotCompact):
            validate_uscc(written, compact_only=True)
    assert validate_uscc(ORG, compact_only=True) == ORG


def test_identifiers_are_snake_case() -> None:
    assert identifier_valid("company_name")
    assert not identifier_valid("CompanyName")
    assert not identifier_valid("_x")
    assert not identifier_valid("x" * 65)
