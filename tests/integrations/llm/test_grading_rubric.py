"""The embedded rubric grader on hand-graded examples (tests/data/homework/graded_examples.json)."""

import json
from pathlib import Path

import pytest

from academy.integrations.llm.grading import GradeCriterion, GradeRequest, grader
from academy.integrations.llm.rubric import RubricGrader

EXAMPLES = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "homework" / "graded_examples.json").read_text("utf-8")
)["rubrics"]


def request(rubric: dict, answer: str) -> GradeRequest:
    criteria = [
        GradeCriterion(c["key"], c["title"], c["points"], c["description"], tuple(c["concepts"]))
        for c in rubric["criteria"]
    ]
    return GradeRequest(criteria, answer, rubric["model_answer"], rubric["instructions"], rubric["locale"])


@pytest.mark.parametrize("rubric", EXAMPLES, ids=[r["name"] for r in EXAMPLES])
async def test_better_answers_score_higher_and_every_point_is_explained(rubric):
    assert len(rubric["answers"]) >= 4
    results = [await RubricGrader().grade(request(rubric, a["text"])) for a in rubric["answers"]]
    totals = [r.total for r in results]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == len(totals), totals
    maximum = sum(c["points"] for c in rubric["criteria"])
    assert totals[0] >= 0.8 * maximum, totals
    assert totals[-1] <= 0.2 * maximum, totals
    points_word = "баллов" if rubric["locale"] == "ru" else "points"
    for result in results:
        assert result.grader == "rubric" and result.feedback
        assert [s.key for s in result.scores] == [c["key"] for c in rubric["criteria"]]
        for score, criterion in zip(result.scores, rubric["criteria"], strict=True):
            assert 0 <= score.points <= criterion["points"] and score.points * 2 == int(score.points * 2)
            assert f"{score.points:g} " in score.feedback and points_word in score.feedback


async def test_feedback_names_what_was_found_and_what_is_missing():
    rubric = EXAMPLES[0]
    answer = "I always use a stop loss under support and I risk 2% of the account on each trade."
    result = await RubricGrader().grade(request(rubric, answer))
    by_key = {s.key: s for s in result.scores}
    assert "Mentions every key point: stop loss and swing low" in by_key["stop"].feedback
    assert "Mentions every key point: 1–2 % and account" in by_key["risk"].feedback
    assert "does not mention" in by_key["size"].feedback or "Does not mention" in by_key["size"].feedback
    assert "position size" in by_key["size"].feedback
    assert "Needs work: Position size" in result.feedback


@pytest.mark.parametrize(
    "spelling",
    ["1%", "1 %", "one percent", "1 percent", "1 per cent", "один процент", "1,5 %", "от 1 до 2 %"],
)
async def test_percent_spellings_match_a_range_concept(spelling):
    criteria = [GradeCriterion("risk", "Risk", 2, "", ("1–2 %",))]
    found = RubricGrader().grade_now(GradeRequest(criteria, f"I risk {spelling} of my money on every trade."))
    assert "Mentions every key point" in found.scores[0].feedback
    outside = RubricGrader().grade_now(GradeRequest(criteria, "I risk 5 % of my money on every trade."))
    assert "Does not mention" in outside.scores[0].feedback


async def test_russian_answers_match_english_concepts_and_get_russian_feedback():
    criteria = [GradeCriterion("stop", "Stop", 2, "", ("stop loss", "position size"))]
    answer = "Я всегда ставлю стоп-лосс и считаю размер позиции от риска на сделку."
    result = RubricGrader().grade_now(GradeRequest(criteria, answer, locale="ru"))
    assert result.scores[0].feedback.startswith("Упомянуты все ключевые пункты")
    assert "из 2 баллов" in result.scores[0].feedback


async def test_form_checks_explain_what_lost_points():
    rubric = EXAMPLES[0]
    keywords = await RubricGrader().grade(request(rubric, "stop loss swing low account position size"))
    assert "list of words" in keywords.scores[0].feedback
    copied = await RubricGrader().grade(request(rubric, rubric["instructions"]))
    assert copied.total == 0 and "repeats the task" in copied.feedback
    short = await RubricGrader().grade(request(rubric, "Stop loss."))
    assert "Too short" in short.scores[0].feedback


async def test_the_grader_is_deterministic_and_the_default_without_a_model(settings):
    rubric = EXAMPLES[1]
    req = request(rubric, rubric["answers"][1]["text"])
    assert RubricGrader().grade_now(req) == RubricGrader().grade_now(req)
    assert isinstance(grader(settings), RubricGrader)


async def test_a_binary_file_gets_zero_and_a_call_for_a_human():
    rubric = EXAMPLES[0]
    result = RubricGrader().unreadable(request(rubric, ""), "pdf")
    assert result.total == 0 and all("curator needs to look" in s.feedback for s in result.scores)
