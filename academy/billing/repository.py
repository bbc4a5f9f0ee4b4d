from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from academy.models import AccessGrant


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, grant: AccessGrant) -> AccessGrant:
        self.session.add(grant)
        await self.session.flush()
        return grant

    async def current(self, user_id: int, at: datetime) -> list[AccessGrant]:
        rows = await self.session.scalars(
            select(AccessGrant).where(
                AccessGrant.user_id == user_id,
                or_(AccessGrant.expires_at.is_(None), AccessGrant.expires_at > at),
            )
        )
        return list(rows)

    async def for_user(self, user_id: int) -> list[AccessGrant]:
        rows = await self.session.scalars(
            select(AccessGrant).where(AccessGrant.user_id == user_id).order_by(AccessGrant.created_at.desc())
        )
        return list(rows)
