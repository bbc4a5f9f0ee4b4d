"""Grading arithmetic and the AI pre-grade: rubric to grader request, grader result to scores,
the late penalty, and a curator's edited scores checked against the rubric."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from academy.homework.schemas import CriterionScore, ScoreEdit
from academy.integrations.llm.grading import GradeCriterion, Grader, GradeRequest, GradeResult, grader
from academy.integrations.llm.rubric import RubricGrader
from academy.kit.errors import Unprocessable
from academy.models import Assignment


def max_points(assignment: Assignment) -> float:
    if assignment.kind == "quiz":
        return 100.0
    return float(sum(float(c["points"]) for c in assignment.rubric))


def late_days(due_at: datetime | None, at: datetime) -> int:
    """Started days after the deadline: one minute late is one day late."""
    if due_at is None or at <= due_at:
        return 0
    return math.ceil((at - due_at) / timedelta(days=1))


def penalty_pct(assignment: Assignment, days_late: int) -> int:
    if assignment.late_policy != "penalty" or days_late <= 0:
        return 0
    return min(100, days_late * assignment.late_penalty_pct)


def final_total(points: float, penalty: int) -> float:
    return round(points * (100 - penalty) / 100, 2)


def passed(total: float, maximum: float, pass_pct: int) -> bool:
    return maximum > 0 and total >= maximum * pass_pct / 100 - 1e-9


def request_for(assignment: Assignment, answer: str, locale: str) -> GradeRequest:
    criteria = [
        GradeCriterion(
            key=str(c["key"]),
            title=str(c["title"]),
            points=float(c["points"]),
            description=str(c.get("description", "")),
            concepts=tuple(str(x) for x in c.get("concepts", [])),
        )
        for c in assignment.rubric
    ]
    return GradeRequest(criteria, answer, assignment.model_answer, assignment.instructions, locale)


async def propose(
    assignment: Assignment, answer: str | None, file_type: str | None, locale: str
) -> GradeResult:
    """The AI proposal. With no readable text (a binary file) nothing is sent to a model: the rubric
    grader proposes 0 and asks for a human look rather than inventing what the file says."""
    request = request_for(assignment, answer or "", locale)
    if answer is None or not answer.strip():
        return RubricGrader().unreadable(request, file_type or "binary")
    chosen: Grader = grader()
    return await chosen.grade(request)


def scores_from(assignment: Assignment, result: GradeResult) -> list[dict[str, Any]]:
    by_key = {s.key: s for s in result.scores}
    return [
        CriterionScore(
            key=str(c["key"]),
            title=str(c["title"]),
            points=by_key[str(c["key"])].points,
            max=float(c["points"]),
            feedback=by_key[str(c["key"])].feedback,
        ).model_dump()
        for c in assignment.rubric
    ]


def edited_scores(
    assignment: Assignment, edits: list[ScoreEdit], proposal: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """A curator's scores: every rubric key once, 0 ≤ points ≤ the criterion's maximum."""
    rubric = {str(c["key"]): c for c in assignment.rubric}
    given = [e.key for e in edits]
    problems: list[str] = []
    unknown = sorted(set(given) - set(rubric))
    if unknown:
        problems.append(f"not in the rubric: {', '.join(unknown)}")
    repeated = sorted({k for k in given if given.count(k) > 1})
    if repeated:
        problems.append(f"scored twice: {', '.join(repeated)}")
    missing = [k for k in rubric if k not in given]
    if missing:
        problems.append(f"no score for: {', '.join(missing)}")
    for edit in edits:
        maximum = float(rubric[edit.key]["points"]) if edit.key in rubric else None
        if maximum is not None and not 0 <= edit.points <= maximum:
            problems.append(f"{edit.key}: points must be between 0 and {maximum:g}")
    if problems:
        raise Unprocessable("Scores do not fit the rubric: " + "; ".join(problems))
    ai = {str(s["key"]): s for s in proposal or []}
    by_key = {e.key: e for e in edits}
    return [
        CriterionScore(
            key=key,
            title=str(c["title"]),
            points=float(by_key[key].points),
            max=float(c["points"]),
            feedback=(by_key[key].feedback or "").strip() or str(ai.get(key, {}).get("feedback", "")),
        ).model_dump()
        for key, c in rubric.items()
    ]


def same_scores(a: list[dict[str, Any]], b: list[dict[str, Any]] | None) -> bool:
    if b is None:
        return False
    pairs = {s["key"]: s for s in b}
    return all(
        s["key"] in pairs
        and math.isclose(float(s["points"]), float(pairs[s["key"]]["points"]))
        and s["feedback"] == pairs[s["key"]]["feedback"]
        for s in a
    ) and len(a) == len(b)
