"""Performance metrics: pure functions of an equity curve and a trade list.

Units are in the names: `_pct` values are percents (12.5 means 12.5 %), `_r` values are R
multiples (profit divided by the risk taken at the stop), ratios are plain numbers. A metric that
cannot be computed (no trades, a flat curve, an index without time) is NaN, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import pandas as pd

SECONDS_PER_YEAR = 365.25 * 24 * 3600


class TradeLike(Protocol):
    @property
    def pnl(self) -> float: ...
    @property
    def return_pct(self) -> float: ...
    @property
    def r_multiple(self) -> float: ...
    @property
    def entry_bar(self) -> int: ...
    @property
    def exit_bar(self) -> int: ...


@dataclass(frozen=True)
class Metrics:
    """Headline numbers of one backtest (see the module docstring for units)."""

    total_return_pct: float
    cagr_pct: float
    sharpe: float
    sortino: float
    max_drawdown_pct: float
    win_rate_pct: float
    profit_factor: float
    expectancy_r: float
    expectancy_pct: float
    exposure_pct: float
    trades: int
    final_equity: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def years_spanned(index: pd.Index) -> float:
    """Calendar years from the first to the last bar; NaN for an index without time."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return math.nan
    return (index[-1] - index[0]).total_seconds() / SECONDS_PER_YEAR


def periods_per_year(index: pd.Index) -> float:
    """Bars per calendar year, counted from the index itself.

    Counting rather than guessing from the bar spacing gets 252-ish for daily stock bars (no
    weekends or holidays), 365 for daily crypto bars and the right figure for intraday bars of
    a market that closes overnight. NaN when the index carries no time.
    """
    years = years_spanned(index)
    if not years or math.isnan(years):
        return math.nan
    return (len(index) - 1) / years


def bar_returns(equity: pd.Series) -> np.ndarray:
    """Simple returns from one bar's close to the next, as fractions."""
    values = equity.to_numpy(dtype=float)
    if len(values) < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return values[1:] / values[:-1] - 1.0


def _annualizer(index: pd.Index) -> float:
    ppy = periods_per_year(index)
    # Without a time index the ratios stay per bar rather than becoming NaN.
    return 1.0 if math.isnan(ppy) else math.sqrt(ppy)


def total_return_pct(equity: pd.Series) -> float:
    """Change from the first to the last value of the curve, in percent."""
    if len(equity) == 0 or equity.iloc[0] == 0:
        return math.nan
    return float((equity.iloc[-1] / equity.iloc[0] - 1.0) * 100.0)


def cagr_pct(equity: pd.Series) -> float:
    """Compound annual growth rate in percent, over the calendar time the index spans."""
    years = years_spanned(equity.index)
    if not years or math.isnan(years) or equity.iloc[0] <= 0:
        return math.nan
    growth = equity.iloc[-1] / equity.iloc[0]
    if growth <= 0:
        return -100.0
    return float((growth ** (1.0 / years) - 1.0) * 100.0)


def sharpe(equity: pd.Series) -> float:
    """Mean over standard deviation (ddof=1) of bar returns, times √(bars per year); risk-free 0."""
    returns = bar_returns(equity)
    if len(returns) < 2 or not np.all(np.isfinite(returns)):
        return math.nan
    std = float(returns.std(ddof=1))
    if std == 0.0:
        return math.nan
    return float(returns.mean()) / std * _annualizer(equity.index)


def sortino(equity: pd.Series) -> float:
    """Mean bar return over the downside deviation √mean(min(r, 0)²), times √(bars per year)."""
    returns = bar_returns(equity)
    if len(returns) < 2 or not np.all(np.isfinite(returns)):
        return math.nan
    mean = float(returns.mean())
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0.0:
        return math.inf if mean > 0 else math.nan
    return mean / downside * _annualizer(equity.index)


def drawdown_pct(equity: pd.Series) -> pd.Series:
    """Distance below the running peak at each bar, in percent (0 at a new high, positive below)."""
    peak = equity.cummax()
    return (1.0 - equity / peak) * 100.0


def max_drawdown_pct(equity: pd.Series) -> float:
    """Largest fall from a running peak, as a positive percent (25.0: a quarter below the peak)."""
    if len(equity) == 0:
        return math.nan
    return float(drawdown_pct(equity).max())


def win_rate_pct(pnls: Sequence[float]) -> float:
    """Share of trades with a profit after costs, in percent."""
    if not pnls:
        return math.nan
    return sum(1 for p in pnls if p > 0) / len(pnls) * 100.0


def profit_factor(pnls: Sequence[float]) -> float:
    """Gross profit over gross loss, both in cash after costs; inf when nothing was lost."""
    gains = sum(p for p in pnls if p > 0)
    losses = -sum(p for p in pnls if p < 0)
    if losses == 0:
        return math.inf if gains > 0 else math.nan
    return gains / losses


def expectancy_r(r_multiples: Sequence[float]) -> float:
    """Mean R multiple over the trades that had a stop (the others carry NaN and are left out)."""
    known = [r for r in r_multiples if not math.isnan(r)]
    if not known:
        return math.nan
    return sum(known) / len(known)


def expectancy_pct(returns_pct: Sequence[float]) -> float:
    """Mean trade return in percent of the position's entry value."""
    if not returns_pct:
        return math.nan
    return sum(returns_pct) / len(returns_pct)


def exposure_pct(spans: Sequence[tuple[int, int]], n_bars: int) -> float:
    """Share of bars with a position open at some point in the bar, in percent.

    `spans` are (entry bar, exit bar) positions, both inclusive; a reversal bar counts once.
    """
    if n_bars <= 0:
        return math.nan
    held = np.zeros(n_bars, dtype=bool)
    for start, end in spans:
        held[start : end + 1] = True
    return float(held.mean() * 100.0)


def summarize(equity: pd.Series, trades: Sequence[TradeLike]) -> Metrics:
    return Metrics(
        total_return_pct=total_return_pct(equity),
        cagr_pct=cagr_pct(equity),
        sharpe=sharpe(equity),
        sortino=sortino(equity),
        max_drawdown_pct=max_drawdown_pct(equity),
        win_rate_pct=win_rate_pct([t.pnl for t in trades]),
        profit_factor=profit_factor([t.pnl for t in trades]),
        expectancy_r=expectancy_r([t.r_multiple for t in trades]),
        expectancy_pct=expectancy_pct([t.return_pct for t in trades]),
        exposure_pct=exposure_pct([(t.entry_bar, t.exit_bar) for t in trades], len(equity)),
        trades=len(trades),
        final_equity=float(equity.iloc[-1]) if len(equity) else math.nan,
    )
