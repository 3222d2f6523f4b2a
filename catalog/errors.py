"""The catalog's errors: kernel errors carrying the catalog's codes, and where a body or file went wrong."""

# hub.errors maps an error to its HTTP status by the first kernel class in its MRO, so each of these
# keeps the status of the kernel error it extends.

from __future__ import annotations

from collections.abc import Sequence

from kernel.errors import NotFound, Unauthorized, ValidationFailed

__all__ = [
    "BodyInvalid",
    "CatalogFileInvalid",
    "CertificateTypeNotFound",
    "ClientNotFound",
    "DataResourceNotFound",
    "InvalidToken",
    "InvalidUSCC",
    "ItemNotFound",
    "OneThingNotFound",
    "OrganizationNotFound",
    "PathError",
    "USCCNotCompact",
    "UnknownReference",
]

Loc = tuple[str | int, ...]


class OrganizationNotFound(NotFound):
    code = "organization_not_found"


class CertificateTypeNotFound(NotFound):
    code = "certificate_type_not_found"


class DataResourceNotFound(NotFound):
    code = "data_resource_not_found"


class ItemNotFound(NotFound):
    code = "item_not_found"


class OneThingNotFound(NotFound):
    code = "one_thing_not_found"


class ClientNotFound(NotFound):
    code = "client_not_found"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class InvalidUSCC(ValidationFailed):
    """A 统一社会信用代码 that fails GB 32100. ``reason`` says why without quoting the code, for
    callers that word their own message."""

    # No code of its own: a bad USCC has always been a plain ``validation_failed`` to API callers.

    def __init__(self, code: str, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"{code!r} is not a valid 统一社会信用代码: {reason}", field=field)
        self.reason = reason


class USCCNotCompact(InvalidUSCC):
    """A USCC written with separators or lowercase letters where only the compact form is accepted."""


class PathError(ValidationFailed):
    """A failure at a position inside a body: ``loc`` is the path as a tuple, ``message`` the detail
    without the path (for callers that map the path to a line of a file)."""

    def __init__(self, detail: str, *, loc: Sequence[str | int], message: str, field: str | None) -> None:
        super().__init__(detail, field=field)
        self.loc: Loc = tuple(loc)
        self.message = message


class BodyInvalid(PathError):
    """A body that does not match its schema."""


class UnknownReference(PathError):
    """A body that names an organization, certificate type, data resource or item that does not exist."""

    code = "unknown_reference"


class CatalogFileInvalid(ValidationFailed):
    """A catalog file that cannot be loaded, and where: its section and, for YAML, the lines of the
    entry and of the field at fault."""

    def __init__(
        self,
        detail: str,
        *,
        field: str | None,
        code: str | None = None,
        section: str | int | None = None,
        line: int | None = None,
        entry_line: int | None = None,
    ) -> None:
        super().__init__(detail, field=field, code=code)
        self.section = section
        self.line = line
        self.entry_line = entry_line
