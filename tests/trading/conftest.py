"""Bar frames shared by the trading tests: a seeded synthetic random walk and GOOG daily."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from academy.trading.strategy.base import Strategy, run


def make_bars(
    n: int = 1000, seed: int = 0, start: float = 100.0, volatility: float = 0.015, freq: str = "1D"
) -> pd.DataFrame:
    """OHLCV bars of a geometric random walk, identical for the same arguments.

    Opens gap away from the previous close and highs/lows extend beyond the body, so every
    indicator input (true range, band touches, crosses) gets exercised.
    """
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, volatility, n)))
    prev_close = np.concatenate(([start], close[:-1]))
    open_ = prev_close * np.exp(rng.normal(0.0, volatility / 3, n))
    body_high = np.maximum(open_, close)
    body_low = np.minimum(open_, close)
    high = body_high * (1 + np.abs(rng.normal(0.0, volatility / 2, n)))
    low = body_low * (1 - np.abs(rng.normal(0.0, volatility / 2, n)))
    volume = np.round(rng.lognormal(13.0, 0.5, n))
    index = pd.date_range("2020-01-01", periods=n, freq=freq, tz="UTC", name="time")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def goog_bars() -> pd.DataFrame:
    """The GOOG daily bars shipped by the `backtesting` package (a dev-only dependency)."""
    return _goog().copy()


@functools.cache
def _goog() -> pd.DataFrame:
    from backtesting.test import GOOG

    frame = GOOG.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]].astype(float)
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC").rename("time")
    return frame


def assert_no_lookahead(strategy: Strategy, frame: pd.DataFrame, lengths: Iterable[int]) -> None:
    """Signals on the first n bars must equal the full-history signals on those bars."""
    full = run(strategy, frame)
    for n in sorted(set(lengths)):
        head = run(strategy, frame.iloc[:n])
        pd.testing.assert_frame_equal(head, full.iloc[:n], obj=f"{strategy.describe()} on the first {n} bars")


@pytest.fixture
def bars() -> pd.DataFrame:
    return make_bars()


@pytest.fixture
def goog() -> pd.DataFrame:
    return goog_bars()
