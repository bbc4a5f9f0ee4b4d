from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from academy.analytics.service import metrics_service
from academy.kit import clock, jobs


@jobs.task("analytics.snapshot")
async def snapshot(session: AsyncSession, day: str | None = None) -> int:
    """Snapshot `day` (ISO), by default yesterday (UTC): the last day that is over. Re-running
    overwrites that day's rows, so a redelivered or repeated run is harmless."""
    target = date.fromisoformat(day) if day else clock.now().date() - timedelta(days=1)
    return await metrics_service.snapshot(session, target)
