from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select

from academy.kit.repository import Repository
from academy.models import User


class UserRepository(Repository[User]):
    model = User

    async def by_email(self, email: str) -> User | None:
        return await self.one_or_none(select(User).where(func.lower(User.email) == email.lower()))

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return await self.one_or_none(select(User).where(User.telegram_id == telegram_id))

    async def search(
        self, *, query: str = "", role: str | None = None, offset: int, limit: int
    ) -> tuple[Sequence[User], int]:
        stmt = select(User)
        if query:
            like = f"%{query.lower()}%"
            stmt = stmt.where(or_(func.lower(User.email).like(like), func.lower(User.name).like(like)))
        if role:
            stmt = stmt.where(User.role == role)
        total = await self.count(stmt)
        rows = await self.all(stmt.order_by(User.id).offset(offset).limit(limit))
        return rows, total
