"""The sharing domain's errors, one class per answer a portal or a holder can get."""

from __future__ import annotations

from kernel.errors import Forbidden, Gone, NotFound, ValidationFailed


class ConsentRequired(Forbidden):
    """A ``conditional`` certificate type, and no live consent of the holder to this portal for this item."""

    code = "consent_required"


class TypeNotNeeded(Forbidden):
    """The item's materials do not accept this certificate type: a portal may not fish for it."""

    code = "type_not_needed"


class NotShared(Forbidden):
    """A certificate type whose sharing level is ``none``: never released to portals."""

    code = "not_shared"


class PortalsOnly(Forbidden):
    code = "forbidden"


class HoldersOnly(Forbidden):
    code = "forbidden"


class UnknownItem(ValidationFailed):
    code = "item_not_found"


class UnknownOneThing(ValidationFailed):
    code = "one_thing_not_found"


class ConsentNotFound(NotFound):
    code = "consent_not_found"


class CopyNotFound(NotFound):
    code = "copy_not_found"


class CopyGone(Gone):
    """The copy was fetched already, or its ten minutes are over."""

    code = "copy_gone"
