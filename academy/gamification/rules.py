"""Pure gamification rules: XP amounts, levels, streak arithmetic and the achievement catalog."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

XP_LESSON = 10
XP_QUIZ_PASSED = 20
XP_QUIZ_PERFECT = 10
XP_COURSE = 100


def level_for(xp: int) -> int:
    """Level n starts at 50·n·(n−1) XP: 0, 100, 300, 600, 1000, … — each level a little longer."""
    return int((1 + math.sqrt(1 + 4 * max(xp, 0) / 50)) / 2)


def level_start(level: int) -> int:
    return 50 * level * (level - 1)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class StreakState:
    current: int
    longest: int
    last_day: date | None
    freeze_week: str | None


@dataclass(frozen=True)
class StreakUpdate:
    state: StreakState
    froze: date | None  # the missed day a freeze covered, if one was spent


def advance_streak(state: StreakState, today: date) -> StreakUpdate:
    """Count `today` (a day in the student's own time zone) as a learning day.

    One missed day per ISO week is forgiven by a freeze; the freeze belongs to the week of the
    day it covers.
    """
    last = state.last_day
    if last is not None and today <= last:
        return StreakUpdate(state, None)
    froze = None
    if last is not None and today - last == timedelta(days=1):
        current = state.current + 1
    elif (
        last is not None
        and today - last == timedelta(days=2)
        and state.freeze_week != iso_week(today - timedelta(days=1))
    ):
        froze = today - timedelta(days=1)
        current = state.current + 1
    else:
        current = 1
    freeze_week = iso_week(froze) if froze else state.freeze_week
    return StreakUpdate(StreakState(current, max(state.longest, current), today, freeze_week), froze)


def visible_streak(state: StreakState, today: date) -> int:
    """The streak as it stands today: still alive if the last learning day was yesterday, or the
    day before with the week's freeze unused."""
    if state.last_day is None:
        return 0
    gap = (today - state.last_day).days
    if gap <= 1:
        return state.current
    if gap == 2 and state.freeze_week != iso_week(today - timedelta(days=1)):
        return state.current
    return 0


@dataclass(frozen=True)
class Stats:
    lessons: int = 0
    quizzes_passed: int = 0
    perfect_quizzes: int = 0
    courses: int = 0
    streak: int = 0
    level: int = 1
    local_hour: int | None = None  # hour of the current event in the student's time zone
    days_away: int = 0
    retried_and_passed: bool = False


@dataclass(frozen=True)
class Achievement:
    code: str
    icon: str
    title: str
    description: str
    earned: Callable[[Stats], bool]


ACHIEVEMENTS: tuple[Achievement, ...] = (
    Achievement("first-steps", "👣", "First steps", "Complete your first lesson", lambda s: s.lessons >= 1),
    Achievement("bookworm", "📚", "Bookworm", "Complete 10 lessons", lambda s: s.lessons >= 10),
    Achievement("scholar", "🎓", "Scholar", "Complete 25 lessons", lambda s: s.lessons >= 25),
    Achievement(
        "quiz-starter", "✅", "Quiz starter", "Pass your first quiz", lambda s: s.quizzes_passed >= 1
    ),
    Achievement("quiz-master", "🏆", "Quiz master", "Pass 10 quizzes", lambda s: s.quizzes_passed >= 10),
    Achievement(
        "perfectionist",
        "💯",
        "Perfectionist",
        "Get a perfect score on a quiz",
        lambda s: s.perfect_quizzes >= 1,
    ),
    Achievement(
        "flawless", "💎", "Flawless", "Get a perfect score on five quizzes", lambda s: s.perfect_quizzes >= 5
    ),
    Achievement(
        "persistent", "💪", "Persistent", "Pass a quiz you failed before", lambda s: s.retried_and_passed
    ),
    Achievement("streak-3", "🔥", "On fire", "Learn three days in a row", lambda s: s.streak >= 3),
    Achievement("streak-7", "⚡", "Week of focus", "Learn seven days in a row", lambda s: s.streak >= 7),
    Achievement("streak-30", "🌟", "Habit formed", "Learn thirty days in a row", lambda s: s.streak >= 30),
    Achievement("graduate", "🎉", "Graduate", "Complete a whole course", lambda s: s.courses >= 1),
    Achievement("level-5", "🚀", "Level 5", "Reach level 5", lambda s: s.level >= 5),
    Achievement(
        "night-owl",
        "🦉",
        "Night owl",
        "Complete a lesson between midnight and 5 am",
        lambda s: s.local_hour is not None and 0 <= s.local_hour < 5,
    ),
    Achievement(
        "early-bird",
        "🐦",
        "Early bird",
        "Complete a lesson between 5 and 7 am",
        lambda s: s.local_hour is not None and 5 <= s.local_hour < 7,
    ),
    Achievement(
        "comeback", "🔄", "Comeback", "Return to learning after a week away", lambda s: s.days_away >= 7
    ),
)

BY_CODE = {a.code: a for a in ACHIEVEMENTS}
