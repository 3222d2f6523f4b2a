"""What a portal sends to file an application (一表申请) or supply materials, as the domain reads it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from certificates.requests import Holder
from kernel.errors import ValidationFailed

Kind = Literal["certificate", "file", "commitment", "tolerated"]


@dataclass(frozen=True)
class GivenMaterial:
    """How the applicant satisfies one material of one item: exactly one of a certificate on file,
    a PDF, a written commitment (告知承诺) or a tolerated absence (容缺)."""

    item_code: str
    code: str
    certificate_id: str | None = None
    file: bytes | None = field(default=None, repr=False)
    commitment: bool = False
    tolerated: bool = False

    @property
    def kind(self) -> Kind:
        chosen: list[Kind] = []
        if self.certificate_id is not None:
            chosen.append("certificate")
        if self.file is not None:
            chosen.append("file")
        if self.commitment:
            chosen.append("commitment")
        if self.tolerated:
            chosen.append("tolerated")
        if len(chosen) != 1:
            raise ValidationFailed(
                "give a material as exactly one of certificate_id, file, commitment or tolerated",
                field="materials",
            )
        return chosen[0]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "item_code": self.item_code,
            "code": self.code,
            "certificate_id": self.certificate_id,
            "file": hashlib.sha256(self.file).hexdigest() if self.file is not None else None,
            "commitment": self.commitment,
            "tolerated": self.tolerated,
        }


@dataclass(frozen=True)
class ApplicationRequest:
    one_thing: str
    answers: Mapping[str, str]
    holder: Holder
    use_cause: str
    external_id: str
    form: Mapping[str, Mapping[str, Any]]  # item code -> field -> value
    materials: Sequence[GivenMaterial]
    area_code: str | None = None  # where the resulting certificates are issued; the hub's default

    def content_hash(self) -> str:
        """Same content, same hash: a repeated submission is answered with the same application."""
        body = {
            "one_thing": self.one_thing,
            "answers": dict(self.answers),
            "holder": [self.holder.name, self.holder.kind, self.holder.code],
            "use_cause": self.use_cause,
            "form": {item: dict(values) for item, values in self.form.items()},
            "materials": [m.fingerprint() for m in self.materials],
            "area_code": self.area_code,
        }
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
