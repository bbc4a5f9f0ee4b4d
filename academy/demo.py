"""Demo data: one account per role, the shipped courses and a believable school around them.

Everything is made through the same services the product uses. The learning history is backdated
with `clock.frozen`: every generated action runs at its own moment, in chronological order, so
streaks, achievements, deadlines, the activity stream and the weekly board all look like a school
that has been running for a while. This module plans the last eight weeks (the demo student and
forty others); academy.demo_school adds half a year of earlier cohorts, homework, risk rescoring,
nudges and metrics, merged into the same timeline.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.auth.schemas import RegisterIn
from academy.auth.service import auth_service
from academy.config import ROOT
from academy.course.service import course_service
from academy.demo_lab import load_lab
from academy.enrollment.service import enrollment_service
from academy.homework.service import homework_service
from academy.kit import clock, jobs
from academy.kit.pagination import PageParams
from academy.models import Course, Lesson, Question, Role, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.quiz.grading import normalize_text
from academy.quiz.service import quiz_service
from academy.user.service import user_service

DEMO_PASSWORD = "academy-demo"
DEMO_DOMAIN = "demo.academy.school"
CONTENT_DIR = ROOT / "content"
GENERATED_STUDENTS = 40
# Earlier monthly cohorts (academy.demo_school), so the school has months of finished enrolments.
COHORTS = 6
COHORT_SIZE = 20
SEED = 2026
DAY = timedelta(days=1)
_UNPLACED = datetime.min  # an action's moment before its sitting is placed


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role
    # Backdated sign-up, so the staff accounts are older than the history they take part in.
    joined_days_ago: int = 200


DEMO_ACCOUNTS = (
    DemoAccount("student@demo.academy.school", "Sam Student", Role.student, joined_days_ago=23),
    DemoAccount("curator@demo.academy.school", "Cora Curator", Role.curator),
    DemoAccount("expert@demo.academy.school", "Eli Expert", Role.expert),
    DemoAccount("admin@demo.academy.school", "Ada Admin", Role.admin),
)
STUDENT_EMAIL = DEMO_ACCOUNTS[0].email
CURATOR_EMAIL = DEMO_ACCOUNTS[1].email
COURSES_IMPORTED_DAYS_AGO = 195


async def load_demo(
    session: AsyncSession,
    *,
    students: int = GENERATED_STUDENTS,
    cohorts: int = COHORTS,
    cohort_size: int = COHORT_SIZE,
    seed: int = SEED,
) -> list[DemoAccount]:
    """Idempotent: existing demo accounts are left as they are, and the courses and the learning
    history are loaded only while the demo student has no enrollment yet."""
    now = clock.now()
    created = []
    for account in DEMO_ACCOUNTS:
        if await user_service.by_email(session, account.email):
            continue
        with clock.frozen(now - account.joined_days_ago * DAY):
            user = await auth_service.register(
                session,
                RegisterIn(
                    email=account.email,
                    password=DEMO_PASSWORD,
                    name=account.name,
                    timezone="Europe/London",
                ),
                role=account.role,
                verified=True,
            )
            await notification_service.notify(
                session,
                user.id,
                NotificationPayload(
                    kind="system",
                    title=f"Welcome, {account.name.split()[0]}",
                    body="This is the demo school. Open your profile to set your time zone and language.",
                    link="/profile",
                ),
                email=False,
            )
        created.append(account)
    # The history calls pre-grading and rescoring itself at each moment (see demo_school).
    with jobs.paused("homework.pregrade", "retention.rescore"):
        await load_school(
            session, students=students, cohorts=cohorts, cohort_size=cohort_size, seed=seed, now=now
        )
    sam = await user_service.by_email(session, STUDENT_EMAIL)
    curator = await user_service.by_email(session, CURATOR_EMAIL)
    if sam is not None and curator is not None:
        with _quiet_logs():
            await load_lab(session, curator, [sam], now)
    return created


async def load_school(
    session: AsyncSession,
    *,
    students: int = GENERATED_STUDENTS,
    cohorts: int = COHORTS,
    cohort_size: int = COHORT_SIZE,
    seed: int = SEED,
    now: datetime | None = None,
) -> bool:
    """Import every course under content/, assign the demo curator, and play the learning history:
    the last eight weeks (the demo student and `students` others) merged with `cohorts` earlier
    monthly cohorts of `cohort_size` (academy.demo_school), their homework, risk and metrics.

    Returns False (and does nothing) when the demo student already has an enrollment.
    """
    # demo_school builds on this module's planning primitives, so it is imported here.
    from academy.demo_school import History

    sam = await user_service.by_email(session, STUDENT_EMAIL)
    curator = await user_service.by_email(session, CURATOR_EMAIL)
    if sam is None or curator is None:
        return False
    if (await enrollment_service.enrollments(session, sam, PageParams(size=1))).total:
        return False
    now = now or clock.now()
    with _quiet_logs():
        courses = await _import_courses(session, curator, now - COURSES_IMPORTED_DAYS_AGO * DAY)
        if not courses:
            return True
        school = await _School.load(session, courses[0])
        history = await History.prepare(session, school, curator, now, seed=seed)
        rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
        plans = [_sam_plan(school, sam, now)]
        for number, persona in enumerate(_personas(rng, students), start=1):
            archetype = _ARCHETYPES[(number - 1) % len(_ARCHETYPES)]
            plans.append(_student_plan(school, rng, persona, number, archetype, now, history.homework))
        plans += history.plan_cohorts(cohorts=cohorts, size=cohort_size, first_number=students + 1)
        # Last: the staff's plan reacts to the students' placed moments (reviews after submissions).
        plans.append(history.staff_plan())
        await _play(session, school, plans)
        await history.finish(session)
    return True


async def demo_summary(session: AsyncSession) -> list[str]:
    """Lines for the CLI: the demo students and how far they got, then what the curator finds."""
    students = enrolled = finished = 0
    params = PageParams(page=1, size=100)
    while True:
        page = await user_service.search(session, params, query=f"@{DEMO_DOMAIN}", role=Role.student)
        for read in page.items:
            students += 1
            user = await user_service.get(session, read.id)
            mine = await enrollment_service.enrollments(session, user, PageParams(size=100))
            enrolled += bool(mine.total)
            finished += any(e.completed_at for e in mine.items)
        if params.page >= page.pages:
            break
        params = PageParams(page=params.page + 1, size=params.size)
    lines = [f"students: {students}, enrolled: {enrolled}, finished with a certificate: {finished}"]
    curator = await user_service.by_email(session, CURATOR_EMAIL)
    if curator is not None:
        from academy.demo_school import curator_summary

        lines.append(await curator_summary(session, curator))
    return lines


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The history makes thousands of service calls; their info lines would bury the demo logins."""
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**previous)


async def _import_courses(session: AsyncSession, curator: User, at: datetime) -> list[Course]:
    courses = []
    with clock.frozen(at):
        for folder in sorted(p for p in CONTENT_DIR.iterdir() if (p / "course.yaml").is_file()):
            report = await course_service.import_folder(session, folder)
            await enrollment_service.assign_curator(session, curator, report.course_id)
            courses.append(await course_service.get(session, report.course_id, curator))
    return [c for c in courses if c.published]


# --- the school: what there is to learn ---


@dataclass
class _School:
    course: Course
    lessons: list[Lesson]
    questions: dict[int, list[Question]]  # lesson id -> its quiz's questions
    quiz_ids: dict[int, int]  # lesson id -> quiz id
    pass_marks: dict[int, int]  # lesson id -> its quiz's pass mark
    # lesson id -> a quiz homework on that lesson's quiz: attempts at it go through the homework
    quiz_homework: dict[int, int] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, course: Course) -> _School:
        lessons = list(await course_service.lessons(session, course.id))
        quizzes = await course_service.quizzes_for_lessons(session, [lesson.id for lesson in lessons])
        questions = {}
        for lesson_id, quiz in quizzes.items():
            full = await course_service.quiz(session, quiz.id)
            assert full is not None
            questions[lesson_id] = list(full.questions)
        return cls(
            course=course,
            lessons=lessons,
            questions=questions,
            quiz_ids={lesson_id: quiz.id for lesson_id, quiz in quizzes.items()},
            pass_marks={lesson_id: quiz.pass_mark for lesson_id, quiz in quizzes.items()},
        )

    def text_answers(self) -> list[str]:
        """Accepted answers of every text question: plausible mix-ups for a wrong answer elsewhere."""
        return [q.answer[0] for qs in self.questions.values() for q in qs if q.kind == "text" and q.answer]


def _correct(question: Question, rng: random.Random) -> Any:
    if question.kind == "text":
        accepted = list(question.answer)
        answer = rng.choice(accepted)
        return answer.capitalize() if rng.random() < 0.3 else answer
    if question.kind == "numeric":
        value = float(question.answer)
        return int(value) if value.is_integer() else value
    return question.answer


def _wrong(question: Question, rng: random.Random, mix_ups: Sequence[str]) -> Any:
    """A deliberately wrong answer of the right shape, the kind a student really gives."""
    if question.kind == "single":
        others = [i for i in range(len(question.options)) if i != question.answer]
        return rng.choice(others)
    if question.kind == "multiple":
        chosen = set(question.answer)
        missing = [i for i in range(len(question.options)) if i not in chosen]
        if missing and (len(chosen) == 1 or rng.random() < 0.5):
            return sorted(chosen | {rng.choice(missing)})  # one option too many
        return sorted(chosen - {rng.choice(sorted(chosen))})  # one option forgotten
    if question.kind == "numeric":
        value = float(question.answer)
        delta = max(abs(value) * rng.choice([0.5, 1.0, 9.0]), question.tolerance * 3 + 1)
        lower = value - delta if value - delta >= 0 or value < 0 else None  # no negative prices
        wrong = round(value + delta if lower is None or rng.random() < 0.5 else lower, 2)
        return int(wrong) if wrong.is_integer() else wrong
    accepted = {normalize_text(a) for a in question.answer}
    candidates = [m for m in mix_ups if normalize_text(m) not in accepted]
    return rng.choice(candidates) if candidates else "not sure"


def _answers(
    questions: list[Question], wrong: int, rng: random.Random, mix_ups: Sequence[str]
) -> dict[int, Any]:
    wrong_ids = {q.id for q in rng.sample(questions, min(wrong, len(questions)))}
    return {q.id: _wrong(q, rng, mix_ups) if q.id in wrong_ids else _correct(q, rng) for q in questions}


# --- who studies: generated students ---

_EN_FIRST = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Sophia",
    "James",
    "Isla",
    "Henry",
    "Grace",
    "Jack",
    "Chloe",
    "Thomas",
    "Lucy",
    "Daniel",
    "Ella",
    "Samuel",
    "Mia",
    "Ethan",
    "Hannah",
    "Ryan",
    "Zoe",
    "Lewis",
)
_EN_LAST = (
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Walker",
    "Wright",
    "Thompson",
    "Hughes",
    "Clarke",
    "Baker",
    "Carter",
    "Mitchell",
    "Turner",
    "Harris",
    "Cooper",
    "Bennett",
    "Ward",
    "Fraser",
    "Murphy",
)
# (Cyrillic, Latin, feminine?)
_RU_FIRST = (
    ("Анна", "anna", True),
    ("Мария", "maria", True),
    ("Екатерина", "ekaterina", True),
    ("Ольга", "olga", True),
    ("Дарья", "daria", True),
    ("Наталья", "natalia", True),
    ("Юлия", "yulia", True),
    ("Ирина", "irina", True),
    ("Алексей", "alexey", False),
    ("Дмитрий", "dmitry", False),
    ("Иван", "ivan", False),
    ("Сергей", "sergey", False),
    ("Михаил", "mikhail", False),
    ("Андрей", "andrey", False),
    ("Никита", "nikita", False),
    ("Павел", "pavel", False),
    ("Артём", "artem", False),
    ("Егор", "egor", False),
)
# Masculine forms; the feminine adds "а" / "a".
_RU_LAST = (
    ("Иванов", "ivanov"),
    ("Смирнов", "smirnov"),
    ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"),
    ("Соколов", "sokolov"),
    ("Лебедев", "lebedev"),
    ("Козлов", "kozlov"),
    ("Новиков", "novikov"),
    ("Морозов", "morozov"),
    ("Волков", "volkov"),
    ("Соловьёв", "solovyov"),
    ("Васильев", "vasiliev"),
    ("Зайцев", "zaitsev"),
    ("Фёдоров", "fedorov"),
    ("Орлов", "orlov"),
)
_EN_ZONES = (
    "Europe/London",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "Australia/Sydney",
    "Asia/Singapore",
    "Europe/Berlin",
    "Africa/Johannesburg",
)
_RU_ZONES = (
    "Europe/Moscow",
    "Europe/Moscow",
    "Europe/Moscow",
    "Europe/Kaliningrad",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Vladivostok",
    "Asia/Almaty",
    "Europe/Minsk",
)
# When in their own day students like to learn (hour ranges, local time).
_HABITS = ((6, 7), (7, 8), (12, 13), (18, 20), (19, 21), (20, 22), (0, 1))


@dataclass(frozen=True)
class _Persona:
    name: str
    email_name: str
    locale: str
    timezone: str
    habit: tuple[int, int]
    skill: float  # chance of answering a question right on a first attempt


def _personas(rng: random.Random, count: int) -> list[_Persona]:
    people: list[_Persona] = []
    names: set[str] = set()
    firsts: Counter[str] = Counter()
    while len(people) < count:
        zones: tuple[str, ...]
        if rng.random() < 0.45:
            first, first_latin, feminine = rng.choice(_RU_FIRST)
            last, last_latin = rng.choice(_RU_LAST)
            if feminine:
                last, last_latin = last + "а", last_latin + "a"
            email_name, locale, zones = f"{first_latin}.{last_latin}", "ru", _RU_ZONES
        else:
            first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
            email_name, locale, zones = f"{first}.{last}".lower(), "en", _EN_ZONES
        if (f"{first} {last}" in names or firsts[first] >= 2) and len(names) < 200:
            continue  # no namesakes and few same first names in a class of forty
        names.add(f"{first} {last}")
        firsts[first] += 1
        people.append(
            _Persona(
                name=f"{first} {last}",
                email_name=email_name,
                locale=locale,
                timezone=rng.choice(zones),
                habit=rng.choice(_HABITS),
                skill=rng.uniform(0.72, 0.97),
            )
        )
    return people


Archetype = Literal["graduate", "active", "fading", "stalled", "new"]
# Repeated in this order, so even a handful of students covers every kind: 40 students make
# 14 stalled, 10 active, 6 graduates, 6 fading and 4 who have just started.
_ARCHETYPES: tuple[Archetype, ...] = (
    "stalled",
    "active",
    "graduate",
    "stalled",
    "fading",
    "new",
    "stalled",
    "active",
    "stalled",
    "graduate",
    "fading",
    "stalled",
    "active",
    "stalled",
    "new",
    "active",
    "graduate",
    "stalled",
    "fading",
    "active",
)


# How carefully each kind of student does homework.
Diligence = Literal["diligent", "average", "careless"]
_DILIGENCE: dict[Archetype, Diligence] = {
    "graduate": "diligent",
    "active": "average",
    "fading": "careless",
    "stalled": "careless",
    "new": "average",
}


# --- the plan: timed actions, decided up front ---

ActionKind = Literal["register", "enroll", "open", "complete", "quiz", "call"]
# Anything else a plan does at its moment (homework, a curator's review, a risk rescoring), given the
# plan's user once it exists.
Call = Callable[[AsyncSession, User], Awaitable[None]]


@dataclass
class _Action:
    at: datetime
    kind: ActionKind
    lesson: Lesson | None = None
    answers: dict[int, Any] = field(default_factory=dict)
    run: Call | None = None


@dataclass
class _Plan:
    key: str  # email
    persona: _Persona | None  # None: an existing account (the demo student)
    user: User | None
    actions: list[_Action] = field(default_factory=list)


class HomeworkHook(Protocol):
    """Adds homework to a student's sittings while the plan is made (academy.demo_school)."""

    def sitting(self, plan: _Plan, sitting: _Session, days_ago: int) -> None:
        """A later sitting begins: homework put off earlier can be done now."""

    def lesson_done(
        self, plan: _Plan, sitting: _Session, lesson: Lesson, days_ago: int, diligence: Diligence
    ) -> None:
        """The lesson was just completed in this sitting."""


def _passes(school: _School, lesson: Lesson, wrong: int) -> bool:
    """What the grader will say: the score is rounded the same way (see QuizService.attempt)."""
    total = len(school.questions[lesson.id])
    return total == 0 or round(100 * (total - wrong) / total) >= school.pass_marks[lesson.id]


class _Session:
    """One sitting: actions a few minutes apart from a local start time, kept before `now`."""

    def __init__(self, tz: ZoneInfo, day: datetime, hour: int, minute: int) -> None:
        self.tz = tz
        self.start = datetime.combine(day.date(), time(hour % 24, minute), tz)
        self.offsets: list[tuple[float, _Action]] = []
        self.minutes = 0.0

    def add(self, after_minutes: float, action: _Action) -> None:
        self.minutes += after_minutes
        self.offsets.append((self.minutes, action))

    def place(self, now: datetime, not_before: datetime | None, ended_ago: float = 1.0) -> list[_Action]:
        """Give each action its moment. A sitting that would end after `now - ended_ago` minutes
        (today's) is moved back to end then, and squeezed into today if it would start yesterday."""
        midnight = datetime.combine(now.astimezone(self.tz).date(), time(0), self.tz)
        latest = max(now - timedelta(minutes=ended_ago), midnight + (now - midnight) / 2)
        times = [self.start + timedelta(minutes=m) for m, _ in self.offsets]
        if times and times[-1] > latest:
            shift = times[-1] - latest
            times = [t - shift for t in times]
            if times[0] < midnight < latest:
                first, span = self.offsets[0][0], (self.offsets[-1][0] - self.offsets[0][0]) or 1.0
                times = [midnight + (latest - midnight) * ((m - first) / span) for m, _ in self.offsets]
        placed = []
        for at, (_, action) in zip(times, self.offsets, strict=True):
            if not_before is not None and at <= not_before:
                at = not_before + timedelta(seconds=30)  # a sitting that ran past midnight
            action.at = at
            not_before = at
            placed.append(action)
        return placed


def _local_day(now: datetime, tz: ZoneInfo, days_ago: int) -> datetime:
    return datetime.combine(now.astimezone(tz).date() - timedelta(days=days_ago), time(12), tz)


def _study_days(rng: random.Random, first: int, last: int, chance: float) -> list[int]:
    """Days ago (descending) on which the student sat down: always the first and last one."""
    days = [first]
    days += [d for d in range(first - 1, last, -1) if rng.random() < chance]
    if last < first:
        days.append(last)
    return days


def _student_plan(
    school: _School,
    rng: random.Random,
    persona: _Persona,
    number: int,
    archetype: Archetype,
    now: datetime,
    homework: HomeworkHook | None = None,
) -> _Plan:
    total = len(school.lessons)
    if archetype == "graduate":
        first = rng.randint(24, 55)
        last = rng.randint(0, first - 18)
        days = _study_days(rng, first, last, rng.uniform(0.6, 0.9))
        goal = total
    elif archetype == "active":
        first = rng.randint(4, 30)
        last = 0 if rng.random() < 0.7 else 1
        days = _study_days(rng, first, last, rng.uniform(0.75, 0.95))
        goal = min(total - 1, sum(rng.choice((1, 1, 1, 2)) for _ in days))
    elif archetype == "fading":
        first = rng.randint(18, 45)
        last = rng.randint(6, 12)
        days = _study_days(rng, first, last, rng.uniform(0.3, 0.5))
        goal = min(total - 2, len(days) + rng.randint(0, 3))
    elif archetype == "stalled":
        first = rng.randint(16, 56)
        last = rng.randint(10, min(45, first - 1))
        days = _study_days(rng, first, last, rng.uniform(0.4, 0.8))
        goal = min(total - 4, rng.randint(1, 3) * len(days) // 2 + 1)
    else:  # new
        first = last = rng.randint(0, 3)
        days = [first]
        goal = rng.choice((0, 1))
    if len(days) > max(goal, 1):  # fewer sittings than days picked: keep the first and the last
        middle = sorted(rng.sample(days[1:-1], max(goal, 1) - 2), reverse=True) if goal > 2 else []
        days = [days[0], *middle, days[-1]] if goal > 1 else [days[0]]
    per_day = [1] * len(days)
    for _ in range(max(0, goal - len(days))):
        per_day[rng.randrange(len(days))] += 1
    if goal == 0:
        per_day = [0]

    tz = ZoneInfo(persona.timezone)
    email = f"{persona.email_name}.{number}@{DEMO_DOMAIN}"
    plan = _Plan(key=email, persona=persona, user=None)
    mix_ups = school.text_answers()
    registered = _local_day(now, tz, days[0] + rng.choice((0, 0, 1, 2)))
    sign_up = _Session(tz, registered, rng.randint(9, 21), rng.randint(0, 59))
    sign_up.add(0, _Action(_UNPLACED, "register"))
    actions = sign_up.place(now, None)

    next_lesson = 0
    owed: list[tuple[Lesson, int]] = []  # failed quizzes to take again, with the attempts so far
    stuck_on_quiz = archetype in ("stalled", "fading") and rng.random() < 0.4
    for index, (days_ago, lessons_today) in enumerate(zip(days, per_day, strict=True)):
        low, high = persona.habit
        hour = rng.randint(low, high - 1) if rng.random() < 0.85 else rng.randint(8, 22)
        sitting = _Session(tz, _local_day(now, tz, days_ago), hour, rng.randint(0, 59))
        if index == 0:
            sitting.add(0, _Action(_UNPLACED, "enroll"))
        elif homework is not None:
            homework.sitting(plan, sitting, days_ago)
        final_day = index == len(days) - 1
        must_pass = final_day and archetype == "graduate"
        retakes, owed = owed, []
        for lesson, tries in retakes:
            owed += _take_quiz(
                school, rng, sitting, lesson, persona.skill, tries, archetype, must_pass, mix_ups
            )
        for _ in range(lessons_today):
            if next_lesson >= total:
                break
            lesson = school.lessons[next_lesson]
            next_lesson += 1
            sitting.add(rng.uniform(1, 4), _Action(_UNPLACED, "open", lesson))
            reading = lesson.duration_minutes * rng.uniform(0.7, 1.4)
            sitting.add(reading, _Action(_UNPLACED, "complete", lesson))
            if homework is not None:
                homework.lesson_done(plan, sitting, lesson, days_ago, _DILIGENCE[archetype])
            if lesson.id not in school.questions:
                continue
            if archetype != "graduate" and rng.random() < 0.08:
                continue  # skipped this quiz and never came back to it
            if stuck_on_quiz and final_day and next_lesson == sum(per_day[: index + 1]):
                # The last thing this student did: a quiz that went badly. Then nothing.
                wrong = max(2, len(school.questions[lesson.id]) // 2)
                sitting.add(rng.uniform(2, 4), _quiz_action(school, rng, lesson, wrong, mix_ups))
                break
            owed += _take_quiz(school, rng, sitting, lesson, persona.skill, 0, archetype, must_pass, mix_ups)
        if final_day and archetype != "graduate" and next_lesson < total and rng.random() < 0.6:
            sitting.add(rng.uniform(1, 5), _Action(_UNPLACED, "open", school.lessons[next_lesson]))
        actions += sitting.place(now, actions[-1].at, rng.uniform(1, 150))
    plan.actions = actions
    return plan


def _quiz_action(
    school: _School, rng: random.Random, lesson: Lesson, wrong: int, mix_ups: Sequence[str]
) -> _Action:
    return _Action(_UNPLACED, "quiz", lesson, _answers(school.questions[lesson.id], wrong, rng, mix_ups))


def _take_quiz(
    school: _School,
    rng: random.Random,
    sitting: _Session,
    lesson: Lesson,
    skill: float,
    tries: int,
    archetype: Archetype,
    must_pass: bool,
    mix_ups: Sequence[str],
) -> list[tuple[Lesson, int]]:
    """Attempts in this sitting until passed or put off; returns the quiz if it is still owed.

    Each retake goes better (the student re-reads the feedback); the third one passes.
    """
    questions = school.questions[lesson.id]
    while True:
        accuracy = 1.0 if tries >= 2 else min(1.0, skill + 0.12 * tries)
        wrong = sum(1 for _ in questions if rng.random() > accuracy)
        gap = rng.uniform(2, 5) if tries == 0 else rng.uniform(6, 15)
        sitting.add(gap, _quiz_action(school, rng, lesson, wrong, mix_ups))
        tries += 1
        if _passes(school, lesson, wrong):
            return []
        if not must_pass and rng.random() < (0.3 if archetype == "graduate" else 0.45):
            return [(lesson, tries)]  # comes back to it next time


def _sam_plan(school: _School, sam: User, now: datetime) -> _Plan:
    """The demo student, a scripted story: twelve lessons done with every quiz passed (the fifth
    failed first), the thirteenth opened today, learning five days in a row up to today. In the
    shipped course that is modules 1-3 done and three of module 4's five lessons."""
    tz = ZoneInfo(sam.timezone or "Europe/London")
    rng = random.Random(4)  # noqa: S311 - reproducible demo data, not secrets
    mix_ups = school.text_answers()
    # (days ago, hour, minute, steps): "L<wrong>" = open + complete the next lesson, then its quiz
    # with that many wrong answers; "R<wrong>" = retake the quiz that failed; "O" = open the next one.
    script = (
        (21, 19, 10, ("L0",)),
        (20, 19, 35, ("L1",)),
        (18, 20, 5, ("L0",)),
        (15, 6, 40, ("L1",)),
        (13, 19, 20, ("L3",)),  # failed: 3 of 6 wrong
        (12, 19, 45, ("R0", "L1")),
        (9, 20, 30, ("L0",)),
        (4, 19, 15, ("L1",)),
        (3, 19, 40, ("L0",)),
        (2, 20, 10, ("L1",)),
        (1, 19, 5, ("L0",)),
        (0, 18, 30, ("L1", "O")),
    )
    plan = _Plan(key=sam.email or STUDENT_EMAIL, persona=None, user=sam)
    actions: list[_Action] = []
    next_lesson = 0
    failed: Lesson | None = None
    for days_ago, hour, minute, steps in script:
        sitting = _Session(tz, _local_day(now, tz, days_ago), hour, minute)
        if not actions:
            sitting.add(0, _Action(_UNPLACED, "enroll"))
        for step in steps:
            if next_lesson >= len(school.lessons):
                break
            lesson = school.lessons[next_lesson]
            if step == "O":
                sitting.add(2, _Action(_UNPLACED, "open", lesson))
            elif step.startswith("R") and failed is not None:
                sitting.add(3, _quiz_action(school, rng, failed, int(step[1:]), mix_ups))
                failed = None
            elif step.startswith("L"):
                next_lesson += 1
                sitting.add(2, _Action(_UNPLACED, "open", lesson))
                sitting.add(lesson.duration_minutes, _Action(_UNPLACED, "complete", lesson))
                if lesson.id in school.questions:
                    wrong = int(step[1:])
                    sitting.add(3, _quiz_action(school, rng, lesson, wrong, mix_ups))
                    if not _passes(school, lesson, wrong):
                        failed = lesson
        actions += sitting.place(now, actions[-1].at if actions else None)
    plan.actions = actions
    return plan


# --- playing the plan through the services ---


async def _play(session: AsyncSession, school: _School, plans: list[_Plan]) -> None:
    """Every action of every student, merged into one timeline and run at its own moment."""
    timeline = sorted(
        ((action.at, p, s) for p, plan in enumerate(plans) for s, action in enumerate(plan.actions)),
        key=lambda item: (item[0], item[1], item[2]),
    )
    course_id = school.course.id
    for at, p, s in timeline:
        plan, action = plans[p], plans[p].actions[s]
        with clock.frozen(at):
            if action.kind == "register":
                assert plan.persona is not None
                plan.user = await auth_service.register(
                    session,
                    RegisterIn(
                        email=plan.key,
                        password=DEMO_PASSWORD,
                        name=plan.persona.name,
                        locale=plan.persona.locale,
                        timezone=plan.persona.timezone,
                    ),
                    verified=True,
                )
                continue
            user = plan.user
            assert user is not None
            if action.kind == "enroll":
                await enrollment_service.enroll(session, user, course_id)
            elif action.kind == "open":
                assert action.lesson is not None
                await enrollment_service.open_lesson(session, user, action.lesson)
            elif action.kind == "complete":
                assert action.lesson is not None
                await enrollment_service.complete_lesson(session, user, action.lesson.id)
            elif action.kind == "call":
                assert action.run is not None
                await action.run(session, user)
            else:
                assert action.lesson is not None
                await _attempt(session, school, user, action.lesson, action.answers)


async def _attempt(
    session: AsyncSession, school: _School, user: User, lesson: Lesson, answers: dict[int, Any]
) -> None:
    """A quiz attempt; where the quiz is also homework, through the homework (which records the
    attempt and grades the homework from it), as the lesson page does."""
    assignment_id = school.quiz_homework.get(lesson.id)
    if assignment_id is not None and (await homework_service.status(session, user, assignment_id)).can_submit:
        await homework_service.submit(session, user, assignment_id, answers=answers)
        return
    await quiz_service.attempt(session, user, school.quiz_ids[lesson.id], answers)
