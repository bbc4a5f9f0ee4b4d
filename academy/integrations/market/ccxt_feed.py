"""Public candles from crypto exchanges through ccxt (no API key needed).

ccxt is optional: it is imported only when a feed talks to a real exchange, so tests pass a stand-in
exchange object that replays responses in ccxt's format.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from academy.kit import clock
from academy.trading.market_data.errors import FeedUnavailable
from academy.trading.market_data.feed import BAR_COLUMNS, bar_frame, empty_bars
from academy.trading.market_data.timeframes import timeframe_delta

_MS = timedelta(milliseconds=1)


class CcxtFeed:
    def __init__(
        self, exchange_id: str, *, exchange: Any | None = None, page_limit: int = 1000, max_pages: int = 20
    ) -> None:
        self.exchange_id = exchange_id
        self.name = f"ccxt:{exchange_id}"
        self.page_limit = page_limit
        self.max_pages = max_pages
        self._exchange = exchange
        self._owned = exchange is None

    def _client(self) -> Any:
        if self._exchange is None:
            try:
                import ccxt.async_support as ccxt_async
            except ImportError as exc:
                raise FeedUnavailable("ccxt is not installed: pip install ccxt") from exc
            factory = getattr(ccxt_async, self.exchange_id, None)
            if factory is None:
                raise FeedUnavailable(f"ccxt does not know the exchange '{self.exchange_id}'")
            self._exchange = factory({"enableRateLimit": True})
        return self._exchange

    async def fetch_closed_bars(self, symbol: str, timeframe: str, since: datetime | None) -> pd.DataFrame:
        delta = timeframe_delta(timeframe)
        now = clock.now()
        exchange = self._client()
        cursor = None if since is None else int(since.timestamp() * 1000)
        rows: list[list[Any]] = []
        for _ in range(self.max_pages):
            try:
                page = await exchange.fetch_ohlcv(symbol, timeframe, since=cursor, limit=self.page_limit)
            except Exception as exc:
                if type(exc).__module__.startswith("ccxt"):
                    raise FeedUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
                raise
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

    async def close(self) -> None:
        if self._owned and self._exchange is not None:
            await self._exchange.close()
            self._exchange = None


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
