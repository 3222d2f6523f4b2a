"""asn1crypto's indefinite-length test (signing/asn1_fix.py): a definite length ending in 0x80 is kept."""

from __future__ import annotations

from typing import ClassVar

from asn1crypto import core

import signing.asn1_fix as fix


class Probe(core.Sequence):
    _fields: ClassVar[list[tuple[str, type]]] = [("value", core.OctetString)]


def _sequence_of_length_0x0f80() -> bytes:
    """A SEQUENCE of 3,968 (0x0F80) content bytes: header 30 82 0F 80. Its one OCTET STRING has a
    non-minimal (BER) length, so any re-encoding shows in the bytes."""
    payload = b"\x5a" * (0x0F80 - 5)
    child = b"\x04\x83\x00" + len(payload).to_bytes(2, "big") + payload  # 04 83 00 0F 7B: BER, not DER
    assert len(child) == 0x0F80
    return b"\x30\x82\x0f\x80" + child


def test_the_patch_is_applied_when_signing_is_imported() -> None:
    assert fix.PATCHED and getattr(core, fix.PATCHED_FLAG)
    assert fix.apply() is True  # idempotent


def test_a_definite_length_whose_last_byte_is_0x80_is_not_re_encoded() -> None:
    der = _sequence_of_length_0x0f80()
    value = Probe.load(der)
    assert value.dump() == der  # unpatched asn1crypto re-encodes: 30 82 0F 7F 04 82 0F 7B …
    assert value["value"].native == der[9:]
    assert value.dump() == der  # and stays so on every read


def test_a_real_indefinite_length_is_still_re_encoded_to_der() -> None:
    payload = b"\x01\x02\x03"
    ber = b"\x30\x80" + b"\x04\x03" + payload + b"\x00\x00"
    value = Probe.load(ber)
    assert value.dump() == b"\x30\x05\x04\x03" + payload
