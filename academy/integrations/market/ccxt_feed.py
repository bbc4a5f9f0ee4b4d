"""Public candles from crypto exchanges through ccxt (no API key needed).

Symbols are accepted in ccxt's unified form (`BTC/USDT`), as the exchange's own market id
(`BTCUSDT` on Binance) or written the way channels and our parser write them (`BTCUSDT`,
`btc-usdt`); spot markets win when a compact name is also a derivative's. `config` is merged into
the ccxt exchange's settings, so a deployment (or a test) can point the exchange at another host.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from academy.kit import clock
from academy.trading.market_data.errors import FeedUnavailable, MarketDataError
from academy.trading.market_data.feed import BAR_COLUMNS, bar_frame, empty_bars
from academy.trading.market_data.timeframes import timeframe_delta

_MS = timedelta(milliseconds=1)
_SEPARATORS = re.compile(r"[^A-Z0-9]")


class CcxtFeed:
    def __init__(
        self,
        exchange_id: str,
        *,
        exchange: Any | None = None,
        config: dict[str, Any] | None = None,
        page_limit: int = 1000,
        max_pages: int = 20,
    ) -> None:
        self.exchange_id = exchange_id
        self.name = f"ccxt:{exchange_id}"
        self.page_limit = page_limit
        self.max_pages = max_pages
        self._config = config or {}
        self._exchange = exchange
        self._owned = exchange is None

    def _client(self) -> Any:
        if self._exchange is None:
            try:
                import ccxt.async_support as ccxt_async
            except ImportError as exc:
                raise FeedUnavailable("ccxt is not installed: pip install ccxt") from exc
            factory = getattr(ccxt_async, self.exchange_id, None)
            if factory is None or not isinstance(factory, type):
                raise FeedUnavailable(f"ccxt does not know the exchange '{self.exchange_id}'")
            self._exchange = factory({"enableRateLimit": True, **self._config})
        return self._exchange

    async def market_symbol(self, symbol: str) -> str:
        """The exchange's unified symbol for `symbol` (see the module docstring for what is accepted)."""
        exchange = self._client()
        await self._call(exchange.load_markets)
        markets: dict[str, Any] = exchange.markets or {}
        if symbol in markets:
            return symbol
        by_id = (exchange.markets_by_id or {}).get(symbol)
        if by_id:
            return str(_preferred(by_id)["symbol"])
        compact = _compact(symbol)
        matches = [m for m in markets.values() if _compact(m["symbol"].split(":")[0]) == compact]
        if not matches:
            raise MarketDataError(f"{self.exchange_id} has no market {symbol}")
        return str(_preferred(matches)["symbol"])

    async def fetch_closed_bars(self, symbol: str, timeframe: str, since: datetime | None) -> pd.DataFrame:
        delta = timeframe_delta(timeframe)
        exchange = self._client()
        # A unified symbol goes to ccxt as is (ccxt checks it); other spellings need the market list.
        unified = symbol if "/" in symbol else await self.market_symbol(symbol)
        now = clock.now()
        cursor = None if since is None else int(since.timestamp() * 1000)
        rows: list[list[Any]] = []
        for _ in range(self.max_pages):
            page = await self._call(
                exchange.fetch_ohlcv, unified, timeframe, since=cursor, limit=self.page_limit
            )
            if not page:
                break
            rows.extend(page)
            last_open = page[-1][0]
            # Without `since` the exchange answers with its latest candles: one page is the history asked for.
            if (
                since is None
                or len(page) < self.page_limit
                or last_open + delta / _MS > now.timestamp() * 1000
            ):
                break
            cursor = int(last_open + delta / _MS)
        return _closed(rows, delta, now, since)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            # ccxt's own errors (network, exchange, bad symbol) mean the source is unavailable to us.
            if type(exc).__module__.startswith("ccxt"):
                raise FeedUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
            raise

    async def close(self) -> None:
        if self._owned and self._exchange is not None:
            await self._exchange.close()
            self._exchange = None


def _compact(symbol: str) -> str:
    return _SEPARATORS.sub("", symbol.upper())


def _preferred(markets: list[dict[str, Any]]) -> dict[str, Any]:
    spot = [m for m in markets if m.get("spot")]
    return (spot or markets)[0]


def _closed(rows: list[list[Any]], delta: timedelta, now: datetime, since: datetime | None) -> pd.DataFrame:
    """ccxt's [ms, open, high, low, close, volume] rows as a bar frame without the still-forming bar."""
    if not rows:
        return empty_bars()
    table = pd.DataFrame([r[:6] for r in rows], columns=["ms", *BAR_COLUMNS])
    table = table.drop_duplicates("ms", keep="last").sort_values("ms")
    times = pd.DatetimeIndex(pd.to_datetime(table["ms"].astype("int64"), unit="ms", utc=True)).as_unit("us")
    closed = np.asarray(times + delta <= pd.Timestamp(now))
    if since is not None:
        closed = closed & np.asarray(times >= pd.Timestamp(since))
    values = {c: table[c].astype(float).to_numpy()[closed] for c in BAR_COLUMNS}
    values["volume"] = np.nan_to_num(values["volume"], nan=0.0)
    return bar_frame(times[closed], values)
