"""The progressive questionnaire (递进式问卷) of a one-thing, as a pure function of the answers.

Rules (see docs/catalog.md):

* Questions are considered in their listed order. A question *applies* when every entry of its
  ``when`` holds: the named (earlier) question applies and was answered with one of the listed
  values. ``when == {}`` always holds.
* An applicable question without a valid answer is a *next question*. The result is ``complete``
  when there is none left.
* ``items`` are the one-thing's fixed items followed by the ``add_items`` of the chosen options of
  the applicable questions, without duplicates, in that order.

Because a condition only looks at earlier questions, once the result is complete no further answer
can change which questions apply: the item list is final — the applicant is told everything once
(一次告知).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from catalog.schemas import OneThingIn, QuestionIn

__all__ = ["AnswerError", "QuestionnaireResult", "all_paths", "evaluate"]


@dataclass(frozen=True)
class AnswerError:
    """An answer that was not taken into account, and why.

    ``code`` is one of ``unknown_question``, ``invalid_option`` (the value is not an option of
    that question), ``not_applicable`` (the question does not apply given the other answers).
    """

    code: str
    question_id: str
    detail: str


@dataclass(frozen=True)
class QuestionnaireResult:
    next_questions: tuple[QuestionIn, ...]
    """Applicable questions still without a valid answer, in order."""
    asked: tuple[QuestionIn, ...]
    """Every applicable question (answered or not), in order."""
    items: tuple[str, ...]
    """Item codes that apply given the answers so far; final once ``complete``."""
    complete: bool
    """Every applicable question has a valid answer."""
    errors: tuple[AnswerError, ...]
    """Answers that were ignored."""
    answers: Mapping[str, str]
    """The answers that were taken into account (valid and applicable)."""


def _holds(question: QuestionIn, accepted: Mapping[str, str]) -> bool:
    # `accepted` only holds answers to applicable questions, so an entry naming a question that
    # does not apply (or is not answered yet) fails here.
    return all(accepted.get(ref) in values for ref, values in question.when.items())


def evaluate(one_thing: OneThingIn, answers: Mapping[str, str]) -> QuestionnaireResult:
    """Which questions apply, which remain, and which items follow from ``answers``."""
    accepted: dict[str, str] = {}
    asked: list[QuestionIn] = []
    pending: list[QuestionIn] = []
    errors: list[AnswerError] = []
    items = list(one_thing.items)

    for question in one_thing.questions:
        value = answers.get(question.id)
        if not _holds(question, accepted):
            if value is not None:
                errors.append(
                    AnswerError("not_applicable", question.id, f"question {question.id!r} does not apply")
                )
            continue
        asked.append(question)
        if value is None:
            pending.append(question)
            continue
        option = question.option(value) if isinstance(value, str) else None
        if option is None:
            detail = f"question {question.id!r} has no option {value!r}"
            errors.append(AnswerError("invalid_option", question.id, detail))
            pending.append(question)
            continue
        accepted[question.id] = value
        items.extend(option.add_items)

    known = {q.id for q in one_thing.questions}
    for question_id in answers:
        if question_id not in known:
            errors.append(AnswerError("unknown_question", question_id, f"no question {question_id!r}"))

    return QuestionnaireResult(
        next_questions=tuple(pending),
        asked=tuple(asked),
        items=tuple(dict.fromkeys(items)),
        complete=not pending,
        errors=tuple(errors),
        answers=dict(accepted),
    )


def all_paths(one_thing: OneThingIn, *, limit: int = 10_000) -> list[dict[str, str]]:
    """Every complete set of answers, found by always answering the first next question.

    Each path answers exactly the questions that apply on it. Raises ValueError beyond ``limit``
    paths (independent questions multiply).
    """
    paths: list[dict[str, str]] = []

    def walk(answers: dict[str, str]) -> Iterator[dict[str, str]]:
        result = evaluate(one_thing, answers)
        if result.complete:
            yield answers
            return
        question = result.next_questions[0]
        for option in question.options:
            yield from walk({**answers, question.id: option.value})

    for path in walk({}):
        paths.append(path)
        if len(paths) > limit:
            raise ValueError(f"more than {limit} answer paths")
    return paths
