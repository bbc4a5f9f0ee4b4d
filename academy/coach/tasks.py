from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from academy.coach.knowledge import knowledge_service
from academy.kit import jobs


@jobs.task("coach.sync_knowledge")
async def sync_knowledge(session: AsyncSession) -> int:
    """Embed what changed in the knowledge base; queue another run while chunks remain."""
    report = await knowledge_service.sync(session)
    if report.remaining:
        jobs.enqueue(session, "coach.sync_knowledge")
    return report.embedded
