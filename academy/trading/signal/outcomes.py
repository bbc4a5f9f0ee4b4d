"""Outcome tracking: follow one published signal on the bars after it, until target, stop or expiry.

A pure function of a signal and a bar frame; the same rules apply to our channels' signals and to
the signals the channel audit parses from other channels' messages.

Rules (stated to students on the channel and scorecard pages):

- Only bars that OPEN at or after `published_at` count. The bar in progress when the signal was
  published is never used: its high and low may have happened before the signal existed.
- Entry at market (`entry=None`): filled at the open of the first counted bar.
- Entry at a price or a zone `[low, high]` (a price is the zone `[p, p]`): where the first counted
  bar opens decides how the order waits. Opening inside the zone fills at that open. Opening
  above it, the order fills on the first bar whose low reaches the zone's high edge, at that
  edge (the edge first touched), or at the bar's open when the bar opens at or below the edge (a
  gap into or through the zone). Opening below it mirrors this with the low edge. The same rule
  holds for both sides, so a price above the market is a breakout order for a long and a limit
  order for a short, and the other way round.
- After the fill, stop and targets are checked bar by bar with the bar's high and low. The
  "target" below is always the next target not yet reached.
  - A bar that opens beyond the stop closes at the open (a gap: worse than the stop, so R can be
    below -1). A bar that opens beyond targets fills them at the open (at the price or better).
  - Otherwise, within the bar, STOP_RULE: stop first: a bar that touches both the stop and the
    target is taken as a stop. The bar alone cannot tell which came first, and the pessimistic
    answer never flatters a channel.
  - A fill inside a bar (at a zone edge, not at the open) leaves the rest of that bar unknown: on
    that bar the stop counts when touched and targets do not.
- Several targets, PARTIALS_RULE: with `partials=True` the position is split equally across the
  targets, each target closes its share, and the stop stays where it was for what is left (it is
  not moved to break-even). With `partials=False` the whole position closes at the first target.
- Expiry (a number of counted bars, or a time span after `published_at`): an order not filled by
  the end of the last bar inside the expiry is "not_filled"; a position still open then is closed
  at that bar's close ("expired"). A time span covers the bars that open before
  `published_at + expiry`; whether the data reaches its end is judged from the bar spacing (the
  smallest gap between two bars in the frame).
- Status: "won" (the targets closed the whole position), "lost" (the stop closed what was left,
  even after partial targets), "expired", "not_filled", "open" (the data ends before the expiry:
  the order is still waiting, or the position is marked at the last close).
- R is the risk per unit at the stop measured from the actual fill: |fill - stop|. Results are
  side-aware: a profit is positive for longs and shorts alike. A signal without a stop is still
  followed; its R figures are None and only percent figures are given. A fill at or beyond the
  stop (a market order or a gap into an order past the stop) closes at once at the fill price.
- Times are the open times (the index labels) of the bars in which the fill and the exits
  happened; the moment inside a bar is unknown. Holding time is exit time minus fill time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

from academy.trading.backtest.engine import STOP_RULE

__all__ = [
    "DEFAULT_EXPIRY_BARS",
    "PARTIALS_RULE",
    "STOP_RULE",
    "Exit",
    "Outcome",
    "OutcomeError",
    "SignalSpec",
    "Status",
    "follow",
]

Status = Literal["won", "lost", "expired", "not_filled", "open"]
ExitReason = Literal["target", "stop", "expiry"]

DEFAULT_EXPIRY_BARS = 50
PARTIALS_RULE = (
    "equal split: each target closes an equal share of the position; the stop stays unchanged "
    "for the rest (not moved to break-even)"
)
_PRICE_COLUMNS = ("open", "high", "low", "close")
_STATUS_BY_REASON: dict[ExitReason, Status] = {"target": "won", "stop": "lost", "expiry": "expired"}


class OutcomeError(ValueError):
    """A signal with inconsistent levels, or bars that cannot be followed."""


@dataclass(frozen=True, kw_only=True)
class SignalSpec:
    """What a signal promises: direction, entry, stop, targets, when it was published, how long it lives.

    `entry` is a price, a zone `[low, high]` (in any order; a zone `[p, p]` is the price p), or None
    for at market. `targets` are ordered in the trade's direction: ascending for a long,
    descending for a short. `expiry` is a number of counted bars or a time span.
    """

    side: int
    published_at: datetime
    entry: float | Sequence[float] | None = None
    stop: float | None = None
    targets: Sequence[float] = ()
    expiry: timedelta | int = DEFAULT_EXPIRY_BARS

    def __post_init__(self) -> None:
        if self.side not in (1, -1) or isinstance(self.side, bool):
            raise OutcomeError("side must be +1 (long) or -1 (short)")
        object.__setattr__(self, "targets", tuple(float(t) for t in self.targets))
        if isinstance(self.entry, Sequence):
            values = [float(v) for v in self.entry]
            if len(values) != 2:
                raise OutcomeError("an entry zone is two prices, [low, high]")
            object.__setattr__(self, "entry", (min(values), max(values)))
        elif self.entry is not None:
            object.__setattr__(self, "entry", float(self.entry))
        if self.stop is not None:
            object.__setattr__(self, "stop", float(self.stop))
        prices = [*self.targets, *([] if self.stop is None else [self.stop])]
        if self.zone is not None:
            prices.extend(self.zone)
        if not all(math.isfinite(p) and p > 0 for p in prices):
            raise OutcomeError("prices must be positive numbers")
        if isinstance(self.expiry, bool) or not isinstance(self.expiry, int | timedelta):
            raise OutcomeError("expiry is a number of bars or a time span")
        if isinstance(self.expiry, int) and self.expiry < 1:
            raise OutcomeError("expiry must be at least one bar")
        if isinstance(self.expiry, timedelta) and self.expiry <= timedelta(0):
            raise OutcomeError("expiry must be a positive time span")
        self._check_levels()

    @property
    def zone(self) -> tuple[float, float] | None:
        """The entry as `(low, high)`, or None at market."""
        if self.entry is None:
            return None
        if isinstance(self.entry, Sequence):
            low, high = self.entry
            return (float(low), float(high))
        return (float(self.entry), float(self.entry))

    def _check_levels(self) -> None:
        s = self.side
        direction = "ascending" if s > 0 else "descending"
        if any(s * (b - a) <= 0 for a, b in zip(self.targets, self.targets[1:], strict=False)):
            raise OutcomeError(f"targets must be {direction} for a {'long' if s > 0 else 'short'}")
        zone = self.zone
        if zone is not None:
            near, far = (zone[0], zone[1]) if s > 0 else (zone[1], zone[0])
            if self.stop is not None and s * (near - self.stop) <= 0:
                raise OutcomeError("the stop must be on the losing side of the entry")
            if self.targets and s * (self.targets[0] - far) <= 0:
                raise OutcomeError("the targets must be on the winning side of the entry")
        elif self.stop is not None and self.targets and s * (self.targets[0] - self.stop) <= 0:
            raise OutcomeError("the stop must be on the losing side of the targets")


@dataclass(frozen=True)
class Exit:
    """One closing fill: a share of the position (`fraction` of the original size) at a price."""

    time: pd.Timestamp
    price: float
    fraction: float
    reason: ExitReason


@dataclass(frozen=True)
class Outcome:
    """How one signal played out. See the module docstring for the rules and units.

    `exit_price` is the size-weighted average of the exits and `exit_time` the time of the last
    one. For an "open" outcome the results and excursions are marked at the last close and
    `exit_price`/`exit_time` are None (any partial exits are in `exits`). Excursions are signed:
    `mae_*` <= 0 (the worst point against the trade), `mfe_*` >= 0 (the best point for it).
    """

    status: Status
    side: int
    published_at: pd.Timestamp
    fill_price: float | None = None
    fill_time: pd.Timestamp | None = None
    exit_price: float | None = None
    exit_time: pd.Timestamp | None = None
    exits: tuple[Exit, ...] = ()
    targets_hit: int = 0
    risk: float | None = None  # |fill - stop| per unit: the size of 1 R in price
    result_r: float | None = None
    result_pct: float | None = None
    holding_time: pd.Timedelta | None = None
    bars_held: int | None = None  # the fill bar and the exit bar both counted
    mae_r: float | None = None
    mfe_r: float | None = None
    mae_pct: float | None = None
    mfe_pct: float | None = None
    stop_rule: str = field(default=STOP_RULE)
    partials_rule: str | None = None

    @property
    def filled(self) -> bool:
        return self.fill_price is not None

    @property
    def closed(self) -> bool:
        return self.status in ("won", "lost", "expired")


def _check_bars(bars: pd.DataFrame) -> pd.DatetimeIndex:
    missing = [c for c in _PRICE_COLUMNS if c not in bars.columns]
    if missing:
        raise OutcomeError(f"the bars have no {', '.join(missing)} column")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise OutcomeError("the bars need a time index (the bars' open times)")
    if not bars.index.is_monotonic_increasing or bars.index.has_duplicates:
        raise OutcomeError("bars must be in strictly ascending time order")
    return bars.index


def _timestamp(value: datetime, index: pd.DatetimeIndex) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if (stamp.tzinfo is None) != (index.tz is None):
        raise OutcomeError("published_at and the bars must both carry a time zone, or both not")
    return stamp


def _window(spec: SignalSpec, index: pd.DatetimeIndex, published: pd.Timestamp) -> tuple[int, int, bool]:
    """Positions [start, stop) of the bars inside the expiry, and whether the expiry is reached."""
    start = int(index.searchsorted(published, side="left"))
    if isinstance(spec.expiry, int):
        end = min(start + spec.expiry, len(index))
        return start, end, start + spec.expiry <= len(index)
    deadline = published + pd.Timedelta(spec.expiry)
    end = int(index.searchsorted(deadline, side="left"))
    if end < len(index):
        return start, end, True
    if len(index) < 2:
        return start, end, False
    spacing = index[1:] - index[:-1]
    return start, end, bool(index[-1] + spacing.min() >= deadline)


def _find_fill(
    zone: tuple[float, float] | None, opens: list[float], highs: list[float], lows: list[float]
) -> tuple[int, float, bool] | None:
    """(bar, price, filled at the bar's open) of the entry, or None when never filled."""
    if not opens:
        return None
    first = opens[0]
    if zone is None or zone[0] <= first <= zone[1]:
        return 0, first, True
    low_edge, high_edge = zone
    for j, (o, h, lo) in enumerate(zip(opens, highs, lows, strict=True)):
        if first > high_edge and lo <= high_edge:
            return (j, o, True) if o <= high_edge else (j, high_edge, False)
        if first < low_edge and h >= low_edge:
            return (j, o, True) if o >= low_edge else (j, low_edge, False)
    return None


def follow(signal: SignalSpec, bars: pd.DataFrame, *, partials: bool = True) -> Outcome:
    """Follow `signal` on `bars` (OHLC with the bars' open times as a DatetimeIndex).

    See the module docstring for the rules. `partials` chooses between the equal-split exits
    across targets (True) and closing everything at the first target (False).
    """
    index = _check_bars(bars)
    published = _timestamp(signal.published_at, index)
    start, end, expiry_reached = _window(signal, index, published)
    window = bars.iloc[start:end]
    opens = window["open"].to_numpy(dtype=float).tolist()
    highs = window["high"].to_numpy(dtype=float).tolist()
    lows = window["low"].to_numpy(dtype=float).tolist()
    closes = window["close"].to_numpy(dtype=float).tolist()
    if not all(math.isfinite(p) and p > 0 for p in (*opens, *highs, *lows, *closes)):
        raise OutcomeError("bar prices must be positive numbers")
    times = list(window.index)
    rules = PARTIALS_RULE if partials and len(signal.targets) > 1 else None

    found = _find_fill(signal.zone, opens, highs, lows)
    if found is None:
        status: Status = "not_filled" if expiry_reached else "open"
        return Outcome(status=status, side=signal.side, published_at=published, partials_rule=rules)
    fill_bar, fill, at_open = found

    s = signal.side
    stop = signal.stop
    targets = signal.targets
    share = 1.0 / len(targets) if partials and targets else 1.0
    risk = None if stop is None else abs(fill - stop)
    exits: list[Exit] = []
    remaining = 1.0
    hit = 0
    worst = best = 0.0  # side-aware moves from the fill, in price

    def close(j: int, price: float, fraction: float, reason: ExitReason) -> None:
        nonlocal remaining
        exits.append(Exit(times[j], price, fraction, reason))
        remaining -= fraction
        if remaining < 1e-9:
            remaining = 0.0

    def take_targets(j: int, reached: float, price: float | None) -> None:
        """Fill every target not beyond `reached`, at `price` (a gap) or at the target itself."""
        nonlocal hit
        while hit < len(targets) and s * (reached - targets[hit]) >= 0:
            if remaining:
                close(j, targets[hit] if price is None else price, min(share, remaining), "target")
            hit += 1

    def beyond_stop(price: float) -> bool:
        return stop is not None and s * (price - stop) <= 0

    last = fill_bar
    for j in range(fill_bar, len(opens)):
        last = j
        o, c = opens[j], closes[j]
        adverse, favourable = (lows[j], highs[j]) if s > 0 else (highs[j], lows[j])
        if j == fill_bar and not at_open:
            if beyond_stop(adverse):
                assert stop is not None
                close(j, stop, remaining, "stop")
                worst = min(worst, s * (stop - fill))
            else:
                worst = min(worst, s * (adverse - fill))
                best = max(best, s * (c - fill))
        elif beyond_stop(o):
            close(j, o, remaining, "stop")
            worst = min(worst, s * (o - fill))
            best = max(best, s * (o - fill))
        else:
            take_targets(j, o, o)
            if remaining and beyond_stop(adverse):
                assert stop is not None
                close(j, stop, remaining, "stop")
                worst = min(worst, s * (stop - fill))
                best = max(best, s * (o - fill))
            elif remaining:
                take_targets(j, favourable, None)
                worst = min(worst, s * (adverse - fill))
                top = favourable if remaining else exits[-1].price
                best = max(best, s * (top - fill))
            else:
                worst = min(worst, s * (o - fill))
                best = max(best, s * (o - fill))
        if remaining and j == len(opens) - 1 and expiry_reached:
            close(j, c, remaining, "expiry")
            worst = min(worst, s * (c - fill))
            best = max(best, s * (c - fill))
        if not remaining:
            break

    status = _STATUS_BY_REASON[exits[-1].reason] if not remaining else "open"
    mark = closes[last]
    move = sum(e.fraction * s * (e.price - fill) for e in exits) + remaining * s * (mark - fill)
    closed_fraction = sum(e.fraction for e in exits)
    end_time = times[last]
    return Outcome(
        status=status,
        side=s,
        published_at=published,
        fill_price=fill,
        fill_time=times[fill_bar],
        exit_price=None if remaining else sum(e.fraction * e.price for e in exits) / closed_fraction,
        exit_time=None if remaining else end_time,
        exits=tuple(exits),
        targets_hit=hit,
        risk=risk,
        result_r=move / risk if risk else None,
        result_pct=move / fill * 100.0,
        holding_time=end_time - times[fill_bar],
        bars_held=last - fill_bar + 1,
        mae_r=worst / risk if risk else None,
        mfe_r=best / risk if risk else None,
        mae_pct=worst / fill * 100.0,
        mfe_pct=best / fill * 100.0,
        partials_rule=rules,
    )
