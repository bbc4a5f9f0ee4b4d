"""Instruments and their bars: the only entry point to market data."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit import realtime
from academy.kit.errors import NotFound
from academy.kit.uow import after_commit
from academy.models import Instrument
from academy.models.trading import ASSET_CLASSES
from academy.trading.indicators import REGISTRY, IndicatorInfo
from academy.trading.market_data.csv_import import CsvReport, Source, read_bars_csv
from academy.trading.market_data.errors import MarketDataError
from academy.trading.market_data.feed import BAR_COLUMNS, MarketFeed
from academy.trading.market_data.repository import UPLOAD_VENUE_PREFIX as UPLOAD_VENUE_PREFIX
from academy.trading.market_data.repository import BarRepository, InstrumentRepository
from academy.trading.market_data.simulator import SIMULATED_MARKETS
from academy.trading.market_data.simulator import VENUE as SIMULATED_VENUE
from academy.trading.market_data.timeframes import timeframe_delta

log = structlog.get_logger()

# One microsecond is the storage resolution, so [first, last + 1 µs) is exactly [first, last].
_RESOLUTION = timedelta(microseconds=1)
_MAX_FEED_ROUNDS = 50
# The most bars one upsert pushes to open charts: a first import or a long outage would otherwise
# flood the hub (whose per-subscriber queue holds 100); a chart fills larger gaps by reloading.
LIVE_BARS = 50
# Indicator parameters are whole bar counts, except Bollinger's width in standard deviations
# (the registry's warm-up measurement makes the same distinction).
_FLOAT_PARAMS = frozenset({"deviations"})
_MAX_PERIOD = 1000
_MAX_DEVIATIONS = 10.0


def bars_channel(instrument_id: int, timeframe: str) -> str:
    """The hub channel on which closed bars of one instrument and timeframe are announced."""
    return f"lab:bars:{instrument_id}:{timeframe}"


def bar_messages(instrument_id: int, timeframe: str, bars: pd.DataFrame) -> list[dict[str, Any]]:
    """The live messages for closed bars, as published on `bars_channel`."""
    seconds = pd.DatetimeIndex(bars.index).as_unit("s").asi8.tolist()
    columns = [bars[c].to_numpy(dtype=float).tolist() for c in BAR_COLUMNS]
    return [
        {
            "type": "bar",
            "instrument_id": instrument_id,
            "timeframe": timeframe,
            "bar": {"time": t, "open": o, "high": h, "low": lo, "close": c, "volume": v},
        }
        for t, o, h, lo, c, v in zip(seconds, *columns, strict=True)
    ]


@dataclass(frozen=True)
class IndicatorSeries:
    """An indicator's outputs aligned to `index` (the requested bars), NaN where undefined."""

    name: str
    params: dict[str, float]
    index: pd.DatetimeIndex
    outputs: dict[str, np.ndarray]
    warmup: int


def indicator_arguments(info: IndicatorInfo, given: Mapping[str, str]) -> tuple[float, ...]:
    """The indicator's positional parameters from text values by name; defaults fill the gaps."""
    unknown = sorted(set(given) - set(info.params))
    if unknown:
        takes = ", ".join(info.params) or "no parameters"
        raise MarketDataError(f"{info.name} has no parameter {', '.join(unknown)}; it takes {takes}")
    args: list[float] = []
    for param, default in zip(info.params, info.defaults, strict=True):
        raw = given.get(param)
        try:
            value = float(default if raw is None else raw)
        except ValueError:
            raise MarketDataError(f"{info.name} {param} must be a number, not {raw!r}") from None
        if param in _FLOAT_PARAMS:
            if not 0 < value <= _MAX_DEVIATIONS:
                raise MarketDataError(f"{info.name} {param} must be above 0 and at most {_MAX_DEVIATIONS:g}")
            args.append(value)
        else:
            if not value.is_integer() or not 1 <= value <= _MAX_PERIOD:
                raise MarketDataError(f"{info.name} {param} must be a whole number from 1 to {_MAX_PERIOD}")
            args.append(int(value))
    return tuple(args)


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


class MarketDataService:
    # --- instruments ---

    async def ensure_instrument(
        self,
        session: AsyncSession,
        *,
        symbol: str,
        venue: str,
        asset_class: str,
        tick_size: float,
        quote_currency: str,
        base_currency: str | None = None,
        simulated: bool = False,
        active: bool = True,
    ) -> Instrument:
        """Get the instrument (venue, symbol), creating it or bringing its attributes up to date."""
        symbol, venue = symbol.strip(), venue.strip()
        if not symbol or not venue:
            raise MarketDataError("An instrument needs a symbol and a venue")
        if asset_class not in ASSET_CLASSES:
            raise MarketDataError(f"Unknown asset class '{asset_class}' (known: {', '.join(ASSET_CLASSES)})")
        if not tick_size > 0:
            raise MarketDataError("Tick size must be positive")
        if simulated != (venue == SIMULATED_VENUE):
            raise MarketDataError(f"Simulated instruments, and only they, live on venue '{SIMULATED_VENUE}'")
        values: dict[str, Any] = {
            "asset_class": asset_class,
            "tick_size": float(tick_size),
            "quote_currency": quote_currency.strip().upper(),
            "base_currency": base_currency.strip().upper() if base_currency else None,
            "simulated": simulated,
            "active": active,
        }
        repo = InstrumentRepository(session)
        instrument = await repo.by_key(venue, symbol)
        if instrument is None:
            instrument = await repo.add(Instrument(symbol=symbol, venue=venue, **values))
            log.info(
                "market_data.instrument_created", instrument_id=instrument.id, symbol=symbol, venue=venue
            )
            return instrument
        for name, value in values.items():
            if getattr(instrument, name) != value:
                setattr(instrument, name, value)
        await session.flush()
        return instrument

    async def ensure_simulated_instruments(self, session: AsyncSession) -> list[Instrument]:
        return [
            await self.ensure_instrument(
                session,
                symbol=p.symbol,
                venue=p.venue,
                asset_class=p.asset_class,
                tick_size=p.tick_size,
                quote_currency=p.quote_currency,
                base_currency=p.base_currency,
                simulated=True,
            )
            for p in SIMULATED_MARKETS.values()
        ]

    async def instruments(
        self,
        session: AsyncSession,
        *,
        active_only: bool = True,
        simulated: bool | None = None,
        asset_class: str | None = None,
        uploads: bool = False,
    ) -> Sequence[Instrument]:
        """Listed instruments; `uploads` adds users' private audit uploads (the audit filters them)."""
        return await InstrumentRepository(session).listing(
            active_only=active_only, simulated=simulated, asset_class=asset_class, uploads=uploads
        )

    async def instrument(self, session: AsyncSession, instrument_id: int) -> Instrument:
        instrument = await InstrumentRepository(session).get(instrument_id)
        if instrument is None:
            raise NotFound(f"No instrument {instrument_id}")
        return instrument

    async def instrument_by_symbol(self, session: AsyncSession, venue: str, symbol: str) -> Instrument:
        instrument = await InstrumentRepository(session).by_key(venue, symbol)
        if instrument is None:
            raise NotFound(f"No instrument {symbol} on {venue}")
        return instrument

    async def set_active(self, session: AsyncSession, instrument_id: int, active: bool) -> Instrument:
        instrument = await self.instrument(session, instrument_id)
        instrument.active = active
        await session.flush()
        return instrument

    async def delete_instrument(self, session: AsyncSession, instrument_id: int) -> None:
        """Deletes the instrument and, by cascade, its bars."""
        await InstrumentRepository(session).delete(await self.instrument(session, instrument_id))
        log.info("market_data.instrument_deleted", instrument_id=instrument_id)

    # --- bars ---

    async def upsert_bars(
        self, session: AsyncSession, instrument: Instrument, timeframe: str, frame: pd.DataFrame
    ) -> UpsertCounts:
        """Store bars; a bar already stored with other values is updated in place, an equal one is left."""
        timeframe_delta(timeframe)
        bars = clean_bars(frame)
        if bars.empty:
            return UpsertCounts()
        repo = BarRepository(session)
        previous_last = await repo.last_time(instrument.id, timeframe)
        stored = await repo.frame(
            instrument.id,
            timeframe,
            start=bars.index[0].to_pydatetime(),
            end=bars.index[-1].to_pydatetime() + _RESOLUTION,
        )
        known = bars.index.isin(stored.index)
        changed = np.zeros(len(bars), dtype=bool)
        if known.any():
            before = stored.reindex(bars.index[known])[list(BAR_COLUMNS)].to_numpy()
            changed[known] = (before != bars[known][list(BAR_COLUMNS)].to_numpy()).any(axis=1)
        write = bars[~known | changed]
        counts = UpsertCounts(
            inserted=int((~known).sum()),
            updated=int(changed.sum()),
            unchanged=int(known.sum() - changed.sum()),
        )
        if not write.empty:
            await repo.upsert(_rows(instrument.id, timeframe, write))
            # Only the tail goes live: corrections deep in history don't move an open chart.
            live = write if previous_last is None else write[write.index >= previous_last]
            if not live.empty:
                _publish_after_commit(session, instrument.id, timeframe, live.iloc[-LIVE_BARS:])
        log.info(
            "market_data.bars_upserted",
            instrument_id=instrument.id,
            timeframe=timeframe,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )
        return counts

    async def bars(
        self,
        session: AsyncSession,
        instrument_id: int,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Bars with start <= open_time < end, oldest first; with `limit`, the latest `limit` of those."""
        timeframe_delta(timeframe)
        for name, moment in (("start", start), ("end", end)):
            if moment is not None and moment.tzinfo is None:
                raise MarketDataError(f"'{name}' must be timezone-aware")
        if limit is not None and limit < 1:
            raise MarketDataError("'limit' must be positive")
        return await BarRepository(session).frame(instrument_id, timeframe, start=start, end=end, limit=limit)

    async def last_bar_time(
        self, session: AsyncSession, instrument_id: int, timeframe: str
    ) -> datetime | None:
        return await BarRepository(session).last_time(instrument_id, timeframe)

    async def bar_count(self, session: AsyncSession, instrument_id: int, timeframe: str | None = None) -> int:
        return await BarRepository(session).count(instrument_id, timeframe)

    async def timeframes(self, session: AsyncSession, instrument_id: int) -> list[str]:
        return await BarRepository(session).timeframes(instrument_id)

    async def timeframes_of(
        self, session: AsyncSession, instrument_ids: Sequence[int]
    ) -> dict[int, list[str]]:
        """The timeframes with bars of each instrument, shortest first."""
        return await BarRepository(session).timeframes_of(instrument_ids)

    async def bars_after(
        self, session: AsyncSession, instrument_id: int, timeframe: str, after: datetime, limit: int
    ) -> pd.DataFrame:
        """The latest `limit` bars opened strictly after `after`, oldest first."""
        return await self.bars(session, instrument_id, timeframe, start=after + _RESOLUTION, limit=limit)

    async def indicator(
        self,
        session: AsyncSession,
        instrument_id: int,
        timeframe: str,
        name: str,
        params: Mapping[str, str],
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> IndicatorSeries:
        """An indicator over the bars `bars()` returns for the same arguments, aligned to them.

        It is computed from up to warm-up - 1 earlier bars on, so the first requested bar has a value
        whenever enough history is stored; the values equal TA-Lib's on that longer series."""
        info = REGISTRY.get(name)
        if info is None:
            raise MarketDataError(f"Unknown indicator '{name}' (known: {', '.join(REGISTRY)})")
        args = indicator_arguments(info, params)
        window = await self.bars(session, instrument_id, timeframe, start, end, limit)
        with _talib_parameters(info, args):
            warmup = info.warmup(*args)
        history = window
        if not window.empty and warmup > 1:
            before = await self.bars(
                session, instrument_id, timeframe, end=window.index[0].to_pydatetime(), limit=warmup - 1
            )
            history = pd.concat([before, window]) if not before.empty else window
        with _talib_parameters(info, args):
            result = info.fn(*(history[c].to_numpy() for c in info.inputs), *args)
        series = result if isinstance(result, tuple) else (result,)
        skip = len(history) - len(window)
        return IndicatorSeries(
            name=name,
            params=dict(zip(info.params, args, strict=True)),
            index=pd.DatetimeIndex(window.index),
            outputs={o: values[skip:] for o, values in zip(info.outputs, series, strict=True)},
            warmup=warmup,
        )

    async def collect(
        self, session: AsyncSession, instrument: Instrument, timeframe: str, feed: MarketFeed
    ) -> UpsertCounts:
        """Fetch the closed bars after the last stored one and store them. Idempotent: run it as often
        as you like, it only ever adds what the feed has closed since."""
        delta = timeframe_delta(timeframe)
        total = UpsertCounts()
        for _ in range(_MAX_FEED_ROUNDS):  # feeds page their answers; follow until caught up
            last = await self.last_bar_time(session, instrument.id, timeframe)
            frame = await feed.fetch_closed_bars(
                instrument.symbol, timeframe, None if last is None else last + delta
            )
            if frame.empty:
                break
            counts = await self.upsert_bars(session, instrument, timeframe, frame)
            total += counts
            if counts.inserted == 0:
                break
        log.info(
            "market_data.bars_collected",
            instrument_id=instrument.id,
            timeframe=timeframe,
            feed=feed.name,
            inserted=total.inserted,
        )
        return total

    async def import_csv(
        self,
        session: AsyncSession,
        instrument: Instrument,
        source: Source,
        *,
        timeframe: str | None = None,
        tz: str = "UTC",
        separator: str | None = None,
        dayfirst: bool = False,
    ) -> tuple[UpsertCounts, CsvReport]:
        frame, report = read_bars_csv(
            source, timeframe=timeframe, tz=tz, separator=separator, dayfirst=dayfirst
        )
        if report.timeframe is None:
            raise MarketDataError("Cannot tell the timeframe from the bar spacing; give it explicitly")
        counts = await self.upsert_bars(session, instrument, report.timeframe, frame)
        return counts, report


def clean_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a bar frame and return it with a UTC microsecond index and float columns, oldest first."""
    missing = [c for c in ("open", "high", "low", "close") if c not in frame.columns]
    if missing:
        raise MarketDataError(f"Bar frame lacks columns: {', '.join(missing)}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise MarketDataError("Bar frame must be indexed by open time")
    if frame.index.tz is None:
        raise MarketDataError("Bar open times must be timezone-aware")
    bars = frame.reindex(columns=list(BAR_COLUMNS)).astype(float)
    bars["volume"] = bars["volume"].fillna(0.0)
    bars.index = pd.DatetimeIndex(frame.index.tz_convert("UTC").as_unit("us"), name="open_time")
    if bars.index.has_duplicates:
        dupes = bars.index[bars.index.duplicated()].unique()[:3]
        raise MarketDataError(f"Duplicate open times: {', '.join(str(t) for t in dupes)}")
    bars = bars.sort_index()
    o, h, lo, c = (bars[k] for k in ("open", "high", "low", "close"))
    problems = (
        (bars[["open", "high", "low", "close"]].isna().any(axis=1), "missing prices"),
        (h < lo, "high < low"),
        ((o < lo) | (o > h) | (c < lo) | (c > h), "open or close outside [low, high]"),
        (bars["volume"] < 0, "negative volume"),
    )
    for bad, reason in problems:
        if bad.any():
            times = ", ".join(str(t) for t in bars.index[bad.to_numpy()][:3])
            raise MarketDataError(f"Invalid bars ({reason}) at {times}")
    return bars


@contextlib.contextmanager
def _talib_parameters(info: IndicatorInfo, args: tuple[float, ...]) -> Iterator[None]:
    """TA-Lib's own parameter checks (RSI needs a period of 2 or more…) as a clear 422."""
    try:
        yield
    except Exception as exc:
        if "TA_BAD_PARAM" not in str(exc):
            raise
        shown = ", ".join(f"{p}={a:g}" for p, a in zip(info.params, args, strict=True))
        raise MarketDataError(f"{info.name} does not accept {shown}") from None


def _publish_after_commit(
    session: AsyncSession, instrument_id: int, timeframe: str, bars: pd.DataFrame
) -> None:
    channel = bars_channel(instrument_id, timeframe)
    messages = bar_messages(instrument_id, timeframe, bars)

    async def publish() -> None:
        hub = realtime.hub()
        for message in messages:
            await hub.publish(channel, message)

    after_commit(session, publish)


def _rows(instrument_id: int, timeframe: str, bars: pd.DataFrame) -> list[dict[str, Any]]:
    times = pd.DatetimeIndex(bars.index).to_pydatetime()
    columns = [bars[c].to_numpy().tolist() for c in BAR_COLUMNS]
    return [
        {
            "instrument_id": instrument_id,
            "timeframe": timeframe,
            "open_time": t,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
        }
        for t, o, h, lo, c, v in zip(times, *columns, strict=True)
    ]


market_data_service = MarketDataService()
