"""Builders for retention tests: students with a backdated history, made through the real services
(enrolling, completing lessons, quizzes) under `clock.frozen`, and a fast path for many students.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import ActivityEvent, Enrollment, Notification, Nudge, RiskEpisode, RiskScore, User
from academy.retention.schemas import RescoreReport
from academy.retention.service import retention_service
from tests.fixtures.app import make_user
from tests.fixtures.learning import complete, enroll

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


async def student_with_history(
    course_id: int,
    *,
    enrolled: datetime,
    lessons: Sequence[tuple[int, datetime]] = (),
    name: str = "",
    email: str | None = None,
    timezone: str | None = None,
    verified: bool = True,
) -> tuple[User, int]:
    """Enrol at `enrolled` and complete (lesson id, at) pairs, each at its own moment."""
    user = await make_user(name=name, email=email, verified=verified)
    if timezone is not None:
        async with UnitOfWork() as uow:
            await uow.session.execute(update(User).where(User.id == user.id).values(timezone=timezone))
        user.timezone = timezone
    with clock.frozen(enrolled):
        enrollment_id = await enroll(user, course_id)
    for lesson_id, at in lessons:
        with clock.frozen(at):
            await complete(user, lesson_id)
    return user, enrollment_id


async def quick_students(
    course_id: int, n: int, *, enrolled: datetime, timezone: str = "UTC", prefix: str = "bulk"
) -> list[int]:
    """Many students at once as plain rows (an enrolment and its enrol event): for tests that need
    hundreds of them, where signing up each through the auth service would take minutes."""
    async with UnitOfWork() as uow:
        users = [
            User(
                email=f"{prefix}{i}@example.com", name=f"{prefix.title()} {i}", timezone=timezone, locale="en"
            )
            for i in range(n)
        ]
        uow.session.add_all(users)
        await uow.session.flush()
        # With the enrol event's time as the activity service keeps it on the enrolment.
        enrollments = [
            Enrollment(user_id=u.id, course_id=course_id, created_at=enrolled, last_activity_at=enrolled)
            for u in users
        ]
        uow.session.add_all(enrollments)
        uow.session.add_all(
            [
                ActivityEvent(user_id=u.id, course_id=course_id, kind="course_enrolled", at=enrolled)
                for u in users
            ]
        )
        await uow.session.flush()
        return [e.id for e in enrollments]


async def rescore(at: datetime | None = None, **kwargs: Any) -> RescoreReport:
    async with UnitOfWork() as uow:
        if at is None:
            return await retention_service.rescore(uow.session, **kwargs)
        with clock.frozen(at):
            return await retention_service.rescore(uow.session, **kwargs)


async def score_of(enrollment_id: int) -> RiskScore | None:
    async with UnitOfWork() as uow:
        return await uow.session.get(RiskScore, enrollment_id)


async def episodes(enrollment_ids: Sequence[int] | None = None) -> list[RiskEpisode]:
    async with UnitOfWork() as uow:
        stmt = select(RiskEpisode).order_by(RiskEpisode.id)
        if enrollment_ids is not None:
            stmt = stmt.where(RiskEpisode.enrollment_id.in_(list(enrollment_ids)))
        return list(await uow.session.scalars(stmt))


async def nudges(enrollment_ids: Sequence[int] | None = None) -> list[Nudge]:
    async with UnitOfWork() as uow:
        stmt = select(Nudge).order_by(Nudge.id)
        if enrollment_ids is not None:
            stmt = stmt.where(Nudge.enrollment_id.in_(list(enrollment_ids)))
        return list(await uow.session.scalars(stmt))


async def notifications_of(user_id: int) -> list[Notification]:
    async with UnitOfWork() as uow:
        return list(
            await uow.session.scalars(
                select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
            )
        )


async def add_activity(user_id: int, course_id: int, at: datetime, kind: str = "lesson_opened") -> None:
    from academy.activity.service import ActivityKind, activity_service

    # Frozen too: the rescoring the event queues runs at commit, and must see the same moment.
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            await activity_service.record(
                uow.session, user_id, ActivityKind(kind), course_id=course_id, at=at
            )


async def count(model: Any) -> int:
    async with UnitOfWork() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


def days(n: float) -> timedelta:
    return timedelta(days=n)
