"""A channel's track record: pure figures over the outcomes of its signals.

Conventions (the channel page and the audit scorecard state the same):

- Closed outcomes ("won", "lost", "expired") make the record; "open" and "not_filled" signals
  are only counted. A WIN is a closed outcome with a positive result. With partial exits this is
  the honest reading: a first target followed by the stop can end below zero, and an expired
  trade can end above it, whatever its status says.
- The win rate comes with a Wilson score interval (95 % by default), which stays inside [0, 1]
  and is meaningful for the small samples most channels have.
- R figures (expectancy, profit factor, drawdown, the equity curve, the follower) use only the
  closed outcomes that have an R, i.e. a stop. The equity-in-R curve adds results in the order
  of exit time, starting from 0; the max drawdown is its largest fall from a running peak (the
  start counts as a peak), as a positive number of R.
- Profit factor: sum of positive R over the absolute sum of negative R; `math.inf` when there
  are gains and no losses, None when there is no R at all or neither gains nor losses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from academy.trading.signal.outcomes import Outcome

__all__ = ["FollowerReturn", "TrackRecord", "follower_return", "wilson_interval"]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion `successes / n`; (0.0, 1.0) when n is 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denominator
    # Exact bounds at the extremes: the formula gives them only up to rounding.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def _exit_time(outcome: Outcome) -> pd.Timestamp:
    assert outcome.exit_time is not None
    return outcome.exit_time


def _closed(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The closed outcomes in the order of their exits."""
    return sorted((o for o in outcomes if o.closed), key=_exit_time)


@dataclass(frozen=True)
class TrackRecord:
    """The figures of a channel's record (see the module docstring for the conventions)."""

    signals: int
    filled: int
    closed: int
    open: int
    not_filled: int
    wins: int
    win_rate: float | None  # a fraction of the closed outcomes; None with none closed
    win_rate_low: float
    win_rate_high: float
    expectancy_r: float | None
    expectancy_pct: float | None
    profit_factor: float | None
    max_drawdown_r: float | None
    average_holding: pd.Timedelta | None
    equity_r: list[tuple[pd.Timestamp, float]] = field(default_factory=list)

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[Outcome], z: float = 1.96) -> TrackRecord:
        closed = _closed(outcomes)
        wins = sum(1 for o in closed if (o.result_pct or 0.0) > 0)
        low, high = wilson_interval(wins, len(closed), z)
        with_r = [(_exit_time(o), o.result_r) for o in closed if o.result_r is not None]
        rs = [r for _, r in with_r]
        pcts = [o.result_pct for o in closed if o.result_pct is not None]
        holdings = [o.holding_time for o in closed if o.holding_time is not None]

        curve: list[tuple[pd.Timestamp, float]] = []
        total = peak = drawdown = 0.0
        for time, r in with_r:
            total += r
            peak = max(peak, total)
            drawdown = max(drawdown, peak - total)
            curve.append((time, total))

        return cls(
            signals=len(outcomes),
            filled=sum(1 for o in outcomes if o.filled),
            closed=len(closed),
            open=sum(1 for o in outcomes if o.status == "open"),
            not_filled=sum(1 for o in outcomes if o.status == "not_filled"),
            wins=wins,
            win_rate=wins / len(closed) if closed else None,
            win_rate_low=low,
            win_rate_high=high,
            expectancy_r=sum(rs) / len(rs) if rs else None,
            expectancy_pct=sum(pcts) / len(pcts) if pcts else None,
            profit_factor=_profit_factor(rs),
            max_drawdown_r=drawdown if rs else None,
            average_holding=sum(holdings, pd.Timedelta(0)) / len(holdings) if holdings else None,
            equity_r=curve,
        )


def _profit_factor(rs: Sequence[float]) -> float | None:
    gains = sum(r for r in rs if r > 0)
    losses = -sum(r for r in rs if r < 0)
    if losses == 0:
        return math.inf if gains > 0 else None
    return gains / losses


@dataclass(frozen=True)
class FollowerReturn:
    start: float
    final_equity: float
    return_pct: float
    trades: int
    # The equity after each exit, from `start` at the first fill; its last value is `final_equity`.
    equity: list[tuple[pd.Timestamp, float]] = field(default_factory=list)


def follower_return(
    outcomes: Sequence[Outcome], risk_pct: float = 1.0, start: float = 10_000
) -> FollowerReturn:
    """What a follower who risks `risk_pct` % of equity on each signal with a stop would have made.

    Each closed outcome with an R is taken at its fill, sized so that the stop loses `risk_pct` %
    of the equity realized at that moment, and pays `stake * R` at its exit: compounded, and
    correct for overlapping trades. Costs are not included. Fills come before exits at the same
    time, because a fill at a bar's open precedes anything else in that bar.
    """
    if not 0 < risk_pct <= 100:
        raise ValueError("risk_pct must be above 0 and at most 100")
    if not start > 0:
        raise ValueError("start must be positive")
    taken = [o for o in _closed(outcomes) if o.result_r is not None and o.fill_time is not None]
    events: list[tuple[pd.Timestamp, int, int]] = []
    for i, o in enumerate(taken):
        assert o.fill_time is not None and o.exit_time is not None
        events.append((o.fill_time, 0, i))
        events.append((o.exit_time, 1, i))
    events.sort()
    equity = float(start)
    curve = [(events[0][0], equity)] if events else []
    stakes: dict[int, float] = {}
    for time, kind, i in events:
        if kind == 0:
            stakes[i] = equity * risk_pct / 100.0
        else:
            equity += stakes.pop(i) * float(taken[i].result_r or 0.0)
            curve.append((time, equity))
    return FollowerReturn(
        start=float(start),
        final_equity=equity,
        return_pct=(equity / start - 1.0) * 100.0,
        trades=len(taken),
        equity=curve,
    )
