from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit.jobs import task
from academy.trading.backtest.service import backtest_service


@task("backtest.run")
async def run_backtest(session: AsyncSession, run_id: int) -> str:
    return await backtest_service.execute(session, run_id)
