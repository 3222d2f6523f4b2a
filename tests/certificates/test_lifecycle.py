"""The lifecycle table, entry by entry, and the one rule of "usable now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from certificates.errors import InvalidTransition
from certificates.lifecycle import Status, effective_status, transition, usability

# Every allowed move and its action, written out here independently of lifecycle.TRANSITIONS.
ALLOWED = {
    ("01", "02"): "withhold",
    ("01", "03"): "withdraw",
    ("01", "04"): "cancel",
    ("01", "05"): "expire",
    ("01", "06"): "transfer",
    ("01", "07"): "revoke",
    ("01", "99"): "other",
    ("02", "01"): "return",
    ("02", "03"): "withdraw",
    ("02", "04"): "cancel",
    ("02", "05"): "expire",
    ("02", "07"): "revoke",
    ("99", "01"): "return",
    ("99", "03"): "withdraw",
    ("99", "04"): "cancel",
    ("99", "07"): "revoke",
}
CODES = ["01", "02", "03", "04", "05", "06", "07", "99"]
PAIRS = [(a, b) for a in CODES for b in CODES]


def test_the_codes_are_those_of_the_standard() -> None:
    assert sorted(s.value for s in Status) == CODES


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p in ALLOWED])
def test_an_allowed_move_names_its_action(current: str, target: str) -> None:
    assert transition(Status(current), Status(target)) == ALLOWED[(current, target)]


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p not in ALLOWED])
def test_any_other_move_is_an_invalid_transition(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition) as e:
        transition(Status(current), Status(target))
    assert e.value.code == "invalid_transition"
    assert current in e.value.detail and target in e.value.detail


@pytest.mark.parametrize("final", ["03", "04", "05", "06", "07"])
def test_final_statuses_lead_nowhere(final: str) -> None:
    assert all((final, target) not in ALLOWED for target in CODES)


TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("stored", "valid_until", "expected"),
    [
        ("01", None, "01"),
        ("01", date(2026, 6, 1), "01"),  # the last day is still inside validity
        ("01", date(2026, 5, 31), "05"),
        ("02", date(2026, 5, 31), "05"),
        ("03", date(2026, 5, 31), "03"),  # a withdrawn certificate stays withdrawn
        ("99", date(2026, 5, 31), "99"),
    ],
)
def test_validity_past_its_end_reads_as_expired(stored: str, valid_until: date | None, expected: str) -> None:
    assert effective_status(stored, valid_until, TODAY).value == expected


@dataclass
class Version:
    status: str = "01"
    valid_from: date = date(2026, 1, 1)
    valid_until: date | None = None
    successor_id: str | None = None


def test_a_current_valid_version_inside_its_validity_is_usable() -> None:
    state = usability(Version(), TODAY)
    assert state.usable and state.status is Status.VALID and state.replaced_by is None


@pytest.mark.parametrize(
    ("version", "why"),
    [
        (Version(successor_id="1.2.156.3005.2.next"), "replaced"),
        (Version(status="02"), "status"),
        (Version(valid_until=date(2026, 5, 31)), "status"),
        (Version(valid_from=date(2026, 6, 2)), "not_yet_valid"),
    ],
)
def test_anything_else_is_not_usable_and_says_why(version: Version, why: str) -> None:
    state = usability(version, TODAY)
    assert not state.usable
    assert {
        "replaced": state.replaced_by is not None,
        "status": state.status is not Status.VALID,
        "not_yet_valid": state.not_yet_valid,
    }[why]
