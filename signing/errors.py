"""Errors raised by the signing library.

Validation outcomes are reports (see :mod:`signing.validation`), never exceptions; these errors are
for operations that cannot go on: a missing key, a broken PKI directory, an unreachable TSA.
"""

from __future__ import annotations


class SigningError(Exception):
    """Base class for every error the signing library raises."""


class KeyNotFound(SigningError):
    """No private key is stored under the requested label."""


class PKIError(SigningError):
    """The PKI directory is inconsistent, or a key cannot be decrypted with the master key."""


class TimestampUnavailable(SigningError):
    """The timestamp source could not be reached or refused the request."""


class SealingFailed(SigningError):
    """A PDF could not be sealed (unreadable input, unusable field box, ...)."""
