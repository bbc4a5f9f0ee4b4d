from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit import jobs
from academy.trading.signal.service import signal_service


@jobs.task("trading.collect")
async def collect(session: AsyncSession) -> int:
    """Beat: one job per watched series, so a failing venue never holds back the others."""
    series = await signal_service.tracked(session)
    for instrument_id, timeframe in series:
        jobs.enqueue(session, "trading.collect_series", instrument_id, timeframe)
    return len(series)


@jobs.task("trading.collect_series")
async def collect_series(session: AsyncSession, instrument_id: int, timeframe: str) -> int:
    return len(await signal_service.collect(session, instrument_id, timeframe))
