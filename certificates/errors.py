"""The certificates domain's errors: one class per answer a caller can get, each with its code."""

from __future__ import annotations

from kernel.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed


class CertificateNotFound(NotFound):
    """No such certificate — or one the caller may not know exists (the same answer on purpose)."""

    code = "certificate_not_found"


class InvalidTransition(Conflict):
    """The lifecycle table (``lifecycle.TRANSITIONS``) does not allow this change."""

    code = "invalid_transition"


class NotTheIssuer(Forbidden):
    code = "not_the_issuer"


class PersonalData(Forbidden):
    """A reader who sees personal data masked asked for what shows it in clear (the sealed file)."""

    code = "personal_data"


class NotAnIssuerOfType(Forbidden):
    code = "not_an_issuer_of_type"


class SerialTaken(Conflict):
    code = "serial_taken"


class ExternalIdConflict(Conflict):
    code = "external_id_conflict"


class InvalidIdentifier(ValidationFailed):
    """Not a well-formed GB/T 36904 identifier."""

    code = "invalid_id"


class SealNotFound(NotFound):
    code = "seal_not_found"


class VersionExhausted(ValidationFailed):
    code = "version_exhausted"


class InvalidCheckCharacter(ValidationFailed):
    code = "invalid_check_character"


class FaceTooLong(ValidationFailed):
    """The face fields do not fit on the one page of a certificate."""

    code = "face_too_long"


class UnsupportedCharacter(ValidationFailed):
    """A character the certificate font cannot show."""

    code = "unsupported_character"


class PdfUnreadable(ValidationFailed):
    code = "pdf_unreadable"


class PdfEncrypted(ValidationFailed):
    code = "pdf_encrypted"


class PdfWithoutPages(ValidationFailed):
    code = "pdf_no_pages"


class PdfTooLarge(PayloadTooLarge):
    code = "pdf_too_large"


class PdfTooComplex(ValidationFailed):
    """Reading the PDF took more time or memory than the hub gives one file (an untrusted PDF is read
    under bounds: docs/signing.md, "Untrusted PDFs")."""

    code = "pdf_too_complex"
