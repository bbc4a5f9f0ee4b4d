from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, String, exists, func, literal, select, type_coerce, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit.repository import Repository
from academy.models import Bar, Instrument
from academy.trading.market_data.feed import BAR_COLUMNS, empty_bars
from academy.trading.market_data.timeframes import TIMEFRAMES

# 8 parameters a row: 1,000 rows stay far below both SQLite's (32,766) and PostgreSQL's (32,767) limits.
CHUNK_ROWS = 1000
_BARS = Bar.__table__
_KEY = ("instrument_id", "timeframe", "open_time")


# Bars a user uploaded for an audit live on venue "upload:<user id>": private, so never listed.
UPLOAD_VENUE_PREFIX = "upload:"


class InstrumentRepository(Repository[Instrument]):
    model = Instrument

    async def by_key(self, venue: str, symbol: str) -> Instrument | None:
        return await self.one_or_none(
            select(Instrument).where(Instrument.venue == venue, Instrument.symbol == symbol)
        )

    async def listing(
        self, *, active_only: bool, simulated: bool | None, asset_class: str | None, uploads: bool = False
    ) -> Sequence[Instrument]:
        stmt = select(Instrument).order_by(Instrument.venue, Instrument.symbol)
        if not uploads:
            stmt = stmt.where(Instrument.venue.not_like(f"{UPLOAD_VENUE_PREFIX}%"))
        if active_only:
            stmt = stmt.where(Instrument.active.is_(True))
        if simulated is not None:
            stmt = stmt.where(Instrument.simulated.is_(simulated))
        if asset_class is not None:
            stmt = stmt.where(Instrument.asset_class == asset_class)
        return await self.all(stmt)

    async def delete(self, instrument: Instrument) -> None:
        await self.session.delete(instrument)
        await self.session.flush()


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class BarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _dialect(self) -> str:
        return str((await self.session.connection()).dialect.name)

    async def upsert(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """INSERT … ON CONFLICT (instrument, timeframe, open time) DO UPDATE, one executemany per chunk."""
        # Settings accept only these two databases, so the lookup cannot miss.
        insert: Any = _INSERTS[await self._dialect()]
        stmt = insert(_BARS)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_KEY), set_={c: stmt.excluded[c] for c in BAR_COLUMNS}
        )
        written = 0
        chunk: list[Mapping[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK_ROWS:
                await self.session.execute(stmt, chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            await self.session.execute(stmt, chunk)
            written += len(chunk)
        return written

    async def frame(
        self,
        instrument_id: int,
        timeframe: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Bars with start <= open_time < end as a DataFrame; with `limit`, the latest `limit` of them."""
        dialect = await self._dialect()
        # Read the raw column and convert the whole array at once: the per-row UTCDateTime hook
        # dominates the cost of a large read.
        raw_time = type_coerce(Bar.open_time, String if dialect == "sqlite" else DateTime(timezone=True))
        stmt = select(raw_time, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume).where(
            Bar.instrument_id == instrument_id, Bar.timeframe == timeframe
        )
        if start is not None:
            stmt = stmt.where(Bar.open_time >= start)
        if end is not None:
            stmt = stmt.where(Bar.open_time < end)
        if limit is not None:
            stmt = stmt.order_by(Bar.open_time.desc()).limit(limit)
        else:
            stmt = stmt.order_by(Bar.open_time)
        # A Core execute on the session's connection: ORM row loading would only add overhead here.
        rows = list((await (await self.session.connection()).execute(stmt)).all())
        if not rows:
            return empty_bars()
        if limit is not None:
            rows.reverse()
        times, *values = zip(*rows, strict=True)
        index = pd.DatetimeIndex(pd.to_datetime(list(times), utc=True, format="ISO8601"), name="open_time")
        return pd.DataFrame(
            {
                c: np.fromiter(v, dtype=float, count=len(rows))
                for c, v in zip(BAR_COLUMNS, values, strict=True)
            },
            index=index.as_unit("us"),
        )

    async def last_time(self, instrument_id: int, timeframe: str) -> datetime | None:
        stmt = select(func.max(Bar.open_time)).where(
            Bar.instrument_id == instrument_id, Bar.timeframe == timeframe
        )
        value: datetime | None = (await self.session.execute(stmt)).scalar_one()
        return value

    async def count(self, instrument_id: int, timeframe: str | None = None) -> int:
        stmt = select(func.count()).select_from(_BARS).where(Bar.instrument_id == instrument_id)
        if timeframe is not None:
            stmt = stmt.where(Bar.timeframe == timeframe)
        return int((await self.session.execute(stmt)).scalar_one())

    async def timeframes_of(self, instrument_ids: Sequence[int]) -> dict[int, list[str]]:
        """The timeframes that have bars, shortest first, for many instruments in one statement."""
        found: dict[int, list[str]] = {i: [] for i in instrument_ids}
        if not instrument_ids:
            return found
        # One EXISTS probe per (instrument, timeframe) seeks the primary key; a DISTINCT over the
        # bars would walk every stored bar.
        ids = list(instrument_ids)
        stmt = union_all(
            *(
                select(Instrument.id, literal(timeframe, String).label("timeframe")).where(
                    Instrument.id.in_(ids),
                    exists().where(Bar.instrument_id == Instrument.id, Bar.timeframe == timeframe),
                )
                for timeframe in TIMEFRAMES
            )
        )
        rows = (await self.session.execute(stmt)).all()
        order = {timeframe: i for i, timeframe in enumerate(TIMEFRAMES)}
        for instrument_id, timeframe in sorted(rows, key=lambda r: order[r[1]]):
            found[instrument_id].append(timeframe)
        return found

    async def timeframes(self, instrument_id: int) -> list[str]:
        stmt = (
            select(Bar.timeframe).where(Bar.instrument_id == instrument_id).distinct().order_by(Bar.timeframe)
        )
        return list((await self.session.execute(stmt)).scalars().all())
