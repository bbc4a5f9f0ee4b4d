"""Dropout-risk features of one enrolment at a moment `as_of` (pure: no database, no clock).

Everything is computed from what had happened by `as_of` and nothing later: events, completions,
quiz attempts, submissions, grades and assignments dated after it are ignored. That is what lets
training take features at a cutoff inside a finished enrolment and learn honestly from it.

Rules worth knowing:

- **Activity** is any activity event of the student in the course; enrolling is one, so a student
  who never came back counts from the day they enrolled.
- **Expected pace.** A lesson with `deadline_days` is expected once that many days have passed since
  enrolment. A lesson without one gets an implied deadline from an even pace: lesson *i* (1-based,
  course order) of *n* is due on day ⌈D·i/n⌉, where D is the course's largest `deadline_days`; when
  no lesson has a deadline, one lesson per 3 days (day 3·i). `lessons_behind` = expected − done.
- **Streak.** Learning days are the student's local calendar days with activity. The current
  streak is the run of consecutive days ending today or yesterday (0 otherwise). `streak_lost` is
  the length of the most recent run when it was 3 days or more and the current streak is 0.
- **Quiz trend.** Least-squares slope of the last ≤ 5 scores against attempt number, in points
  (of 100 %) per attempt; 0 with fewer than two attempts.
- **Homework.** An assignment is due at its `due_at`, else `due_days` after enrolment. Overdue: due
  before `as_of` with no submission by then. Failed: the latest submission by then was graded (by
  then) and did not pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

STREAK_MIN = 3
COACH_WINDOW = timedelta(days=14)
QUIZ_TREND_ATTEMPTS = 5
DAYS_PER_LESSON = 3
# Only this much activity before `as_of` can change the streak features; loaders may send less.
STREAK_WINDOW = timedelta(days=45)

# The features a model is trained on, in this order (Features.vector()).
FEATURES: tuple[str, ...] = (
    "days_since_activity",
    "lessons_behind",
    "overdue_homework",
    "failed_homework",
    "quiz_trend",
    "quiz_avg",
    "streak_lost",
    "coach_questions_14d",
    "days_enrolled",
    "progress_pct",
)


@dataclass(frozen=True)
class SubmissionFact:
    submitted_at: datetime
    status: str  # submitted | proposed | final | failed
    # When the grade became final (None while it is not).
    graded_at: datetime | None = None
    passed: bool | None = None


@dataclass(frozen=True)
class HomeworkItem:
    created_at: datetime
    due_at: datetime | None = None
    due_days: int | None = None
    submissions: Sequence[SubmissionFact] = ()

    def due_for(self, enrolled_at: datetime) -> datetime | None:
        if self.due_at is not None:
            return self.due_at
        if self.due_days is not None:
            return enrolled_at + timedelta(days=self.due_days)
        return None


@dataclass(frozen=True)
class History:
    """What happened in one enrolment. Loaders may leave out what cannot affect features at their
    `as_of` (activity older than STREAK_WINDOW apart from the latest event)."""

    enrolled_at: datetime
    # deadline_days of the course's published lessons, in course order.
    lessons: Sequence[int | None]
    completions: Sequence[datetime] = ()
    activity: Sequence[datetime] = ()
    quiz_scores: Sequence[tuple[datetime, int]] = ()
    homework: Sequence[HomeworkItem] = ()
    coach_questions: Sequence[datetime] = ()
    timezone: str = "UTC"


@dataclass(frozen=True)
class Features:
    days_since_activity: int
    lessons_behind: int
    overdue_homework: int
    failed_homework: int
    quiz_trend: float
    quiz_avg: float | None
    streak_lost: int
    coach_questions_14d: int
    days_enrolled: int
    progress_pct: int
    # Context for the words of a reason, not model inputs.
    quiz_trend_attempts: int = 0
    lessons_done: int = 0
    lessons_expected: int = 0
    current_streak: int = 0
    last_activity_at: datetime | None = field(default=None, compare=False)

    def vector(self) -> list[float]:
        """Model input in FEATURES order; a missing quiz average is NaN (the trees handle it)."""
        values = [getattr(self, name) for name in FEATURES]
        return [math.nan if v is None else float(v) for v in values]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for the stored score."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["last_activity_at"] = self.last_activity_at.isoformat() if self.last_activity_at else None
        return data


def implied_deadlines(lessons: Sequence[int | None]) -> list[int]:
    """Day (after enrolment) by which each lesson is expected; see the module docstring."""
    n = len(lessons)
    explicit = [d for d in lessons if d is not None]
    largest = max(explicit) if explicit else None
    days = []
    for i, deadline in enumerate(lessons, start=1):
        if deadline is not None:
            days.append(deadline)
        elif largest is not None:
            days.append(math.ceil(largest * i / n))
        else:
            days.append(DAYS_PER_LESSON * i)
    return days


def _local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def streaks(days: Sequence[date], today: date) -> tuple[int, int]:
    """(current streak, length of the most recent run) from learning days up to `today`."""
    ordered = sorted(set(days))
    if not ordered:
        return 0, 0
    run = 1
    for i in range(len(ordered) - 1, 0, -1):
        if (ordered[i] - ordered[i - 1]).days != 1:
            break
        run += 1
    current = run if (today - ordered[-1]).days <= 1 else 0
    return current, run


def slope(values: Sequence[float]) -> float:
    """Least-squares slope of values against 0, 1, 2, …"""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def _latest(submissions: Sequence[SubmissionFact], as_of: datetime) -> SubmissionFact | None:
    made = [s for s in submissions if s.submitted_at <= as_of]
    return max(made, key=lambda s: s.submitted_at) if made else None


def _failed(latest: SubmissionFact | None, as_of: datetime) -> bool:
    return (
        latest is not None
        and latest.graded_at is not None
        and latest.graded_at <= as_of
        and latest.passed is False
    )


def extract(history: History, as_of: datetime) -> Features:
    zone = _zone(history.timezone)
    days_enrolled = max(0, (as_of - history.enrolled_at).days)

    activity = [at for at in history.activity if at <= as_of]
    last = max(activity) if activity else None
    since = as_of - (last if last is not None else history.enrolled_at)
    days_since_activity = max(0, since.days)

    total = len(history.lessons)
    done = min(total, sum(1 for at in history.completions if at <= as_of))
    expected = sum(1 for day in implied_deadlines(history.lessons) if day <= days_enrolled)
    progress_pct = int(100 * done / total) if total else 0

    scores = [score for at, score in sorted(history.quiz_scores) if at <= as_of]
    recent = scores[-QUIZ_TREND_ATTEMPTS:]
    trend = slope(recent)
    quiz_avg = sum(scores) / len(scores) if scores else None

    current, run = streaks([_local_day(at, zone) for at in activity], _local_day(as_of, zone))
    streak_lost = run if current == 0 and run >= STREAK_MIN else 0

    overdue = failed = 0
    for item in history.homework:
        if item.created_at > as_of:
            continue
        latest = _latest(item.submissions, as_of)
        due = item.due_for(history.enrolled_at)
        if latest is None and due is not None and due < as_of:
            overdue += 1
        elif _failed(latest, as_of):
            failed += 1

    coach = sum(1 for at in history.coach_questions if as_of - COACH_WINDOW < at <= as_of)
    return Features(
        days_since_activity=days_since_activity,
        lessons_behind=max(0, expected - done),
        overdue_homework=overdue,
        failed_homework=failed,
        quiz_trend=round(trend, 2),
        quiz_avg=round(quiz_avg, 1) if quiz_avg is not None else None,
        streak_lost=streak_lost,
        coach_questions_14d=coach,
        days_enrolled=days_enrolled,
        progress_pct=progress_pct,
        quiz_trend_attempts=len(recent) if len(recent) >= 2 else 0,
        lessons_done=done,
        lessons_expected=expected,
        current_streak=current,
        last_activity_at=last,
    )


@dataclass(frozen=True)
class HomeworkTally:
    assigned: int = 0
    submitted: int = 0
    awaiting_review: int = 0
    overdue: int = 0
    failed: int = 0


def homework_tally(items: Sequence[HomeworkItem], enrolled_at: datetime, as_of: datetime) -> HomeworkTally:
    """The roster's homework counts for one student, by the same rules as the features."""
    assigned = submitted = awaiting = overdue = failed = 0
    for item in items:
        if item.created_at > as_of:
            continue
        assigned += 1
        latest = _latest(item.submissions, as_of)
        due = item.due_for(enrolled_at)
        if latest is None:
            if due is not None and due < as_of:
                overdue += 1
            continue
        submitted += 1
        if latest.status in ("submitted", "proposed"):
            awaiting += 1
        elif _failed(latest, as_of):
            failed += 1
    return HomeworkTally(assigned, submitted, awaiting, overdue, failed)
