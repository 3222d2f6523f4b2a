"""The bodies of the catalog PUT requests (public contract, see api.md) as pydantic models."""

# The models check structure: shapes, code formats, uniqueness inside one body, questionnaire
# conditions that only look backwards. References to other entries are checked by
# catalog.references; catalog.validation.validate_body turns a failure into a ValidationFailed
# that names the field path.

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from catalog.fieldtypes import (
    USCC,
    CatalogCode,
    Description,
    FieldType,
    HolderKind,
    Identifier,
    Keyword,
    Label,
    Name,
    OrganizationKind,
    Sharing,
    TypeCode,
    unique,
)
from catalog.validation import error_below

__all__ = [
    "DEFAULT_COMMITMENT_DAYS",
    "CatalogBody",
    "CertificateTypeIn",
    "DataResourceIn",
    "FieldDef",
    "FieldSource",
    "FormFieldIn",
    "IssuesIn",
    "ItemIn",
    "MaterialIn",
    "OneThingIn",
    "OptionIn",
    "OrganizationIn",
    "QuestionIn",
    "ReviewMode",
]

DEFAULT_COMMITMENT_DAYS = 30
"""Days a written commitment (告知承诺) gives to hand the material in, where the material does not say."""

# A time in calendar days: at least one, at most ten years.
Days = Annotated[int, Field(ge=1, le=3650)]

# How an item's applications are decided: "auto" by its rules with no clerk (无人干预智能办理), falling
# back to a person when the rules cannot decide; "manual" always by a person (人工审核).
ReviewMode = Literal["auto", "manual"]


class _Body(BaseModel):
    # Unknown keys are refused, so a typo fails loudly instead of being silently dropped.
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationIn(_Body):
    """An organization, known by its 统一社会信用代码."""

    code: USCC
    name: Name
    kind: OrganizationKind
    # Demonstration data, never a real body: the demo catalog sets it so nobody mistakes it.
    demo: bool = False


class FieldDef(_Body):
    """One field of a certificate's face information (照面信息) or of a data resource."""

    name: Identifier = Field(description="the field's name in data and forms, an identifier: child_name")
    label: Label = Field(description="how people read it: 姓名, 出生日期")
    type: FieldType = Field(
        default="string",
        description="string, date, number, boolean or identity_number (公民身份号码: encrypted at rest, "
        "masked)",
    )
    required: bool = Field(default=False, description="a certificate or record of this type must carry it")
    # Personal data (个人信息) beyond an identity number (a passport number, say): encrypted at rest,
    # masked for everyone but the holder and the issuer. Fields of type identity_number always are.
    personal: bool = Field(
        default=False,
        description="personal data (个人信息) beyond an identity number: encrypted at rest, "
        "masked for all but the holder and the issuer",
    )


FieldDefs = Annotated[list[FieldDef], unique("field {!r} is defined twice", by="name")]


class CertificateTypeIn(_Body):
    """A certificate type (证照类型); its code (21 characters) is in the URL."""

    name: Name = Field(description="the certificate type's name: 出生医学证明")
    holder_kind: HolderKind = Field(
        description="who holds it: 111 a citizen (居民身份证号), 001 an organization (统一社会信用代码)"
    )
    issuers: Annotated[list[USCC], unique("issuer {!r} is listed twice")] = Field(
        description="the departments that issue it, by 统一社会信用代码 (USCC)", min_length=1
    )
    sharing: Sharing = Field(
        description="sharing level (共享属性): unconditional (无条件共享), conditional (有条件共享) "
        "or none (不予共享)"
    )
    validity_years: int | None = Field(
        description="years a certificate is valid from issuance; null: no fixed term (长期 or by its face)",
        default=None,
        ge=1,
        le=100,
    )
    fields: FieldDefs = Field(
        description="the face information (照面信息): the fields every certificate of the type carries",
        min_length=1,
    )
    description: Description | None = Field(
        default=None, description="what the certificate proves, for people and search"
    )
    keywords: list[Keyword] = Field(
        description="further words search finds it by: 出生证, 出生证明", default_factory=list
    )


class DataResourceIn(_Body):
    """An entry of the data resource catalog (数据资源目录); its code is in the URL."""

    name: Name = Field(description="the data resource's name: 新生儿疫苗接种记录")
    org: USCC = Field(description="the department providing it, by 统一社会信用代码 (USCC)")
    sharing: Sharing = Field(description="sharing level (共享属性): unconditional, conditional or none")
    fields: FieldDefs = Field(description="the fields of one record", min_length=1)
    # Free text on purpose ("daily", "realtime", "每月"): the contract does not enumerate it.
    update_frequency: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)
    ] = Field(description="how often it is updated, free text: daily, realtime, 每月")
    description: Description | None = Field(
        default=None, description="what the resource holds, for people and search"
    )
    keywords: list[Keyword] = Field(description="further words search finds it by", default_factory=list)


class MaterialIn(_Body):
    """A material (材料) an item needs, and which certificate types or data resources satisfy it."""

    code: CatalogCode = Field(description="the material's code in the item: M01")
    name: Name = Field(description="the material's name: 出生医学证明")
    required: bool = Field(default=True, description="an application needs it (else it is optional)")
    tolerated: bool = Field(
        default=False, description="容缺: the application proceeds without it, to be supplied later"
    )  # 容缺: the application proceeds without it, to be supplied later
    commitment: bool = Field(
        default=False, description="告知承诺: a written commitment may replace it"
    )  # 告知承诺: a written commitment replaces it
    # How long the commitment gives to hand the material in after all; None: DEFAULT_COMMITMENT_DAYS.
    commitment_days: Days | None = Field(
        default=None,
        description="days a commitment gives to hand the material in after all; null: the default (30)",
    )
    certificate_types: Annotated[list[TypeCode], unique("certificate type {!r} is listed twice")] = Field(
        description="certificate types that satisfy it (免提交: the hub finds the holder's certificate)",
        default_factory=list,
    )
    data_resources: Annotated[list[CatalogCode], unique("data resource {!r} is listed twice")] = Field(
        description="data resources that satisfy it, by code", default_factory=list
    )

    @model_validator(mode="after")
    def _commitment_days_need_a_commitment(self) -> MaterialIn:
        # A time to fulfil a commitment that cannot be made is a mistake in the catalog, not a default.
        if self.commitment_days is not None and not self.commitment:
            message = "only a material that allows a commitment (commitment: true) has commitment_days"
            raise error_below(("commitment_days",), message)
        return self

    @property
    def days_to_fulfil(self) -> int:
        """Days a written commitment gives to hand this material in: its own, else the default."""
        return DEFAULT_COMMITMENT_DAYS if self.commitment_days is None else self.commitment_days


class FieldSource(_Body):
    """Where a form field's value comes from: a face field of a certificate type."""

    type_code: TypeCode = Field(description="the certificate type the value is read from (21 characters)")
    field: Identifier = Field(description="the face field of that type holding the value")


class FormFieldIn(_Body):
    """A field of the one application form (一表申请), optionally prefilled from a certificate."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    name: Identifier = Field(description="the form field's name: child_name")
    label: Label = Field(description="how people read it: 新生儿姓名")
    # "from" is the contract's key; it is a Python keyword, hence the alias.
    source: FieldSource | None = Field(
        description="where the value is prefilled from (a certificate's face field); "
        "null: the applicant fills it in",
        default=None,
        alias="from",
    )
    # The applicant must give a value, unless the field is prefilled from a certificate on file.
    required: bool = Field(default=False, description="an application must give a value")


class IssuesIn(_Body):
    """The certificate an item's department issues on approval (统一发证), and where its face comes from.

    ``data`` maps each face field of the type to the name of the item's form field whose value it takes.
    """

    type_code: TypeCode = Field(
        description="the certificate type the hub issues when the item is approved (统一发证)"
    )
    data: dict[Identifier, Identifier] = Field(
        description="the new certificate's face fields, each taken from the named form field", min_length=1
    )


class ItemIn(_Body):
    """A service item (事项); its code is in the URL."""

    name: Name = Field(description="the service item's name: 预防接种证办理")
    org: USCC = Field(description="the department deciding it, by 统一社会信用代码 (USCC)")
    materials: Annotated[list[MaterialIn], unique("material code {!r} is used twice", by="code")] = Field(
        description="the materials (材料) an application needs", default_factory=list
    )
    form: Annotated[list[FormFieldIn], unique("form field {!r} is defined twice", by="name")] = Field(
        description="the application form's fields (申请表), prefilled where they have a source",
        default_factory=list,
    )
    time_limit_days: Days | None = Field(
        default=None, description="办理时限: calendar days from submission to a decision; null: none"
    )  # 办理时限, calendar days from submission
    review: ReviewMode = Field(
        default="manual",
        description="auto (无人干预智能办理: decided by the rules, else by a person) or manual (人工审核)",
    )
    issues: IssuesIn | None = Field(
        default=None, description="the certificate issued on approval (统一发证); null: none"
    )
    description: Description | None = Field(
        default=None, description="what the item is for, for people and search"
    )
    keywords: list[Keyword] = Field(description="further words search finds it by", default_factory=list)

    @model_validator(mode="after")
    def _issued_face_comes_from_the_form(self) -> ItemIn:
        if self.issues is None:
            return self
        form_fields = {f.name for f in self.form}
        for face_field, form_field in self.issues.data.items():
            if form_field not in form_fields:
                raise error_below(("issues", "data", face_field), f"the form has no field {form_field!r}")
        return self


ItemCodes = Annotated[list[CatalogCode], unique("item {!r} is listed twice")]


class OptionIn(_Body):
    """One answer to a question, and the items it adds."""

    value: CatalogCode = Field(description="the answer's code, sent in answers: elsewhere")
    label: Label = Field(description="how people read it: 非本市户籍")
    add_items: ItemCodes = Field(
        description="service items this answer adds to the one-thing", default_factory=list
    )


def _as_value_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


WhenValues = Annotated[list[CatalogCode], Field(min_length=1)]


class QuestionIn(_Body):
    """A question of the progressive questionnaire (递进式问卷).

    ``when`` maps earlier question ids to the answer (or list of answers, any of which will do)
    they must have had; every entry must hold. ``{}`` means always asked. A single string is
    accepted and stored as a one-element list.
    """

    id: Identifier = Field(description="the question's id, the key in answers: hukou")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="the question as asked: 新生儿父母是否为本市户籍？"
    )
    when: dict[Identifier, WhenValues] = Field(
        description="asked only when earlier answers are these (question id → allowed values); empty: always",
        default_factory=dict,
    )
    options: Annotated[list[OptionIn], unique("option value {!r} is used twice", by="value")] = Field(
        description="the answers to choose from", min_length=1
    )

    @field_validator("when", mode="before")
    @classmethod
    def _when_lists(cls, when: Any) -> Any:
        if isinstance(when, dict):
            return {k: _as_value_list(v) for k, v in when.items()}
        return when

    def option(self, value: str) -> OptionIn | None:
        """The option with this value, if any."""
        return next((o for o in self.options if o.value == value), None)


class OneThingIn(_Body):
    """A one-thing (一件事): items that always apply plus a questionnaire that adds more."""

    name: Name = Field(description="the one-thing's name: 新生儿出生一件事")
    items: ItemCodes = Field(
        description="service items every application of it includes", default_factory=list
    )
    questions: list[QuestionIn] = Field(
        description="the progressive questionnaire (情形引导) adding items by the answers",
        default_factory=list,
    )
    description: Description | None = Field(
        default=None, description="what the one-thing covers, for people and search"
    )
    keywords: list[Keyword] = Field(description="further words search finds it by", default_factory=list)

    @model_validator(mode="after")
    def _questionnaire_looks_backwards(self) -> OneThingIn:
        # `when` may only name EARLIER questions and their existing option values: the
        # questionnaire is then a DAG in list order, and a cycle cannot be written down.
        earlier: dict[str, QuestionIn] = {}
        for qi, question in enumerate(self.questions):
            if question.id in earlier:
                raise error_below(("questions", qi, "id"), f"question id {question.id!r} is used twice")
            for ref, values in question.when.items():
                path: tuple[str | int, ...] = ("questions", qi, "when", ref)
                target = earlier.get(ref)
                if target is None:
                    if ref == question.id or any(q.id == ref for q in self.questions):
                        message = f"'when' may only refer to earlier questions; {ref!r} is not earlier"
                        raise error_below(path, message)
                    raise error_below(path, f"no question {ref!r}")
                for vi, value in enumerate(values):
                    if target.option(value) is None:
                        raise error_below((*path, vi), f"question {ref!r} has no option {value!r}")
            earlier[question.id] = question
        if not self.items and not any(o.add_items for q in self.questions for o in q.options):
            raise error_below(("items",), "a one-thing needs at least one item, fixed or added by an answer")
        return self

    def question(self, question_id: str) -> QuestionIn | None:
        """The question with this id, if any."""
        return next((q for q in self.questions if q.id == question_id), None)

    def all_item_codes(self) -> list[str]:
        """Every item this one-thing can ever involve, fixed ones first, without duplicates."""
        codes = list(self.items)
        for question in self.questions:
            for option in question.options:
                codes.extend(option.add_items)
        return list(dict.fromkeys(codes))


CatalogBody = OrganizationIn | CertificateTypeIn | DataResourceIn | ItemIn | OneThingIn
