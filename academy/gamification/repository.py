from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Subquery, func, select
from sqlalchemy.exc import IntegrityError

from academy.kit.repository import Repository
from academy.models import GamificationProfile, User, UserAchievement, XpEvent


class GamificationRepository(Repository[GamificationProfile]):
    model = GamificationProfile

    async def profile(self, user_id: int) -> GamificationProfile:
        profile = await self.session.get(GamificationProfile, user_id)
        if profile is None:
            profile = GamificationProfile(
                user_id=user_id, xp=0, current_streak=0, longest_streak=0, leaderboard_hidden=False
            )
            self.session.add(profile)
            await self.session.flush()
        return profile

    async def award(self, user_id: int, amount: int, source: str, at: datetime) -> bool:
        """Insert one XP award; False if this source already paid out (idempotent by design)."""
        exists = await self.session.execute(
            select(XpEvent.id).where(XpEvent.user_id == user_id, XpEvent.source == source)
        )
        if exists.first() is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(XpEvent(user_id=user_id, amount=amount, source=source, created_at=at))
        except IntegrityError:
            return False
        return True

    async def count_sources(self, user_id: int, prefix: str) -> int:
        stmt = select(func.count()).where(XpEvent.user_id == user_id, XpEvent.source.like(f"{prefix}%"))
        return int((await self.session.execute(stmt)).scalar_one())

    async def achievements(self, user_id: int) -> Sequence[UserAchievement]:
        stmt = select(UserAchievement).where(UserAchievement.user_id == user_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def unlock(self, user_id: int, code: str, at: datetime) -> None:
        self.session.add(UserAchievement(user_id=user_id, code=code, unlocked_at=at))
        await self.session.flush()

    def _weekly_totals(self, since: datetime) -> Subquery:
        """XP per student since `since`, for active students who have not left the board."""
        return (
            select(XpEvent.user_id, func.sum(XpEvent.amount).label("xp"))
            .join(User, User.id == XpEvent.user_id)
            .outerjoin(GamificationProfile, GamificationProfile.user_id == XpEvent.user_id)
            .where(
                XpEvent.created_at >= since,
                User.is_active.is_(True),
                func.coalesce(GamificationProfile.leaderboard_hidden, False).is_(False),
            )
            .group_by(XpEvent.user_id)
            .subquery()
        )

    async def weekly(self, since: datetime, limit: int) -> Sequence[tuple[int, str, str | None, int]]:
        totals = self._weekly_totals(since)
        stmt = (
            select(User.id, User.name, User.email, totals.c.xp)
            .join(totals, totals.c.user_id == User.id)
            .order_by(totals.c.xp.desc(), User.id)
            .limit(limit)
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in (await self.session.execute(stmt)).all()]

    async def weekly_xp(self, user_id: int, since: datetime) -> int:
        stmt = select(func.coalesce(func.sum(XpEvent.amount), 0)).where(
            XpEvent.user_id == user_id, XpEvent.created_at >= since
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def weekly_rank(self, xp: int, since: datetime) -> int:
        totals = self._weekly_totals(since)
        ahead = await self.session.execute(select(func.count()).select_from(totals).where(totals.c.xp > xp))
        return int(ahead.scalar_one()) + 1
