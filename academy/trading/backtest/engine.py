"""The backtest engine: a pure, deterministic simulation of one strategy's signals on one series.

Rules (the same ones the lab pages and the command line state to students):

- A signal on bar i acts at bar i+1's open. A signal on the last bar is never filled.
- One position at a time. At the open, an `exit` closes the position first; then an entry opens
  one when flat, closes and reverses an opposite position (exit reason "reversal"), and is ignored
  when a position in the same direction is already open. With `allow_short=False` a short entry
  only closes a long (exit reason "signal") and never opens a short.
- Stop and target come from the signal row as distances and are set from the fill price. They are
  checked from the fill bar on (the fill is at that bar's open, so the rest of the bar counts),
  using the bar's high and low. A bar that opens beyond the stop or target fills at the open
  (a gap). If one bar touches both the stop and the target, the STOP is taken first: the bar
  alone cannot tell which came first, and the pessimistic answer never flatters a strategy.
- A position still open after the last bar is closed at the last close (exit reason "end"), or,
  with `close_at_end=False`, left open: marked at the last close without an exit cost and
  reported as `open_position` (how the `backtesting` package reports it by default).
- Costs: `commission` is a fraction of the traded value charged on every fill, entry and exit.
  `slippage` is a fraction of the price that every market fill (entry, signal exit, reversal,
  stop, end) gets against you; a target is a limit order and fills at its price or better.
- Sizing, in priority: `size` fixed units; `risk_pct` (units lose that percent of equity if the
  stop is hit, costs included; entries without a stop are skipped); otherwise `fraction` of
  equity, units = floor(equity * fraction / (price * (1 + commission))), which is how the
  `backtesting` package sizes an order placed without a size. Risk sizing never takes more
  units than the fraction rule allows, so with the default fraction 1.0 it never borrows.
- Equity is cash plus the open position marked at each bar's close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from academy.trading.backtest.metrics import Metrics, summarize

PRICE_COLUMNS = ("open", "high", "low", "close")
SIGNAL_COLUMNS = ("entry", "exit", "stop", "target")
STOP_RULE = "stop first: a bar that touches both the stop and the target is taken as a stop"
EXIT_REASONS = ("signal", "stop", "target", "reversal", "end")


class BacktestError(ValueError):
    """The backtest was called with bad arguments or malformed bars or signals."""


@dataclass(frozen=True)
class Trade:
    """One round trip. Prices are fills (slippage included); money is in the account currency."""

    side: int  # +1 long, -1 short
    units: float
    entry_bar: int
    entry_time: Any
    entry_price: float
    exit_bar: int
    exit_time: Any
    exit_price: float
    exit_reason: str
    stop_price: float  # NaN when the entry had no stop
    target_price: float  # NaN when the entry had no target
    commission: float  # both sides
    pnl: float  # after commissions
    return_pct: float  # pnl over the entry value (units * entry price), in percent
    r_multiple: float  # pnl over the risk at the stop (units * stop distance); NaN without a stop

    @property
    def side_name(self) -> str:
        return "long" if self.side > 0 else "short"


@dataclass(frozen=True)
class SkippedEntry:
    """An entry signal that could not be filled, and why."""

    bar: int
    time: Any
    side: int
    reason: str


@dataclass(frozen=True)
class OpenPosition:
    side: int
    units: float
    entry_bar: int
    entry_price: float
    unrealized_pnl: float


@dataclass(frozen=True)
class BacktestResult:
    equity: pd.Series  # marked at each bar's close, same index as the bars
    trades: tuple[Trade, ...]
    metrics: Metrics
    skipped: tuple[SkippedEntry, ...]
    closed_at_end: bool  # the last trade was still open after the last bar (exit reason "end")
    # With close_at_end=False: the position still open after the last bar, marked at the last
    # close in `equity` without an exit cost, and not among `trades` or the metrics' trade counts.
    open_position: OpenPosition | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    stop_rule: str = STOP_RULE

    def trades_frame(self) -> pd.DataFrame:
        columns = [f.name for f in fields(Trade)]
        return pd.DataFrame([[getattr(t, c) for c in columns] for t in self.trades], columns=columns)


def _check_inputs(bars: pd.DataFrame, signals: pd.DataFrame) -> None:
    missing = [c for c in PRICE_COLUMNS if c not in bars.columns]
    if missing:
        raise BacktestError(f"the bars have no {', '.join(missing)} column")
    missing = [c for c in SIGNAL_COLUMNS if c not in signals.columns]
    if missing:
        raise BacktestError(f"the signals have no {', '.join(missing)} column")
    if len(bars) == 0:
        raise BacktestError("there are no bars")
    if not bars.index.equals(signals.index):
        raise BacktestError("the signals must have exactly the bars' index")
    if not bars.index.is_monotonic_increasing:
        raise BacktestError("bars must be in ascending time order")
    prices = bars[list(PRICE_COLUMNS)].to_numpy(dtype=float)
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise BacktestError("bar prices must be positive numbers")
    entries = signals["entry"].fillna(0).to_numpy()
    if not np.isin(entries, (-1, 0, 1)).all():
        raise BacktestError("entry must be +1, -1 or 0")
    for column in ("stop", "target"):
        values = signals[column].to_numpy(dtype=float)
        if np.any(values[~np.isnan(values)] <= 0):
            raise BacktestError(f"{column} distances must be positive (NaN for none)")


def _check_settings(
    cash: float,
    commission: float,
    slippage: float,
    size: float | None,
    risk_pct: float | None,
    fraction: float,
) -> None:
    if not cash > 0:
        raise BacktestError("cash must be positive")
    if not 0 <= commission < 0.1:
        raise BacktestError("commission is a fraction of the traded value, from 0 up to 0.1")
    if not 0 <= slippage < 0.1:
        raise BacktestError("slippage is a fraction of the price, from 0 up to 0.1")
    if size is not None and risk_pct is not None:
        raise BacktestError("give either size or risk_pct, not both")
    if size is not None and not size > 0:
        raise BacktestError("size must be a positive number of units")
    if risk_pct is not None and not 0 < risk_pct <= 100:
        raise BacktestError("risk_pct must be above 0 and at most 100")
    if not fraction > 0:
        raise BacktestError("fraction must be positive")


def backtest(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    cash: float = 10_000,
    commission: float = 0.0,
    slippage: float = 0.0,
    size: float | None = None,
    risk_pct: float | None = None,
    fraction: float = 1.0,
    whole_units: bool = True,
    allow_short: bool = True,
    close_at_end: bool = True,
) -> BacktestResult:
    """Simulate `signals` (a strategy's signal frame) on `bars` (OHLC, same index).

    See the module docstring for the fill, stop/target (stop first on a bar touching both),
    cost and sizing rules. Inputs are not modified; the same inputs always give the same result.
    """
    _check_inputs(bars, signals)
    _check_settings(cash, commission, slippage, size, risk_pct, fraction)

    index = bars.index
    # Plain lists: per-element access is several times faster than on numpy arrays in a loop.
    opens = bars["open"].to_numpy(dtype=float).tolist()
    highs = bars["high"].to_numpy(dtype=float).tolist()
    lows = bars["low"].to_numpy(dtype=float).tolist()
    closes = bars["close"].to_numpy(dtype=float).tolist()
    entry_sig = signals["entry"].fillna(0).to_numpy(dtype=np.int64).tolist()
    exit_sig = signals["exit"].fillna(False).to_numpy(dtype=bool).tolist()
    stop_sig = signals["stop"].to_numpy(dtype=float).tolist()
    target_sig = signals["target"].to_numpy(dtype=float).tolist()
    n = len(opens)

    equity = [0.0] * n
    trades: list[Trade] = []
    skipped: list[SkippedEntry] = []

    balance = float(cash)
    side = 0
    units = 0.0
    entry_price = 0.0
    entry_bar = -1
    stop_level = math.nan
    target_level = math.nan
    stop_distance = math.nan

    def close(bar: int, price: float, reason: str) -> None:
        nonlocal balance, side, units
        exit_cost = units * price * commission
        balance += side * units * (price - entry_price) - exit_cost
        total_cost = units * entry_price * commission + exit_cost
        pnl = side * units * (price - entry_price) - total_cost
        trades.append(
            Trade(
                side=side,
                units=units,
                entry_bar=entry_bar,
                entry_time=index[entry_bar],
                entry_price=entry_price,
                exit_bar=bar,
                exit_time=index[bar],
                exit_price=price,
                exit_reason=reason,
                stop_price=stop_level,
                target_price=target_level,
                commission=total_cost,
                pnl=pnl,
                return_pct=pnl / (units * entry_price) * 100.0,
                r_multiple=math.nan if math.isnan(stop_distance) else pnl / (units * stop_distance),
            )
        )
        side = 0
        units = 0.0

    def units_for(new_side: int, fill: float, distance: float) -> float:
        if size is not None:
            return float(size)
        affordable = balance * fraction / (fill + fill * commission)
        if risk_pct is None:
            wanted = affordable
        else:
            stop_fill = (fill - new_side * distance) * (1.0 - new_side * slippage)
            loss_per_unit = new_side * (fill - stop_fill) + (fill + stop_fill) * commission
            wanted = min(balance * risk_pct / 100.0 / loss_per_unit, affordable)
        return float(math.floor(wanted)) if whole_units else wanted

    def open_(bar: int, signal_bar: int, new_side: int) -> None:
        nonlocal side, units, entry_price, entry_bar, stop_level, target_level, stop_distance, balance
        fill = opens[bar] * (1.0 + new_side * slippage)
        distance = stop_sig[signal_bar]
        if risk_pct is not None and math.isnan(distance):
            skipped.append(SkippedEntry(signal_bar, index[signal_bar], new_side, "no stop for risk sizing"))
            return
        if balance <= 0:
            skipped.append(SkippedEntry(signal_bar, index[signal_bar], new_side, "no equity left"))
            return
        amount = units_for(new_side, fill, distance)
        if amount <= 0 or (whole_units and amount < 1):
            skipped.append(SkippedEntry(signal_bar, index[signal_bar], new_side, "less than one unit"))
            return
        side = new_side
        units = amount
        entry_price = fill
        entry_bar = bar
        balance -= units * fill * commission
        stop_distance = distance
        stop_level = fill - new_side * distance
        target_level = fill + new_side * target_sig[signal_bar]

    for j in range(n):
        if j:
            signal_bar = j - 1
            wanted = entry_sig[signal_bar]
            if side and exit_sig[signal_bar]:
                close(j, opens[j] * (1.0 - side * slippage), "signal")
            if wanted and wanted != side:
                if side:
                    close(j, opens[j] * (1.0 - side * slippage), "reversal" if allow_short else "signal")
                if allow_short or wanted > 0:
                    open_(j, signal_bar, wanted)

        if side:
            # NaN levels compare False, so a missing stop or target never fires.
            o, lo, hi = opens[j], lows[j], highs[j]
            if side > 0:
                if o <= stop_level:
                    close(j, o * (1.0 - slippage), "stop")
                elif o >= target_level:
                    close(j, o, "target")
                elif lo <= stop_level:
                    close(j, stop_level * (1.0 - slippage), "stop")
                elif hi >= target_level:
                    close(j, target_level, "target")
            else:
                if o >= stop_level:
                    close(j, o * (1.0 + slippage), "stop")
                elif o <= target_level:
                    close(j, o, "target")
                elif hi >= stop_level:
                    close(j, stop_level * (1.0 + slippage), "stop")
                elif lo <= target_level:
                    close(j, target_level, "target")

        equity[j] = balance + side * units * (closes[j] - entry_price) if side else balance

    open_position = None
    closed_at_end = bool(side) and close_at_end
    if side and close_at_end:
        close(n - 1, closes[-1] * (1.0 - side * slippage), "end")
        equity[-1] = balance
    elif side:
        open_position = OpenPosition(
            side=side,
            units=units,
            entry_bar=entry_bar,
            entry_price=entry_price,
            unrealized_pnl=side * units * (closes[-1] - entry_price),
        )

    curve = pd.Series(equity, index=index, name="equity")
    settings: dict[str, Any] = {
        "cash": cash,
        "commission": commission,
        "slippage": slippage,
        "size": size,
        "risk_pct": risk_pct,
        "fraction": fraction,
        "whole_units": whole_units,
        "allow_short": allow_short,
        "close_at_end": close_at_end,
    }
    return BacktestResult(
        equity=curve,
        trades=tuple(trades),
        metrics=summarize(curve, trades),
        skipped=tuple(skipped),
        closed_at_end=closed_at_end,
        open_position=open_position,
        settings=settings,
    )
