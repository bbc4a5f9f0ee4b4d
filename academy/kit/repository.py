from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

M = TypeVar("M")


class Repository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: int) -> M | None:
        return await self.session.get(self.model, id_)

    async def add(self, obj: M) -> M:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def one_or_none(self, stmt: Select[Any]) -> M | None:
        return (await self.session.execute(stmt)).scalars().first()

    async def all(self, stmt: Select[Any]) -> Sequence[M]:
        return (await self.session.execute(stmt)).scalars().all()

    async def count(self, stmt: Select[Any]) -> int:
        return int(
            (await self.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        )
