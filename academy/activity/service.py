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
from academy.kit import clock
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
        return await ActivityRepository(session).add(event)

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
