"""The questionnaire engine: applicability, items, completeness, errors — and every demo path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from catalog.catalogfile import CatalogBundle, load_catalog_file
from catalog.demo import demo_catalog_path
from catalog.questionnaire import all_paths, evaluate
from catalog.schemas import OneThingIn


def one_thing(questions: list[dict[str, Any]], items: list[str] | None = None) -> OneThingIn:
    return OneThingIn.model_validate(
        {"name": "测试", "items": ["A"] if items is None else items, "questions": questions}
    )


def yes_no(qid: str, *, yes: list[str] | None = None, when: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": qid,
        "text": f"{qid}?",
        "when": when or {},
        "options": [
            {"value": "yes", "label": "是", "add_items": yes or []},
            {"value": "no", "label": "否"},
        ],
    }


TWO_LEVEL = one_thing(
    [
        yes_no("signboard", yes=["B"]),
        {
            "id": "size",
            "text": "规模？",
            "when": {"signboard": "yes"},
            "options": [
                {"value": "small", "label": "小", "add_items": ["A"]},
                {"value": "large", "label": "大", "add_items": ["C", "B"]},
                {"value": "huge", "label": "特大", "add_items": ["C", "D"]},
            ],
        },
        yes_no("roof", yes=["E"], when={"size": ["large", "huge"]}),
    ]
)


def ids(questions: Any) -> list[str]:
    return [q.id for q in questions]


def test_nothing_answered_asks_the_unconditional_questions() -> None:
    result = evaluate(TWO_LEVEL, {})
    assert ids(result.next_questions) == ["signboard"]
    assert ids(result.asked) == ["signboard"]
    assert result.items == ("A",)
    assert not result.complete
    assert result.errors == ()


def test_an_answer_opens_the_follow_up_question() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "yes"})
    assert ids(result.next_questions) == ["size"]
    assert ids(result.asked) == ["signboard", "size"]
    assert result.items == ("A", "B")
    assert not result.complete


def test_a_when_list_matches_any_of_its_values() -> None:
    assert ids(evaluate(TWO_LEVEL, {"signboard": "yes", "size": "huge"}).next_questions) == ["roof"]
    assert ids(evaluate(TWO_LEVEL, {"signboard": "yes", "size": "large"}).next_questions) == ["roof"]
    assert evaluate(TWO_LEVEL, {"signboard": "yes", "size": "small"}).complete


def test_items_are_deduplicated_in_stable_order() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "yes", "size": "large", "roof": "yes"})
    assert result.complete
    assert result.items == ("A", "B", "C", "E")


def test_a_negative_answer_completes_without_the_follow_up() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "no"})
    assert result.complete
    assert ids(result.asked) == ["signboard"]
    assert result.items == ("A",)


def test_unknown_question_is_reported_and_ignored() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "no", "colour": "red"})
    assert [(e.code, e.question_id) for e in result.errors] == [("unknown_question", "colour")]
    assert result.complete
    assert result.answers == {"signboard": "no"}


def test_invalid_option_is_reported_and_the_question_stays_open() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "maybe"})
    assert [(e.code, e.question_id) for e in result.errors] == [("invalid_option", "signboard")]
    assert ids(result.next_questions) == ["signboard"]
    assert not result.complete
    assert result.items == ("A",)


def test_answer_to_a_question_that_does_not_apply_is_reported_and_ignored() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "no", "size": "large"})
    assert [(e.code, e.question_id) for e in result.errors] == [("not_applicable", "size")]
    assert result.items == ("A",)
    assert result.complete


def test_answer_ahead_of_its_condition_does_not_apply_yet() -> None:
    result = evaluate(TWO_LEVEL, {"size": "large"})
    assert [(e.code, e.question_id) for e in result.errors] == [("not_applicable", "size")]
    assert ids(result.next_questions) == ["signboard"]


def test_an_invalid_parent_answer_keeps_the_child_closed() -> None:
    result = evaluate(TWO_LEVEL, {"signboard": "maybe", "size": "large"})
    assert {e.code for e in result.errors} == {"invalid_option", "not_applicable"}
    assert ids(result.next_questions) == ["signboard"]


def test_independent_questions_are_all_asked_at_once() -> None:
    # 一次告知: every question that can already be asked is asked in the same round.
    thing = one_thing([yes_no("a", yes=["B"]), yes_no("b", yes=["C"]), yes_no("c", when={"a": "yes"})])
    assert ids(evaluate(thing, {}).next_questions) == ["a", "b"]
    assert ids(evaluate(thing, {"a": "yes"}).next_questions) == ["b", "c"]


def test_no_questions_is_complete_at_once() -> None:
    result = evaluate(one_thing([], items=["A", "B"]), {})
    assert result.complete
    assert result.items == ("A", "B")


def test_all_paths_of_a_two_level_questionnaire() -> None:
    assert all_paths(TWO_LEVEL) == [
        {"signboard": "yes", "size": "small"},
        {"signboard": "yes", "size": "large", "roof": "yes"},
        {"signboard": "yes", "size": "large", "roof": "no"},
        {"signboard": "yes", "size": "huge", "roof": "yes"},
        {"signboard": "yes", "size": "huge", "roof": "no"},
        {"signboard": "no"},
    ]


def test_all_paths_refuses_an_explosion() -> None:
    thing = one_thing([yes_no(f"q{i}") for i in range(12)])
    with pytest.raises(ValueError, match="more than"):
        all_paths(thing, limit=100)


# ---------------------------------------------------------------------------------------------
# Every path through every demo one-thing, against expectations written independently of the engine.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> CatalogBundle:
    return load_catalog_file(demo_catalog_path())


Expectation = Callable[[Mapping[str, str]], tuple[list[str], set[str]]]


def expectation(items: list[str], asked: set[str], rules: dict[tuple[str, str], list[str]]) -> Expectation:
    """The items and asked questions of a path, from rules written out by hand from the demo's story.

    ``rules`` maps (question, answer) to what that answer brings: item codes, and ``?question`` for a
    follow-up question it opens. A rule counts only when its question was asked; follow-ups come after
    the rules that open them.
    """

    def expect(answers: Mapping[str, str]) -> tuple[list[str], set[str]]:
        got, opened = list(items), set(asked)
        for (question, answer), brings in rules.items():
            if question in opened and answers[question] == answer:
                got += [b for b in brings if not b.startswith("?")]
                opened |= {b[1:] for b in brings if b.startswith("?")}
        return got, opened

    return expect


restaurant = expectation(
    ["SC-ESTABLISH", "SC-FOOD-LICENCE"],
    {"signboard", "dine_in", "drainage", "liquor"},
    {
        ("signboard", "yes"): ["?signboard_kind"],
        ("signboard_kind", "wall"): ["LH-SIGNBOARD-FILING"],
        ("signboard_kind", "large"): ["LH-SIGNBOARD-PERMIT"],
        ("dine_in", "yes"): ["XF-PREOPENING-CHECK"],
        ("drainage", "yes"): ["SWJ-DRAINAGE-PERMIT"],
        ("liquor", "yes"): ["SC-LIQUOR-RETAIL"],
    },
)
newborn = expectation(
    ["WJ-BIRTH-CERTIFICATE", "WJ-VACCINATION"],
    {"hukou", "mother_insured"},
    {
        ("hukou", "local"): ["GA-BIRTH-HUKOU", "YB-RESIDENT-ENROLMENT", "?social_security_card"],
        ("social_security_card", "yes"): ["RS-SOCIAL-SECURITY-CARD"],
        ("mother_insured", "yes"): ["?maternity_benefit"],
        ("maternity_benefit", "yes"): ["YB-MATERNITY-BENEFIT"],
    },
)
housing = expectation(
    ["SW-HOUSING-TAX", "GH-TRANSFER-REGISTRATION"],
    {"existing_mortgage", "buyer_loan", "utilities"},
    {
        ("existing_mortgage", "yes"): ["GH-MORTGAGE-CANCELLATION"],
        ("buyer_loan", "yes"): ["GH-MORTGAGE-REGISTRATION"],
        ("utilities", "yes"): ["WATER-TRANSFER", "POWER-TRANSFER", "?utilities_scope"],
        ("utilities_scope", "water_power_gas"): ["GAS-TRANSFER"],
    },
)


EXPECTED: dict[str, tuple[Expectation, int]] = {
    # code: (expected items and asked questions for a path, number of paths)
    "OT-RESTAURANT": (restaurant, 3 * 2 * 2 * 2),
    "OT-NEWBORN": (newborn, 3 * 3),
    "OT-HOUSING-RESALE": (housing, 2 * 2 * 3),
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_path_of_a_demo_one_thing(demo: CatalogBundle, code: str) -> None:
    thing = demo.one_things[code]
    expect, count = EXPECTED[code]
    paths = all_paths(thing)
    assert len(paths) == count
    assert len({tuple(sorted(p.items())) for p in paths}) == count
    for answers in paths:
        result = evaluate(thing, answers)
        items, asked = expect(answers)
        assert result.complete, answers
        assert result.errors == (), answers
        assert result.next_questions == ()
        assert set(result.items) == set(items), answers
        assert len(result.items) == len(set(result.items))
        assert {q.id for q in result.asked} == asked == set(answers), answers
        # Before the last answer the path was not complete: no question is superfluous.
        last = list(answers)[-1]
        partial = {k: v for k, v in answers.items() if k != last}
        assert not evaluate(thing, partial).complete, answers


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_demo_one_thing_has_a_second_level_question(demo: CatalogBundle, code: str) -> None:
    assert any(q.when for q in demo.one_things[code].questions)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_a_complete_result_is_final(demo: CatalogBundle, code: str) -> None:
    # 一次告知: once complete, an extra answer to any other question cannot change the items.
    thing = demo.one_things[code]
    for answers in all_paths(thing):
        final = evaluate(thing, answers).items
        for question in thing.questions:
            if question.id in answers:
                continue
            for option in question.options:
                result = evaluate(thing, {**answers, question.id: option.value})
                assert result.items == final
                assert [e.code for e in result.errors] == ["not_applicable"]
