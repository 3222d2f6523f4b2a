"""E-certificate identifiers (电子证照标识) as defined by GB/T 36904.

``1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>``; the check character is the
ISO/IEC 7064 MOD 37,36 hybrid over type code + issuer code + serial + version without dots, as
python-stdnum computes it (``stdnum.iso7064.mod_37_36``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from stdnum.iso7064 import mod_37_36

from certificates.errors import InvalidCheckCharacter, InvalidIdentifier, VersionExhausted
from kernel.errors import ValidationFailed

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_VERSION = 999

_TYPE_CODE = re.compile(r"[0-9A-Z]{18}[0-9]{3}")
_ISSUER_CODE = re.compile(r"[0-9A-Z]{18}")
_SERIAL = re.compile(r"[0-9A-Z]{7,32}")
_VERSION = re.compile(r"[0-9]{3}")
_BODY = re.compile(r"[0-9A-Z]+")


def check_character(body: str) -> str:
    """ISO/IEC 7064 MOD 37,36 hybrid check character over ``body`` (characters from 0-9A-Z)."""
    if not body:
        raise ValidationFailed("nothing to compute a check character over", field="id")
    if not _BODY.fullmatch(body):
        raise ValidationFailed("identifier characters must be 0-9 or A-Z", field="id")
    return mod_37_36.calc_check_digit(body, alphabet=ALPHABET)


@dataclass(frozen=True, slots=True)
class CertificateIdentifier:
    """A GB/T 36904 identifier; constructing one validates every segment."""

    type_code: str
    issuer_code: str
    serial: str
    version: int = 1

    def __post_init__(self) -> None:
        if not _TYPE_CODE.fullmatch(self.type_code):
            raise InvalidIdentifier("type code must be an 18-character USCC followed by 3 digits", field="id")
        if not _ISSUER_CODE.fullmatch(self.issuer_code):
            raise InvalidIdentifier("issuer code must be an 18-character USCC", field="id")
        if not _SERIAL.fullmatch(self.serial):
            raise InvalidIdentifier("serial must be 7 to 32 digits or capital letters", field="id")
        if (
            isinstance(self.version, bool)
            or not isinstance(self.version, int)
            or not (1 <= self.version <= MAX_VERSION)
        ):
            raise InvalidIdentifier("version must be between 1 and 999", field="id")

    @property
    def version_text(self) -> str:
        return f"{self.version:03d}"

    @property
    def body(self) -> str:
        """The characters the check character covers: the segments concatenated without dots."""
        return f"{self.type_code}{self.issuer_code}{self.serial}{self.version_text}"

    @property
    def check(self) -> str:
        return check_character(self.body)

    def __str__(self) -> str:
        return f"{ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}.{self.version_text}.{self.check}"

    def next_version(self) -> CertificateIdentifier:
        """The identifier of the next version (change or renewal): version + 1, new check character."""
        if self.version >= MAX_VERSION:
            raise VersionExhausted("no version after 999", field="id")
        return replace(self, version=self.version + 1)


def parse(text: str) -> CertificateIdentifier:
    """Parse and verify an identifier, check character included."""
    if not isinstance(text, str) or not text.startswith(ROOT + "."):
        raise InvalidIdentifier("identifier must start with " + ROOT, field="id")
    parts = text[len(ROOT) + 1 :].split(".")
    if len(parts) != 5:
        raise InvalidIdentifier(
            "identifier must have type code, issuer code, serial, version and check character", field="id"
        )
    type_code, issuer_code, serial, version, check = parts
    if not _VERSION.fullmatch(version):
        raise InvalidIdentifier("version must be 3 digits", field="id")
    identifier = CertificateIdentifier(type_code, issuer_code, serial, int(version))
    if len(check) != 1 or check != identifier.check:
        raise InvalidCheckCharacter("check character does not match", field="id")
    return identifier
