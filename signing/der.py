"""DER building blocks for CMS structures assembled from pre-encoded parts.

asn1crypto builds and re-serializes a whole object tree on every ``dump()`` — thousands of calls for
one CMS SignedData. A seal's certificates, identifiers and algorithms never change, so they are
encoded once (by asn1crypto) and each signature only joins bytes around its few varying values with
these helpers. Everything they produce is parsed back by asn1crypto in the tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = [
    "context",
    "explicit",
    "generalized_time",
    "integer",
    "octet_string",
    "oid",
    "sequence",
    "set_of",
    "tlv",
]


def tlv(tag: int, content: bytes) -> bytes:
    """One DER value: tag byte, definite length, content."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def sequence(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    """A DER SET OF: its elements sorted by their encodings (X.690 11.6)."""
    return tlv(0x31, b"".join(sorted(parts)))


def integer(value: int) -> bytes:
    """An INTEGER in the fewest two's-complement bytes (a request's nonce may be negative)."""
    length = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(length, "big", signed=True))


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2:
        raise ValueError(f"not an object identifier: {dotted!r}")
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime in UTC to the second, ``YYYYMMDDHHMMSSZ`` (DER: no fraction when it is zero)."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y%m%d%H%M%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return tlv(0x18, (text + "Z").encode())


def context(number: int, content: bytes, *, constructed: bool = True) -> bytes:
    """An IMPLICIT context-specific tag ``[number]`` around ``content`` (already without its own tag)."""
    return tlv((0xA0 if constructed else 0x80) | number, content)


def explicit(number: int, value: bytes) -> bytes:
    """An EXPLICIT context-specific tag ``[number]`` around a whole DER value."""
    return tlv(0xA0 | number, value)
