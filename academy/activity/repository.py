from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from academy.kit.repository import Repository
from academy.models import ActivityEvent


class ActivityRepository(Repository[ActivityEvent]):
    model = ActivityEvent

    async def stream(
        self,
        *,
        user_id: int | None,
        course_id: int | None,
        kinds: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[ActivityEvent], int]:
        stmt = select(ActivityEvent)
        if user_id is not None:
            stmt = stmt.where(ActivityEvent.user_id == user_id)
        if course_id is not None:
            stmt = stmt.where(ActivityEvent.course_id == course_id)
        if kinds:
            stmt = stmt.where(ActivityEvent.kind.in_(kinds))
        if since is not None:
            stmt = stmt.where(ActivityEvent.at >= since)
        if until is not None:
            stmt = stmt.where(ActivityEvent.at < until)
        total = await self.count(stmt)
        rows = await self.all(
            stmt.order_by(ActivityEvent.at.desc(), ActivityEvent.id.desc()).offset(offset).limit(limit)
        )
        return rows, total
