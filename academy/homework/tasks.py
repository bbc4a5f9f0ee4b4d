from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from academy.homework.service import PREGRADE_TASK, homework_service
from academy.kit import jobs


@jobs.task(PREGRADE_TASK)
async def pregrade(session: AsyncSession, submission_id: int) -> None:
    """The AI proposal for a new submission; a redelivered message finds it done and does nothing."""
    await homework_service.pregrade(session, submission_id)
