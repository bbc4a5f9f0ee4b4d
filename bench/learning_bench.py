"""Learning pages and search on a large school: 5,000 students, 200 lessons, 20,000 search chunks.

Builds, in a fresh temporary data folder (loopback only):
  * a generated course folder in the documented format (docs/content-format.md): 10 modules, 200
    lessons with quizzes, prerequisites and deadlines, imported through `course_service.import_folder`;
  * 5,000 students, bulk-inserted through the ORM session (one shared password hash), 85 % of them
    enrolled with progress from nothing to a finished course: lesson progress, quiz attempts, certificates;
  * lesson search chunks up to 20,000 in all: the imported lessons' own sections plus generated
    "archive" sections of the same lessons, with varied text (a Zipf-like mix of trading terms,
    common words and some Russian).

Then times `course_service.search` in-process over ~200 different queries, starts the real platform
(`academy serve`, rate limits off, WARNING logs), signs in through the /login form as a student with
progress and drives each target with N keep-alive connections for a fixed time: the course page, the
lesson page, their JSON API equivalents and GET /api/v1/search. Prints requests, errors, req/s and
p50/p95/p99. Everything it starts is stopped at the end (process groups), also on errors and Ctrl-C.

    python bench/learning_bench.py [--seconds 10] [--concurrency 50] [--routes pages|api|both] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import yaml

# Run as `python bench/learning_bench.py`: bench/ is on sys.path (for loadgen), the repo root
# (for tests.support) is not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadgen import (
    Result,
    Target,
    add_load_arguments,
    api_token,
    check_load_arguments,
    hammer,
    percentile,
    platform_server,
    print_errors,
    session_cookies,
    table,
    use_uvloop,
)

from tests.support.server import Server, academy_cli, sqlite_url

BENCH_EMAIL = "student00001@bench.academy.school"
BENCH_PASSWORD = "bench-password-1"
SEED = 5000

# The measured URLs, per kind of route. The page routes render the full HTML; the JSON API routes
# return the same data (CourseOutline, LessonRead) without templates. `--routes` picks the groups.
ROUTES: dict[str, dict[str, str]] = {
    "pages": {"course": "/courses/{course_id}", "lesson": "/lessons/{lesson_id}"},
    "api": {"course": "/api/v1/courses/{course_id}", "lesson": "/api/v1/lessons/{lesson_id}"},
}
SEARCH_URL = "/api/v1/search?q={query}&size=10"

# --- generated text ---


def _words(text: str) -> list[str]:
    """Word banks are easier to read and edit as plain text."""
    return text.split()


TRADING_TERMS = _words("""
trend support resistance breakout candle candlestick wick body volume liquidity spread bid ask order
limit market stop stop-loss take-profit position size sizing risk reward ratio expectancy drawdown
leverage margin volatility atr rsi macd bollinger moving average ema sma crossover divergence momentum
oscillator overbought oversold pullback retracement fibonacci channel range consolidation gap slippage
commission broker exchange futures options forex crypto bitcoin equity index etf dividend earnings
sentiment journal bias discipline plan backtest walk-forward overfitting sample strategy signal entry
exit timeframe daily weekly hourly scalping swing intraday portfolio diversification correlation hedge
short long bull bear rally correction reversal pattern doji hammer engulfing shooting star flag pennant
triangle wedge head shoulders double top bottom neckline breakout-retest liquidity-grab orderbook tape
vwap pivot session asia london new-york open close high low gap-fill news calendar inflation rates
""")
RUSSIAN_TERMS = _words(
    "индикатор свеча тренд волатильность риск позиция стоп прибыль убыток объём уровень поддержка "
    "сопротивление пробой спред"
)
COMMON_WORDS = _words("""
price traders when your this that with from will more into over only also most their about because
which could would should after before while where every many other first second last example rule
chart shows means often move moves moving buyers sellers level levels time times simple clear
careful small large account capital loss losses profit profits test tests result results idea ideas
market's day week month year point points percent number numbers check checks same different
""")


class TextMaker:
    """Varied generated prose: a few very common words, a long tail of rare ones, like real text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        words = TRADING_TERMS + COMMON_WORDS + RUSSIAN_TERMS
        rng.shuffle(words)
        self.words = words
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(words))]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    def sentence(self) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(7, 16))
        return " ".join(words).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 6)))

    def title(self) -> str:
        a, b = self.rng.sample(TRADING_TERMS, 2)
        return f"{a.capitalize()} and {b}: {self.rng.choice(('a first look', 'in practice', 'common mistakes', 'step by step', 'the rules'))}"


def write_course(folder: Path, rng: random.Random, lessons: int, modules: int = 10) -> Path:
    """A course folder in the import format: modules of lessons, each with a quiz."""
    text = TextMaker(rng)
    course = folder / "bench-course"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text(
        yaml.safe_dump(
            {
                "slug": "bench-course",
                "title": "Benchmark Trading School",
                "summary": text.paragraph(),
                "level": "beginner",
                "published": True,
                "certificate": True,
            }
        )
    )
    glossary = [
        {"term": f"{term} ({n})", "definition": text.sentence()} for n, term in enumerate(TRADING_TERMS[:60])
    ]
    (course / "glossary.yaml").write_text(yaml.safe_dump(glossary, allow_unicode=True))
    faq = [{"question": text.sentence().rstrip(".") + "?", "answer": text.paragraph()} for _ in range(12)]
    (course / "faq.yaml").write_text(yaml.safe_dump(faq, allow_unicode=True))
    per_module = math.ceil(lessons / modules)
    number = 0
    for m in range(modules):
        module_dir = course / f"{m + 1:02d}-module-{m + 1}"
        module_dir.mkdir()
        (module_dir / "module.yaml").write_text(
            yaml.safe_dump({"slug": f"module-{m + 1}", "title": text.title(), "summary": text.sentence()})
        )
        for i in range(per_module):
            if number >= lessons:
                break
            number += 1
            front: dict[str, Any] = {
                "slug": f"lesson-{number:03d}",
                "title": text.title(),
                "duration": rng.randint(6, 25),
                "difficulty": rng.choice(("beginner", "beginner", "intermediate", "advanced")),
                "tags": sorted(set(rng.sample([t for t in TRADING_TERMS if t.isalpha()], 3))),
            }
            if i % 4 == 3:  # some lessons need the previous one first
                front["prerequisites"] = [f"lesson-{number - 1:03d}"]
            if i % 7 == 6:
                front["deadline_days"] = 7 + number // 4
            sections = [
                f"## {text.title()}\n\n" + "\n\n".join(text.paragraph() for _ in range(rng.randint(2, 3)))
                for _ in range(rng.randint(6, 10))
            ]
            body = "\n\n".join(sections)
            stem = f"{i + 1:02d}-lesson-{number:03d}"
            (module_dir / f"{stem}.md").write_text(
                f"---\n{yaml.safe_dump(front, allow_unicode=True)}---\n\n{body}\n", encoding="utf-8"
            )
            (module_dir / f"{stem}.quiz.yaml").write_text(
                yaml.safe_dump(_quiz(rng, text), allow_unicode=True)
            )
    return course


def _quiz(rng: random.Random, text: TextMaker) -> dict[str, Any]:
    value = rng.randint(2, 400)
    return {
        "title": "Check yourself",
        "pass_mark": 80,
        "questions": [
            {
                "kind": "single",
                "prompt": text.sentence(),
                "options": ["A", "B", "C"],
                "answer": rng.randint(0, 2),
            },
            {
                "kind": "multiple",
                "prompt": text.sentence(),
                "options": ["A", "B", "C", "D"],
                "answers": [0, 2],
            },
            {"kind": "numeric", "prompt": text.sentence(), "answer": value, "tolerance": 0.5},
            {"kind": "text", "prompt": text.sentence(), "accepted": [rng.choice(TRADING_TERMS)]},
            {
                "kind": "single",
                "prompt": text.sentence(),
                "options": ["Yes", "No"],
                "answer": rng.randint(0, 1),
            },
        ],
    }


def make_queries(rng: random.Random, count: int) -> list[str]:
    """Single common and rare terms, two- and three-word queries, prefixes and some Russian."""
    text = TextMaker(rng)
    queries: list[str] = []
    while len(queries) < count:
        shape = rng.random()
        if shape < 0.3:
            query = rng.choice(TRADING_TERMS)
        elif shape < 0.6:
            query = " ".join(rng.sample(TRADING_TERMS, 2))
        elif shape < 0.75:
            query = " ".join(rng.choices(text.words, cum_weights=text.cumulative, k=3))
        elif shape < 0.9:
            word = rng.choice([t for t in TRADING_TERMS if len(t) > 5])
            query = word[: rng.randint(3, len(word) - 1)]
        else:
            query = rng.choice(RUSSIAN_TERMS)
        if query not in queries:
            queries.append(query)
    return queries


# --- the database ---


@dataclass
class Built:
    course_id: int
    lesson_ids: list[int]
    bench_lessons: list[int]  # lessons the signed-in student may open
    students: int
    enrollments: int
    progress_rows: int
    attempts: int
    certificates: int
    lesson_chunks: int
    seconds: float = 0.0


def _quiet_structlog() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


async def build(folder: Path, students: int, lessons: int, chunks: int, seed: int) -> Built:
    """Import the course, then bulk-insert students, enrollments, progress, attempts and chunks."""
    from sqlalchemy import func, insert, select

    from academy.auth import passwords
    from academy.certificate.service import new_code
    from academy.course.service import course_service
    from academy.kit.uow import UnitOfWork
    from academy.models import (
        Certificate,
        Enrollment,
        LessonProgress,
        QuizAttempt,
        Role,
        SearchDocument,
        User,
    )

    rng = random.Random(seed)
    began = time.perf_counter()
    course_dir = write_course(folder / "content", rng, lessons)
    async with UnitOfWork() as uow:
        report = await course_service.import_folder(uow.session, course_dir)
    course_id = report.course_id
    async with UnitOfWork() as uow:
        session = uow.session
        ordered = list(await course_service.lessons(session, course_id))
        lesson_ids = [lesson.id for lesson in ordered]
        quizzes = await course_service.quizzes_for_lessons(session, lesson_ids)
        quiz_of = {lesson_id: quiz.id for lesson_id, quiz in quizzes.items()}

        now = datetime.now(UTC)
        password_hash = await passwords.hash_password(BENCH_PASSWORD)
        zones = ("UTC", "Europe/London", "Europe/Moscow", "America/New_York", "Asia/Singapore")
        user_rows = [
            {
                "email": f"student{n:05d}@bench.academy.school",
                "password_hash": password_hash,
                "name": f"Bench Student {n}",
                "timezone": rng.choice(zones),
                "locale": "ru" if n % 3 == 0 else "en",
                "role": Role.student.value,
                "email_verified_at": now - timedelta(days=60),
                "created_at": now - timedelta(days=rng.randint(30, 90)),
            }
            for n in range(1, students + 1)
        ]
        for start in range(0, len(user_rows), 2000):
            await session.execute(insert(User), user_rows[start : start + 2000])
        user_ids = list(
            await session.scalars(
                select(User.id).where(User.email.like("%@bench.academy.school")).order_by(User.id)
            )
        )

        enrollments, progress, attempts, certificates = [], [], [], []
        for index, user_id in enumerate(user_ids):
            if index == 0:
                done = 60  # the signed-in student: well into the course
            else:
                roll = rng.random()
                if roll < 0.15:
                    continue  # signed up, never enrolled
                if roll < 0.25:
                    done = 0
                elif roll < 0.75:
                    done = rng.randint(1, 40)
                elif roll < 0.92:
                    done = rng.randint(41, len(lesson_ids) - 1)
                else:
                    done = len(lesson_ids)
            enrolled_at = now - timedelta(days=rng.randint(10, 60), minutes=rng.randint(0, 1440))
            step = (now - enrolled_at) / (len(lesson_ids) + 1)
            finished = done == len(lesson_ids)
            for position, lesson_id in enumerate(lesson_ids[:done]):
                at = enrolled_at + step * (position + 1)
                progress.append(
                    {"user_id": user_id, "lesson_id": lesson_id, "opened_at": at, "completed_at": at}
                )
                if lesson_id in quiz_of:
                    if rng.random() < 0.2:
                        attempts.append(_attempt(quiz_of[lesson_id], user_id, 40, False, at))
                    attempts.append(_attempt(quiz_of[lesson_id], user_id, 100, True, at))
            last = lesson_ids[min(done, len(lesson_ids) - 1)]
            enrollments.append(
                {
                    "user_id": user_id,
                    "course_id": course_id,
                    "created_at": enrolled_at,
                    "last_lesson_id": last if done else None,
                    "last_seen_at": enrolled_at + step * max(done, 1),
                    "completed_at": now - timedelta(days=1) if finished else None,
                }
            )
            if finished:
                certificates.append(
                    {
                        "code": new_code(),
                        "user_id": user_id,
                        "course_id": course_id,
                        "student_name": f"Bench Student {index + 1}",
                        "course_title": "Benchmark Trading School",
                        "issued_at": now - timedelta(days=1),
                    }
                )
        for model, rows in (
            (Enrollment, enrollments),
            (LessonProgress, progress),
            (QuizAttempt, attempts),
            (Certificate, certificates),
        ):
            for start in range(0, len(rows), 5000):
                await session.execute(insert(model), rows[start : start + 5000])

        # Lesson chunks: the imported sections, then generated archive sections up to `chunks`.
        existing = await session.scalar(
            select(func.count()).select_from(SearchDocument).where(SearchDocument.kind == "lesson")
        )
        text = TextMaker(rng)
        extra = []
        titles = {lesson.id: lesson.title for lesson in ordered}
        for n in range(max(0, chunks - int(existing or 0))):
            lesson_id = lesson_ids[n % len(lesson_ids)]
            extra.append(
                {
                    "course_id": course_id,
                    "kind": "lesson",
                    "ref_id": lesson_id,
                    "part": 1000 + n // len(lesson_ids),
                    "title": titles[lesson_id],
                    "heading": text.title(),
                    "body": " ".join(text.paragraph() for _ in range(rng.randint(1, 3))),
                    "published": True,
                }
            )
        for start in range(0, len(extra), 2000):
            await session.execute(insert(SearchDocument), extra[start : start + 2000])
        lesson_chunks = await session.scalar(
            select(func.count()).select_from(SearchDocument).where(SearchDocument.kind == "lesson")
        )
    bench_done = 60
    return Built(
        course_id=course_id,
        lesson_ids=lesson_ids,
        # Finished lessons and the next one: pages the signed-in student may open.
        bench_lessons=lesson_ids[: bench_done + 1],
        students=len(user_ids),
        enrollments=len(enrollments),
        progress_rows=len(progress),
        attempts=len(attempts),
        certificates=len(certificates),
        lesson_chunks=int(lesson_chunks or 0),
        seconds=time.perf_counter() - began,
    )


def _attempt(quiz_id: int, user_id: int, score: int, passed: bool, at: datetime) -> dict[str, Any]:
    correct = 5 * score // 100
    return {
        "quiz_id": quiz_id,
        "user_id": user_id,
        "score": score,
        "correct": correct,
        "total": 5,
        "passed": passed,
        "answers": [],
        "created_at": at,
    }


@dataclass
class SearchTiming:
    queries: int
    runs: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_total_hits: float
    empty_queries: int


async def time_search(queries: list[str], repeat: int) -> SearchTiming:
    """`course_service.search` in-process, one query at a time: the database and service cost alone."""
    from academy.course.service import course_service
    from academy.kit.pagination import PageParams
    from academy.kit.uow import UnitOfWork

    latencies: list[float] = []
    totals: list[int] = []
    async with UnitOfWork() as uow:
        for query in queries[:10]:  # warm the page cache
            await course_service.search(uow.session, query, PageParams(size=10))
        for _ in range(repeat):
            for query in queries:
                start = time.perf_counter()
                page = await course_service.search(uow.session, query, PageParams(size=10))
                latencies.append(time.perf_counter() - start)
                totals.append(page.total)
    latencies.sort()
    return SearchTiming(
        queries=len(queries),
        runs=len(latencies),
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=latencies[-1] * 1000,
        mean_total_hits=sum(totals) / len(totals),
        empty_queries=sum(1 for t in totals[: len(queries)] if t == 0),
    )


# --- load ---


def targets_for(
    base_url: str, routes: str, built: Built, queries: list[str], cookies: httpx.Cookies, token: str
) -> list[Target]:
    """Pages are signed in with the session cookie, the JSON API with a bearer token (as clients do)."""
    bearer = {"Authorization": f"Bearer {token}"}
    groups = ["pages", "api"] if routes == "both" else [routes]
    targets = []
    for group in groups:
        auth: dict[str, Any] = {"cookies": cookies} if group == "pages" else {"headers": bearer}
        course = ROUTES[group]["course"].format(course_id=built.course_id)
        lessons = [ROUTES[group]["lesson"].format(lesson_id=i) for i in built.bench_lessons]
        targets.append(Target(f"GET {ROUTES[group]['course']}", base_url, [course], **auth))
        targets.append(Target(f"GET {ROUTES[group]['lesson']}", base_url, lessons, **auth))
    search = [SEARCH_URL.format(query=quote_plus(q)) for q in queries]
    targets.append(Target("GET /api/v1/search", base_url, search, headers=bearer))
    return targets


# --- running it all ---


@contextlib.contextmanager
def platform(workdir: Path) -> Iterator[tuple[Server, Callable[[], None]]]:
    """A platform on its own data folder: migrated now, started by the returned callable, stopped on exit."""
    server = platform_server(workdir)
    subprocess.run([*academy_cli(), "migrate"], env=server.env, cwd=workdir, check=True, capture_output=True)
    try:
        yield server, server.start
    finally:
        server.stop()


def configure_in_process(data_dir: Path) -> None:
    """Point this process's settings at the platform's data folder, for the build and search timing."""
    os.environ.update(
        {
            "ACADEMY_DATA_DIR": str(data_dir),
            "ACADEMY_DATABASE_URL": sqlite_url(data_dir),
            "ACADEMY_ENVIRONMENT": "development",
            "ACADEMY_LOG_LEVEL": "WARNING",
        }
    )
    for key in ("ACADEMY_REDIS_URL", "ACADEMY_JOBS_INLINE"):
        os.environ.pop(key, None)


async def prepare(folder: Path, args: argparse.Namespace) -> tuple[Built, list[str], SearchTiming]:
    from academy.config import get_settings
    from academy.kit import db

    get_settings.cache_clear()
    db.configure(get_settings().database_url)
    try:
        built = await build(folder, args.students, args.lessons, args.chunks, SEED)
        queries = make_queries(random.Random(SEED + 1), args.queries)
        timing = await time_search(queries, args.search_repeat)
    finally:
        await db.close()
    return built, queries, timing


async def load(targets: list[Target], args: argparse.Namespace) -> list[Result]:
    results = []
    for target in targets:
        print(f"  {target.name} ...", file=sys.stderr, flush=True)
        results.append(await hammer(target, args.seconds, args.concurrency, args.warmup))
    return results


def print_report(built: Built, timing: SearchTiming, results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\nDatabase (SQLite, built in {built.seconds:.0f} s): {built.students:,} students, "
        f"{built.enrollments:,} enrollments, {len(built.lesson_ids)} lessons, {built.progress_rows:,} lesson "
        f"progress rows, {built.attempts:,} quiz attempts, {built.certificates:,} certificates, "
        f"{built.lesson_chunks:,} lesson search chunks\n"
    )
    print(
        f"course_service.search in-process, one query at a time ({timing.queries} queries x {args.search_repeat}):\n"
    )
    print(
        table(
            ["search", "runs", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean hits", "no hits"],
            [
                [
                    "course_service.search",
                    f"{timing.runs}",
                    f"{timing.p50_ms:.1f}",
                    f"{timing.p95_ms:.1f}",
                    f"{timing.p99_ms:.1f}",
                    f"{timing.max_ms:.1f}",
                    f"{timing.mean_total_hits:,.0f}",
                    f"{timing.empty_queries}",
                ]
            ],
        )
    )
    print(
        f"\nHTTP, signed in as a student with 60 of {len(built.lesson_ids)} lessons done: "
        f"{args.concurrency} concurrent keep-alive connections, {args.seconds:g} s per target after "
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
                    f"{r.rps:,.0f}",
                    f"{r.p50_ms:.1f}",
                    f"{r.p95_ms:.1f}",
                    f"{r.p99_ms:.1f}",
                ]
                for r in results
            ],
        )
    )
    print_errors(results)
    print()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument(
        "--routes",
        choices=("pages", "api", "both"),
        default="both",
        help="course and lesson as HTML pages, JSON API, or both (default both)",
    )
    parser.add_argument("--students", type=int, default=5000, help="students (default 5000)")
    parser.add_argument("--lessons", type=int, default=200, help="lessons in the course (default 200)")
    parser.add_argument(
        "--chunks", type=int, default=20000, help="lesson search chunks in all (default 20000)"
    )
    parser.add_argument("--queries", type=int, default=200, help="different search queries (default 200)")
    parser.add_argument(
        "--search-repeat", type=int, default=3, help="in-process runs of each query (default 3)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    args = parser.parse_args()
    check_load_arguments(parser, args)
    if not 1 <= args.students <= 1_000_000 or not 62 <= args.lessons <= 5000:
        parser.error(
            "--students must be in [1, 1000000] and --lessons in [62, 5000] (the signed-in student has 60 done)"
        )
    if not 0 <= args.chunks <= 5_000_000 or not 1 <= args.queries <= 100_000 or args.search_repeat < 1:
        parser.error("--chunks, --queries or --search-repeat out of range")

    use_uvloop()
    _quiet_structlog()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="academy-learning-bench-") as tmp:
        workdir = Path(tmp)
        print("migrating and building the database ...", file=sys.stderr, flush=True)
        with platform(workdir) as (server, start):
            configure_in_process(server.data_dir)
            built, queries, timing = asyncio.run(prepare(workdir, args))
            print(f"  built in {built.seconds:.0f} s; starting the platform ...", file=sys.stderr, flush=True)
            start()
            cookies = session_cookies(server.base_url, BENCH_EMAIL, BENCH_PASSWORD)
            token = api_token(server.base_url, BENCH_EMAIL, BENCH_PASSWORD)
            targets = targets_for(server.base_url, args.routes, built, queries, cookies, token)
            results = asyncio.run(load(targets, args))

    if args.json:
        payload = {
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "cpus": os.cpu_count(),
            "database": asdict(built)
            | {"lesson_ids": len(built.lesson_ids), "bench_lessons": len(built.bench_lessons)},
            "search_in_process": asdict(timing),
            "results": [r.as_json(omit=("vs_bare",)) for r in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        print_report(built, timing, results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
