"""智能预审: an application checked before anyone sees it.

The plan is recomputed for the holder exactly as ``sharing/plan`` does it (consent and sharing
levels as lookup), then every applicable item is checked: each required material satisfied (on file
and usable now, an uploaded PDF that passes the upload checks, 容缺 or 告知承诺 where the material
allows it), each required form field present, each prefilled value the applicant changed still in
agreement with its certificate (the verify-data comparison), and the certificate the item issues
buildable from the form. Each problem names the item, the material or field, and a ``code``.

Risks that do not fail the pre-review are *flags*: they keep an ``auto`` item from being decided
without a clerk and are stated on its task (人工复核).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from applications.events import PRE_REVIEW
from applications.requests import ApplicationRequest, GivenMaterial
from catalog.queries import CertificateTypeView, find_certificate_type
from catalog.schemas import ItemIn, MaterialIn
from certificates.errors import CertificateNotFound
from certificates.lifecycle import Status, usability
from certificates.models import Certificate
from certificates.personal import face_of
from certificates.privacy import HolderVault
from certificates.repository import get_certificate, holder_certificates
from certificates.requests import check_face_data, check_scalar_values, has_value
from kernel.actor import Actor
from kernel.errors import DomainError, ValidationFailed
from sharing.holders import HolderRef, holder_ref
from sharing.plan import FormValue, MaterialPlan, Plan, make_plan
from sharing.policy import Portal, needed_item, portal_of, releasable
from sharing.verify_data import CORRECT, judge

AUTO_RULE = "auto:all_materials_on_file"
# A certificate of a required type in one of these states raises a flag: the clerk should look.
TROUBLED = {
    Status.WITHHELD: "certificate_withheld",
    Status.WITHDRAWN: "certificate_revoked",
    Status.REVOKED: "certificate_revoked",
}


@dataclass(frozen=True)
class Problem:
    """Why a pre-review fails: the item, the material or the field, a code, and words for people."""

    item_code: str | None
    code: str
    detail: str
    material: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k == "item_code"}


@dataclass(frozen=True)
class Flag:
    """A risk that sends an item to a clerk: stated on its task."""

    code: str
    detail: str
    material: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Satisfied:
    """How one material is satisfied."""

    material_code: str
    kind: str  # certificate | data_resource | file | commitment | tolerated
    certificate_id: str | None = None
    data_resource: str | None = None
    file: bytes | None = field(default=None, repr=False)
    days: int | None = None  # a commitment's time to hand the material in


@dataclass(frozen=True)
class ItemReview:
    item_code: str
    org_code: str
    review: str  # auto | manual
    time_limit_days: int | None
    required: frozenset[str]  # the required materials' codes
    materials: tuple[Satisfied, ...]
    form: dict[str, Any]  # the item's final form: prefilled values, then what the applicant gave
    flags: tuple[Flag, ...]

    @property
    def auto_decidable(self) -> bool:
        """``review: auto``, every required material on file as a certificate, and no flag."""
        kinds = {m.material_code: m.kind for m in self.materials}
        on_file = all(kinds.get(code) == "certificate" for code in self.required)
        return self.review == "auto" and on_file and not self.flags


@dataclass(frozen=True)
class Review:
    items: tuple[ItemReview, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def auto_decidable(self) -> list[str]:
        return [i.item_code for i in self.items if i.auto_decidable]


@dataclass(frozen=True)
class MaterialCheck:
    """What checking a given material needs: who asks, for whom, and how PDFs are checked."""

    session: Session
    vault: HolderVault
    portal: Portal
    holder: HolderRef
    check_upload: Callable[[bytes], None]
    now: datetime


def pre_review(
    session: Session,
    vault: HolderVault,
    *,
    actor: Actor,
    request: ApplicationRequest,
    check_upload: Callable[[bytes], None],
    now: datetime,
    action: str = PRE_REVIEW,
) -> Review:
    """Check an application; recorded as a use of the holder's data (one entry per item)."""
    portal = portal_of(actor)
    holder = holder_ref(vault, request.holder.kind, request.holder.code)
    plan = make_plan(
        session,
        vault,
        actor=actor,
        holder=holder,
        use_cause=request.use_cause,
        one_thing=request.one_thing,
        answers=request.answers,
        items=(),
        now=now,
        action=action,
    )
    checking = MaterialCheck(session, vault, portal, holder, check_upload, now)
    problems: list[Problem] = [
        Problem(None, "question_unanswered", f"question {q!r} needs an answer", field=f"answers.{q}")
        for q in plan.pending_questions
    ]
    items = {code: needed_item(session, code, field="one_thing") for code in plan.items}
    given = _given_materials(request.materials, items, problems)
    form = _given_form(request.form, items, problems)
    troubled = _troubled_types(session, vault, holder, now)
    reviews = [
        _review_item(checking, code, items[code], plan, given, form.get(code, {}), troubled, problems)
        for code in plan.items
    ]
    return Review(tuple(reviews), tuple(problems))


def _given_materials(
    materials: Sequence[GivenMaterial], items: Mapping[str, ItemIn], problems: list[Problem]
) -> dict[tuple[str, str], GivenMaterial]:
    given: dict[tuple[str, str], GivenMaterial] = {}
    for m in materials:
        item = items.get(m.item_code)
        if item is None:
            problems.append(
                Problem(
                    m.item_code,
                    "item_not_applicable",
                    "the application does not include this item",
                    material=m.code,
                )
            )
            continue
        if not any(x.code == m.code for x in item.materials):
            problems.append(
                Problem(m.item_code, "unknown_material", "the item has no such material", material=m.code)
            )
            continue
        if (m.item_code, m.code) in given:
            problems.append(
                Problem(m.item_code, "material_given_twice", "the material is given twice", material=m.code)
            )
            continue
        try:
            m.kind  # noqa: B018 (exactly one way of satisfying it)
        except ValidationFailed as e:
            problems.append(Problem(m.item_code, "validation_failed", e.detail, material=m.code))
            continue
        given[(m.item_code, m.code)] = m
    return given


def _given_form(
    form: Mapping[str, Mapping[str, Any]], items: Mapping[str, ItemIn], problems: list[Problem]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item_code, values in form.items():
        item = items.get(item_code)
        if item is None:
            problems.append(
                Problem(
                    item_code,
                    "item_not_applicable",
                    "the application does not include this item",
                    field=f"form.{item_code}",
                )
            )
            continue
        names = {f.name for f in item.form}
        kept: dict[str, Any] = {}
        for name, value in values.items():
            where = f"form.{item_code}.{name}"
            if name not in names:
                problems.append(
                    Problem(item_code, "unknown_field", "the item's form has no such field", field=where)
                )
                continue
            try:
                check_scalar_values({name: value})
            except ValidationFailed as e:
                problems.append(Problem(item_code, "validation_failed", e.detail, field=where))
                continue
            kept[name] = value
        out[item_code] = kept
    return out


def _troubled_types(session: Session, vault: HolderVault, holder: HolderRef, now: datetime) -> dict[str, str]:
    """Certificate types of which the holder's current version is withheld or revoked: type -> flag code."""
    troubled: dict[str, str] = {}
    certs = holder_certificates(
        session, vault, holder_kind=holder.kind, holder_code=holder.code, today=now.date(), usable_only=False
    )
    for cert in certs:
        state = usability(cert, now.date())
        if state.replaced_by is None and state.status in TROUBLED:
            troubled[cert.type_code] = TROUBLED[state.status]
    return troubled


def _review_item(
    checking: MaterialCheck,
    code: str,
    item: ItemIn,
    plan: Plan,
    given: Mapping[tuple[str, str], GivenMaterial],
    form_given: Mapping[str, Any],
    troubled: Mapping[str, str],
    problems: list[Problem],
) -> ItemReview:
    planned = {m.code: m for m in plan.materials if m.item_code == code}
    flags: list[Flag] = []
    satisfied: list[Satisfied] = []
    for material in item.materials:
        outcome = satisfy(
            checking, code, material, given.get((code, material.code)), planned.get(material.code)
        )
        if isinstance(outcome, Problem):
            problems.append(outcome)
            continue
        if outcome is None:
            continue
        satisfied.append(outcome)
        if outcome.kind in ("commitment", "tolerated"):
            flags.append(
                Flag(
                    f"{outcome.kind}_used", f"{material.name}: {_USED[outcome.kind]}", material=material.code
                )
            )
        for type_code in material.certificate_types if material.required else ():
            if type_code in troubled:
                state = (
                    "withheld" if troubled[type_code] == "certificate_withheld" else "revoked or withdrawn"
                )
                detail = f"the holder's {type_code} is {state}"
                flags.append(Flag(troubled[type_code], detail, material=material.code))
    prefilled = {f.name: f for f in plan.form if f.item_code == code}
    form: dict[str, Any] = {}
    for form_field in item.form:
        name = form_field.name
        filled = prefilled.get(name)
        value = form_given[name] if name in form_given else (filled.value if filled else None)
        where = f"form.{code}.{name}"
        if has_value(value):
            form[name] = value
        elif form_field.required:
            problems.append(Problem(code, "field_missing", f"{form_field.label} is required", field=where))
        if filled is not None and filled.source is not None and name in form_given:
            result = _data_check(checking, filled, value)
            if result != CORRECT:
                detail = (
                    f"{form_field.label} differs from the certificate it was prefilled from (check {result})"
                )
                problems.append(Problem(code, "field_mismatch", detail, field=where))
        elif form_field.source is not None and has_value(value) and (filled is None or filled.source is None):
            detail = f"{form_field.label} was typed in: no certificate on file to check it against"
            flags.append(Flag("field_unverified", detail, field=where))
    _check_issuance(checking, code, item, form, problems)
    required = frozenset(m.code for m in item.materials if m.required)
    return ItemReview(
        code,
        item.org,
        item.review,
        item.time_limit_days,
        required,
        tuple(satisfied),
        form,
        tuple(dict.fromkeys(flags)),
    )


_USED = {
    "commitment": "a written commitment (告知承诺) stands in for it",
    "tolerated": "tolerated (容缺), to follow",
}


def satisfy(
    checking: MaterialCheck,
    item_code: str,
    material: MaterialIn,
    given: GivenMaterial | None,
    planned: MaterialPlan | None,
) -> Satisfied | Problem | None:
    """How ``material`` is satisfied, a Problem saying why it is not, or None (optional, not given)."""
    mc = material.code
    if given is None:
        if planned is not None and planned.state == "on_file":
            return Satisfied(
                mc,
                "certificate" if planned.certificate_id else "data_resource",
                certificate_id=planned.certificate_id,
                data_resource=planned.data_resource,
            )
        if not material.required:
            return None
        return Problem(item_code, "material_missing", f"{material.name} is required", material=mc)
    kind = given.kind
    if kind == "certificate":
        assert given.certificate_id is not None
        return _certificate(checking, item_code, material, given.certificate_id)
    if kind == "file":
        assert given.file is not None
        try:
            checking.check_upload(given.file)
        except DomainError as e:
            return Problem(item_code, e.code, e.detail, material=mc)
        return Satisfied(mc, "file", file=given.file)
    if kind == "commitment":
        if not material.commitment:
            return Problem(
                item_code,
                "commitment_not_allowed",
                f"{material.name} cannot be replaced by a commitment",
                material=mc,
            )
        return Satisfied(mc, "commitment", days=material.days_to_fulfil)
    if not material.tolerated:
        return Problem(
            item_code, "tolerated_not_allowed", f"{material.name} is not tolerated (容缺)", material=mc
        )
    return Satisfied(mc, "tolerated")


def _certificate(
    checking: MaterialCheck, item_code: str, material: MaterialIn, certificate_id: str
) -> Satisfied | Problem:
    """A certificate the applicant names: the holder's own, of an accepted type, releasable, usable now."""
    mc = material.code
    not_found = Problem(item_code, "certificate_not_found", "no such certificate of this holder", material=mc)
    try:
        cert = get_certificate(checking.session, certificate_id)
    except CertificateNotFound:
        return not_found
    if cert.holder_index != checking.holder.index:  # a stranger's: as if it did not exist
        return not_found
    if cert.type_code not in material.certificate_types:
        return Problem(
            item_code,
            "certificate_not_accepted",
            f"{material.name} does not accept this certificate type",
            material=mc,
        )
    decision = releasable(
        checking.session,
        portal=checking.portal,
        holder_index=checking.holder.index,
        item_code=item_code,
        types=[cert.type_code],
        now=checking.now,
    )
    if cert.type_code not in decision.allowed:
        code = "consent_required" if decision.without_consent else "not_shared"
        return Problem(item_code, code, "the portal may not use this certificate for this item", material=mc)
    if not usability(cert, checking.now.date()).usable:
        return Problem(item_code, "certificate_not_usable", "the certificate is not usable now", material=mc)
    return Satisfied(mc, "certificate", certificate_id=cert.id)


def _data_check(checking: MaterialCheck, filled: FormValue, value: Any) -> int:
    """The verify-data result of ``value`` against the certificate the field was prefilled from."""
    assert filled.source is not None
    cert: Certificate = get_certificate(checking.session, filled.source.certificate_id)
    face = face_of(checking.vault, cert)
    return judge(face, {filled.source.field: value}, usability(cert, checking.now.date())).result


def _check_issuance(
    checking: MaterialCheck, code: str, item: ItemIn, form: Mapping[str, Any], problems: list[Problem]
) -> None:
    """The certificate the item issues on approval must be buildable from the form and this holder."""
    issues = item.issues
    if issues is None:
        return
    ctype: CertificateTypeView | None = find_certificate_type(checking.session, issues.type_code)
    if ctype is None:  # the catalog checks this when the item is stored; a type deleted since
        problems.append(
            Problem(
                code, "issuance_unavailable", f"certificate type {issues.type_code} is not in the catalog"
            )
        )
        return
    if ctype.holder_kind != checking.holder.kind:
        problems.append(
            Problem(
                code,
                "holder_kind_mismatch",
                f"{ctype.name} is issued to holders of kind {ctype.holder_kind}",
                field="holder.kind",
            )
        )
        return
    try:
        check_face_data(face_data(item, form), ctype.fields)
    except ValidationFailed as e:
        face_field = (e.field or "").removeprefix("data.")
        form_field = issues.data.get(face_field, face_field)
        problems.append(Problem(code, "validation_failed", e.detail, field=f"form.{code}.{form_field}"))


def face_data(item: ItemIn, form: Mapping[str, Any]) -> dict[str, Any]:
    """The face of the certificate ``item`` issues, from the application's form."""
    issues = item.issues
    assert issues is not None
    return {
        face_field: form[form_field] for face_field, form_field in issues.data.items() if form_field in form
    }
