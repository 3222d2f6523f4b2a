"""An issuance request and its checks against the certificate type: holder, face data, dates, area."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from catalog.codes import validate_uscc
from catalog.errors import InvalidUSCC
from kernel.errors import ValidationFailed

AREA_CODE = re.compile(r"^[1-9]\d{5}$")
SERIAL = re.compile(r"^[0-9A-Z]{7,32}$")
EXTERNAL_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
# A face value is printed on one A4 page: longer text cannot be shown, only make rendering slow.
MAX_FACE_TEXT = 2000
# Control characters (NUL above all, which PostgreSQL refuses) have no place on a certificate's face.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Holder:
    name: str
    kind: str  # 111 resident identity number, 001 USCC
    code: str


@dataclass(frozen=True)
class IssuanceRequest:
    type_code: str
    external_id: str
    holder: Holder
    issued_on: date
    valid_from: date
    valid_until: date | None
    area_code: str
    data: dict[str, Any]
    serial: str | None = None
    file: bytes | None = field(default=None, repr=False)

    def content_hash(self) -> str:
        """Same request content, same hash: the key to idempotent repeats."""
        check_scalar_values(self.data)  # before anything walks it: a nested value could be 600 deep
        body = asdict(self)
        body["file"] = hashlib.sha256(self.file).hexdigest() if self.file is not None else None
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def check_scalar_values(data: dict[str, Any]) -> None:
    """Every face value is one string, number, boolean or null: nothing nested."""
    for name, value in data.items():
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise ValidationFailed(
                "a face value must be a single value, not a list or object", field=f"data.{name}"
            )


def validate_holder_code(kind: str, code: str, *, field_name: str = "holder.code") -> str:
    """The holder's code in compact form: a 公民身份号码 (kind 111) or a 统一社会信用代码 (kind 001).

    The message names the field and the rule, never the number itself."""
    if kind != "111":
        try:
            return validate_uscc(code)  # the hub's one USCC check
        except InvalidUSCC as e:
            raise ValidationFailed(f"not a valid 统一社会信用代码: {e.reason}", field=field_name) from None
    try:
        return str(ric.validate(code))
    except StdnumError as e:
        reason = getattr(e, "message", e)
        label = "resident identity number (公民身份号码)"
        raise ValidationFailed(f"not a valid {label}: {reason}", field=field_name) from None


def check_request(req: IssuanceRequest, fields: Sequence[dict[str, Any]], holder_kind: str) -> None:
    """Every rule of an issuance request that the type decides; each violation names its field."""
    if not EXTERNAL_ID.fullmatch(req.external_id):
        raise ValidationFailed("external_id must be 1–200 printable ASCII characters", field="external_id")
    if req.serial is not None and not SERIAL.fullmatch(req.serial):
        raise ValidationFailed("serial must be 7–32 digits or capital letters", field="serial")
    if not req.holder.name.strip():
        raise ValidationFailed("holder name must not be empty", field="holder.name")
    if CONTROL.search(req.holder.name):
        raise ValidationFailed("holder name contains control characters", field="holder.name")
    if req.holder.kind not in ("111", "001"):
        raise ValidationFailed("holder kind must be 111 or 001", field="holder.kind")
    if req.holder.kind != holder_kind:
        raise ValidationFailed(
            f"this certificate type is issued to holders of kind {holder_kind}", field="holder.kind"
        )
    validate_holder_code(req.holder.kind, req.holder.code)
    if not AREA_CODE.fullmatch(req.area_code):
        raise ValidationFailed("area_code must be a six-digit 行政区划代码", field="area_code")
    if req.valid_from < req.issued_on:
        raise ValidationFailed("valid_from must not be before issued_on", field="valid_from")
    if req.valid_until is not None and req.valid_until < req.valid_from:
        raise ValidationFailed("valid_until must not be before valid_from", field="valid_until")
    check_face_data(req.data, fields)


def has_value(value: Any) -> bool:
    """A face field holds a value: absent, null and the empty string all mean it does not."""
    return value is not None and value != ""


def check_face_data(data: dict[str, Any], fields: Sequence[dict[str, Any]]) -> None:
    """``data`` against the type's face fields: known names, required present, values of the right type."""
    known = {f["name"]: f for f in fields}
    for name in data:
        if name not in known:
            raise ValidationFailed(f"unknown field {name!r} for this certificate type", field=f"data.{name}")
    for f in fields:
        name = f["name"]
        value = data.get(name)
        if not has_value(value):
            if f.get("required"):
                raise ValidationFailed(f"{f.get('label', name)} is required", field=f"data.{name}")
            continue
        if isinstance(value, str):
            if CONTROL.search(value):
                raise ValidationFailed(
                    f"{f.get('label', name)} contains control characters", field=f"data.{name}"
                )
            if len(value) > MAX_FACE_TEXT:
                raise ValidationFailed(
                    f"{f.get('label', name)} is longer than {MAX_FACE_TEXT} characters", field=f"data.{name}"
                )
        kind = f.get("type", "string")
        if not VALUE_CHECKS[kind](value):
            raise ValidationFailed(f"{f.get('label', name)} must be a {kind}", field=f"data.{name}")
        if kind == "identity_number":
            validate_holder_code("111", str(value), field_name=f"data.{name}")


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


# A value of each field type (catalog.fieldtypes.FieldType) has this shape; an identity number is
# then checked like a holder code.
VALUE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": _is_text,
    "number": _is_number,
    "boolean": _is_boolean,
    "date": _is_iso_date,
    "identity_number": _is_text,
}
