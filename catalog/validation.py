"""Error paths: a body's failure names its field, e.g. ``materials[0].certificate_types[1]``."""

# A validator of a list or a model can only fail at its own location: error_below keeps the rest of
# the path in the error's ctx["path"], and validate_body (over HTTP, the hub's catalog routes) folds
# it back into the location.

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from catalog.errors import BodyInvalid

__all__ = ["error_below", "format_loc", "validate_body"]

M = TypeVar("M", bound=BaseModel)


def error_below(path: Sequence[str | int], message: str) -> PydanticCustomError:
    """An error for a position *below* the validator's own location (kept in ``ctx['path']``)."""
    return PydanticCustomError("invalid", "{message}", {"message": message, "path": tuple(path)})


def format_loc(loc: Iterable[str | int]) -> str:
    """``("materials", 0, "certificate_types", 1)`` → ``"materials[0].certificate_types[1]"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _error_loc(error: ErrorDetails) -> tuple[str | int, ...]:
    ctx = error.get("ctx") or {}
    return tuple(error["loc"]) + tuple(ctx.get("path", ()))


def _body_invalid(exc: ValidationError, prefix: Sequence[str | int]) -> BodyInvalid:
    errors = exc.errors(include_url=False)
    # A misspelt key shows up twice (the key is unknown, the intended one is missing): name the typo.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = (*prefix, *_error_loc(first))
    field = format_loc(loc)
    detail = f"{field}: {first['msg']}" if field else first["msg"]
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return BodyInvalid(detail, loc=loc, message=first["msg"], field=field or None)


def validate_body(model: type[M], data: Any, *, prefix: Sequence[str | int] = ()) -> M:
    """Validate ``data`` as ``model``; a failure becomes BodyInvalid (a ValidationFailed) naming the field.

    ``prefix`` is prepended to the path (the catalog file uses ``("items", 3)``). The exception also
    carries ``loc`` (the path as a tuple) and ``message`` (the detail without the path), for callers
    that map the path to a position in a file.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _body_invalid(exc, prefix) from None
