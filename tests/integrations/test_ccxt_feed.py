"""The ccxt adapter against the real ccxt library: a Binance exchange object whose HTTP calls go to a
local server answering with recorded Binance responses (tests/data/ccxt/binance), so ccxt's own
request building and response parsing run exactly as they do against the exchange."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from academy.integrations.market import CcxtFeed
from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.trading.market_data.errors import FeedUnavailable, MarketDataError
from academy.trading.market_data.service import market_data_service

DATA = Path(__file__).parent.parent / "data" / "ccxt" / "binance"
KLINES: list[list[Any]] = json.loads((DATA / "klines_BTCUSDT_1h.json").read_text())
# The recording was made at 11:40 UTC: the 11:00 candle, the last one, was still forming.
RECORDED_AT = datetime(2024, 1, 1, 11, 40, tzinfo=UTC)
HOUR_MS = 3_600_000


@dataclass
class RecordedBinance:
    """Answers like api.binance.com: /exchangeInfo, and /klines sliced by startTime and limit."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail_klines: bool = False

    async def exchange_info(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        return web.Response(text=(DATA / "exchangeInfo.json").read_text(), content_type="application/json")

    async def klines(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append((request.path, query))
        if self.fail_klines:
            return web.json_response({"code": -1003, "msg": "Too much request weight used."}, status=418)
        if query.get("symbol") != "BTCUSDT":
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        assert query.get("interval") == "1h"
        limit = min(int(query.get("limit", 500)), 1000)
        if "startTime" in query:
            rows = [r for r in KLINES if r[0] >= int(query["startTime"])][:limit]
        else:
            rows = KLINES[-limit:]
        return web.json_response(rows)


@pytest.fixture
async def binance() -> AsyncIterator[tuple[RecordedBinance, str]]:
    recorded = RecordedBinance()
    app = web.Application()
    app.router.add_get("/api/v3/exchangeInfo", recorded.exchange_info)
    app.router.add_get("/api/v3/klines", recorded.klines)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield recorded, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def feed_for(base: str, **kwargs: Any) -> CcxtFeed:
    config = {
        "enableRateLimit": False,
        "urls": {"api": {"public": f"{base}/api/v3"}},
        # Spot only: the futures market lists live on other hosts this recording does not cover.
        "options": {"fetchMarkets": {"types": ["spot"]}},
    }
    return CcxtFeed("binance", config=config, **kwargs)


def klines_calls(recorded: RecordedBinance) -> list[dict[str, str]]:
    return [q for path, q in recorded.requests if path.endswith("/klines")]


async def test_the_adapter_builds_a_real_ccxt_exchange(binance):
    import ccxt.async_support as ccxt_async

    _, base = binance
    feed = feed_for(base)
    try:
        assert isinstance(feed._client(), ccxt_async.binance)
        assert feed._client().urls["api"]["public"] == f"{base}/api/v3"
    finally:
        await feed.close()


async def test_pages_from_since_and_drops_the_forming_bar(binance):
    recorded, base = binance
    feed = feed_for(base, page_limit=5)
    try:
        with clock.frozen(RECORDED_AT):
            bars = await feed.fetch_closed_bars("BTCUSDT", "1h", datetime(2024, 1, 1, 2, tzinfo=UTC))
    finally:
        await feed.close()
    # Pages of 5 from 02:00: 02–06, 07–11, then the 11:00 candle (still forming) is dropped.
    assert [t.hour for t in bars.index] == list(range(2, 11))
    calls = klines_calls(recorded)
    assert [int(c["startTime"]) for c in calls] == [KLINES[2][0], KLINES[7][0]]
    assert all(c["symbol"] == "BTCUSDT" and c["limit"] == "5" for c in calls)
    # ccxt parsed Binance's string decimals into floats, and the adapter kept them exactly.
    assert bars.loc["2024-01-01 02:00", "open"] == 42613.57
    assert bars.loc["2024-01-01 10:00", "close"] == 42560.11
    assert bars.loc["2024-01-01 03:00", "volume"] == 794.80381
    assert str(bars.index.tz) == "UTC" and bars.index.name == "open_time"


async def test_without_since_one_page_of_the_latest_closed_bars(binance):
    recorded, base = binance
    feed = feed_for(base, page_limit=3)
    try:
        with clock.frozen(RECORDED_AT):
            bars = await feed.fetch_closed_bars("BTC/USDT", "1h", None)
    finally:
        await feed.close()
    assert [t.hour for t in bars.index] == [9, 10]
    assert len(klines_calls(recorded)) == 1 and "startTime" not in klines_calls(recorded)[0]


async def test_a_bar_is_kept_once_it_has_closed(binance):
    _, base = binance
    feed = feed_for(base)
    try:
        with clock.frozen(datetime(2024, 1, 1, 12, 0, tzinfo=UTC)):
            bars = await feed.fetch_closed_bars("BTCUSDT", "1h", datetime(2024, 1, 1, 10, tzinfo=UTC))
    finally:
        await feed.close()
    assert [t.hour for t in bars.index] == [10, 11]


@pytest.mark.parametrize(
    ("written", "unified"),
    [("BTC/USDT", "BTC/USDT"), ("BTCUSDT", "BTC/USDT"), ("btc-usdt", "BTC/USDT"), ("ETH_BTC", "ETH/BTC")],
)
async def test_symbols_are_normalized_with_the_exchange_markets(binance, written, unified):
    _, base = binance
    feed = feed_for(base)
    try:
        assert await feed.market_symbol(written) == unified
    finally:
        await feed.close()


async def test_an_unknown_symbol_is_a_clear_error(binance):
    _, base = binance
    feed = feed_for(base)
    try:
        with pytest.raises(MarketDataError, match="binance has no market XAUUSD"):
            await feed.fetch_closed_bars("XAUUSD", "1h", None)
    finally:
        await feed.close()


async def test_exchange_errors_become_feed_unavailable(binance):
    recorded, base = binance
    recorded.fail_klines = True
    feed = feed_for(base)
    try:
        with clock.frozen(RECORDED_AT), pytest.raises(FeedUnavailable, match="ccxt:binance"):
            await feed.fetch_closed_bars("BTCUSDT", "1h", None)
    finally:
        await feed.close()


async def test_an_unreachable_exchange_is_feed_unavailable():
    feed = feed_for("http://127.0.0.1:9")  # the discard port: nothing listens
    try:
        with pytest.raises(FeedUnavailable, match=r"NetworkError|ExchangeNotAvailable|RequestTimeout"):
            await feed.fetch_closed_bars("BTCUSDT", "1h", None)
    finally:
        await feed.close()


async def test_collecting_through_ccxt_stores_closed_bars(settings, binance):
    _, base = binance
    feed = feed_for(base, page_limit=4)
    try:
        async with UnitOfWork() as uow:
            instrument = await market_data_service.ensure_instrument(
                uow.session,
                symbol="BTCUSDT",
                venue="binance",
                asset_class="crypto",
                tick_size=0.01,
                quote_currency="USDT",
                base_currency="BTC",
            )
            with clock.frozen(RECORDED_AT):
                counts = await market_data_service.collect(uow.session, instrument, "1h", feed)
                again = await market_data_service.collect(uow.session, instrument, "1h", feed)
        async with UnitOfWork() as uow:
            stored = await market_data_service.bars(uow.session, instrument.id, "1h")
    finally:
        await feed.close()
    # A new instrument starts from the latest page (4 candles, the forming one dropped).
    assert counts.inserted == 3 and again.written == 0
    assert [t.hour for t in stored.index] == [8, 9, 10]
    assert stored["high"].tolist() == [42465.0, 42498.37, 42599.86]
