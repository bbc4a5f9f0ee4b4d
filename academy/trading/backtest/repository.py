from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update

from academy.kit.repository import Repository
from academy.models import BacktestRun

ACTIVE = ("queued", "running")


class BacktestRunRepository(Repository[BacktestRun]):
    model = BacktestRun

    async def for_user(self, user_id: int, *, offset: int, limit: int) -> tuple[Sequence[BacktestRun], int]:
        stmt = select(BacktestRun).where(BacktestRun.user_id == user_id)
        total = await self.count(stmt)
        rows = await self.all(stmt.order_by(BacktestRun.id.desc()).offset(offset).limit(limit))
        return rows, total

    async def by_ids(self, ids: Sequence[int]) -> Sequence[BacktestRun]:
        return await self.all(select(BacktestRun).where(BacktestRun.id.in_(list(ids))))

    async def active_count(self, user_id: int) -> int:
        return await self.count(
            select(BacktestRun.id).where(BacktestRun.user_id == user_id, BacktestRun.status.in_(ACTIVE))
        )

    async def set_values(self, run_id: int, **values: Any) -> bool:
        """UPDATE one run by id without loading it; False when the run is gone (deleted meanwhile)."""
        result = await self.session.execute(
            update(BacktestRun).where(BacktestRun.id == run_id).values(**values),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def remove(self, run_id: int) -> None:
        await self.session.execute(
            delete(BacktestRun).where(BacktestRun.id == run_id),
            execution_options={"synchronize_session": False},
        )
