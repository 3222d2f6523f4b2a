"""The catalog's typed errors keep the kernel class (and so the HTTP status) and carry the catalog's code."""

from __future__ import annotations

import pytest

from catalog import errors
from kernel.errors import DomainError, NotFound, Unauthorized, ValidationFailed


@pytest.mark.parametrize(
    ("error", "base", "code"),
    [
        (errors.OrganizationNotFound, NotFound, "organization_not_found"),
        (errors.CertificateTypeNotFound, NotFound, "certificate_type_not_found"),
        (errors.DataResourceNotFound, NotFound, "data_resource_not_found"),
        (errors.ItemNotFound, NotFound, "item_not_found"),
        (errors.OneThingNotFound, NotFound, "one_thing_not_found"),
        (errors.ClientNotFound, NotFound, "client_not_found"),
        (errors.InvalidToken, Unauthorized, "invalid_token"),
    ],
)
def test_each_error_is_its_kernel_error_with_the_catalog_code(
    error: type[DomainError], base: type[DomainError], code: str
) -> None:
    raised = error("detail")
    assert isinstance(raised, base)
    assert raised.code == code


def test_path_errors_carry_where_they_are() -> None:
    unknown = errors.UnknownReference(
        "items[0]: no item 'X'", loc=("items", 0), message="no item 'X'", field="items[0]"
    )
    assert isinstance(unknown, ValidationFailed) and unknown.code == "unknown_reference"
    assert unknown.loc == ("items", 0) and unknown.message == "no item 'X'"
    assert errors.BodyInvalid("x", loc=(), message="x", field=None).code == "validation_failed"


def test_a_bad_uscc_stays_a_plain_validation_failure() -> None:
    assert errors.InvalidUSCC("X", "too short", field="code").code == "validation_failed"
    assert issubclass(errors.USCCNotCompact, errors.InvalidUSCC)
