from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import literal_column, or_, select, update

from academy.kit.repository import Repository
from academy.models import ActivityEvent, Enrollment


class ActivityRepository(Repository[ActivityEvent]):
    model = ActivityEvent

    async def touch_enrollment(self, user_id: int, course_id: int, at: datetime) -> None:
        """Move the enrolment's last activity forward (never back: backdated events arrive too)."""
        await self.session.execute(
            update(Enrollment)
            .where(
                Enrollment.user_id == user_id,
                Enrollment.course_id == course_id,
                or_(Enrollment.last_activity_at.is_(None), Enrollment.last_activity_at < at),
            )
            .values(last_activity_at=at)
            .execution_options(synchronize_session=False)
        )

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
        if course_id is not None and user_id is not None:
            # `+ 0` keeps SQLite (no statistics) on the (user_id, at) index: a plain equality makes it
            # pick the covering (course_id, at, user_id) index and read the whole course's events.
            stmt = stmt.where(ActivityEvent.course_id + literal_column("0") == course_id)
        elif course_id is not None:
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
