"""Curator automation on a school of 10,000 students with a year of activity: dropout-risk rescoring,
the curator dashboard and the metrics endpoints.

Builds, in a fresh temporary data folder (loopback only):
  * a generated course folder in the documented format (the learning benchmark's generator: 12 modules,
    120 lessons with a quiz each), imported through `course_service.import_folder`, with a curator
    assigned to it and 12 text homework assignments (a 3-criterion rubric) on every tenth lesson;
  * 10,000 students enrolled over the past year (more of them recently), bulk-inserted through the ORM
    session (`insert(Model)` executemany in batches of 20,000, one shared password hash), each living
    one of five lives: finishers, steady learners, drop-outs at any point, students quiet for 7-20 days, and
    students who enrolled and never began. From those lives: the activity stream (enrolments, lesson
    opens and completions, quiz attempts and results, homework submitted and graded, completions,
    certificates), lesson progress, quiz attempts with scores, homework submissions (waiting, AI
    proposals and final grades, confirmed or overridden by the curator), certificates, and coach
    conversations with escalations.

Then runs `retention_service.rescore` over all enrolments twice (cold: no scores yet; warm: every
enrolment already scored) in a child process set up like the platform's worker, for its wall time and
peak RSS; starts the real platform (`academy serve`, rate limits off, WARNING logs), waits until its
worker has sent the nudges the rescoring queued, signs in as the curator (the /login form for pages, a
bearer token for the API) and drives each target for a fixed time, first over one connection (what a
single curator waits), then over N keep-alive connections: the curator dashboard (full page; the
metric cards and the charts it loads afterwards, the at-risk tab and a name search as HTMX
fragments), a student's detail page, the students API and the three metrics endpoints. Prints requests, errors, req/s and p50/p95/p99. On errors it prints the
server's last tracebacks. Everything it starts is stopped at the end (process groups), also on errors
and Ctrl-C.

    python bench/curator_bench.py [--students 10000] [--days 365] [--seconds 10] [--concurrency 8]
                                  [--timeout 60] [--no-single] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx

# Run as `python bench/curator_bench.py`: bench/ is on sys.path (for loadgen and learning_bench), the
# repo root (for tests.support and academy) is not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import loadgen
from learning_bench import _quiet_structlog, configure_in_process, platform, write_course
from loadgen import (
    Result,
    Target,
    add_load_arguments,
    api_token,
    check_load_arguments,
    hammer,
    print_errors,
    session_cookies,
    table,
    use_uvloop,
)

CURATOR_EMAIL = "curator@bench.academy.school"
BENCH_PASSWORD = "bench-password-1"
SEED = 10_000
BATCH = 20_000  # rows per INSERT executemany
READY_TIMEOUT = 300.0
STUDENT_BLOCK = 1_000  # students simulated and committed per transaction
HOMEWORK_EVERY = 10  # a homework assignment on every tenth lesson
DAYS_PER_LESSON = 2  # the course's pace: lesson n is due n * 2 days after enrolment
HOMEWORK_GRACE_DAYS = 7  # homework on lesson n is due a week after the lesson
RUBRIC: list[dict[str, Any]] = [
    {
        "key": "risk",
        "title": "Risk management",
        "points": 4.0,
        "description": "States the stop and the position size from the account risk",
        "concepts": ["stop loss", "1 %", "position size"],
    },
    {
        "key": "setup",
        "title": "Trade setup",
        "points": 3.0,
        "description": "Names the entry signal and why it fits the trend",
        "concepts": ["trend", "entry"],
    },
    {
        "key": "journal",
        "title": "Journal",
        "points": 3.0,
        "description": "Writes down what to check after the trade",
        "concepts": ["journal"],
    },
]
MAX_POINTS = float(sum(c["points"] for c in RUBRIC))

# (archetype, share). Finishers complete the course in 1.5-7 months; steady learners keep a slower
# pace; drop-outs stop after a few days to a few months; quiet ones were active until 7-20 days ago
# (the roster's "idle" and the scorer's rising band); ghosts enrolled and never began.
ARCHETYPES = (("finisher", 0.15), ("steady", 0.30), ("dropout", 0.35), ("quiet", 0.10), ("ghost", 0.10))

FIRST_NAMES = [
    "Anna",
    "Maria",
    "Elena",
    "Olga",
    "Irina",
    "Sofia",
    "Julia",
    "Daria",
    "Emma",
    "Mia",
    "Laura",
    "Sara",
    "Nina",
    "Vera",
    "Alice",
    "Clara",
    "Eva",
    "Ivan",
    "Alexei",
    "Dmitri",
    "Sergei",
    "Pavel",
    "Nikolai",
    "Oliver",
    "James",
    "Lucas",
    "Noah",
    "Liam",
    "Ethan",
    "Mateo",
    "Felix",
    "Leon",
    "Omar",
    "Yusuf",
    "Kenji",
    "Hiro",
    "Chen",
    "Wei",
    "Ravi",
    "Arjun",
    "Tomas",
    "Marek",
]
LAST_NAMES = [
    "Petrova",
    "Petrov",
    "Ivanova",
    "Ivanov",
    "Smirnova",
    "Smirnov",
    "Kuznetsova",
    "Popov",
    "Sokolova",
    "Volkov",
    "Novak",
    "Kowalski",
    "Kowalska",
    "Nowak",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Lee",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nakamura",
    "Tanaka",
    "Chen",
    "Wang",
    "Singh",
    "Patel",
    "Kumar",
    "Schmidt",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Rossi",
    "Russo",
]
# Name fragments the dashboard search is measured with: common, rare and case-folded.
NAME_QUERIES = ("petro", "Smith", "kowal", "anna", "Ivan", "nakam", "ler", "Sofia Weber", "ch", "zzz")

QUESTIONS = (
    "How do I size a position for 1 % risk?",
    "What is the difference between a limit and a stop order?",
    "Why did my stop get hit before the move?",
    "How many trades do I need before trusting a backtest?",
    "Is RSI above 70 a sell signal?",
    "What should go into my trading journal?",
)


# --- the simulated school ---


@dataclass
class Course:
    course_id: int
    lesson_ids: list[int]
    quiz_of: dict[int, int]
    assignment_of: dict[int, tuple[int, int]]  # lesson id -> (assignment id, due days after enrolment)
    curator_id: int


@dataclass
class Rows:
    """Rows waiting for the next bulk insert, per table."""

    events: list[dict[str, Any]] = field(default_factory=list)
    progress: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)


class School:
    """One student's year at a time, appended to `rows`; deterministic for a given seed."""

    def __init__(self, rng: random.Random, course: Course, now: datetime, first_ids: dict[str, int]) -> None:
        self.rng = rng
        self.course = course
        self.now = now
        self.rows = Rows()
        self.next_conversation = first_ids["conversation"]
        self.next_message = first_ids["message"]
        self.archetypes: dict[str, int] = dict.fromkeys((a for a, _ in ARCHETYPES), 0)

    def _event(
        self,
        user_id: int,
        kind: str,
        at: datetime,
        lesson_id: int | None = None,
        *,
        in_course: bool = True,
        **data: Any,
    ) -> None:
        quiz_id = data.pop("quiz_id", None)
        self.rows.events.append(
            {
                "user_id": user_id,
                "kind": kind,
                "at": at,
                "course_id": self.course.course_id if in_course else None,
                "lesson_id": lesson_id,
                "quiz_id": quiz_id,
                "data": data,
            }
        )

    def _archetype(self) -> str:
        roll = self.rng.random()
        for name, share in ARCHETYPES:
            if roll < share:
                return name
            roll -= share
        return ARCHETYPES[-1][0]

    def student(self, user_id: int, name: str, days: int) -> None:
        rng, now = self.rng, self.now
        # More enrolments lately, like a growing school: ages skew towards zero.
        enrolled_at = now - timedelta(days=days * rng.random() ** 1.3, minutes=rng.randint(0, 1439))
        age_days = (now - enrolled_at).total_seconds() / 86400
        kind = self._archetype()
        self.archetypes[kind] += 1
        lessons = len(self.course.lesson_ids)
        skill = rng.betavariate(2, 5) if kind == "dropout" else rng.betavariate(5, 2)
        if kind == "finisher":
            # ~1.8 lessons a session: the sessions a day it takes to finish in 45-200 days.
            per_day, active_days = min(1.0, lessons / 1.8 / rng.uniform(45, 200)), age_days
        elif kind == "steady":
            per_day, active_days = rng.uniform(0.12, 0.35), age_days
        elif kind == "dropout":
            per_day, active_days = rng.uniform(0.15, 0.6), 1 + rng.expovariate(1 / 25)
        elif kind == "quiet":
            per_day, active_days = rng.uniform(0.1, 0.4), age_days - rng.uniform(7, 20)
        else:
            per_day, active_days = 0.0, 0.0
        stop = enrolled_at + timedelta(days=max(0.0, min(active_days, age_days)))

        first_event = len(self.rows.events)
        self._event(user_id, "course_enrolled", enrolled_at)
        done = 0
        last_at: datetime | None = None
        last_lesson: int | None = None
        completed_at: datetime | None = None
        session_times: list[datetime] = []
        at = enrolled_at + timedelta(minutes=rng.randint(1, 90))
        if per_day > 0 and rng.random() > 0.7:  # not everyone starts on the day they enrol
            at += timedelta(days=rng.expovariate(per_day))
        while per_day > 0 and at < stop and at < now:
            session_times.append(at)
            if completed_at is None:
                for _ in range(rng.choice((1, 1, 2, 2, 3))):
                    if done >= lessons:
                        break
                    at = self._lesson(user_id, done, at, skill, enrolled_at)
                    last_lesson = self.course.lesson_ids[done]
                    done += 1
                    last_at = at
                if done >= lessons:
                    completed_at = at
                    self._event(user_id, "course_completed", at)
                    code = f"B{user_id:07d}"
                    self._event(user_id, "certificate_issued", at, code=code)
                    self.rows.certificates.append(
                        {
                            "code": code,
                            "user_id": user_id,
                            "course_id": self.course.course_id,
                            "student_name": name,
                            "course_title": "Benchmark Trading School",
                            "issued_at": at,
                        }
                    )
                    # After the certificate: a few looks back over the next month, then nothing.
                    stop = min(stop, at + timedelta(days=30))
                    per_day = 0.05
            if done and rng.random() < 0.25:  # a look back at an earlier lesson
                back = self.course.lesson_ids[rng.randrange(done)]
                at += timedelta(minutes=rng.randint(2, 20))
                self._event(user_id, "lesson_opened", at, back)
                last_at = at
            at += timedelta(days=rng.expovariate(per_day), hours=2)
        if completed_at is None and per_day > 0 and done < lessons and last_at and rng.random() < 0.5:
            # Stopped halfway through a lesson: opened, never finished.
            lesson_id = self.course.lesson_ids[done]
            opened = last_at + timedelta(minutes=rng.randint(3, 30))
            if opened < now:
                self._event(user_id, "lesson_opened", opened, lesson_id)
                self.rows.progress.append(
                    {"user_id": user_id, "lesson_id": lesson_id, "opened_at": opened, "completed_at": None}
                )
                last_at, last_lesson = opened, lesson_id
        # What activity_service.record keeps on the enrolment: the newest event in the course.
        last_activity = max(e["at"] for e in self.rows.events[first_event:] if e["course_id"] is not None)
        self.rows.enrollments.append(
            {
                "user_id": user_id,
                "course_id": self.course.course_id,
                "created_at": enrolled_at,
                "last_lesson_id": last_lesson,
                "last_seen_at": last_at,
                "completed_at": completed_at,
                "last_activity_at": last_activity,
            }
        )
        if session_times and rng.random() < 0.2:
            self._coach(user_id, rng.sample(session_times, min(len(session_times), rng.randint(1, 3))))

    def _lesson(
        self, user_id: int, index: int, at: datetime, skill: float, enrolled_at: datetime
    ) -> datetime:
        """One lesson opened, read, completed and its quiz taken (again after a failure), maybe its
        homework handed in; returns the time after."""
        rng = self.rng
        lesson_id = self.course.lesson_ids[index]
        opened = at
        self._event(user_id, "lesson_opened", opened, lesson_id)
        at += timedelta(minutes=rng.randint(6, 30))
        self._event(user_id, "lesson_completed", at, lesson_id)
        self.rows.progress.append(
            {"user_id": user_id, "lesson_id": lesson_id, "opened_at": opened, "completed_at": at}
        )
        quiz_id = self.course.quiz_of.get(lesson_id)
        if quiz_id is not None:
            for attempt in range(3):
                at += timedelta(minutes=rng.randint(2, 8))
                correct = sum(rng.random() < 0.45 + 0.5 * skill for _ in range(5))
                score = correct * 20
                passed = score >= 80
                self.rows.attempts.append(
                    {
                        "quiz_id": quiz_id,
                        "user_id": user_id,
                        "score": score,
                        "correct": correct,
                        "total": 5,
                        "passed": passed,
                        "answers": [],
                        "created_at": at,
                    }
                )
                self._event(user_id, "quiz_attempted", at, lesson_id, quiz_id=quiz_id, score=score)
                self._event(
                    user_id,
                    "quiz_passed" if passed else "quiz_failed",
                    at,
                    lesson_id,
                    quiz_id=quiz_id,
                    score=score,
                )
                if passed or rng.random() < 0.4 or attempt == 2:
                    break
        assignment = self.course.assignment_of.get(lesson_id)
        if assignment is not None and rng.random() < 0.35 + 0.5 * skill:
            assignment_id, due_days = assignment
            due_at = enrolled_at + timedelta(days=due_days)
            at = self._homework(user_id, assignment_id, lesson_id, at, skill, due_at)
        return at

    def _homework(
        self,
        user_id: int,
        assignment_id: int,
        lesson_id: int,
        at: datetime,
        skill: float,
        due_at: datetime,
    ) -> datetime:
        rng, now = self.rng, self.now
        submitted_at = at + timedelta(minutes=rng.randint(15, 90))
        if submitted_at >= now:
            return at
        late_days = max(0, math.ceil((submitted_at - due_at).total_seconds() / 86400))
        waited = (now - submitted_at).total_seconds() / 3600
        # The recent ones are still with the grader or the curator; older ones mostly graded.
        if waited < 0.2:
            status = "submitted"
        elif waited < 48 or rng.random() < 0.03:
            status = "proposed"
        else:
            status = "final"
        row: dict[str, Any] = {
            "assignment_id": assignment_id,
            "course_id": self.course.course_id,
            "user_id": user_id,
            "attempt": 1,
            "submitted_at": submitted_at,
            "due_at": due_at,
            "late_days": late_days,
            "text": "I risk 1 % of the account with the stop below the last swing low; "
            "the entry is the breakout retest in the trend, and I journal the result.",
            "status": status,
            "max_points": MAX_POINTS,
            "ai_scores": None,
            "ai_total": None,
            "ai_feedback": None,
            "ai_grader": None,
            "ai_graded_at": None,
            "final_scores": None,
            "final_total": None,
            "final_feedback": None,
            "review": None,
            "reviewed_by_id": None,
            "reviewed_at": None,
            "passed": None,
        }
        if status != "submitted":
            scores = [
                {
                    "key": c["key"],
                    "title": c["title"],
                    "points": round(min(c["points"], max(0.0, rng.gauss(skill * c["points"], 0.8))) * 2) / 2,
                    "max": c["points"],
                    "feedback": "Covers the criterion." if rng.random() < 0.6 else "Say more about this.",
                }
                for c in RUBRIC
            ]
            row |= {
                "ai_scores": scores,
                "ai_total": sum(s["points"] for s in scores),
                "ai_feedback": "A clear plan; name the exit too.",
                "ai_grader": "embedded-rubric",
                "ai_graded_at": submitted_at + timedelta(seconds=rng.randint(5, 120)),
            }
        self._event(user_id, "homework_submitted", submitted_at, lesson_id, assignment_id=assignment_id)
        if status == "final":
            final = [dict(s) for s in row["ai_scores"]]
            confirmed = rng.random() < 0.7
            if not confirmed:
                edit = rng.randrange(len(final))
                final[edit]["points"] = max(
                    0.0, min(final[edit]["max"], final[edit]["points"] + rng.choice((-1, 1)))
                )
            total = sum(s["points"] for s in final)
            reviewed_at = min(now, submitted_at + timedelta(hours=rng.lognormvariate(2.5, 1.0)))
            row |= {
                "final_scores": final,
                "final_total": total,
                "final_feedback": "Good work." if confirmed else "Adjusted one criterion.",
                "review": "confirmed" if confirmed else "overridden",
                "reviewed_by_id": self.course.curator_id,
                "reviewed_at": reviewed_at,
                "passed": total >= 0.6 * MAX_POINTS,
            }
            # The curator's act, not the student's: recorded without the course, as the homework
            # service does, so it never counts as the student's activity.
            self._event(
                user_id,
                "homework_graded",
                reviewed_at,
                lesson_id,
                in_course=False,
                assignment_id=assignment_id,
            )
        self.rows.submissions.append(row)
        return submitted_at

    def _coach(self, user_id: int, moments: list[datetime]) -> None:
        rng = self.rng
        for moment in sorted(moments):
            conversation_id = self.next_conversation
            self.next_conversation += 1
            at = moment + timedelta(minutes=rng.randint(1, 10))
            turns = rng.randint(1, 3)
            for _ in range(turns):
                question = rng.choice(QUESTIONS)
                question_id = self.next_message
                escalated = rng.random() < 0.08
                mode = "refusal" if escalated else rng.choice(("answer", "answer", "answer", "hint"))
                latency = int(rng.lognormvariate(7.0, 0.5))
                for role, text, extra in (
                    ("user", question, {}),
                    (
                        "assistant",
                        "Risk a fixed share of the account and place the stop where the idea is wrong.",
                        {
                            "confidence": round(rng.uniform(0.2, 0.95), 2),
                            "provider": "embedded",
                            "mode": mode,
                            "latency_ms": latency,
                            "first_token_ms": latency // 4,
                            "escalated": escalated,
                            "feedback": rng.choice((None, None, None, 1, -1)),
                        },
                    ),
                ):
                    self.rows.messages.append(
                        {
                            "id": self.next_message,
                            "conversation_id": conversation_id,
                            "role": role,
                            "text": text,
                            "citations": [],
                            "confidence": None,
                            "provider": None,
                            "mode": None,
                            "latency_ms": None,
                            "first_token_ms": None,
                            "escalated": False,
                            "feedback": None,
                            "created_at": at,
                        }
                        | extra
                    )
                    self.next_message += 1
                    at += timedelta(seconds=max(1, latency // 1000) + rng.randint(5, 60))
                if escalated:
                    answered = rng.random() < 0.8
                    self.rows.escalations.append(
                        {
                            "conversation_id": conversation_id,
                            "question_message_id": question_id,
                            "user_id": user_id,
                            "course_id": self.course.course_id,
                            "lesson_id": None,
                            "question": question,
                            "reason": "low_confidence",
                            "status": "answered" if answered else "open",
                            "answer": "See the position sizing lesson." if answered else None,
                            "answered_by_id": self.course.curator_id if answered else None,
                            "answered_at": at + timedelta(hours=rng.uniform(1, 30)) if answered else None,
                            "created_at": at,
                        }
                    )
                at += timedelta(minutes=rng.randint(1, 5))
            self.rows.conversations.append(
                {
                    "id": conversation_id,
                    "user_id": user_id,
                    "course_id": self.course.course_id,
                    "lesson_id": None,
                    "title": "Question about risk",
                    "created_at": moment,
                    "updated_at": at,
                }
            )


# --- the database ---


@dataclass
class Built:
    course_id: int
    lessons: int
    students: int
    archetypes: dict[str, int]
    enrollments: int
    activity_events: int
    lesson_progress: int
    quiz_attempts: int
    homework_assignments: int
    homework_submissions: int
    certificates: int
    coach_conversations: int
    coach_messages: int
    coach_escalations: int
    detail_enrollments: list[int]
    seconds: float = 0.0
    generate_seconds: float = 0.0  # of which: building the rows in Python
    insert_seconds: float = 0.0  # of which: the bulk inserts and commits


def pace_course(course_dir: Path) -> None:
    """Deadlines at one lesson every DAYS_PER_LESSON days, a course of months, not weeks.

    The learning benchmark's generator gives some lessons `deadline_days` of 7 + number / 4, which
    puts the end of a 120-lesson course at ~5 weeks; the risk scorer reads a course's pace from its
    deadlines, so with those nearly every student of a year-long school would be "lessons behind".
    """
    for path in course_dir.glob("*/*.md"):
        text = path.read_text(encoding="utf-8")
        number = re.search(r"^slug: lesson-(\d+)$", text, re.MULTILINE)
        if number:
            days = DAYS_PER_LESSON * int(number.group(1))
            text = re.sub(
                r"^deadline_days: \d+$", f"deadline_days: {days}", text, count=1, flags=re.MULTILINE
            )
            path.write_text(text, encoding="utf-8")


async def build(folder: Path, students: int, days: int, lessons: int, seed: int) -> Built:
    """Import the course, add the curator and the homework, then simulate and bulk-insert the students."""
    from sqlalchemy import func, insert, select

    from academy.auth import passwords
    from academy.course.service import course_service
    from academy.kit.uow import UnitOfWork
    from academy.models import (
        ActivityEvent,
        Certificate,
        CoachConversation,
        CoachEscalation,
        CoachMessage,
        CourseCurator,
        Enrollment,
        LessonProgress,
        QuizAttempt,
        Role,
        User,
    )
    from academy.models.homework import Assignment, Submission

    rng = random.Random(seed)
    began = time.perf_counter()
    course_dir = write_course(folder / "content", rng, lessons, modules=max(1, lessons // 10))
    pace_course(course_dir)
    async with UnitOfWork() as uow:
        report = await course_service.import_folder(uow.session, course_dir)
    course_id = report.course_id
    now = datetime.now(UTC)
    password_hash = await passwords.hash_password(BENCH_PASSWORD)
    zones = ("UTC", "Europe/London", "Europe/Moscow", "America/New_York", "Asia/Singapore")

    async with UnitOfWork() as uow:
        session = uow.session
        ordered = list(await course_service.lessons(session, course_id))
        lesson_ids = [lesson.id for lesson in ordered]
        quizzes = await course_service.quizzes_for_lessons(session, lesson_ids)
        quiz_of = {lesson_id: quiz.id for lesson_id, quiz in quizzes.items()}
        curator_id = (
            await session.execute(
                insert(User).returning(User.id),
                [
                    {
                        "email": CURATOR_EMAIL,
                        "password_hash": password_hash,
                        "name": "Bench Curator",
                        "role": Role.curator.value,
                        "email_verified_at": now - timedelta(days=days + 30),
                        "created_at": now - timedelta(days=days + 30),
                    }
                ],
            )
        ).scalar_one()
        await session.execute(insert(CourseCurator), [{"course_id": course_id, "user_id": curator_id}])
        homework_lessons = lesson_ids[HOMEWORK_EVERY - 1 :: HOMEWORK_EVERY]
        due_days = {
            lesson_id: DAYS_PER_LESSON * (lesson_ids.index(lesson_id) + 1) + HOMEWORK_GRACE_DAYS
            for lesson_id in homework_lessons
        }
        await session.execute(
            insert(Assignment),
            [
                {
                    "course_id": course_id,
                    "lesson_id": lesson_id,
                    "title": f"Plan a trade ({n + 1})",
                    "kind": "text",
                    "instructions": "Describe one trade: entry, stop, size and what you will journal.",
                    "rubric": RUBRIC,
                    "model_answer": "Risk 1 % with the stop below the swing low; enter on the retest.",
                    "due_days": due_days[lesson_id],
                    "late_policy": "accept",
                    "late_penalty_pct": 10,
                    "max_attempts": 3,
                    "file_types": [],
                    "pass_pct": 60,
                    "published": True,
                    "created_by_id": curator_id,
                    "created_at": now - timedelta(days=days + 10),
                }
                for n, lesson_id in enumerate(homework_lessons)
            ],
        )
        assignment_of = {
            lesson_id: (assignment_id, due_days[lesson_id])
            for assignment_id, lesson_id in await session.execute(
                select(Assignment.id, Assignment.lesson_id).where(Assignment.course_id == course_id)
            )
        }
        names = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(students)]
        user_rows = [
            {
                "email": f"student{n + 1:05d}@bench.academy.school",
                "password_hash": password_hash,
                "name": name,
                "timezone": rng.choice(zones),
                "locale": "ru" if n % 3 == 0 else "en",
                "role": Role.student.value,
                "email_verified_at": now - timedelta(days=days),
                "created_at": now - timedelta(days=days + 1),
            }
            for n, name in enumerate(names)
        ]
        for start in range(0, len(user_rows), BATCH):
            await session.execute(insert(User), user_rows[start : start + BATCH])
        user_ids = list(
            await session.scalars(
                select(User.id).where(User.email.like("student%@bench.academy.school")).order_by(User.id)
            )
        )
        first_ids = {
            "conversation": int(await session.scalar(select(func.max(CoachConversation.id))) or 0) + 1,
            "message": int(await session.scalar(select(func.max(CoachMessage.id))) or 0) + 1,
        }

    course = Course(course_id, lesson_ids, quiz_of, assignment_of, curator_id)
    school = School(rng, course, now, first_ids)
    tables = (
        ("events", ActivityEvent),
        ("progress", LessonProgress),
        ("attempts", QuizAttempt),
        ("enrollments", Enrollment),
        ("submissions", Submission),
        ("certificates", Certificate),
        ("conversations", CoachConversation),
        ("messages", CoachMessage),
        ("escalations", CoachEscalation),
    )
    counts = dict.fromkeys((name for name, _ in tables), 0)

    def statement(model: type[Any]) -> Any:
        # The ORM leaves None values out of a bulk insert's parameters unless told otherwise, so
        # rows with and without a lesson would split one executemany into thousands.
        return insert(model).execution_options(render_nulls=True)

    generate = insert_time = 0.0
    for block in range(0, len(user_ids), STUDENT_BLOCK):
        started = time.perf_counter()
        for user_id, name in zip(
            user_ids[block : block + STUDENT_BLOCK], names[block : block + STUDENT_BLOCK], strict=True
        ):
            school.student(user_id, name, days)
        generate += time.perf_counter() - started
        started = time.perf_counter()
        async with UnitOfWork() as uow:
            for name, model in tables:
                rows: list[dict[str, Any]] = getattr(school.rows, name)
                for start in range(0, len(rows), BATCH):
                    await uow.session.execute(statement(model), rows[start : start + BATCH])
                counts[name] += len(rows)
                rows.clear()
        insert_time += time.perf_counter() - started

    async with UnitOfWork() as uow:
        enrollment_ids = list(
            await uow.session.scalars(
                select(Enrollment.id).where(Enrollment.course_id == course_id).order_by(Enrollment.id)
            )
        )
    step = max(1, len(enrollment_ids) // 50)
    return Built(
        course_id=course_id,
        lessons=len(lesson_ids),
        students=len(user_ids),
        archetypes=school.archetypes,
        enrollments=counts["enrollments"],
        activity_events=counts["events"],
        lesson_progress=counts["progress"],
        quiz_attempts=counts["attempts"],
        homework_assignments=len(assignment_of),
        homework_submissions=counts["submissions"],
        certificates=counts["certificates"],
        coach_conversations=counts["conversations"],
        coach_messages=counts["messages"],
        coach_escalations=counts["escalations"],
        detail_enrollments=enrollment_ids[::step][:50],
        seconds=time.perf_counter() - began,
        generate_seconds=generate,
        insert_seconds=insert_time,
    )


async def prepare(folder: Path, args: argparse.Namespace) -> Built:
    from academy.config import get_settings
    from academy.kit import db

    get_settings.cache_clear()
    db.configure(get_settings().database_url)
    try:
        return await build(folder, args.students, args.days, args.lessons, SEED)
    finally:
        await db.close()


# --- rescoring, in a child process (its own peak RSS) ---


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def _rescore_runs(runs: int) -> dict[str, Any]:
    from sqlalchemy import text

    from academy.config import get_settings
    from academy.kit import db, jobs, realtime
    from academy.kit.uow import UnitOfWork
    from academy.retention.service import retention_service
    from academy.worker import CeleryDispatcher, load_tasks

    get_settings.cache_clear()
    settings = get_settings()
    # As the platform's worker runs the hourly job: every task known, the jobs a job queues (the
    # nudge emails) sent to the broker after the commit, not run inline.
    load_tasks()
    db.configure(settings.database_url)
    realtime.configure(settings.redis_url)
    jobs.set_dispatcher(CeleryDispatcher())
    try:
        async with UnitOfWork() as uow:
            await uow.session.execute(text("SELECT 1"))
        baseline = _rss_mb()
        passes = []
        for n in range(runs):
            started = time.perf_counter()
            async with UnitOfWork() as uow:
                report = await retention_service.rescore(uow.session)
                scored = time.perf_counter() - started
            passes.append(
                {
                    "run": "cold" if n == 0 else "warm",
                    "seconds": round(time.perf_counter() - started, 3),
                    "commit_seconds": round(time.perf_counter() - started - scored, 3),
                    "peak_rss_mb": round(_rss_mb(), 1),
                    "report": report.model_dump(mode="json"),
                }
            )
        return {"baseline_rss_mb": round(baseline, 1), "passes": passes}
    finally:
        await db.close()


def rescore_child() -> int:
    """The child's side: rescore the database of this environment's settings; JSON on stdout."""
    _quiet_structlog()
    print(json.dumps(asyncio.run(_rescore_runs(2))))
    return 0


def measure_rescore() -> dict[str, Any]:
    """Rescore twice in a fresh interpreter, so its peak RSS is the rescoring's, not the build's."""
    done = subprocess.run(
        [sys.executable, __file__, "--rescore-child"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rescoring failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- load ---


def targets_for(base_url: str, built: Built, cookies: httpx.Cookies, token: str, days: int) -> list[Target]:
    """Pages with the curator's session cookie, the JSON API with a bearer token (as clients do)."""
    bearer = {"Authorization": f"Bearer {token}"}
    # What the dashboard's filter links and search box send: only the students table is re-rendered.
    fragment = {"HX-Request": "true", "HX-Target": "curator-students"}
    lazy = {"HX-Request": "true"}
    today = datetime.now(UTC).date()
    month = f"start={today - timedelta(days=29)}&end={today}"
    # The whole generated history, up to the API's limit of a year.
    span = min(days, 365)
    year = f"start={today - timedelta(days=span - 1)}&end={today}"
    return [
        Target("GET /curator", base_url, ["/curator"], cookies=cookies),
        # What the dashboard loads right after the page: the metric cards and the charts.
        Target("GET /curator/cards (HTMX)", base_url, ["/curator/cards"], headers=lazy, cookies=cookies),
        Target("GET /curator/charts (HTMX)", base_url, ["/curator/charts"], headers=lazy, cookies=cookies),
        Target(
            "GET /curator?status=at_risk&sort=risk (HTMX)",
            base_url,
            ["/curator?status=at_risk&sort=risk"],
            headers=fragment,
            cookies=cookies,
        ),
        Target(
            "GET /curator?q=<name> (HTMX)",
            base_url,
            [f"/curator?q={quote_plus(q)}" for q in NAME_QUERIES],
            headers=fragment,
            cookies=cookies,
        ),
        Target(
            "GET /curator/students/{id}",
            base_url,
            [f"/curator/students/{i}" for i in built.detail_enrollments],
            cookies=cookies,
        ),
        Target(
            "GET /api/v1/students?status=at_risk",
            base_url,
            ["/api/v1/students?status=at_risk"],
            headers=bearer,
        ),
        Target(
            "GET /api/v1/metrics/summary (30 d)",
            base_url,
            [f"/api/v1/metrics/summary?{month}"],
            headers=bearer,
        ),
        Target(
            f"GET /api/v1/metrics/retention ({span} d)",
            base_url,
            [f"/api/v1/metrics/retention?{year}"],
            headers=bearer,
        ),
        Target(
            "GET /api/v1/metrics/comparison (30 d)",
            base_url,
            [f"/api/v1/metrics/comparison?{month}"],
            headers=bearer,
        ),
    ]


def queued_jobs(queue: Path) -> int:
    """Messages waiting in the embedded (filesystem) broker."""
    return sum(1 for _ in queue.iterdir()) if queue.is_dir() else 0


def drain_jobs(queue: Path, timeout: float = 300.0) -> float:
    """Wait until the platform's worker has taken every queued job (the nudge emails of the
    rescoring), so that it does not compete with the measured requests; returns the seconds."""
    started = time.perf_counter()
    while queued_jobs(queue) and time.perf_counter() - started < timeout:
        time.sleep(0.5)
    return time.perf_counter() - started


async def load(targets: list[Target], args: argparse.Namespace, connections: int) -> list[Result]:
    results = []
    for target in targets:
        print(f"  {target.name}, {connections} connection(s) ...", file=sys.stderr, flush=True)
        results.append(await hammer(target, args.seconds, connections, args.warmup))
    return results


def server_tracebacks(log_path: Path, limit: int = 2) -> list[str]:
    """The last `limit` tracebacks in the server's log, for the report of a failing target."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    found = []
    for part in text.split("Traceback (most recent call last):")[1:]:
        found.append("Traceback (most recent call last):" + part[:6000])
    return found[-limit:]


# --- running it all ---


def print_report(
    built: Built, rescore: dict[str, Any], results: dict[int, list[Result]], args: argparse.Namespace
) -> None:
    lives = ", ".join(f"{n:,} {kind}" for kind, n in built.archetypes.items())
    print(
        f"\nDatabase (SQLite, built in {built.seconds:.0f} s: {built.generate_seconds:.0f} s generating "
        f"rows, {built.insert_seconds:.0f} s inserting): {built.students:,} students over {args.days} days "
        f"({lives}), {built.enrollments:,} enrolments, {built.lessons} lessons, "
        f"{built.activity_events:,} activity events, "
        f"{built.lesson_progress:,} lesson progress rows, {built.quiz_attempts:,} quiz attempts, "
        f"{built.homework_assignments} homework assignments, {built.homework_submissions:,} submissions, "
        f"{built.certificates:,} certificates, {built.coach_conversations:,} coach conversations "
        f"({built.coach_messages:,} messages, {built.coach_escalations:,} escalations)\n"
    )
    print(
        f"retention_service.rescore over all enrolments, in a fresh process "
        f"(RSS after imports {rescore['baseline_rss_mb']:,.0f} MB):\n"
    )
    print(
        table(
            [
                "run",
                "seconds",
                "commit s",
                "peak RSS MB",
                "scored",
                "crossed",
                "nudged",
                "held out",
                "scorer",
            ],
            [
                [
                    p["run"],
                    f"{p['seconds']:.1f}",
                    f"{p['commit_seconds']:.1f}",
                    f"{p['peak_rss_mb']:,.0f}",
                    f"{p['report'].get('scored', '')}",
                    f"{p['report'].get('crossed', '')}",
                    f"{p['report'].get('nudged', '')}",
                    f"{p['report'].get('held_out', '')}",
                    f"{p['report'].get('scorer', '')}",
                ]
                for p in rescore["passes"]
            ],
        )
    )
    print(
        f"\nThe rescoring queued {rescore['jobs_queued']:,} jobs (nudges by email); the platform's worker "
        f"had taken them all {rescore['jobs_drained_seconds']:.0f} s after it started, before the "
        "measurements below."
    )
    for connections, rows in results.items():
        print(
            f"\nHTTP, signed in as the course's curator: {connections} concurrent keep-alive "
            f"connection{'s' if connections > 1 else ''}, {args.seconds:g} s per target after "
            f"{args.warmup:g} s warm-up, loopback; the load generator shares the CPU cores\n"
        )
        print(
            table(
                ["target", "paths", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"],
                [
                    [
                        r.target,
                        f"{r.paths}",
                        f"{r.requests}",
                        f"{r.errors}",
                        f"{r.rps:,.1f}",
                        f"{r.p50_ms:,.0f}",
                        f"{r.p95_ms:,.0f}",
                        f"{r.p99_ms:,.0f}",
                    ]
                    for r in rows
                ],
            )
        )
        print_errors(rows)
    print()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.set_defaults(concurrency=8)
    parser.add_argument("--students", type=int, default=10_000, help="students (default 10000)")
    parser.add_argument("--days", type=int, default=365, help="days of enrolments and activity (default 365)")
    parser.add_argument("--lessons", type=int, default=120, help="lessons in the course (default 120)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds before a request counts as an error (default 60; loadgen's own is 10)",
    )
    parser.add_argument(
        "--no-single",
        action="store_true",
        help="skip the pass over one connection that runs before the --concurrency pass",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    parser.add_argument("--rescore-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rescore_child:
        return rescore_child()
    check_load_arguments(parser, args)
    if not 1 <= args.students <= 1_000_000:
        parser.error("--students must be in [1, 1000000]")
    if not 14 <= args.days <= 3650:
        parser.error("--days must be in [14, 3650]")
    if not HOMEWORK_EVERY <= args.lessons <= 2000:
        parser.error(f"--lessons must be in [{HOMEWORK_EVERY}, 2000]")
    if not 1 <= args.timeout <= 600:
        parser.error("--timeout must be in [1, 600]")
    # The dashboard and the metrics of a large school take seconds under load: measure them rather
    # than count them as errors at loadgen's 10 s.
    loadgen.REQUEST_TIMEOUT = args.timeout

    use_uvloop()
    _quiet_structlog()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    tracebacks: list[str] = []
    # One connection first: the latency one curator sees; then the load, where queueing shows.
    passes = [args.concurrency] if args.no_single or args.concurrency == 1 else [1, args.concurrency]
    results: dict[int, list[Result]] = {}
    # Other work on the machine moves every figure here; the report says how busy it was.
    load_average = {"start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="academy-curator-bench-") as tmp:
        workdir = Path(tmp)
        print("migrating and building the database ...", file=sys.stderr, flush=True)
        with platform(workdir) as (server, _start):
            configure_in_process(server.data_dir)
            built = asyncio.run(prepare(workdir, args))
            print(
                f"  built in {built.seconds:.0f} s ({built.activity_events:,} activity events); "
                "rescoring twice ...",
                file=sys.stderr,
                flush=True,
            )
            rescore = measure_rescore()
            queue = server.data_dir / "broker" / "queue"
            rescore["jobs_queued"] = queued_jobs(queue)
            for run in rescore["passes"]:
                print(
                    f"  rescore {run['run']}: {run['seconds']:.1f} s, peak RSS {run['peak_rss_mb']:.0f} MB, "
                    f"{run['report']}",
                    file=sys.stderr,
                    flush=True,
                )
            print(
                f"  starting the platform ({rescore['jobs_queued']} jobs queued) ...",
                file=sys.stderr,
                flush=True,
            )
            # Not `start()`: its 60 s readiness limit is too short on a busy 2-core machine while the
            # worker is sending the rescoring's nudges.
            server.launch()
            server.wait_ready(timeout=READY_TIMEOUT)
            rescore["jobs_drained_seconds"] = round(drain_jobs(queue), 1)
            cookies = session_cookies(server.base_url, CURATOR_EMAIL, BENCH_PASSWORD)
            token = api_token(server.base_url, CURATOR_EMAIL, BENCH_PASSWORD)
            targets = targets_for(server.base_url, built, cookies, token, args.days)
            for connections in passes:
                results[connections] = asyncio.run(load(targets, args, connections))
            load_average["end"] = os.getloadavg()[0]
            if any(r.errors for rs in results.values() for r in rs):
                tracebacks = server_tracebacks(workdir / "academy.log")

    if args.json:
        payload = {
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "cpus": os.cpu_count(),
            "load_average_1m": load_average,
            "database": asdict(built) | {"detail_enrollments": len(built.detail_enrollments)},
            "rescore": rescore,
            "results": {
                str(connections): [r.as_json(omit=("vs_bare",)) for r in rs]
                for connections, rs in results.items()
            },
            "server_tracebacks": tracebacks,
        }
        print(json.dumps(payload, indent=2))
    else:
        print_report(built, rescore, results, args)
        print(
            f"1-minute load average on {os.cpu_count()} CPUs: {load_average['start']:.1f} at the start, "
            f"{load_average['end']:.1f} at the end\n"
        )
        for trace in tracebacks:
            print(f"server log:\n{trace}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
