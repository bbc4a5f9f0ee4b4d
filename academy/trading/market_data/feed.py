"""The market-feed protocol: every source of bars (simulator, CSV, exchanges) speaks DataFrames.

A bar frame has a tz-aware UTC DatetimeIndex named `open_time`, sorted and unique, and float columns
`open, high, low, close, volume`. Feeds return closed bars only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


@runtime_checkable
class MarketFeed(Protocol):
    name: str

    async def fetch_closed_bars(self, symbol: str, timeframe: str, since: datetime | None) -> pd.DataFrame:
        """Closed bars with open_time >= `since` (or the recent history when None), oldest first."""
        ...


def empty_bars() -> pd.DataFrame:
    index = pd.DatetimeIndex([], tz="UTC", name="open_time")
    return pd.DataFrame({c: np.array([], dtype=float) for c in BAR_COLUMNS}, index=index)


def bar_frame(times: object, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    index = pd.DatetimeIndex(times, name="open_time")  # type: ignore[arg-type]
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return pd.DataFrame({c: np.asarray(columns[c], dtype=float) for c in BAR_COLUMNS}, index=index)
