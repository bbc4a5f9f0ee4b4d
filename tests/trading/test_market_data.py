"""Market data: instruments, bar upserts and range reads, CSV import, the embedded simulator."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import Bar, Instrument
from academy.trading.market_data import simulator
from academy.trading.market_data.csv_import import read_bars_csv
from academy.trading.market_data.errors import CsvImportError, MarketDataError, UnknownTimeframe
from academy.trading.market_data.feed import MarketFeed
from academy.trading.market_data.service import market_data_service
from academy.trading.market_data.simulator import (
    SIMULATED_MARKETS,
    SimulatedFeed,
    simulated_bars,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def frame(
    n: int, *, start: datetime = T0, step: timedelta = timedelta(hours=1), base: float = 100.0
) -> pd.DataFrame:
    close = base + np.arange(n, dtype=float)
    index = pd.date_range(start, periods=n, freq=step, name="open_time")
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.full(n, 10.0),
        },
        index=index,
    )


async def make_instrument(session, symbol: str = "BTC/USDT", venue: str = "binance") -> Instrument:
    return await market_data_service.ensure_instrument(
        session,
        symbol=symbol,
        venue=venue,
        asset_class="crypto",
        tick_size=0.01,
        quote_currency="usdt",
        base_currency="btc",
    )


async def bar_rows(instrument_id: int) -> int:
    async with UnitOfWork() as uow:
        stmt = select(func.count()).select_from(Bar).where(Bar.instrument_id == instrument_id)
        return int((await uow.session.execute(stmt)).scalar_one())


# --- instruments ---


async def test_ensure_instrument_is_get_or_create_and_updates_attributes(settings):
    async with UnitOfWork() as uow:
        first = await make_instrument(uow.session)
    async with UnitOfWork() as uow:
        again = await market_data_service.ensure_instrument(
            uow.session,
            symbol="BTC/USDT",
            venue="binance",
            asset_class="crypto",
            tick_size=0.1,
            quote_currency="USDT",
            base_currency="BTC",
        )
        assert again.id == first.id and again.tick_size == 0.1
        assert again.quote_currency == "USDT" and not again.simulated and again.active
    async with UnitOfWork() as uow:
        await market_data_service.set_active(uow.session, first.id, False)
    async with UnitOfWork() as uow:
        assert await market_data_service.instruments(uow.session) == []
        (inactive,) = await market_data_service.instruments(uow.session, active_only=False)
        assert inactive.id == first.id


async def test_instrument_rules(settings):
    async with UnitOfWork() as uow:
        with pytest.raises(MarketDataError, match="asset class"):
            await market_data_service.ensure_instrument(
                uow.session, symbol="X", venue="v", asset_class="bonds", tick_size=1, quote_currency="USD"
            )
        with pytest.raises(MarketDataError, match="SIM"):
            await market_data_service.ensure_instrument(
                uow.session, symbol="X", venue="SIM", asset_class="stock", tick_size=1, quote_currency="USD"
            )
        with pytest.raises(MarketDataError, match="SIM"):
            await market_data_service.ensure_instrument(
                uow.session,
                symbol="X",
                venue="nyse",
                asset_class="stock",
                tick_size=1,
                quote_currency="USD",
                simulated=True,
            )
        simulated = await market_data_service.ensure_simulated_instruments(uow.session)
    assert {i.symbol for i in simulated} == set(SIMULATED_MARKETS)
    assert all(i.simulated and i.venue == "SIM" and i.symbol.endswith("-SIM") for i in simulated)
    async with UnitOfWork() as uow:
        assert len(await market_data_service.instruments(uow.session, simulated=True)) == len(
            SIMULATED_MARKETS
        )
        assert await market_data_service.instruments(uow.session, simulated=False) == []


async def test_venue_and_symbol_are_unique(settings):
    async with UnitOfWork() as uow:
        await make_instrument(uow.session)
    with pytest.raises(IntegrityError):
        async with UnitOfWork() as uow:
            uow.session.add(
                Instrument(
                    symbol="BTC/USDT", venue="binance", asset_class="crypto", tick_size=1, quote_currency="X"
                )
            )
            await uow.session.flush()


# --- bars ---


async def test_upsert_is_idempotent_and_updates_changed_bars_in_place(settings):
    bars = frame(2500)  # more than one chunk
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session)
        counts = await market_data_service.upsert_bars(uow.session, instrument, "1h", bars)
    assert (counts.inserted, counts.updated, counts.unchanged) == (2500, 0, 0)

    async with UnitOfWork() as uow:
        counts = await market_data_service.upsert_bars(uow.session, instrument, "1h", bars)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 2500)
    assert await bar_rows(instrument.id) == 2500

    changed = bars.iloc[-10:].copy()
    changed.iloc[3, changed.columns.get_loc("close")] += 0.25
    more = frame(5, start=bars.index[-1] + timedelta(hours=1), base=5000)
    async with UnitOfWork() as uow:
        counts = await market_data_service.upsert_bars(
            uow.session, instrument, "1h", pd.concat([changed, more])
        )
    assert (counts.inserted, counts.updated, counts.unchanged) == (5, 1, 9)
    assert await bar_rows(instrument.id) == 2505

    async with UnitOfWork() as uow:
        stored = await market_data_service.bars(uow.session, instrument.id, "1h")
    assert len(stored) == 2505 and stored.index.is_monotonic_increasing and stored.index.is_unique
    assert stored.loc[changed.index[3], "close"] == changed["close"].iloc[3]
    pd.testing.assert_frame_equal(
        stored.iloc[:2490], bars.iloc[:2490], check_freq=False, check_index_type=False
    )


async def test_the_database_refuses_two_bars_with_the_same_key(settings):
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session)
    with pytest.raises(IntegrityError):
        async with UnitOfWork() as uow:
            for _ in range(2):
                uow.session.add(
                    Bar(
                        instrument_id=instrument.id,
                        timeframe="1h",
                        open_time=T0,
                        open=1,
                        high=1,
                        low=1,
                        close=1,
                        volume=0,
                    )
                )
                await uow.session.flush()
                uow.session.expunge_all()


async def test_range_reads_limits_timeframes_and_last_bar(settings):
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session)
        other = await make_instrument(uow.session, symbol="ETH/USDT")
        await market_data_service.upsert_bars(uow.session, instrument, "1h", frame(48))
        await market_data_service.upsert_bars(uow.session, instrument, "1d", frame(3, step=timedelta(days=1)))
        await market_data_service.upsert_bars(uow.session, other, "1h", frame(10, base=7))

    async with UnitOfWork() as uow:
        s = uow.session
        whole = await market_data_service.bars(s, instrument.id, "1h")
        assert len(whole) == 48 and list(whole.columns) == ["open", "high", "low", "close", "volume"]
        assert whole.index.name == "open_time" and str(whole.index.tz) == "UTC"

        part = await market_data_service.bars(
            s, instrument.id, "1h", T0 + timedelta(hours=10), T0 + timedelta(hours=20)
        )
        assert len(part) == 10  # start inclusive, end exclusive
        assert part.index[0] == T0 + timedelta(hours=10) and part.index[-1] == T0 + timedelta(hours=19)

        tail = await market_data_service.bars(s, instrument.id, "1h", limit=5)
        assert list(tail["close"]) == [143.0, 144.0, 145.0, 146.0, 147.0]
        capped = await market_data_service.bars(s, instrument.id, "1h", end=T0 + timedelta(hours=3), limit=2)
        assert list(capped["close"]) == [101.0, 102.0]

        assert len(await market_data_service.bars(s, instrument.id, "1d")) == 3
        assert len(await market_data_service.bars(s, other.id, "1h")) == 10
        empty = await market_data_service.bars(s, instrument.id, "4h")
        assert empty.empty and list(empty.columns) == ["open", "high", "low", "close", "volume"]

        assert await market_data_service.last_bar_time(s, instrument.id, "1h") == T0 + timedelta(hours=47)
        assert await market_data_service.last_bar_time(s, instrument.id, "5m") is None
        assert await market_data_service.timeframes(s, instrument.id) == ["1d", "1h"]

        with pytest.raises(UnknownTimeframe):
            await market_data_service.bars(s, instrument.id, "7m")


async def test_upsert_refuses_invalid_frames(settings):
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session)
        bad = frame(3)
        bad.iloc[1, bad.columns.get_loc("high")] = 0
        with pytest.raises(MarketDataError, match="high < low"):
            await market_data_service.upsert_bars(uow.session, instrument, "1h", bad)
        with pytest.raises(MarketDataError, match="timezone-aware"):
            await market_data_service.upsert_bars(uow.session, instrument, "1h", frame(3).tz_localize(None))
        with pytest.raises(MarketDataError, match="Duplicate"):
            await market_data_service.upsert_bars(
                uow.session, instrument, "1h", pd.concat([frame(2), frame(1)])
            )


async def test_deleting_an_instrument_deletes_its_bars(settings):
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session)
        await market_data_service.upsert_bars(uow.session, instrument, "1h", frame(5))
    async with UnitOfWork() as uow:
        await market_data_service.delete_instrument(uow.session, instrument.id)
    assert await bar_rows(instrument.id) == 0


# --- CSV import ---


def read(text: str, **kwargs):
    return read_bars_csv(io.StringIO(text), **kwargs)


def test_yahoo_layout_with_adj_close():
    bars, report = read(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,10,11,9,10.5,10.4,100\n"
        "2024-01-03,10.5,12,10,11,10.9,200\n"
        "2024-01-04,11,11.5,10,11.2,11.1,300\n"
    )
    assert list(bars["close"]) == [10.5, 11.0, 11.2]  # not the adjusted close
    assert bars.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert report.timeframe == "1d" and report.timeframe_inferred and report.header
    assert not report.rejected and not report.duplicates and not report.gaps and not report.reordered
    assert any("Adj Close" in note for note in report.notes)


def test_metatrader_layout_separate_date_and_time_tab_separated():
    bars, report = read(
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n"
        "2024.01.02\t00:00:00\t1.1\t1.2\t1.0\t1.15\t10\n"
        "2024.01.02\t01:00:00\t1.15\t1.2\t1.1\t1.12\t11\n"
    )
    assert report.separator == "\t" and report.timeframe == "1h"
    assert list(bars.index) == [
        pd.Timestamp("2024-01-02 00:00", tz="UTC"),
        pd.Timestamp("2024-01-02 01:00", tz="UTC"),
    ]
    assert list(bars["volume"]) == [10.0, 11.0]


def test_headerless_semicolon_layout_with_decimal_commas():
    bars, report = read("20240102 000000;1,1;1,2;1,0;1,15;0\n20240102 000100;1,15;1,2;1,1;1,12;0\n")
    assert not report.header and report.separator == ";" and report.timeframe == "1m"
    assert list(bars["open"]) == [1.1, 1.15]


def test_headerless_date_and_time_columns():
    bars, report = read("2024.01.02,00:00,1.1,1.2,1.0,1.15,5\n2024.01.02,00:05,1.15,1.2,1.1,1.12,6\n")
    assert report.timeframe == "5m" and bars.index[1] == pd.Timestamp("2024-01-02 00:05", tz="UTC")


@pytest.mark.parametrize("scale", [1, 1000, 1_000_000])
def test_unix_seconds_milliseconds_and_microseconds(scale):
    start = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())
    bars, report = read(
        "timestamp,open,high,low,close,volume\n"
        f"{start * scale},42000,42100,41900,42050,12.5\n"
        f"{(start + 60) * scale},42050,42200,42000,42100,10\n"
    )
    assert bars.index[0] == pd.Timestamp("2024-01-02", tz="UTC") and report.timeframe == "1m"


def test_lowercase_one_letter_headers_and_no_volume():
    bars, report = read("T;O;H;L;C\n2024-01-02 10:00;1;2;0.5;1.5\n2024-01-02 11:00;1;2;0.5;1.5\n")
    assert list(bars["volume"]) == [0.0, 0.0] and any("volume" in n for n in report.notes)


def test_naive_times_are_read_in_the_given_zone_and_stored_in_utc():
    text = (
        "Datetime,Open,High,Low,Close,Volume\n"
        "2024-03-08 09:30,1,2,0.5,1.5,10\n"  # EST, UTC-5
        "2024-03-11 09:30,1,2,0.5,1.5,10\n"  # EDT, UTC-4
    )
    bars, _ = read(text, tz="America/New_York")
    assert list(bars.index) == [
        pd.Timestamp("2024-03-08 14:30", tz="UTC"),
        pd.Timestamp("2024-03-11 13:30", tz="UTC"),
    ]
    utc, _ = read(text)
    assert utc.index[0] == pd.Timestamp("2024-03-08 09:30", tz="UTC")
    with pytest.raises(CsvImportError, match="time zone"):
        read(text, tz="Mars/Olympus")


def test_explicit_offsets_win_over_the_zone():
    bars, _ = read(
        "timestamp,o,h,l,c,v\n2024-03-08T09:30:00-05:00,1,2,0.5,1.5,10\n2024-03-08T10:30:00Z,1,2,0.5,1.5,10\n",
        tz="Asia/Tokyo",
    )
    assert list(bars.index) == [
        pd.Timestamp("2024-03-08 10:30", tz="UTC"),
        pd.Timestamp("2024-03-08 14:30", tz="UTC"),
    ]


def test_a_nonexistent_local_time_is_rejected_with_its_line():
    _, report = read(
        "Datetime,Open,High,Low,Close\n"
        "2024-03-10 01:00,1,2,0.5,1.5\n"
        "2024-03-10 02:00,1,2,0.5,1.5\n"  # clocks jump from 02:00 to 03:00 in New York
        "2024-03-10 03:00,1,2,0.5,1.5\n",
        tz="America/New_York",
        timeframe="1h",
    )
    assert [(r.line, "nonexistent" in r.reason) for r in report.rejected] == [(3, True)]
    assert report.bars == 2 and not report.gaps  # 01:00 EST and 03:00 EDT are one hour apart


def test_gaps_duplicates_unsorted_and_invalid_rows_are_reported():
    text = (
        "time,open,high,low,close,volume\n"  # line 1
        "2024-01-01 00:00,10,11,9,10,1\n"  # 2
        "2024-01-01 02:00,10,11,9,10,1\n"  # 3 (out of order)
        "2024-01-01 01:00,10,11,9,10,1\n"  # 4
        "2024-01-01 02:00,10,11,9,10.5,2\n"  # 5 duplicate of line 3: this one is kept
        "2024-01-01 03:00,10,9,11,10,1\n"  # 6 high < low
        "\n"  # 7 blank: skipped silently
        "2024-01-01 04:00,10,11,9,12,1\n"  # 8 close above high
        "2024-01-01 05:00,10,11,9,8,1\n"  # 9 close below low
        "not a date,10,11,9,10,1\n"  # 10
        "2024-01-01 06:00,10,11,9,,1\n"  # 11 missing close
        "2024-01-01 09:00,10,11,9,10,1\n"  # 12: 3 missing bars before
        "2024-01-01 10:00,10,11,9,10,1\n"  # 13
    )
    bars, report = read(text, timeframe="1h")
    assert report.rows == 11 and report.bars == 5
    assert report.reordered
    assert [(d.line, d.kept_line) for d in report.duplicates] == [(3, 5)]
    assert bars.loc[pd.Timestamp("2024-01-01 02:00", tz="UTC"), "close"] == 10.5
    rejected = {r.line: r.reason for r in report.rejected}
    assert set(rejected) == {6, 8, 9, 10, 11}
    assert rejected[6] == "high < low" and "close outside" in rejected[8] and "close outside" in rejected[9]
    assert "unparseable time" in rejected[10] and "missing" in rejected[11]
    assert [(g.after.hour, g.before.hour, g.missing) for g in report.gaps] == [(2, 9, 6)]
    assert report.missing_bars == 6
    assert bars.index.is_monotonic_increasing and bars.index.is_unique
    assert "line 6: high < low" in report.summary()


def test_gaps_use_the_inferred_timeframe():
    rows = [f"2024-01-01 {h:02d}:00,1,2,0.5,1.5,1" for h in (0, 1, 2, 3, 7, 8)]
    _, report = read("Datetime,Open,High,Low,Close,Volume\n" + "\n".join(rows))
    assert report.timeframe == "1h" and [(g.missing) for g in report.gaps] == [3]


def test_empty_and_unusable_files_are_errors(tmp_path):
    with pytest.raises(CsvImportError, match="empty"):
        read("")
    with pytest.raises(CsvImportError, match="empty"):
        read("\n\n  \n")
    with pytest.raises(CsvImportError, match="no rows"):
        read("Date,Open,High,Low,Close\n")
    with pytest.raises(CsvImportError, match="'close'"):
        read("Date,Open,High,Low\n2024-01-01,1,2,0\n")
    with pytest.raises(CsvImportError, match="line 2: high < low"):
        read("Date,Open,High,Low,Close\n2024-01-01,1,0,2,1\n")
    with pytest.raises(CsvImportError, match="Cannot read"):
        read_bars_csv(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CsvImportError, match="empty"):
        read_bars_csv(empty)


async def test_csv_import_through_the_service(settings, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_bytes(
        "\ufeffDate;Open;High;Low;Close;Volume\n"
        "02.01.2024;1,10;1,20;1,00;1,15;10\n"
        "03.01.2024;1,15;1,25;1,05;1,20;11\n".encode()
    )
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session, symbol="EURUSD", venue="csv")
        counts, report = await market_data_service.import_csv(uow.session, instrument, path, dayfirst=True)
        again, _ = await market_data_service.import_csv(uow.session, instrument, path, dayfirst=True)
    assert counts.inserted == 2 and again.unchanged == 2 and report.timeframe == "1d"
    async with UnitOfWork() as uow:
        stored = await market_data_service.bars(uow.session, instrument.id, "1d")
    assert stored.index[0] == pd.Timestamp("2024-01-02", tz="UTC") and list(stored["close"]) == [1.15, 1.2]


# --- simulator ---


def squared_return_autocorrelation(close: pd.Series) -> float:
    r = np.diff(np.log(close.to_numpy()))
    s = r**2 - (r**2).mean()
    return float((s[1:] * s[:-1]).mean() / (s * s).mean())


def test_the_simulator_is_deterministic_by_seed():
    start, end = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    a = simulated_bars("BTCUSD-SIM", "1h", start, end, seed=1)
    b = simulated_bars("BTCUSD-SIM", "1h", start, end, seed=1)
    c = simulated_bars("BTCUSD-SIM", "1h", start, end, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"], c["close"])
    # a window of the path equals the same bars read as part of a longer request
    window = simulated_bars(
        "BTCUSD-SIM", "1h", start + timedelta(days=30), start + timedelta(days=31), seed=1
    )
    pd.testing.assert_frame_equal(window, a.loc[window.index])
    # and the same again from a cold start that asks for the later window first
    simulator._PATHS.clear()
    cold = simulated_bars("BTCUSD-SIM", "1h", start + timedelta(days=30), start + timedelta(days=31), seed=1)
    pd.testing.assert_frame_equal(cold, window)


@pytest.mark.parametrize("symbol", sorted(SIMULATED_MARKETS))
def test_simulated_bars_are_sane(symbol):
    bars = simulated_bars(symbol, "1h", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))
    assert len(bars) == 182 * 24
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["low"] > 0).all() and (bars["volume"] > 0).all()
    assert bars.index.is_monotonic_increasing and (np.diff(bars.index.asi8) == 3_600_000_000).all()
    returns = np.abs(np.diff(np.log(bars["close"].to_numpy())))
    assert np.corrcoef(returns, bars["volume"].to_numpy()[1:])[0, 1] > 0.3
    assert squared_return_autocorrelation(bars["close"]) > 0.02  # volatility clusters
    tick = SIMULATED_MARKETS[symbol].tick_size
    assert np.allclose(np.round(bars["close"] / tick) * tick, bars["close"])


def test_the_simulator_has_trends_ranges_and_gaps():
    bars = simulated_bars(
        "ACME-SIM", "1h", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    )
    gaps = (bars["open"] != bars["close"].shift()).iloc[1:]
    assert 0 < gaps.mean() < 0.02
    # trending stretches: 150-bar windows whose net move is far beyond the noise of a random walk
    log_close = np.log(bars["close"].to_numpy())
    r = np.diff(log_close)
    net = np.abs(log_close[150::150] - log_close[:-150:150]) / (r.std() * np.sqrt(150))
    assert net.max() > 2


async def test_the_simulated_feed_is_idempotent_for_the_same_now():
    feed = SimulatedFeed(seed=5)
    assert isinstance(feed, MarketFeed)
    now = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    with clock.frozen(now):
        first = await feed.fetch_closed_bars("BTCUSD-SIM", "1h", None)
        again = await feed.fetch_closed_bars("BTCUSD-SIM", "1h", None)
        since = await feed.fetch_closed_bars("BTCUSD-SIM", "1h", now - timedelta(hours=3))
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == feed.history
    assert first.index[-1] == datetime(2024, 5, 1, 9, tzinfo=UTC)  # the 10:00 bar is still open
    assert list(since.index.hour) == [8, 9]
    with clock.frozen(now + timedelta(hours=2)):
        later = await feed.fetch_closed_bars("BTCUSD-SIM", "1h", now - timedelta(hours=3))
    assert list(later.index.hour) == [8, 9, 10, 11]
    pd.testing.assert_frame_equal(later.iloc[:2], since)


async def test_collecting_from_the_simulated_feed_adds_only_new_bars(settings):
    feed = SimulatedFeed(seed=9, history=50)
    async with UnitOfWork() as uow:
        (btc, *_) = await market_data_service.ensure_simulated_instruments(uow.session)
    now = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    with clock.frozen(now):
        async with UnitOfWork() as uow:
            first = await market_data_service.collect(uow.session, btc, "1h", feed)
        async with UnitOfWork() as uow:
            repeat = await market_data_service.collect(uow.session, btc, "1h", feed)
    assert first.inserted == 50 and repeat.written == 0
    with clock.frozen(now + timedelta(hours=3)):
        async with UnitOfWork() as uow:
            later = await market_data_service.collect(uow.session, btc, "1h", feed)
            stored = await market_data_service.bars(uow.session, btc.id, "1h")
    assert later.inserted == 3 and len(stored) == 53
    expected = simulated_bars(
        "BTCUSD-SIM", "1h", stored.index[0], stored.index[-1] + timedelta(hours=1), seed=9
    )
    pd.testing.assert_frame_equal(stored, expected, check_freq=False)


# --- ccxt adapter (offline: a stand-in exchange replays candles in ccxt's fetch_ohlcv format) ---

# BTC/USDT 1h candles as ccxt returns them: [open time in ms, open, high, low, close, base volume].
CCXT_CANDLES = [
    [1704157200000, 45120.01, 45350.0, 45010.5, 45300.12, 812.331],
    [1704160800000, 45300.12, 45420.0, 45180.0, 45233.9, 640.118],
    [1704164400000, 45233.9, 45260.0, 44902.77, 44950.0, 1021.5],
    [1704168000000, 44950.0, 45111.11, 44888.0, 45090.01, 702.04],
    [1704171600000, 45090.01, 45180.0, 45002.0, 45175.5, 533.9],
    [1704175200000, 45175.5, 45190.0, 45100.0, 45120.0, None],  # still forming at NOW below
]
CCXT_NOW = datetime(2024, 1, 2, 6, 20, tzinfo=UTC)


class RecordedExchange:
    """Answers fetch_ohlcv like ccxt does: candles from `since` (or the latest), at most `limit`,
    the last one possibly still forming."""

    def __init__(self, candles=CCXT_CANDLES, error: Exception | None = None):
        self.candles = candles
        self.error = error
        self.calls: list[tuple[str, str, int | None, int | None]] = []

    async def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
        self.calls.append((symbol, timeframe, since, limit))
        if self.error is not None:
            raise self.error
        now_ms = clock.now().timestamp() * 1000  # the exchange knows no candle that has not opened yet
        rows = [list(r) for r in self.candles if r[0] <= now_ms and (since is None or r[0] >= since)]
        if since is None and limit:
            return rows[-limit:]
        return rows[:limit] if limit else rows


async def test_ccxt_feed_pages_from_since_and_drops_the_forming_bar():
    from academy.integrations.market import CcxtFeed, market_feed

    exchange = RecordedExchange()
    feed = CcxtFeed("binance", exchange=exchange, page_limit=2)
    assert isinstance(feed, MarketFeed) and feed.name == "ccxt:binance"
    with clock.frozen(CCXT_NOW):
        bars = await feed.fetch_closed_bars("BTC/USDT", "1h", datetime(2024, 1, 2, 1, tzinfo=UTC))
        latest = await feed.fetch_closed_bars("BTC/USDT", "1h", None)
    assert [t.hour for t in bars.index] == [1, 2, 3, 4, 5]
    assert [c[2] for c in exchange.calls[:3]] == [1704157200000, 1704164400000, 1704171600000]
    assert bars["close"].iloc[-1] == 45175.5 and bars["volume"].iloc[0] == 812.331
    assert [t.hour for t in latest.index] == [5]  # one page of the latest two candles, less the forming one
    assert isinstance(market_feed("SIM"), SimulatedFeed) and isinstance(market_feed("kraken"), CcxtFeed)


async def test_ccxt_errors_become_feed_unavailable():
    from academy.integrations.market import CcxtFeed
    from academy.trading.market_data.errors import FeedUnavailable

    NetworkError = type("NetworkError", (Exception,), {"__module__": "ccxt.base.errors"})
    feed = CcxtFeed("binance", exchange=RecordedExchange(error=NetworkError("binance GET timed out")))
    with pytest.raises(FeedUnavailable, match="NetworkError"):
        await feed.fetch_closed_bars("BTC/USDT", "1h", None)


async def test_collecting_from_an_exchange_is_idempotent(settings):
    from academy.integrations.market import CcxtFeed

    feed = CcxtFeed("binance", exchange=RecordedExchange(), page_limit=2)
    async with UnitOfWork() as uow:
        instrument = await make_instrument(uow.session)
        with clock.frozen(datetime(2024, 1, 2, 2, 5, tzinfo=UTC)):
            seeded = await market_data_service.collect(uow.session, instrument, "1h", feed)
    assert seeded.inserted == 1  # a new instrument starts from the latest page: the 01:00 bar
    with clock.frozen(CCXT_NOW):
        async with UnitOfWork() as uow:
            first = await market_data_service.collect(uow.session, instrument, "1h", feed)
        async with UnitOfWork() as uow:
            again = await market_data_service.collect(uow.session, instrument, "1h", feed)
    assert first.inserted == 4 and again.written == 0
    async with UnitOfWork() as uow:
        stored = await market_data_service.bars(uow.session, instrument.id, "1h")
    assert [t.hour for t in stored.index] == [1, 2, 3, 4, 5]
