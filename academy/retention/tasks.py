from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit import jobs
from academy.retention.service import retention_service


@jobs.task("retention.rescore")
async def rescore(
    session: AsyncSession,
    course_id: int | None = None,
    enrollment_ids: list[int] | None = None,
    user_id: int | None = None,
) -> int:
    """One student's enrolment after a learning event (user_id + course_id), a batch of enrolments,
    or, with no ids (the hourly beat), every enrolment split into batch jobs."""
    if enrollment_ids is None and user_id is None:
        return await retention_service.queue_rescore(session, course_id=course_id)
    report = await retention_service.rescore(
        session, course_id=course_id, enrollment_ids=enrollment_ids, user_id=user_id
    )
    return report.scored


@jobs.task("retention.track_returns")
async def track_returns(session: AsyncSession) -> int:
    return await retention_service.track_returns(session)
