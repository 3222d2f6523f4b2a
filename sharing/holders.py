"""Whose data a request is about: a holder named by kind and code, known to the hub by blind index."""

from __future__ import annotations

from dataclasses import dataclass

from certificates.privacy import HolderVault
from certificates.requests import validate_holder_code
from kernel.actor import Actor, Citizen
from kernel.errors import ValidationFailed
from sharing.errors import HoldersOnly


@dataclass(frozen=True)
class HolderRef:
    kind: str  # 111 resident identity number, 001 USCC
    code: str
    index: str  # the blind index certificates and consents are keyed by


def holder_ref(vault: HolderVault, kind: str, code: str, *, field: str = "holder") -> HolderRef:
    """A holder from a request body, its code checked (422 naming the field, never echoing the code)."""
    if kind not in ("111", "001"):
        raise ValidationFailed("holder kind must be 111 or 001", field=f"{field}.kind")
    compact = validate_holder_code(kind, code, field_name=f"{field}.code")
    return HolderRef(kind, compact, vault.blind_index(kind, compact))


def signed_in_holder(vault: HolderVault, actor: Actor) -> tuple[Citizen, HolderRef]:
    """The holder a citizen token names; anyone else may not use the holder's own paths (403)."""
    citizen = actor.citizen
    if citizen is None:
        raise HoldersOnly("this needs a citizen token", code="forbidden")
    index = vault.blind_index(citizen.holder_kind, citizen.holder_code)
    return citizen, HolderRef(citizen.holder_kind, citizen.holder_code, index)
