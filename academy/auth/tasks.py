from sqlalchemy.ext.asyncio import AsyncSession

from academy.auth.service import auth_service
from academy.kit.jobs import task


@task("auth.purge_expired")
async def purge_expired(session: AsyncSession) -> int:
    return await auth_service.purge_expired(session)
