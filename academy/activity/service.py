"""The learning activity stream: every learning event, append-only, with its time.

Other domains (coach, dropout risk, metrics) read it only through this service.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from academy.activity.repository import ActivityRepository
from academy.kit import clock, jobs
from academy.kit.pagination import PageParams
from academy.models import ActivityEvent


class ActivityKind(enum.StrEnum):
    enrolled = "course_enrolled"
    lesson_opened = "lesson_opened"
    lesson_completed = "lesson_completed"
    quiz_attempted = "quiz_attempted"
    quiz_passed = "quiz_passed"
    quiz_failed = "quiz_failed"
    course_completed = "course_completed"
    certificate_issued = "certificate_issued"
    achievement_unlocked = "achievement_unlocked"
    streak_frozen = "streak_frozen"
    homework_submitted = "homework_submitted"
    homework_graded = "homework_graded"


# Events that say nothing new about a student's dropout risk (they follow another event).
_NO_RESCORE = frozenset({"certificate_issued", "achievement_unlocked", "streak_frozen"})
_RESCORE_TASK = "retention.rescore"
_RESCORE_QUEUED = "academy.retention_rescore_queued"


def _queue_rescore(session: AsyncSession, user_id: int, course_id: int | None, kind: str) -> None:
    """Ask for the enrolment's risk to be rescored after commit, once per unit of work and enrolment.

    By task name, so activity does not depend on retention; a lesson with a quiz records several
    events in one request and they coalesce into one job."""
    if course_id is None or kind in _NO_RESCORE or _RESCORE_TASK not in jobs.registry():
        return
    queued: set[tuple[int, int]] = session.info.setdefault(_RESCORE_QUEUED, set())
    if (user_id, course_id) in queued:
        return
    queued.add((user_id, course_id))
    jobs.enqueue(session, _RESCORE_TASK, user_id=user_id, course_id=course_id)


class ActivityService:
    async def record(
        self,
        session: AsyncSession,
        user_id: int,
        kind: ActivityKind,
        *,
        course_id: int | None = None,
        lesson_id: int | None = None,
        quiz_id: int | None = None,
        at: datetime | None = None,
        **data: Any,
    ) -> ActivityEvent:
        event = ActivityEvent(
            user_id=user_id,
            kind=kind.value,
            at=at or clock.now(),
            course_id=course_id,
            lesson_id=lesson_id,
            quiz_id=quiz_id,
            data=data,
        )
        repo = ActivityRepository(session)
        await repo.add(event)
        if course_id is not None:
            await repo.touch_enrollment(user_id, course_id, event.at)
        _queue_rescore(session, user_id, course_id, kind.value)
        return event

    def request_rescore(self, session: AsyncSession, user_id: int, course_id: int) -> None:
        """Rescore an enrolment after commit for a change the student did not make (a grade)."""
        _queue_rescore(session, user_id, course_id, "")

    async def stream(
        self,
        session: AsyncSession,
        params: PageParams,
        *,
        user_id: int | None = None,
        course_id: int | None = None,
        kinds: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[Sequence[ActivityEvent], int]:
        return await ActivityRepository(session).stream(
            user_id=user_id,
            course_id=course_id,
            kinds=kinds,
            since=since,
            until=until,
            offset=params.offset,
            limit=params.size,
        )


activity_service = ActivityService()
