"""The plan (一次告知 + 一表申请): for a holder and a one-thing (or a list of items), every material
with its state, and the one form prefilled from the holder's certificates — each value with its source.

A material is ``on_file`` when a usable certificate the portal may have satisfies it (or a data
resource the receiving department pulls itself); otherwise ``tolerated`` (容缺) or ``commitment``
(告知承诺) where the item allows it, else ``upload``. Consent is honoured exactly as in lookup: what
the portal may not have is neither on file nor prefilled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy.orm import Session

from catalog.errors import DataResourceNotFound, OneThingNotFound
from catalog.questionnaire import evaluate
from catalog.schemas import FieldSource, ItemIn, MaterialIn
from catalog.service import get_data_resource, get_one_thing
from certificates.models import Certificate
from certificates.personal import face_of
from certificates.privacy import HolderVault
from certificates.requests import has_value
from kernel.actor import Actor
from kernel.errors import ValidationFailed
from sharing.errors import UnknownOneThing
from sharing.holders import HolderRef
from sharing.lookup import usable_certificates
from sharing.policy import (
    Portal,
    accepted_types,
    check_use_cause,
    live_consents,
    needed_item,
    portal_of,
    releasable,
)
from sharing.uses import PLAN, record_use

State = Literal["on_file", "upload", "tolerated", "commitment"]


@dataclass(frozen=True)
class MaterialPlan:
    item_code: str
    code: str
    name: str
    required: bool
    state: State
    certificate_id: str | None = None  # on file as this certificate
    data_resource: str | None = None  # on file in this data resource, pulled by the department


@dataclass(frozen=True)
class Source:
    certificate_id: str
    field: str


@dataclass(frozen=True)
class FormValue:
    item_code: str
    name: str
    label: str
    value: Any = None
    source: Source | None = None
    # Other usable certificates of the same type that hold another value: the newest won over them.
    overridden: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    items: tuple[str, ...]
    materials: tuple[MaterialPlan, ...]
    form: tuple[FormValue, ...]
    complete: bool  # every applicable question of the one-thing has an answer
    pending_questions: tuple[str, ...]


def make_plan(
    session: Session,
    vault: HolderVault,
    *,
    actor: Actor,
    holder: HolderRef,
    use_cause: str,
    one_thing: str | None,
    answers: Mapping[str, str],
    items: Sequence[str],
    now: datetime,
    action: str = PLAN,
) -> Plan:
    """The checklist and the prefilled form; one recorded use per item (as ``action``: a plan, or
    the pre-review or intake of an application that recomputes it)."""
    portal = portal_of(actor)
    cause = check_use_cause(use_cause)
    codes, complete, pending = _applicable_items(session, one_thing, answers, items)
    catalog_items = [(code, needed_item(session, code, field="items")) for code in codes]
    usable = usable_certificates(session, vault, holder, now=now)
    opened: dict[str, dict[str, Any]] = {}

    def face(cert: Certificate) -> dict[str, Any]:
        """The certificate's whole face, opened once whichever items read it."""
        if cert.id not in opened:
            opened[cert.id] = face_of(vault, cert)
        return opened[cert.id]

    materials: list[MaterialPlan] = []
    form: list[FormValue] = []
    for code, item in catalog_items:
        decision = releasable(
            session, portal=portal, holder_index=holder.index, item_code=code, types=_types_of(item), now=now
        )
        visible = [c for c in usable if c.type_code in decision.allowed]
        item_materials = [_material(session, portal, holder, code, m, visible, now) for m in item.materials]
        item_form = [_prefill(code, f.name, f.label, f.source, visible, face) for f in item.form]
        materials += item_materials
        form += item_form
        used = {m.certificate_id for m in item_materials if m.certificate_id}
        used |= {f.source.certificate_id for f in item_form if f.source}
        record_use(
            session,
            action=action,
            portal=portal,
            holder_index=holder.index,
            item_code=code,
            use_cause=cause,
            certificate_ids=sorted(used),
            details={"one_thing": one_thing, "prefilled": [f.name for f in item_form if f.source]},
        )
    return Plan(tuple(codes), tuple(materials), tuple(form), complete, pending)


def _applicable_items(
    session: Session, one_thing: str | None, answers: Mapping[str, str], items: Sequence[str]
) -> tuple[list[str], bool, tuple[str, ...]]:
    if (one_thing is None) == (not items):
        raise ValidationFailed("name either one_thing (with answers) or items", field="one_thing")
    if one_thing is None:
        if answers:
            raise ValidationFailed("answers belong to a one_thing", field="answers")
        return list(dict.fromkeys(items)), True, ()
    try:
        definition = get_one_thing(session, one_thing).body
    except OneThingNotFound:
        raise UnknownOneThing(f"no one-thing {one_thing!r} in the catalog", field="one_thing") from None
    result = evaluate(definition, answers)
    if result.errors:
        first = result.errors[0]
        raise ValidationFailed(first.detail, field=f"answers.{first.question_id}", code=first.code)
    return list(result.items), result.complete, tuple(q.id for q in result.next_questions)


def _types_of(item: ItemIn) -> set[str]:
    return accepted_types(item) | {f.source.type_code for f in item.form if f.source is not None}


def _material(
    session: Session,
    portal: Portal,
    holder: HolderRef,
    item_code: str,
    material: MaterialIn,
    visible: list[Certificate],
    now: datetime,
) -> MaterialPlan:
    plan = partial(MaterialPlan, item_code, material.code, material.name, material.required)
    for cert in visible:  # newest first
        if cert.type_code in material.certificate_types:
            return plan("on_file", certificate_id=cert.id)
    for resource in material.data_resources:
        if _resource_pulled(session, portal, holder, item_code, resource, now):
            return plan("on_file", data_resource=resource)
    if material.tolerated:
        return plan("tolerated")
    if material.commitment:
        return plan("commitment")
    return plan("upload")


def _resource_pulled(
    session: Session, portal: Portal, holder: HolderRef, item_code: str, code: str, now: datetime
) -> bool:
    """A data resource the receiving department may pull: shared, and consented where conditional."""
    try:
        sharing = get_data_resource(session, code).body.sharing
    except DataResourceNotFound:
        return False
    if sharing == "unconditional":
        return True
    if sharing == "conditional":
        return bool(
            live_consents(
                session, holder_index=holder.index, grantee_code=portal.org_code, item_code=item_code, now=now
            )
        )
    return False


def _prefill(
    item_code: str,
    name: str,
    label: str,
    source: FieldSource | None,
    visible: list[Certificate],
    face: Callable[[Certificate], Mapping[str, Any]],
) -> FormValue:
    """A form field from the newest visible certificate of its source type. Personal values come
    opened: the portal holds the holder's consent and fills the holder's own application."""
    if source is None:
        return FormValue(item_code, name, label)
    field = source.field
    found = [c for c in visible if c.type_code == source.type_code and has_value(face(c).get(field))]
    if not found:
        return FormValue(item_code, name, label)
    newest, others = found[0], found[1:]
    value = face(newest)[field]
    lost = tuple(c.id for c in others if face(c)[field] != value)
    return FormValue(item_code, name, label, value, Source(newest.id, source.field), lost)
