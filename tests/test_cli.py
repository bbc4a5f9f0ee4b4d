"""The `academy` command as an operator uses it, in its own data folder."""

import os
import re
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _academy(data, *args, input_text=None, timeout=120):
    env = {**os.environ, "ACADEMY_DATA_DIR": str(data), "ACADEMY_LOG_LEVEL": "WARNING"}
    for key in ("ACADEMY_DATABASE_URL", "ACADEMY_REDIS_URL", "ACADEMY_JOBS_INLINE"):
        env.pop(key, None)
    env["ACADEMY_JOBS_INLINE"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "academy.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
    )


def test_migrate_createuser_and_demo(tmp_path):
    assert _academy(tmp_path, "migrate").returncode == 0
    made = _academy(
        tmp_path, "createuser", "boss@example.com", "--role", "admin", "--password", "s3cret-pass"
    )
    assert made.returncode == 0 and "created admin boss@example.com" in made.stdout
    again = _academy(tmp_path, "createuser", "boss@example.com", "--password", "s3cret-pass")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_role = _academy(
        tmp_path, "createuser", "x@example.com", "--role", "wizard", "--password", "s3cret-pass"
    )
    assert bad_role.returncode != 0 and "role must be one of" in bad_role.stderr

    # Half a year of school history through the real services: minutes, not seconds.
    first = _academy(tmp_path, "demo", timeout=600)
    assert first.returncode == 0, first.stderr
    loaded = _row_counts(tmp_path / "academy.sqlite")
    second = _academy(tmp_path, "demo", timeout=600)
    assert second.returncode == 0, second.stderr
    for role in ("student", "curator", "expert", "admin"):
        assert f"{role}@demo.academy.school" in first.stdout
    assert "students: 161, enrolled: 161" in first.stdout
    assert "homework awaiting review" in first.stdout and "at risk now" in first.stdout
    assert "nothing changed" in second.stdout and "nothing changed" not in first.stdout
    assert "auth.user_registered" not in second.stdout, "the second run registers nobody"
    assert _row_counts(tmp_path / "academy.sqlite") == loaded, "demo is idempotent"
    assert loaded["users"] == 1 + 4 + 40 + 6 * 20 and loaded["courses"] >= 1 and loaded["certificates"] > 0
    db = sqlite3.connect(tmp_path / "academy.sqlite")
    roles = dict(db.execute("select email, role from users").fetchall())
    db.close()
    assert roles["boss@example.com"] == "admin" and roles["curator@demo.academy.school"] == "curator"


_TABLES = (
    "users",
    "courses",
    "lessons",
    "search_documents",
    "course_curators",
    "enrollments",
    "lesson_progress",
    "quiz_attempts",
    "activity_events",
    "xp_events",
    "certificates",
    "notifications",
    "homework_submissions",
    "retention_nudges",
    "retention_risk_episodes",
    "metric_snapshots",
)


def _row_counts(path):
    db = sqlite3.connect(path)
    try:
        return {table: db.execute(f"select count(*) from {table}").fetchone()[0] for table in _TABLES}
    finally:
        db.close()


async def test_demo_history_is_varied_and_loaded_once(settings):
    """A few generated students cover every kind of learner; a second load adds nothing."""
    from sqlalchemy import func, select

    from academy.demo import load_demo
    from academy.enrollment.service import enrollment_service
    from academy.gamification.service import gamification_service
    from academy.kit import clock
    from academy.kit.pagination import PageParams
    from academy.kit.uow import UnitOfWork
    from academy.models import ActivityEvent, Certificate, QuizAttempt, Role
    from academy.user.service import user_service

    async def counts(session):
        return [
            await session.scalar(select(func.count()).select_from(model))
            for model in (ActivityEvent, QuizAttempt, Certificate)
        ]

    async with UnitOfWork() as uow:
        await load_demo(uow.session, students=6, cohorts=0)
    async with UnitOfWork() as uow:
        session = uow.session
        loaded = await counts(session)
        sam = await user_service.by_email(session, "student@demo.academy.school")
        [course] = (await enrollment_service.enrollments(session, sam, PageParams())).items
        assert 30 < course.progress_pct < 60 and course.next_lesson_id is not None
        assert (await gamification_service.progress(session, sam)).current_streak >= 5
        sam_attempts = (
            await session.scalars(select(QuizAttempt.passed).where(QuizAttempt.user_id == sam.id))
        ).all()
        assert False in sam_attempts and sam_attempts.count(True) >= 10

        students = await user_service.search(
            session, PageParams(size=100), query="@demo.academy.school", role=Role.student
        )
        assert students.total == 7
        progress, idle_days = [], []
        now = clock.now()
        for read in students.items:
            if read.email == "student@demo.academy.school":
                continue
            assert re.fullmatch(r"[a-z]+\.[a-z]+\.\d+@demo\.academy\.school", read.email or ""), read.email
            user = await user_service.get(session, read.id)
            mine = (await enrollment_service.enrollments(session, user, PageParams())).items
            progress.append(mine[0].progress_pct if mine else -1)
            last = await session.scalar(
                select(func.max(ActivityEvent.at)).where(ActivityEvent.user_id == user.id)
            )
            idle_days.append((now - last).days)
        assert 100 in progress and min(progress) < 10 and len(set(progress)) >= 4, progress
        assert max(idle_days) >= 14 and min(idle_days) <= 3, idle_days
        assert await session.scalar(select(func.count()).select_from(Certificate)) >= 1
        failed = await session.scalar(
            select(func.count()).select_from(QuizAttempt).where(QuizAttempt.passed.is_(False))
        )
        assert failed >= 2

    async with UnitOfWork() as uow:
        await load_demo(uow.session, students=6, cohorts=0)
    async with UnitOfWork() as uow:
        assert await counts(uow.session) == loaded
        again = await user_service.search(
            uow.session, PageParams(size=1), query="@demo.academy.school", role=Role.student
        )
        assert again.total == 7
