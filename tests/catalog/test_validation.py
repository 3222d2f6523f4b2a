"""Error paths: validate_body names the field at fault by its path."""

from __future__ import annotations

import pytest

from catalog.schemas import ItemIn
from catalog.validation import format_loc, validate_body
from kernel.errors import ValidationFailed
from tests.catalog.bodies import item, mutate


def test_format_loc_writes_lists_with_brackets() -> None:
    assert format_loc(("materials", 0, "certificate_types", 1)) == "materials[0].certificate_types[1]"


def test_validate_body_prefix_is_prepended() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_body(ItemIn, mutate(item(), ["org"], "x"), prefix=("items", 4))
    assert info.value.field == "items[4].org"
