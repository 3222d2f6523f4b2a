"""A one-thing's progressive questionnaire (递进式问卷) over HTTP: public, and nothing is stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalog import service
from catalog.queries import find_items
from catalog.questionnaire import evaluate
from catalog.schemas import QuestionIn
from hub.deps import ReadSessionDep
from hub.openapi import problems
from hub.routers.catalog_routing import catalog_router
from hub.routers.params import OneThingCode

router = catalog_router()


class QuestionnaireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, str] = Field(default_factory=dict, description="question id → chosen option value")


class AnswerErrorOut(BaseModel):
    code: str = Field(description="unknown_question | invalid_option | not_applicable")
    question_id: str = Field(description="the question whose answer is wrong")
    detail: str = Field(description="what is wrong")


class ItemSummary(BaseModel):
    code: str = Field(description="the service item's code")
    name: str = Field(description="its name")
    org: str = Field(description="the department deciding it (USCC)")


class QuestionnaireOut(BaseModel):
    complete: bool = Field(description="every applicable question has a valid answer; items are final")
    items: list[str] = Field(description="item codes that apply given the answers so far")
    item_details: list[ItemSummary] = Field(description="the items the answers lead to, with names")
    next_questions: list[QuestionIn] = Field(description="applicable questions still to answer, in order")
    asked: list[str] = Field(description="ids of every applicable question, in order")
    answers: dict[str, str] = Field(description="the answers taken into account")
    errors: list[AnswerErrorOut] = Field(description="answers that were ignored, and why")


@router.post("/one-things/{code}/questionnaire", response_model=QuestionnaireOut, responses=problems(404))
def answer_questionnaire(code: OneThingCode, body: QuestionnaireIn, session: ReadSessionDep) -> Any:
    """The progressive questionnaire (递进式问卷): given the answers so far, the next questions and
    the items that apply. Public; nothing is stored."""
    one_thing = service.get_one_thing(session, code).body
    result = evaluate(one_thing, body.answers)
    found = find_items(session, result.items)
    details = [
        ItemSummary(code=item.code, name=item.name, org=item.org_code)
        for item in (found.get(code) for code in result.items)
        if item is not None
    ]
    return QuestionnaireOut(
        complete=result.complete,
        items=list(result.items),
        item_details=details,
        next_questions=list(result.next_questions),
        asked=[q.id for q in result.asked],
        answers=dict(result.answers),
        errors=[
            AnswerErrorOut(code=e.code, question_id=e.question_id, detail=e.detail) for e in result.errors
        ],
    )
