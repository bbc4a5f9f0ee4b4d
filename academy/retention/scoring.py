"""Risk scorers: features in, a 0..100 score and the reasons for it out.

`RuleScorer` (the default) adds transparent points, each rule capped:

| reason code        | when                                   | points                         | cap |
|--------------------|----------------------------------------|--------------------------------|-----|
| `inactive`         | no activity for 3 days or more         | 5 per day beyond the 2nd       | 60  |
| `behind`           | behind the expected pace               | 8 per lesson                   | 24  |
| `homework_overdue` | homework due and not submitted         | 10 each                        | 20  |
| `homework_failed`  | latest graded submission did not pass  | 8 each                         | 16  |
| `quiz_falling`     | last ≤ 5 quiz scores fall ≥ 5 points   | half the points lost           | 15  |
| `quiz_low`         | quiz average below 60 %                | a third of the gap to 60       | 10  |
| `streak_lost`      | a streak of 3+ days has broken         | 6, +1 per day beyond 3         | 12  |
| `coach`            | asked the coach in the last 14 days    | −2 per question (lowers risk)  | −6  |

The sum is clamped to 0..100. Fourteen quiet days alone reach the default threshold (60); a week
quiet plus falling behind or unsubmitted homework does too. Only rules that added or removed
points become reasons, largest first.

`ModelScorer` wraps a fitted, calibrated classifier: the score is its dropout probability × 100.
Its reasons are the rule reasons for the same features, so the words always state facts about the
student (a tree ensemble has no per-feature story worth telling a curator), even though the number
comes from the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from academy.kit import i18n
from academy.retention.features import Features
from academy.retention.schemas import Reason

RULES = "rules"


@dataclass(frozen=True)
class ScoreResult:
    score: int
    reasons: list[Reason]


class Scorer(Protocol):
    name: str

    def score(self, features: Sequence[Features]) -> list[ScoreResult]: ...


class Classifier(Protocol):
    def predict_proba(self, x: Any) -> Any: ...


def _inactive(f: Features) -> tuple[float, float, int | None]:
    return min(60.0, 5.0 * max(0, f.days_since_activity - 2)), f.days_since_activity, None


def _behind(f: Features) -> tuple[float, float, int | None]:
    return min(24.0, 8.0 * f.lessons_behind), f.lessons_behind, None


def _overdue(f: Features) -> tuple[float, float, int | None]:
    return min(20.0, 10.0 * f.overdue_homework), f.overdue_homework, None


def _failed(f: Features) -> tuple[float, float, int | None]:
    return min(16.0, 8.0 * f.failed_homework), f.failed_homework, None


def _quiz_falling(f: Features) -> tuple[float, float, int | None]:
    n = f.quiz_trend_attempts
    change = round(f.quiz_trend * (n - 1)) if n >= 2 else 0
    if change > -5:
        return 0.0, change, n
    return min(15.0, -change / 2), change, n


def _quiz_low(f: Features) -> tuple[float, float, int | None]:
    if f.quiz_avg is None or f.quiz_avg >= 60:
        return 0.0, f.quiz_avg or 0.0, None
    return min(10.0, (60 - f.quiz_avg) / 3), round(f.quiz_avg), None


def _streak(f: Features) -> tuple[float, float, int | None]:
    if f.streak_lost < 3:
        return 0.0, f.streak_lost, None
    return min(12.0, 6.0 + (f.streak_lost - 3)), f.streak_lost, None


def _coach(f: Features) -> tuple[float, float, int | None]:
    return max(-6.0, -2.0 * f.coach_questions_14d), f.coach_questions_14d, None


RULE_TABLE: tuple[tuple[str, Callable[[Features], tuple[float, float, int | None]]], ...] = (
    ("inactive", _inactive),
    ("behind", _behind),
    ("homework_overdue", _overdue),
    ("homework_failed", _failed),
    ("quiz_falling", _quiz_falling),
    ("quiz_low", _quiz_low),
    ("streak_lost", _streak),
    ("coach", _coach),
)


def _words(code: str, value: float, count: int | None, locale: str) -> str:
    """The reason in `locale`'s words (see reason_text)."""
    catalog = i18n.translations(locale)
    _ = catalog.gettext
    ngettext = catalog.ngettext
    n = round(value)
    if code == "inactive":
        return ngettext("no activity for %(n)d day", "no activity for %(n)d days", n) % {"n": n}
    if code == "behind":
        return ngettext("%(n)d lesson behind", "%(n)d lessons behind", n) % {"n": n}
    if code == "homework_overdue":
        return ngettext("%(n)d homework overdue", "%(n)d homework assignments overdue", n) % {"n": n}
    if code == "homework_failed":
        return ngettext("%(n)d homework failed", "%(n)d homework assignments failed", n) % {"n": n}
    if code == "quiz_falling":
        attempts = count or 0
        return ngettext(
            "quiz scores falling (−%(points)d pts over %(n)d attempt)",
            "quiz scores falling (−%(points)d pts over %(n)d attempts)",
            attempts,
        ) % {"points": abs(n), "n": attempts}
    if code == "quiz_low":
        return _("low quiz average (%(avg)d %%)") % {"avg": n}
    if code == "streak_lost":
        return ngettext("lost a %(n)d-day streak", "lost a %(n)d-day streak", n) % {"n": n}
    if code == "coach":
        return ngettext(
            "asked the coach %(n)d question in 14 days", "asked the coach %(n)d questions in 14 days", n
        ) % {"n": n}
    return code


def reason_text(reason: Reason, locale: str) -> str:
    """The reason in `locale`, built from its code and numbers (the stored text is English)."""
    return _words(reason.code, reason.value, reason.count, locale)


def rule_reasons(features: Features) -> tuple[float, list[Reason]]:
    """(sum of points, reasons that changed the score, largest first)."""
    total = 0.0
    reasons = []
    for code, rule in RULE_TABLE:
        points, value, count = rule(features)
        if points == 0:
            continue
        total += points
        text = _words(code, value, count, i18n.DEFAULT_LOCALE)
        reasons.append(Reason(code=code, text=text, value=value, weight=round(points, 1), count=count))
    reasons.sort(key=lambda r: -r.weight)
    return total, reasons


class RuleScorer:
    name = RULES

    def score(self, features: Sequence[Features]) -> list[ScoreResult]:
        results = []
        for f in features:
            total, reasons = rule_reasons(f)
            results.append(ScoreResult(score=max(0, min(100, round(total))), reasons=reasons))
        return results


class ModelScorer:
    """A fitted calibrated classifier; reasons are the rule reasons for the same features."""

    def __init__(self, model: Classifier, name: str) -> None:
        self.model = model
        self.name = name

    def score(self, features: Sequence[Features]) -> list[ScoreResult]:
        if not features:
            return []
        import numpy as np

        probabilities = self.model.predict_proba(np.array([f.vector() for f in features], dtype=float))[:, 1]
        results = []
        for f, p in zip(features, probabilities, strict=True):
            _total, reasons = rule_reasons(f)
            score = 0 if math.isnan(p) else max(0, min(100, round(float(p) * 100)))
            results.append(ScoreResult(score=score, reasons=reasons))
        return results
