"""Market data over JSON: instruments, closed bars and indicator values for charts and API clients."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from academy.auth.access import signed_in
from academy.kit.deps import UoW
from academy.models import Instrument, User
from academy.trading.market_data.feed import BAR_COLUMNS
from academy.trading.market_data.service import IndicatorSeries, market_data_service

router = APIRouter(prefix="/instruments", tags=["market data"])
SignedIn = Annotated[User, Depends(signed_in)]
InstrumentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Timeframe = Annotated[str, Query(min_length=1, max_length=8, description="e.g. 1m, 1h, 1d")]
Start = Annotated[
    datetime | None, Query(description="Bars opened at or after this moment (with a time zone)")
]
End = Annotated[datetime | None, Query(description="Bars opened before this moment (with a time zone)")]
Limit = Annotated[int, Query(ge=1, le=5000, description="The latest this many bars of the range")]
DEFAULT_LIMIT = 500
# Query keys of the indicator endpoint that are not indicator parameters.
_INDICATOR_KEYS = frozenset({"timeframe", "name", "start", "end", "limit"})


class InstrumentRead(BaseModel):
    id: int
    symbol: str
    venue: str
    asset_class: str
    tick_size: float
    quote_currency: str
    base_currency: str | None
    simulated: bool
    timeframes: list[str]  # those with stored bars, shortest first

    @classmethod
    def of(cls, instrument: Instrument, timeframes: list[str]) -> InstrumentRead:
        return cls(
            id=instrument.id,
            symbol=instrument.symbol,
            venue=instrument.venue,
            asset_class=instrument.asset_class,
            tick_size=instrument.tick_size,
            quote_currency=instrument.quote_currency,
            base_currency=instrument.base_currency,
            simulated=instrument.simulated,
            timeframes=timeframes,
        )


class BarRead(BaseModel):
    time: int  # open time, seconds since the Unix epoch (UTC)
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarsRead(BaseModel):
    instrument_id: int
    timeframe: str
    bars: list[BarRead]

    @classmethod
    def of(cls, instrument_id: int, timeframe: str, frame: pd.DataFrame) -> BarsRead:
        seconds = pd.DatetimeIndex(frame.index).as_unit("s").asi8.tolist()
        columns = [frame[c].to_numpy(dtype=float).tolist() for c in BAR_COLUMNS]
        return cls(
            instrument_id=instrument_id,
            timeframe=timeframe,
            bars=[
                BarRead(time=t, open=o, high=h, low=lo, close=c, volume=v)
                for t, o, h, lo, c, v in zip(seconds, *columns, strict=True)
            ],
        )


class IndicatorRead(BaseModel):
    instrument_id: int
    timeframe: str
    name: str
    params: dict[str, float]
    warmup: int
    time: list[int]  # the bars' open times, seconds since the Unix epoch (UTC)
    values: dict[str, list[float | None]]  # per output, aligned to `time`; null where undefined

    @classmethod
    def of(cls, instrument_id: int, timeframe: str, series: IndicatorSeries) -> IndicatorRead:
        return cls(
            instrument_id=instrument_id,
            timeframe=timeframe,
            name=series.name,
            params=series.params,
            warmup=series.warmup,
            time=series.index.as_unit("s").asi8.tolist(),
            values={
                name: [None if math.isnan(v) else v for v in values.tolist()]
                for name, values in series.outputs.items()
            },
        )


def indicator_params(request: Request) -> dict[str, str]:
    """The indicator's parameters: every query key the endpoint does not name itself."""
    return {k: v for k, v in request.query_params.items() if k not in _INDICATOR_KEYS}


@router.get("")
async def list_instruments(uow: UoW, _: SignedIn) -> list[InstrumentRead]:
    """Active instruments, each with the timeframes that have stored bars."""
    instruments = await market_data_service.instruments(uow.session)
    timeframes = await market_data_service.timeframes_of(uow.session, [i.id for i in instruments])
    return [InstrumentRead.of(i, timeframes[i.id]) for i in instruments]


@router.get("/{instrument_id}/bars")
async def list_bars(
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    uow: UoW,
    _: SignedIn,
    start: Start = None,
    end: End = None,
    limit: Limit = DEFAULT_LIMIT,
) -> BarsRead:
    """Closed bars, oldest first: the latest `limit` of those opened in [start, end)."""
    await market_data_service.instrument(uow.session, instrument_id)
    frame = await market_data_service.bars(uow.session, instrument_id, timeframe, start, end, limit)
    return BarsRead.of(instrument_id, timeframe, frame)


@router.get("/{instrument_id}/indicators")
async def indicator_values(
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    name: Annotated[str, Query(min_length=1, max_length=20, description="e.g. sma, rsi, macd, bbands")],
    uow: UoW,
    _: SignedIn,
    params: Annotated[dict[str, str], Depends(indicator_params)],
    start: Start = None,
    end: End = None,
    limit: Limit = DEFAULT_LIMIT,
) -> IndicatorRead:
    """An indicator aligned to the bars the bars endpoint returns for the same range. Parameters go
    by name (`period=20`, `fast=12&slow=26&signal=9`, `deviations=2`); missing ones take defaults."""
    await market_data_service.instrument(uow.session, instrument_id)
    series = await market_data_service.indicator(
        uow.session, instrument_id, timeframe, name, params, start=start, end=end, limit=limit
    )
    return IndicatorRead.of(instrument_id, timeframe, series)
