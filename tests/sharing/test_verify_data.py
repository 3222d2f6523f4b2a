"""Data verification's result codes (standards.md): the data first, then the certificate's status."""

from __future__ import annotations

import pytest

from certificates.lifecycle import Status, Usability
from sharing.verify_data import judge

FACE = {"name": "林晓梅", "children": 2, "married": True, "note": ""}
USABLE = Usability(Status.VALID, None, False)


@pytest.mark.parametrize(
    ("submitted", "state", "result", "mismatched"),
    [
        ({"name": "林晓梅"}, USABLE, 0, ()),
        ({"name": " 林晓梅 ", "children": "2", "married": "true"}, USABLE, 0, ()),  # JSON spellings agree
        ({"name": "林晓梅"}, Usability(Status.VALID, None, True), 1, ()),
        ({"name": "林晓梅"}, Usability(Status.WITHHELD, None, False), 2, ()),
        ({"name": "林晓梅"}, Usability(Status.REVOKED, None, False), 3, ()),
        ({"name": "林晓梅"}, Usability(Status.EXPIRED, None, False), 3, ()),
        ({"name": "林晓梅"}, Usability(Status.VALID, "1.2.156.3005.2.next", False), 3, ()),
        ({}, USABLE, 4, ()),
        ({"note": "x"}, USABLE, 6, ("note",)),
        ({"unknown": "x"}, USABLE, 6, ("unknown",)),
        ({"name": "王五", "children": 3}, USABLE, 7, ("children", "name")),
        ({"name": "王五"}, Usability(Status.REVOKED, None, False), 7, ("name",)),  # wrong data says no status
    ],
)
def test_each_result_code(
    submitted: dict[str, object], state: Usability, result: int, mismatched: tuple[str, ...]
) -> None:
    check = judge(FACE, submitted, state)
    assert (check.result, check.mismatched) == (result, mismatched)
