"""The grading protocol: a rubric and an answer in, points and feedback per criterion out.

Two graders speak it: the embedded rubric grader (`rubric.py`, offline and deterministic) and an
OpenAI-compatible chat model asked for JSON (`openai_compat.OpenAICompatibleGrader`). `grader()`
picks one; a model that fails or answers out of protocol is replaced by the rubric grader, and the
result names the grader that produced it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import structlog

from academy.config import Settings, get_settings

log = structlog.get_logger()


@dataclass(frozen=True)
class GradeCriterion:
    key: str
    title: str
    points: float
    description: str = ""
    # Key ideas the answer must contain ("stop loss", "1–2 %"); "a|b" lists equivalent wordings.
    concepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradeRequest:
    criteria: Sequence[GradeCriterion]
    answer: str
    model_answer: str = ""
    instructions: str = ""
    locale: str = "en"


@dataclass(frozen=True)
class CriterionGrade:
    key: str
    points: float
    feedback: str


@dataclass(frozen=True)
class GradeResult:
    scores: list[CriterionGrade]
    feedback: str
    grader: str
    # Why a model's proposal was replaced by the fallback's, when it was.
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(s.points for s in self.scores)


class GradingError(Exception):
    """The grader could not grade (transport failure, timeout, an answer outside the protocol)."""


@runtime_checkable
class Grader(Protocol):
    name: str

    async def grade(self, request: GradeRequest) -> GradeResult:
        """Points for every criterion of the request, in its order. Raises GradingError."""
        ...


def round_half(value: float) -> float:
    """Points move in half-point steps: finer steps suggest a precision no grader has."""
    return math.floor(value * 2 + 0.5) / 2


def clamp_points(value: float, maximum: float) -> float:
    return min(max(round_half(value), 0.0), round_half(maximum) if maximum > 0 else 0.0)


def parse_grades(content: str, request: GradeRequest, grader: str) -> GradeResult:
    """Validate a model's JSON strictly: one object per criterion with numeric points and feedback.

    Points outside [0, max] are clamped and rounded to half points (a model that says 4.3 of 4
    meant "full marks"); anything missing, extra or of the wrong type is a GradingError.
    """
    text = content.strip()
    # Some servers wrap JSON in a markdown fence even when asked not to.
    if text.startswith("```"):
        text = text.strip("`")
        text = text[4:] if text.lower().startswith("json") else text
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise GradingError(f"{grader}: the answer is not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("scores"), list):
        raise GradingError(f"{grader}: expected an object with a 'scores' list")
    expected = {c.key: c for c in request.criteria}
    seen: dict[str, CriterionGrade] = {}
    for item in data["scores"]:
        if not isinstance(item, dict):
            raise GradingError(f"{grader}: every score must be an object")
        key, points, feedback = item.get("key"), item.get("points"), item.get("feedback")
        if not isinstance(key, str) or key not in expected:
            raise GradingError(f"{grader}: unknown criterion {key!r}")
        if key in seen:
            raise GradingError(f"{grader}: criterion {key!r} scored twice")
        if isinstance(points, bool) or not isinstance(points, int | float) or not math.isfinite(points):
            raise GradingError(f"{grader}: points for {key!r} are not a number")
        if not isinstance(feedback, str) or not feedback.strip():
            raise GradingError(f"{grader}: no feedback for {key!r}")
        seen[key] = CriterionGrade(key, clamp_points(float(points), expected[key].points), feedback.strip())
    missing = [key for key in expected if key not in seen]
    if missing:
        raise GradingError(f"{grader}: no score for {', '.join(missing)}")
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        raise GradingError(f"{grader}: the summary is not text")
    return GradeResult([seen[c.key] for c in request.criteria], summary.strip(), grader)


class FallbackGrader:
    """A model grader with the rubric grader behind it: every submission gets a proposal."""

    def __init__(self, primary: Grader, secondary: Grader) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = primary.name

    async def grade(self, request: GradeRequest) -> GradeResult:
        try:
            return await self.primary.grade(request)
        except GradingError as exc:
            reason = str(exc)
            log.warning("grading.primary_failed", primary=self.primary.name, error=reason)
        except Exception as exc:
            # A bug in an adapter must not leave a submission without a proposal; logged with its trace.
            reason = f"{self.primary.name}: {type(exc).__name__}"
            log.exception("grading.primary_crashed", primary=self.primary.name)
        result = await self.secondary.grade(request)
        return GradeResult(result.scores, result.feedback, result.grader, [*result.notes, reason])


def grader(settings: Settings | None = None) -> Grader:
    """The rubric grader, or an OpenAI-compatible model that falls back to it when one is set."""
    from academy.integrations.llm.rubric import RubricGrader

    settings = settings or get_settings()
    if not settings.llm_base_url:
        return RubricGrader()
    return _remote(settings.llm_base_url, settings.llm_api_key, settings.llm_model, settings.llm_timeout)


# One adapter per configuration, so its HTTP connections are reused across submissions.
@lru_cache(maxsize=4)
def _remote(base_url: str, api_key: str, model: str, timeout: float) -> Grader:
    # Imported here so a process without a configured server never loads the openai SDK.
    from academy.integrations.llm.openai_compat import OpenAICompatibleGrader
    from academy.integrations.llm.rubric import RubricGrader

    return FallbackGrader(OpenAICompatibleGrader(base_url, api_key, model, timeout), RubricGrader())
