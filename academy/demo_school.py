"""The demo school's longer past: monthly cohorts going back half a year, their homework, the
dropout-risk history and the daily metrics.

It extends academy.demo: the cohorts are plans of timed actions like the recent eight weeks, and
everything is merged into one timeline, so a risk rescoring at a past moment sees exactly the
activity that existed then. Behaviour comes from archetypes, outcomes from the real services:
finishers complete every lesson and quiz and get their certificate from the enrolment service;
drop-outs simply stop.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from academy.analytics.schemas import MetricsQuery
from academy.analytics.service import metrics_service
from academy.demo import (
    _UNPLACED,
    COURSES_IMPORTED_DAYS_AGO,
    DAY,
    DEMO_DOMAIN,
    Archetype,
    Call,
    Diligence,
    _Action,
    _local_day,
    _Persona,
    _personas,
    _Plan,
    _quiz_action,
    _School,
    _Session,
    _study_days,
    _take_quiz,
)
from academy.enrollment.service import enrollment_service
from academy.homework.schemas import (
    AssignmentCreate,
    AssignmentRead,
    Criterion,
    ReviewCreate,
    ScoreEdit,
    Upload,
)
from academy.homework.service import homework_service
from academy.kit import clock
from academy.kit.pagination import PageParams
from academy.models import Lesson, User
from academy.retention.errors import NudgeCapReached
from academy.retention.schemas import NudgeCreate, RosterQuery
from academy.retention.service import retention_service

FIRST_COHORT_DAYS_AGO = 185
COHORT_EVERY_DAYS = 30
# A cohort's students enrol over its first days, not all on the same morning.
ENROLMENT_SPREAD_DAYS = 9

CohortArchetype = Literal["finisher", "slow", "crammer", "early_drop", "mid_drop", "returner"]
# Repeated in this order, so a cohort of twenty has 5 finishers, 2 slow-but-steady, 2 crammers,
# 4 early and 4 mid-course drop-outs and 3 who go quiet and come back.
_MIX: tuple[CohortArchetype, ...] = (
    "finisher",
    "early_drop",
    "mid_drop",
    "returner",
    "finisher",
    "slow",
    "early_drop",
    "crammer",
    "finisher",
    "mid_drop",
    "returner",
    "finisher",
    "early_drop",
    "mid_drop",
    "slow",
    "finisher",
    "crammer",
    "early_drop",
    "mid_drop",
    "returner",
)


@dataclass
class _Stint:
    """A stretch of study: the days (days ago, descending) and how many lessons get done in it."""

    days: list[int]
    lessons: int


@dataclass
class _Story:
    archetype: CohortArchetype
    stints: list[_Stint]
    finishes: bool
    # Quiz skill lost by the end (a mid-course drop-out's scores fall before the silence).
    fade: float = 0.0


def _story(rng: random.Random, archetype: CohortArchetype, enrolled: int, total: int) -> _Story:
    """Decide when a student of this kind studies, from the enrolment day `enrolled` (days ago)."""
    if archetype == "finisher":
        last = max(1, enrolled - rng.randint(35, 70))
        days = _study_days(rng, enrolled, last, rng.uniform(0.35, 0.7))
        return _Story(archetype, [_Stint(days, total)], finishes=True)
    if archetype == "crammer":
        last = max(1, enrolled - rng.randint(12, 28))
        days = _study_days(rng, enrolled, last, rng.uniform(0.1, 0.2))
        return _Story(archetype, [_Stint(days, total)], finishes=True)
    if archetype == "slow":
        span = rng.randint(95, 140)
        if enrolled - span >= 1:
            days = _study_days(rng, enrolled, enrolled - span, rng.uniform(0.2, 0.3))
            return _Story(archetype, [_Stint(days, total)], finishes=True)
        last = rng.choice((0, 1, 2, 6, 9, 12))  # still going, or drifting away lately
        days = _study_days(rng, enrolled, last, rng.uniform(0.2, 0.3))
        lessons = min(total - 1, max(2, round(total * (enrolled - last) / span)))
        return _Story(archetype, [_Stint(days, lessons)], finishes=False)
    if archetype == "early_drop":
        days = _study_days(rng, enrolled, enrolled - rng.randint(1, 10), 0.5)
        return _Story(archetype, [_Stint(days, rng.randint(1, 4))], finishes=False)
    if archetype == "mid_drop":
        days = _study_days(rng, enrolled, max(0, enrolled - rng.randint(21, 45)), rng.uniform(0.35, 0.55))
        return _Story(archetype, [_Stint(days, rng.randint(8, 16))], finishes=False, fade=0.35)
    # returner: studies, goes quiet for one to two weeks, is nudged, comes back
    first_last = enrolled - rng.randint(10, 20)
    first = _Stint(_study_days(rng, enrolled, first_last, 0.5), rng.randint(5, 9))
    back = first_last - rng.randint(9, 16)
    if back < 2:
        return _Story(archetype, [first], finishes=False)  # the silence is now: not back yet
    end = max(1, back - rng.randint(25, 50))
    finishes = back - end >= 20 and rng.random() < 0.7
    later = _Stint(
        _study_days(rng, back, end, 0.5),
        total - first.lessons if finishes else rng.randint(3, total - first.lessons - 1),
    )
    return _Story(archetype, [first, later], finishes=finishes)


def _spread(rng: random.Random, stint: _Stint) -> list[tuple[int, int]]:
    """Sittings of the stint as (days ago, lessons that day): every lesson gets a day, the first
    and the last day are kept, extra lessons go to random days."""
    days, goal = stint.days, max(stint.lessons, 1)
    if len(days) > goal:
        middle = sorted(rng.sample(days[1:-1], goal - 2), reverse=True) if goal > 2 else []
        days = [days[0], *middle, days[-1]] if goal > 1 else [days[0]]
    per_day = [1] * len(days)
    for _ in range(max(0, goal - len(days))):
        per_day[rng.randrange(len(days))] += 1
    return list(zip(days, per_day, strict=True))


@dataclass
class _Student:
    """What the rest of the history needs to know about a planned student."""

    plan: _Plan
    story: _Story
    persona: _Persona
    # The days a returner comes back after a silence (the curator wrote to them just before).
    comebacks: list[datetime] = field(default_factory=list)


def _cohort_student(
    school: _School,
    rng: random.Random,
    persona: _Persona,
    number: int,
    archetype: CohortArchetype,
    enrolled: int,
    now: datetime,
    homework: _Homework,
) -> _Student:
    total = len(school.lessons)
    story = _story(rng, archetype, enrolled, total)
    tz = ZoneInfo(persona.timezone)
    plan = _Plan(key=f"{persona.email_name}.{number}@{DEMO_DOMAIN}", persona=persona, user=None)
    student = _Student(plan, story, persona)
    mix_ups = school.text_answers()
    sign_up = _Session(
        tz, _local_day(now, tz, enrolled + rng.choice((0, 0, 1, 3))), rng.randint(9, 21), rng.randint(0, 59)
    )
    sign_up.add(0, _Action(_UNPLACED, "register"))
    actions = sign_up.place(now, None)

    # Graduates pass everything in the end; the rest sometimes put a failed quiz off for good.
    kind: Archetype = "graduate" if story.finishes else "stalled"
    sittings = [(stint_no, day) for stint_no, stint in enumerate(story.stints) for day in _spread(rng, stint)]
    done = 0
    owed: list[tuple[Lesson, int]] = []  # failed quizzes to take again, with the attempts so far
    for index, (stint_no, (days_ago, lessons_today)) in enumerate(sittings):
        low, high = persona.habit
        hour = rng.randint(low, high - 1) if rng.random() < 0.8 else rng.randint(8, 22)
        sitting = _Session(tz, _local_day(now, tz, days_ago), hour, rng.randint(0, 59))
        if index == 0:
            sitting.add(0, _Action(_UNPLACED, "enroll"))
        else:
            homework.sitting(plan, sitting, days_ago)
            if sittings[index - 1][0] != stint_no:
                student.comebacks.append(_local_day(now, tz, days_ago))
        final = index == len(sittings) - 1
        must_pass = final and story.finishes
        skill = persona.skill - story.fade * done / total * 2
        retakes, owed = owed, []
        for lesson, tries in retakes:
            owed += _take_quiz(school, rng, sitting, lesson, skill, tries, kind, must_pass, mix_ups)
        for _ in range(lessons_today):
            if done >= total:
                break
            lesson = school.lessons[done]
            done += 1
            if rng.random() < 0.25:  # most just read and mark it done; some come back to a page
                sitting.add(rng.uniform(1, 4), _Action(_UNPLACED, "open", lesson))
            sitting.add(
                lesson.duration_minutes * rng.uniform(0.6, 1.3), _Action(_UNPLACED, "complete", lesson)
            )
            if lesson.id in school.questions and (story.finishes or rng.random() > 0.1):
                if story.fade and final and done == sum(n for _, (_, n) in sittings[: index + 1]):
                    wrong = max(2, len(school.questions[lesson.id]) // 2)
                    sitting.add(rng.uniform(2, 4), _quiz_action(school, rng, lesson, wrong, mix_ups))
                    break  # a quiz that went badly, then silence
                owed += _take_quiz(school, rng, sitting, lesson, skill, 0, kind, must_pass, mix_ups)
            homework.lesson_done(plan, sitting, lesson, days_ago, _DILIGENCE[archetype])
        if final and not story.finishes and done < total and rng.random() < 0.5:
            sitting.add(rng.uniform(1, 5), _Action(_UNPLACED, "open", school.lessons[done]))
        actions += sitting.place(now, actions[-1].at, rng.uniform(1, 150))
    plan.actions = actions
    return student


_DILIGENCE: dict[CohortArchetype, Diligence] = {
    "finisher": "diligent",
    "crammer": "average",
    "slow": "average",
    "returner": "average",
    "early_drop": "careless",
    "mid_drop": "careless",
}


# --- homework: what the curator set ---

Quality = Literal["good", "average", "weak"]
# Share of good / average answers (the rest are weak), and how often homework is skipped or put
# off to a later sitting (then it is often late).
_QUALITY: dict[Diligence, tuple[float, float]] = {
    "diligent": (0.6, 0.35),
    "average": (0.3, 0.5),
    "careless": (0.1, 0.4),
}
_SKIP: dict[Diligence, float] = {"diligent": 0.0, "average": 0.08, "careless": 0.45}
_PUT_OFF: dict[Diligence, float] = {"diligent": 0.1, "average": 0.25, "careless": 0.45}
# What the curator judges each kind of answer to be worth, as a share of a criterion's points.
_WORTH: dict[Quality, float] = {"good": 0.9, "average": 0.6, "weak": 0.25}

STOP_RUBRIC = [
    Criterion(
        key="placement",
        title="Where the stop goes",
        points=4,
        description=(
            "The stop sits where the trade idea is proven wrong: beyond the last swing low (for a "
            "long) or swing high (for a short), or beyond the support/resistance the trade relies on. "
            "A stop placed at a round sum of money earns nothing here."
        ),
        concepts=["swing low|swing high|support|resistance", "idea is wrong|wrong|invalidated"],
    ),
    Criterion(
        key="distance",
        title="Distance and volatility",
        points=3,
        description=(
            "Gives the distance from entry to stop in price and compares it with the market's normal "
            "movement (ATR), so ordinary noise does not take the trade out."
        ),
        concepts=["distance", "ATR|volatility|noise"],
    ),
    Criterion(
        key="discipline",
        title="Set before entry, never widened",
        points=3,
        description=(
            "The stop is decided before entering and is never moved further away; moving it towards "
            "profit (to breakeven) is fine."
        ),
        concepts=[
            "before entry|before entering|before I enter",
            "never move|never widen|not move",
            "breakeven",
        ],
    ),
]
STOP_MODEL = (
    "Long EUR/USD at 1.0850 on the 4-hour chart after a pullback to support. The last swing low is "
    "1.0812, so the stop goes at 1.0800, just below it: if price breaks that swing low, the idea of "
    "a higher low in an uptrend is wrong. The distance is 50 pips, a little more than one ATR(14) of "
    "42 pips, so normal noise should not reach it. I set the stop before entering and I never move "
    "it further away; after a new higher low I may move it to breakeven."
)

SIZING_RUBRIC = [
    Criterion(
        key="risk",
        title="Money at risk",
        points=3,
        description="1 % of the account expressed in money, e.g. 100 of a 10,000 account.",
        concepts=["1 %", "account"],
    ),
    Criterion(
        key="distance",
        title="Risk per unit",
        points=3,
        description="The distance from entry to stop in price: what one unit loses if the stop is hit.",
        concepts=["entry", "stop", "per unit|per share|distance"],
    ),
    Criterion(
        key="size",
        title="Position size",
        points=3,
        description="Money at risk divided by the risk per unit, rounded down to a whole unit.",
        concepts=["divided|divide", "round down|rounded down"],
    ),
    Criterion(
        key="check",
        title="Sanity check",
        points=1,
        description=(
            "Checks what the position costs against the account and says no leverage is needed (or how much)."
        ),
        concepts=["leverage|margin|position value"],
    ),
]
SIZING_MODEL = (
    "Account 10,000, risk 1 % = 100. Entry 50.00, stop 48.00 below the swing low, so the risk per "
    "unit is the distance 2.00. Position size = 100 divided by 2.00 = 50 shares, rounded down to a "
    "whole share. The position value is 2,500, a quarter of the account, so no leverage or margin "
    "is needed. If the stop were further away, the size would shrink, not the stop."
)

PLAN_RUBRIC = [
    Criterion(
        key="setup",
        title="Market, timeframe and setup",
        points=3,
        description="Names the market, the timeframe and one concrete setup (e.g. a pullback in an uptrend).",
        concepts=["timeframe|daily|4-hour|hourly", "trend|pullback|breakout"],
    ),
    Criterion(
        key="rules",
        title="Entry, stop and target rules",
        points=3,
        description="Exact entry trigger, where the stop goes and where profit is taken (a target in R).",
        concepts=["entry", "stop", "target|take profit"],
    ),
    Criterion(
        key="risk",
        title="Risk limits",
        points=2,
        description="Risk per trade of 1–2 % at most and a daily or weekly loss limit that stops trading.",
        concepts=["1–2 %", "daily|per day|weekly"],
    ),
    Criterion(
        key="review",
        title="Journal and review",
        points=2,
        description="Every trade goes into a journal and the plan is reviewed on a fixed schedule.",
        concepts=["journal", "review"],
    ),
]
PLAN_MODEL = (
    "Market: BTC/USD on the 4-hour timeframe, trading only in the direction of the daily trend. "
    "Setup: a pullback to the rising 50-period moving average in an uptrend. Entry: the first 4-hour "
    "candle that closes back above the previous candle's high. Stop: below the pullback's swing low. "
    "Target: 2R, half the position taken there, the rest trailed under new swing lows. Risk: 1 % of "
    "the account per trade; after a 3 % daily loss I stop trading for the day. Every trade goes into "
    "my journal with a screenshot, and I review the plan every Sunday."
)

WORKSHEET_RUBRIC = [
    Criterion(
        key="complete",
        title="Three trades filled in",
        points=3,
        description="Every column of the worksheet filled for three own trade ideas.",
        concepts=["account_equity|equity", "entry", "stop"],
    ),
    Criterion(
        key="maths",
        title="The arithmetic",
        points=4,
        description=(
            "money_at_risk = equity × risk % / 100; risk_per_unit = entry − stop; position_units = "
            "money_at_risk / risk_per_unit rounded down; position_value = units × entry."
        ),
        concepts=["money_at_risk|money at risk", "risk_per_unit|risk per unit", "rounded down|round down"],
    ),
    Criterion(
        key="check",
        title="Conclusions",
        points=3,
        description=(
            "A note under the table: which trade needs leverage, and what was changed so it does not."
        ),
        concepts=["leverage|margin", "note|checked"],
    ),
]
WORKSHEET_MODEL = (
    "account_equity,risk_pct,money_at_risk,entry,stop,risk_per_unit,position_units,position_value\n"
    "10000,1,100,50.00,48.00,2.00,50,2500.00\n"
    "Note: checked every row; units rounded down; the third trade would need leverage, so I halved "
    "the risk instead."
)


@dataclass(frozen=True)
class _Task:
    slug: str  # the lesson
    data: AssignmentCreate


def _tasks(school: _School) -> list[AssignmentCreate]:
    by_slug = {lesson.slug: lesson for lesson in school.lessons}
    wanted = [
        _Task(
            "stop-loss",
            AssignmentCreate(
                lesson_id=1,
                title="Place a stop and explain it",
                kind="text",
                instructions=(
                    "Open any chart you follow. Describe one trade you would take: the entry, where "
                    "your stop goes and why exactly there, how far it is from the entry compared with "
                    "the market's normal movement, and what you will do with the stop once you are in."
                ),
                rubric=STOP_RUBRIC,
                model_answer=STOP_MODEL,
                due_days=35,
            ),
        ),
        _Task(
            "position-sizing",
            AssignmentCreate(
                lesson_id=1,
                title="Size a position with 1 % risk",
                kind="text",
                instructions=(
                    "Take your own account size (or 10,000 if you trade on paper) and one trade idea "
                    "with an entry and a stop. Work out, step by step, how many units you can buy so "
                    "that hitting the stop costs 1 % of the account. Check what the position costs."
                ),
                rubric=SIZING_RUBRIC,
                model_answer=SIZING_MODEL,
                due_days=38,
                late_policy="penalty",
                late_penalty_pct=10,
            ),
        ),
        _Task(
            "position-sizing",
            AssignmentCreate(
                lesson_id=1,
                title="Fill in the position-sizing worksheet",
                kind="file",
                instructions=(
                    "Download the worksheet attached to the lesson, replace the example rows with "
                    "three trade ideas of your own and add a note under the table: which one would "
                    "need leverage, and what you changed. Upload it as CSV (or a PDF export)."
                ),
                rubric=WORKSHEET_RUBRIC,
                model_answer=WORKSHEET_MODEL,
                due_days=40,
                file_types=["csv", "pdf"],
                max_file_bytes=200_000,
            ),
        ),
        _Task(
            "leverage-and-drawdowns",
            AssignmentCreate(
                lesson_id=1,
                title="Risk checkpoint: leverage and drawdowns",
                kind="quiz",
                instructions="The lesson's quiz counts as homework: pass it to close the risk module.",
                due_days=45,
            ),
        ),
        _Task(
            "trading-plan-and-discipline",
            AssignmentCreate(
                lesson_id=1,
                title="Write a trading plan for one setup",
                kind="text",
                instructions=(
                    "Write the plan you would follow for one setup, short enough to read before every "
                    "trade: the market and timeframe, the setup, the exact entry, stop and target, "
                    "your risk per trade and your daily loss limit, and how you will review it."
                ),
                rubric=PLAN_RUBRIC,
                model_answer=PLAN_MODEL,
                due_days=55,
            ),
        ),
    ]
    out = []
    for task in wanted:
        lesson = by_slug.get(task.slug)
        if lesson is None:
            continue  # the course changed: homework only where its lesson still is
        update: dict[str, Any] = {"lesson_id": lesson.id}
        if task.data.kind == "quiz":
            if lesson.id not in school.quiz_ids:
                continue
            update |= {"quiz_id": school.quiz_ids[lesson.id], "pass_pct": school.pass_marks[lesson.id]}
        out.append(task.data.model_copy(update=update))
    return out


# --- homework: what the students hand in ---

_ACCOUNTS = (2_000, 5_000, 10_000, 10_000, 25_000, 50_000)
_MARKETS = (
    ("EUR/USD", 1.0850, 0.0040),
    ("AAPL", 187.40, 3.10),
    ("BTC/USD", 64_200.0, 1_450.0),
    ("Gold", 2_345.0, 18.0),
    ("SBER", 271.5, 4.2),
    ("MSFT", 412.0, 6.5),
)


def _price(value: float) -> str:
    return f"{value:.4f}" if value < 10 else f"{value:,.2f}"


def _stop_answer(rng: random.Random, quality: Quality, locale: str) -> str:
    market, entry, atr = rng.choice(_MARKETS)
    swing = entry - atr * rng.uniform(0.8, 1.3)
    stop = swing - atr * 0.15
    distance = entry - stop
    tf = rng.choice(("daily", "4-hour", "1-hour"))
    if locale == "ru":
        tf_ru = {"daily": "дневном", "4-hour": "4-часовом", "1-hour": "часовом"}[tf]
        if quality == "good":
            return (
                f"Покупка {market} по {_price(entry)} на {tf_ru} графике после отката к поддержке. "
                f"Последний минимум (swing low) — {_price(swing)}, стоп ставлю на {_price(stop)}, чуть ниже: "
                f"если цена его пробьёт, идея неверна. Расстояние {_price(distance)} — примерно "
                f"{distance / atr:.1f} ATR, обычный шум его не заденет. Стоп ставлю до входа и никогда "
                "не отодвигаю дальше, только к безубытку (breakeven)."
            )
        if quality == "average":
            return (
                f"Вхожу в {market} по {_price(entry)}. Стоп ставлю под поддержкой на {_price(stop)}, "
                "потому что там идея сделки неверна. Двигать стоп дальше нельзя."
            )
        return f"Стоп ставлю на 2% ниже входа в {market}, если цена подойдёт близко — подвину пониже."
    if quality == "good":
        opener = rng.choice(("I would buy", "My trade: long", "Idea: buying"))
        return (
            f"{opener} {market} at {_price(entry)} on the {tf} chart after a pullback to support. "
            f"The last swing low is {_price(swing)}, so my stop goes at {_price(stop)}, just below it: "
            f"if price breaks that low the idea is wrong. The distance is {_price(distance)}, about "
            f"{distance / atr:.1f} times the ATR, so normal noise should not hit it. "
            + rng.choice(
                (
                    "I set the stop before entering and I never move it further away; once price makes "
                    "a new higher low I move it to breakeven.",
                    "The stop is placed before entry, and I will never widen it. Later I may move it to "
                    "breakeven, never the other way.",
                )
            )
        )
    if quality == "average":
        return (
            f"Long {market} at {_price(entry)}. Stop at {_price(stop)} under the support, because if "
            "support breaks my idea is wrong. "
            + rng.choice(
                ("I will not move it once I am in.", "I don't move stops.", "The stop stays where it is.")
            )
        )
    return rng.choice(
        (
            f"I put the stop 50 dollars below my entry on {market} because that's what I can lose. If "
            "price gets close I move it a bit lower so I don't get stopped out by a wick.",
            f"stop {_price(stop)}, target {_price(entry + 2 * distance)}",
            f"On {market} I use a mental stop, I close the trade when it feels wrong.",
        )
    )


def _sizing_numbers(rng: random.Random) -> tuple[int, str, float, float, float]:
    account = rng.choice(_ACCOUNTS)
    market, entry, atr = rng.choice(_MARKETS)
    stop = round(entry - atr * rng.uniform(0.8, 1.6), 4 if entry < 10 else 2)
    return account, market, entry, stop, entry - stop


def _sizing_answer(rng: random.Random, quality: Quality, locale: str) -> str:
    account, market, entry, stop, per_unit = _sizing_numbers(rng)
    risk = account / 100
    units = int(risk // per_unit) if per_unit >= 0.01 else int(risk / per_unit)
    value = units * entry
    needs = value > account
    if locale == "ru":
        if quality == "good":
            return (
                f"Счёт {account:,}, риск 1 % = {risk:,.0f}. {market}: вход {_price(entry)}, стоп "
                f"{_price(stop)}, риск на единицу (расстояние) {_price(per_unit)}. Размер позиции = "
                f"{risk:,.0f} разделить на {_price(per_unit)} = {units:,} единиц, округлил вниз. "
                f"Стоимость позиции {value:,.0f} — "
                + (
                    "больше счёта, нужно плечо (leverage), поэтому уменьшу позицию."
                    if needs
                    else "меньше счёта, плечо не нужно."
                )
            )
        if quality == "average":
            return (
                f"Риск 1 % от {account:,} = {risk:,.0f}. Вход {_price(entry)}, стоп {_price(stop)}. "
                f"Делю {risk:,.0f} на {_price(per_unit)}, получается около {risk / per_unit:,.1f}."
            )
        return f"Беру {market} на весь счёт {account:,}, стоп не нужен, если следить за графиком."
    if quality == "good":
        return (
            f"Account {account:,}, risk 1 % = {risk:,.0f}. {market}: entry {_price(entry)}, stop "
            f"{_price(stop)}, so the risk per unit is the distance {_price(per_unit)}. Position size = "
            f"{risk:,.0f} divided by {_price(per_unit)} = {units:,} units, rounded down. "
            f"The position value is {value:,.0f}, "
            + (
                "more than the account, so it would need leverage; I would rather take a smaller size."
                if needs
                else rng.choice(("so no leverage is needed.", "well inside the account, no margin needed."))
            )
        )
    if quality == "average":
        return rng.choice(
            (
                f"1 % of {account:,} is {risk:,.0f}. Entry {_price(entry)} and stop {_price(stop)}, "
                f"so I can buy {risk / per_unit:,.1f} units.",
                f"My account is {account:,}. I risk 1 % which is {risk:,.0f}. The stop is "
                f"{_price(per_unit)} away from entry, so {risk:,.0f} divided by {_price(per_unit)} "
                "is my size.",
            )
        )
    return rng.choice(
        (
            f"I buy {market} with 10 % of my account, that is {account / 10:,.0f}, it is a safe amount.",
            f"risk 1%, size {units * 3}",
            "I always buy 1 lot, it is the standard size.",
        )
    )


def _plan_answer(rng: random.Random, quality: Quality, locale: str) -> str:
    market = rng.choice(("EUR/USD", "BTC/USD", "the S&P 500 futures", "Gold", "Apple shares"))
    if locale == "ru":
        if quality == "good":
            return (
                f"Рынок: {market}, таймфрейм 4 часа, торгую только по тренду дневного графика. Сетап: откат "
                "к скользящей средней в восходящем тренде. Вход: закрытие свечи выше максимума предыдущей. "
                "Стоп: под минимумом отката. Цель (take profit): 2R. Риск 1 % на сделку, не больше 2 %; "
                "после убытка 3 % за день прекращаю торговлю. Каждую сделку записываю в журнал, план "
                "пересматриваю (review) каждое воскресенье."
            )
        if quality == "average":
            return (
                f"Торгую {market} на дневном графике, покупаю пробой уровня сопротивления. Стоп под "
                "уровнем, цель в два раза дальше стопа. Риск 1 % на сделку."
            )
        return "Покупаю когда растёт, продаю когда падает. Главное не бояться."
    if quality == "good":
        return (
            f"Market: {market} on the {rng.choice(('4-hour', 'daily', '1-hour'))} timeframe, only in the "
            "direction of the daily trend. Setup: "
            + rng.choice(
                (
                    "a pullback to the 20-period moving average in an uptrend.",
                    "a breakout above a range that held for at least 20 candles, then a retest.",
                )
            )
            + " Entry: the first candle that closes back above the previous candle's high. Stop: below "
            "the swing low of the pullback. Target: 2R, half taken there, the rest trailed. Risk: 1 % "
            "per trade, never above 2 %; after a 3 % daily loss I stop for the day. Every trade goes "
            "into my journal with a screenshot and I review the plan "
            + rng.choice(("every Sunday.", "at the end of each month."))
        )
    if quality == "average":
        return (
            f"I trade {market} on the daily chart and buy breakouts above resistance. The stop goes under "
            "the breakout level and the target is twice the stop distance. I risk 1 % per trade."
            + rng.choice(("", " I write my trades down.", " I will look at the results later."))
        )
    return rng.choice(
        (
            "Buy low, sell high, and cut losers quickly. Don't trade when tired.",
            f"I will trade {market} when the news is good and hold until it goes up.",
            "My plan is to follow signals from a Telegram channel and copy the entries.",
        )
    )


def _worksheet(rng: random.Random, quality: Quality) -> list[list[str]]:
    rows = [
        [
            "account_equity",
            "risk_pct",
            "money_at_risk",
            "entry",
            "stop",
            "risk_per_unit",
            "position_units",
            "position_value",
        ]
    ]
    for _ in range(3 if quality != "weak" else rng.choice((1, 2))):
        account, _market, entry, stop, per_unit = _sizing_numbers(rng)
        risk_pct = rng.choice((1, 1, 0.5))
        risk = account * risk_pct / 100
        exact = risk / per_unit
        units = (
            int(exact) if quality == "good" else round(exact) if quality == "average" else round(exact * 10)
        )
        decimals = 4 if entry < 10 else 2
        rows.append(
            [
                str(account), f"{risk_pct:g}", f"{risk:.0f}", f"{entry:.{decimals}f}", f"{stop:.{decimals}f}",
                f"{per_unit:.{decimals}f}", str(units), f"{units * entry:.2f}",
            ]
        )  # fmt: skip
    if quality == "good":
        rows.append(
            [
                "# note: checked every row; units rounded down; a trade above the account would need "
                "leverage, so I cut its risk"
            ]
            + [""] * 7
        )
    elif quality == "average":
        rows.append(["# note: money_at_risk and risk_per_unit from the formulas"] + [""] * 7)
    return rows


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with the lines in Helvetica: what an export from a spreadsheet would be."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 10 Tf 40 800 Td 14 TL " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    return out


@dataclass
class _Work:
    """One planned submission; the submission's id once it is made."""

    assignment: AssignmentRead
    quality: Quality
    text: str | None = None
    upload: Upload | None = None
    resubmission: bool = False
    action: _Action | None = None
    submission_id: int | None = None


@dataclass
class _Later:
    work: _Work
    not_before: int  # days ago: not in a sitting earlier than this day


class _Homework:
    """Plans homework into students' sittings (the HomeworkHook of academy.demo)."""

    def __init__(self, assignments: list[AssignmentRead], seed: int) -> None:
        self.by_lesson: dict[int, list[AssignmentRead]] = {}
        for a in assignments:
            if a.kind != "quiz":  # a quiz homework is taken as the lesson's quiz (academy.demo._attempt)
                self.by_lesson.setdefault(a.lesson_id, []).append(a)
        self.rng = random.Random(seed + 2)  # noqa: S311 - reproducible demo data, not secrets
        self.later: dict[str, list[_Later]] = {}
        self.works: list[_Work] = []

    def sitting(self, plan: _Plan, sitting: _Session, days_ago: int) -> None:
        waiting = self.later.pop(plan.key, [])
        for item in waiting:
            if days_ago <= item.not_before:
                self._add(plan, sitting, item.work)
            else:
                self.later.setdefault(plan.key, []).append(item)

    def lesson_done(
        self, plan: _Plan, sitting: _Session, lesson: Lesson, days_ago: int, diligence: Diligence
    ) -> None:
        rng = self.rng
        for assignment in self.by_lesson.get(lesson.id, []):
            if rng.random() < _SKIP[diligence]:
                continue
            good, average = _QUALITY[diligence]
            roll = rng.random()
            quality: Quality = "good" if roll < good else "average" if roll < good + average else "weak"
            work = self._work(assignment, quality, plan)
            if rng.random() < _PUT_OFF[diligence]:
                self.later.setdefault(plan.key, []).append(_Later(work, days_ago - 1))
            else:
                self._add(plan, sitting, work)
            if quality == "weak" and diligence != "careless":
                # Sent back by the curator, done again properly a few days later.
                again = self._work(assignment, rng.choice(("good", "average")), plan)
                again.resubmission = True
                self.later.setdefault(plan.key, []).append(_Later(again, days_ago - 3))

    def _work(self, assignment: AssignmentRead, quality: Quality, plan: _Plan) -> _Work:
        locale = plan.persona.locale if plan.persona else "en"
        rng = self.rng
        work = _Work(assignment, quality)
        if assignment.kind == "file":
            rows = _worksheet(rng, quality)
            stem = rng.choice(("position-sizing-worksheet", "sizing", "worksheet-filled", "my_sizing"))
            if rng.random() < 0.2:
                work.upload = Upload(f"{stem}.pdf", _pdf([",  ".join(row).rstrip(", ") for row in rows]))
            else:
                work.upload = Upload(f"{stem}.csv", _csv(rows))
        else:
            write = {
                "Place a stop and explain it": _stop_answer,
                "Size a position with 1 % risk": _sizing_answer,
            }.get(assignment.title, _plan_answer)
            work.text = write(rng, quality, locale)
        return work

    def _add(self, plan: _Plan, sitting: _Session, work: _Work) -> None:
        work.action = _Action(_UNPLACED, "call", run=self._submit(work))
        sitting.add(self.rng.uniform(8, 30), work.action)
        self.works.append(work)

    def _submit(self, work: _Work) -> Call:
        grading_delay = timedelta(seconds=self.rng.randint(20, 150))

        async def run(session: AsyncSession, user: User) -> None:
            status = await homework_service.status(session, user, work.assignment.id)
            if not status.can_submit:
                return
            if work.resubmission and not (
                status.latest is not None and status.latest.status == "final" and not status.latest.passed
            ):
                return  # the first attempt passed, or is not graded yet: nothing to redo
            submission = await homework_service.submit(
                session, user, work.assignment.id, text=work.text, upload=work.upload
            )
            work.submission_id = submission.id
            # The pre-grade job would run after the whole demo commits, outside its moment in the
            # history; the same service call here, a minute later, gives it its real timestamp.
            with clock.frozen(clock.now() + grading_delay):
                await homework_service.pregrade(session, submission.id)

        return run


# --- the staff: reviews, risk rescoring, nudges ---

CURATOR_ZONE = ZoneInfo("Europe/London")
RESCORE_EVERY = timedelta(days=3)
# The latest submissions are still waiting for the curator when the demo opens.
QUEUE_LEFT = 6


def _working_hours(at: datetime) -> datetime:
    """The next moment the curator is at work (9:00-20:00 London time) from `at`."""
    local = at.astimezone(CURATOR_ZONE)
    if local.hour >= 20:
        local = datetime.combine(local.date() + DAY, time(9, local.minute), CURATOR_ZONE)
    elif local.hour < 9:
        local = datetime.combine(local.date(), time(9, local.minute), CURATOR_ZONE)
    return local


def _review(work: _Work, rng: random.Random) -> Call:
    async def run(session: AsyncSession, curator: User) -> None:
        if work.submission_id is None:
            return
        submission = await homework_service.submission(session, curator, work.submission_id)
        if submission.status != "proposed" or submission.superseded:
            return
        proposed = submission.ai_scores or []
        worth = _WORTH[work.quality]
        edits = []
        changed = False
        for score in proposed:
            judged = round(score.max * worth * 2) / 2
            # The curator keeps the AI's points unless they are clearly off (or the AI could not read a file).
            if abs(score.points - judged) > 0.35 * score.max or (
                work.upload and work.upload.filename.endswith(".pdf")
            ):
                edits.append(ScoreEdit(key=score.key, points=judged, feedback=_CURATOR_NOTE[work.quality]))
                changed = True
            else:
                edits.append(ScoreEdit(key=score.key, points=score.points))
        data = ReviewCreate(scores=edits, feedback=_CURATOR_NOTE[work.quality]) if changed else ReviewCreate()
        await homework_service.review(session, curator, work.submission_id, data)

    return run


_CURATOR_NOTE: dict[Quality, str] = {
    "good": "Well done: clear reasoning and the numbers check out.",
    "average": "The idea is right; show each step and the numbers behind it next time.",
    "weak": "This misses the core of the lesson. Re-read it and try again: stop first, then size.",
}


def _rescore(with_returns: bool) -> Call:
    async def run(session: AsyncSession, _staff: User) -> None:
        await retention_service.rescore(session)
        if with_returns:
            await retention_service.track_returns(session)

    return run


def _nudge(student: _Plan, course_id: int, message: str | None) -> Call:
    """The curator writes to a returner who has gone quiet (the cap may already have been used by
    an automatic nudge: then the service refuses and the curator leaves it)."""

    async def run(session: AsyncSession, curator: User) -> None:
        assert student.user is not None
        enrollment = await enrollment_service.find(session, student.user.id, course_id)
        if enrollment is None or enrollment.completed_at is not None:
            return
        with contextlib.suppress(NudgeCapReached):
            await retention_service.nudge(session, curator, enrollment.id, NudgeCreate(message=message))

    return run


def _nudge_the_riskiest(message: str) -> Call:
    """The curator's round: a personal word to the highest-risk student not nudged this week."""

    async def run(session: AsyncSession, curator: User) -> None:
        rows = await retention_service.roster(
            session, curator, RosterQuery(status="at_risk"), PageParams(size=5)
        )
        week_ago = clock.now() - timedelta(days=7)
        for row in rows.items:
            if row.last_nudge_at is None or row.last_nudge_at < week_ago:
                with contextlib.suppress(NudgeCapReached):
                    await retention_service.nudge(
                        session,
                        curator,
                        row.enrollment_id,
                        NudgeCreate(message=message.format(name=row.name.split()[0])),
                    )
                return

    return run


_PERSONAL = (
    "Hi {name}, I noticed you paused the course. The next lesson is short, about 15 minutes. "
    "Anything I can help with?",
    "{name}, your last quiz was close to a pass. Want me to explain the questions you missed?",
    "Hi {name}! Risk management is the hardest module for many people. Reply here if something is unclear.",
)
_RETURNER_NOTES = (
    None,  # the default friendly message naming the next lesson
    "Hi! You were doing well before the break. Pick up where you stopped; the next lesson builds on "
    "what you know.",
    "We haven't seen you for a while. Ten minutes today keeps the streak alive.",
)


@dataclass
class History:
    """The longer history around academy.demo's recent weeks: cohorts, homework, risk and metrics."""

    school: _School
    curator: User
    now: datetime
    seed: int
    homework: _Homework
    students: list[_Student] = field(default_factory=list)

    @classmethod
    async def prepare(
        cls, session: AsyncSession, school: _School, curator: User, now: datetime, *, seed: int
    ) -> History:
        """Set the homework, as the curator did the day after the course was imported."""
        assignments = []
        with clock.frozen(now - (COURSES_IMPORTED_DAYS_AGO - 1) * DAY):
            for data in _tasks(school):
                assignments.append(await homework_service.create_assignment(session, curator, data))
        school.quiz_homework = {a.lesson_id: a.id for a in assignments if a.kind == "quiz"}
        return cls(school, curator, now, seed, _Homework(assignments, seed))

    def plan_cohorts(self, *, cohorts: int, size: int, first_number: int) -> list[_Plan]:
        rng = random.Random(self.seed + 1)  # noqa: S311 - reproducible demo data, not secrets
        number = first_number
        for cohort in range(cohorts):
            opened = FIRST_COHORT_DAYS_AGO - cohort * COHORT_EVERY_DAYS
            for position, persona in enumerate(_personas(rng, size)):
                enrolled = opened - rng.randint(0, ENROLMENT_SPREAD_DAYS)
                archetype = _MIX[position % len(_MIX)]
                self.students.append(
                    _cohort_student(
                        self.school, rng, persona, number, archetype, enrolled, self.now, self.homework
                    )
                )
                number += 1
        return [s.plan for s in self.students]

    def staff_plan(self) -> _Plan:
        """What the staff did around the students: reviews a few hours to two days after each
        submission, the risk rescoring every few days (the hourly job, thinned out), the
        curator's own nudges. Made after every student's plan is placed."""
        rng = random.Random(self.seed + 3)  # noqa: S311 - reproducible demo data, not secrets
        plan = _Plan(key=self.curator.email or "curator", persona=None, user=self.curator)
        actions: list[_Action] = []
        works = sorted(self.homework.works, key=lambda w: w.action.at if w.action else self.now)
        # The latest few wait for the curator when the demo opens, as do any not reviewed by now.
        for work in works[: max(0, len(works) - QUEUE_LEFT)]:
            assert work.action is not None
            hours = rng.choice((3, 5, 8, 20, 26, 44)) + rng.uniform(0, 4)
            at = _working_hours(work.action.at + timedelta(hours=hours))
            if at < self.now:
                actions.append(_Action(at, "call", run=_review(work, rng)))
        tick = self.now - FIRST_COHORT_DAYS_AGO * DAY
        tick_hours = (7, 12, 17)  # UTC: each tick misses someone's quiet hours, a different someone
        number = 0
        while tick < self.now - DAY:
            moment = datetime.combine(tick.date(), time(tick_hours[number % 3], 15), UTC)
            actions.append(_Action(moment, "call", run=_rescore(with_returns=True)))
            if number % 4 == 2:
                personal = _PERSONAL[number // 4 % len(_PERSONAL)]
                at = _working_hours(moment + timedelta(hours=2))
                actions.append(_Action(at, "call", run=_nudge_the_riskiest(personal)))
            tick += RESCORE_EVERY
            number += 1
        course_id = self.school.course.id
        for student in self.students:
            for back in student.comebacks:
                at = _working_hours(back - timedelta(days=rng.choice((1, 2)), hours=rng.randint(0, 3)))
                message = _RETURNER_NOTES[rng.randrange(len(_RETURNER_NOTES))]
                actions.append(_Action(at, "call", run=_nudge(student.plan, course_id, message)))
        plan.actions = actions
        return plan

    async def finish(self, session: AsyncSession) -> None:
        """Today: returns tracked, the risk model trained on the finished enrolments, everyone
        scored with whichever scorer won, and the daily metrics filled in for the whole history."""
        with clock.frozen(self.now):
            await retention_service.track_returns(session)
            await retention_service.train(session)
            await retention_service.rescore(session)
            await metrics_service.backfill(
                session, FIRST_COHORT_DAYS_AGO + ENROLMENT_SPREAD_DAYS + 7, until=self.now.date() - DAY
            )


async def curator_summary(session: AsyncSession, curator: User) -> str:
    """One line on what the curator's dashboard opens on, read through the same services."""
    today = clock.now().date()
    query = MetricsQuery(start=today - timedelta(days=FIRST_COHORT_DAYS_AGO + 30), end=today)
    cohorts = (await metrics_service.retention(session, curator, query, weeks=4)).cohorts
    months = {c.week.strftime("%Y-%m") for c in cohorts if c.size}
    at_risk = (await retention_service.counts(session, curator)).get("at_risk", 0)
    waiting = await homework_service.pending_review_count(session, curator)
    nudges = (await metrics_service.summary(session, curator, query)).nudges_sent
    return (
        f"enrolment cohorts: {len(cohorts)} weekly over {len(months)} months, at risk now: {at_risk}, "
        f"homework awaiting review: {waiting}, nudges sent: {nudges}"
    )
