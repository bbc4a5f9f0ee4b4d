"""Parameter search over a grid, with walk-forward (out-of-sample) evaluation and a heatmap.

The rules, stated once:

- The grid is a mapping of parameter name to a list of values; its combinations are taken in
  itertools.product order (the mapping's key order, each list's value order). That order breaks
  ties: among equally scored combinations the earliest wins. A NaN score never wins.
- Scores are one `Metrics` field (default `sharpe`); higher is better except for
  `max_drawdown_pct`, where lower is. With `min_trades`, a combination with fewer trades in the
  window scores NaN. A combination the strategy rejects (say fast >= slow) scores NaN and its
  row carries the error.
- Walk-forward: the bars are cut in time order into `folds + 1` equal segments, any remainder
  going to the last one. Fold i (from 0) chooses parameters on its in-sample window, segments
  0..i (anchored) or segment i alone (rolling), and trades them on segment i + 1, its
  out-of-sample window. Signals for a window are computed on the bars up to the window's end
  and no further, so nothing after a window can reach its choice or its result; indicators warm
  up on the bars before the window.
- Every window starts flat and closes any position at its last bar. The out-of-sample folds are
  chained: each starts with the equity the previous one ended with, and their equity curves
  stitched together are the out-of-sample equity curve. When no combination has a score in a
  fold's in-sample window, or no equity is left, that fold stays in cash.
- The heatmap is the full-history grid of one metric for two of the parameters (the first as
  the index, the second as the columns, both in grid order); with more parameters each cell
  holds the best value over the others. It is in-sample by construction: a picture of how
  sensitive the strategy is to its parameters, not a forecast.

Everything is a pure function of its inputs: the same call always gives the same result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from academy.trading.backtest.engine import BacktestResult, Trade, backtest
from academy.trading.backtest.metrics import Metrics, summarize
from academy.trading.strategy.base import Strategy, StrategyError, run
from academy.trading.strategy.presets import PRESETS, make

METRICS: tuple[str, ...] = tuple(f.name for f in fields(Metrics))
LOWER_IS_BETTER = frozenset({"max_drawdown_pct"})
# Windows close their positions at their end (see the module docstring), so close_at_end is fixed.
SETTINGS = frozenset(
    {"cash", "commission", "slippage", "size", "risk_pct", "fraction", "whole_units", "allow_short"}
)

StrategyFactory = Callable[..., Strategy]


class OptimizeError(ValueError):
    """The search was called with a bad grid, metric, fold count or setting."""


@dataclass(frozen=True)
class Fold:
    """One walk-forward step: the choice made in sample and how it did out of sample.

    Bar positions are in the full bar frame, `stop` exclusive.
    """

    number: int
    train_start: int
    train_stop: int
    test_start: int
    test_stop: int
    train_period: tuple[Any, Any]  # times of the first and last in-sample bar
    test_period: tuple[Any, Any]  # times of the first and last out-of-sample bar
    params: dict[str, Any] | None  # None: no combination had a score, the fold stayed in cash
    in_sample_score: float
    in_sample: Metrics | None
    out_of_sample: Metrics


@dataclass(frozen=True)
class OptimizeResult:
    strategy: str
    metric: str
    grid: pd.DataFrame  # one row per combination on the full history: params, metrics, score, error
    heatmap: pd.DataFrame
    best_params: dict[str, Any] | None  # best on the full history (in-sample)
    folds: tuple[Fold, ...]
    oos_equity: pd.Series
    oos_metrics: Metrics
    oos_trades: tuple[Trade, ...]  # bar positions in the full bar frame

    def folds_frame(self) -> pd.DataFrame:
        rows = []
        for fold in self.folds:
            row: dict[str, Any] = {
                "fold": fold.number,
                "train_start": fold.train_period[0],
                "train_end": fold.train_period[1],
                "test_start": fold.test_period[0],
                "test_end": fold.test_period[1],
            }
            row.update(fold.params or {})
            row["in_sample_score"] = fold.in_sample_score
            row.update({f"oos_{k}": v for k, v in fold.out_of_sample.as_dict().items()})
            rows.append(row)
        return pd.DataFrame(rows)


def _grid(grid: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """The grid with each parameter's values as a list, checked."""
    if not grid:
        raise OptimizeError("the grid has no parameters")
    checked = {}
    for name, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise OptimizeError(f"grid parameter {name!r} needs a list of values")
        listed = list(values)
        if not listed:
            raise OptimizeError(f"grid parameter {name!r} needs a non-empty list of values")
        if len(set(listed)) != len(listed):
            raise OptimizeError(f"grid parameter {name!r} lists a value twice")
        checked[name] = listed
    return checked


def combinations(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in itertools.product order."""
    checked = _grid(grid)
    return [dict(zip(checked, combo, strict=True)) for combo in itertools.product(*checked.values())]


def fold_windows(n_bars: int, folds: int, anchored: bool = True) -> list[tuple[int, int, int, int]]:
    """(train_start, train_stop, test_start, test_stop) bar positions of each fold."""
    if folds < 1:
        raise OptimizeError("folds must be at least 1")
    segment = n_bars // (folds + 1)
    if segment < 2:
        raise OptimizeError(f"{n_bars} bars are too few for {folds} folds (each window needs 2 bars)")
    windows = []
    for i in range(folds):
        train_start = 0 if anchored else i * segment
        test_stop = n_bars if i == folds - 1 else (i + 2) * segment
        windows.append((train_start, (i + 1) * segment, (i + 1) * segment, test_stop))
    return windows


def _factory(strategy: str | StrategyFactory) -> tuple[str, StrategyFactory]:
    if isinstance(strategy, str):
        if strategy not in PRESETS:
            known = ", ".join(sorted(PRESETS))
            raise OptimizeError(f"unknown preset {strategy!r}; known presets: {known}")

        def build(**params: Any) -> Strategy:
            return make(strategy, **params)

        return strategy, build
    name = getattr(strategy, "name", None) or getattr(strategy, "__name__", None)
    return str(name or "strategy"), strategy


def _check(
    strategy: str | StrategyFactory,
    grid: Mapping[str, Iterable[Any]],
    metric: str,
    fixed: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> None:
    if metric not in METRICS:
        raise OptimizeError(f"unknown metric {metric!r}; known metrics: {', '.join(METRICS)}")
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise OptimizeError(
            f"unknown backtest setting(s) {', '.join(unknown)}; known: {', '.join(sorted(SETTINGS))}"
        )
    overlap = sorted(set(grid) & set(fixed))
    if overlap:
        raise OptimizeError(f"{', '.join(overlap)} both in the grid and fixed")
    if isinstance(strategy, str) and strategy in PRESETS:
        accepted = PRESETS[strategy].params
        unknown = sorted((set(grid) | set(fixed)) - set(accepted))
        if unknown:
            raise OptimizeError(
                f"{strategy} has no parameter(s) {', '.join(unknown)}; it takes {', '.join(accepted)}"
            )


def _is_better(score: float, best: float, lower: bool) -> bool:
    if math.isnan(score):
        return False
    if math.isnan(best):
        return True
    return score < best if lower else score > best


def _best_row(scores: Sequence[float], metric: str) -> int | None:
    """Position of the best score (earliest on ties), None when every score is NaN."""
    lower = metric in LOWER_IS_BETTER
    best: int | None = None
    best_score = math.nan
    for i, score in enumerate(scores):
        if _is_better(score, best_score, lower):
            best, best_score = i, score
    return best


def _run_window(
    build: StrategyFactory,
    params: Mapping[str, Any],
    bars: pd.DataFrame,
    start: int,
    stop: int,
    settings: Mapping[str, Any],
) -> BacktestResult:
    """Backtest `params` on bars[start:stop], with signals from bars[:stop] only."""
    strategy = build(**params)
    signals = run(strategy, bars.iloc[:stop]).iloc[start:]
    return backtest(bars.iloc[start:stop], signals, close_at_end=True, **settings)


def _grid_table(
    build: StrategyFactory,
    combos: list[dict[str, Any]],
    fixed: Mapping[str, Any],
    bars: pd.DataFrame,
    start: int,
    stop: int,
    metric: str,
    min_trades: int,
    settings: Mapping[str, Any],
) -> tuple[pd.DataFrame, list[Metrics | None]]:
    rows = []
    found: list[Metrics | None] = []
    for combo in combos:
        row: dict[str, Any] = dict(combo)
        try:
            metrics = _run_window(build, {**fixed, **combo}, bars, start, stop, settings).metrics
        except StrategyError as exc:
            row.update(dict.fromkeys(METRICS, math.nan))
            row.update(score=math.nan, error=str(exc))
            found.append(None)
        else:
            row.update(metrics.as_dict())
            score = float(getattr(metrics, metric))
            row.update(score=math.nan if metrics.trades < min_trades else score, error="")
            found.append(metrics)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*combos[0], *METRICS, "score", "error"]), found


def grid_search(
    bars: pd.DataFrame,
    strategy: str | StrategyFactory,
    grid: Mapping[str, Iterable[Any]],
    *,
    metric: str = "sharpe",
    fixed: Mapping[str, Any] | None = None,
    min_trades: int = 0,
    start: int = 0,
    stop: int | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """Every grid combination backtested on bars[start:stop] (default: all bars).

    One row per combination in grid order: the parameters, every metric, `score` (the chosen
    metric, NaN below `min_trades`) and `error` ("" or why the strategy rejected the combination).
    `fixed` parameters apply to every combination; `settings` go to `backtest()`.
    """
    grid = _grid(grid)
    fixed = dict(fixed or {})
    _check(strategy, grid, metric, fixed, settings)
    _, build = _factory(strategy)
    stop = len(bars) if stop is None else stop
    if not 0 <= start < stop <= len(bars):
        raise OptimizeError(f"the window {start}:{stop} is not inside the {len(bars)} bars")
    table, _ = _grid_table(build, combinations(grid), fixed, bars, start, stop, metric, min_trades, settings)
    if table["error"].all():
        raise OptimizeError(f"the strategy rejected every combination; the first: {table['error'].iloc[0]}")
    return table


def best_params(table: pd.DataFrame, grid: Mapping[str, Iterable[Any]], metric: str) -> dict[str, Any] | None:
    """The parameters of the best-scoring row (earliest on ties), None when no row has a score."""
    row = _best_row(table["score"].tolist(), metric)
    return None if row is None else combinations(grid)[row]


def _axes(grid: Mapping[str, Iterable[Any]], axes: tuple[str, str] | None) -> tuple[str, str]:
    names = list(grid)
    if axes is None:
        return (names[0], names[1]) if len(names) > 1 else (names[0], names[0])
    for axis in axes:
        if axis not in grid:
            raise OptimizeError(f"heatmap axis {axis!r} is not a grid parameter ({', '.join(names)})")
    if axes[0] == axes[1] and len(names) > 1:
        raise OptimizeError("the heatmap needs two different grid parameters")
    return axes


def heatmap(
    table: pd.DataFrame,
    grid: Mapping[str, Iterable[Any]],
    metric: str = "sharpe",
    axes: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """`metric` for the first axis parameter (index) by the second (columns), in grid order.

    Other grid parameters are folded into each cell by taking their best value. A grid with a
    single parameter gives one column named after the metric.
    """
    grid = _grid(grid)
    x, y = _axes(grid, axes)
    if x == y:
        frame = pd.DataFrame({metric: table[metric].to_numpy()}, index=pd.Index(list(grid[x]), name=x))
        frame.columns.name = "metric"
        return frame
    grouped = table.groupby([x, y], sort=False)[metric]
    cells = grouped.min() if metric in LOWER_IS_BETTER else grouped.max()
    frame = cells.unstack(y).reindex(index=list(grid[x]), columns=list(grid[y]))
    frame.index.name, frame.columns.name = x, y
    return frame.astype(float)


def _flat(index: pd.Index, value: float) -> pd.Series:
    return pd.Series(np.full(len(index), value), index=index, name="equity")


def walk_forward(
    bars: pd.DataFrame,
    strategy: str | StrategyFactory,
    grid: Mapping[str, Iterable[Any]],
    *,
    metric: str = "sharpe",
    folds: int = 4,
    anchored: bool = True,
    fixed: Mapping[str, Any] | None = None,
    min_trades: int = 0,
    **settings: Any,
) -> tuple[tuple[Fold, ...], pd.Series, tuple[Trade, ...]]:
    """The folds, the stitched out-of-sample equity and the out-of-sample trades (see the module
    docstring for the windows and the chaining of cash)."""
    grid = _grid(grid)
    fixed = dict(fixed or {})
    _check(strategy, grid, metric, fixed, settings)
    _, build = _factory(strategy)
    combos = combinations(grid)
    cash = float(settings.get("cash", 10_000))
    index = bars.index
    results: list[Fold] = []
    curves: list[pd.Series] = []
    trades: list[Trade] = []
    for number, (train_start, train_stop, test_start, test_stop) in enumerate(
        fold_windows(len(bars), folds, anchored)
    ):
        table, found = _grid_table(
            build, combos, fixed, bars, train_start, train_stop, metric, min_trades, settings
        )
        row = _best_row(table["score"].tolist(), metric)
        params = None if row is None else dict(combos[row])
        test_index = index[test_start:test_stop]
        if params is None or cash <= 0:
            curve = _flat(test_index, cash)
            out = summarize(curve, [])
        else:
            window = {**settings, "cash": cash}
            result = _run_window(build, {**fixed, **params}, bars, test_start, test_stop, window)
            curve, out = result.equity, result.metrics
            trades.extend(
                replace(t, entry_bar=t.entry_bar + test_start, exit_bar=t.exit_bar + test_start)
                for t in result.trades
            )
        results.append(
            Fold(
                number=number,
                train_start=train_start,
                train_stop=train_stop,
                test_start=test_start,
                test_stop=test_stop,
                train_period=(index[train_start], index[train_stop - 1]),
                test_period=(test_index[0], test_index[-1]),
                params=params,
                in_sample_score=math.nan if row is None else float(table["score"].iloc[row]),
                in_sample=None if row is None else found[row],
                out_of_sample=out,
            )
        )
        curves.append(curve)
        cash = float(curve.iloc[-1])
    equity = pd.concat(curves).rename("equity")
    return tuple(results), equity, tuple(trades)


def optimize(
    bars: pd.DataFrame,
    strategy: str | StrategyFactory,
    grid: Mapping[str, Iterable[Any]],
    *,
    metric: str = "sharpe",
    folds: int = 4,
    anchored: bool = True,
    axes: tuple[str, str] | None = None,
    fixed: Mapping[str, Any] | None = None,
    min_trades: int = 0,
    **settings: Any,
) -> OptimizeResult:
    """The full-history grid and its heatmap, plus the walk-forward out-of-sample evaluation.

    `strategy` is a preset name or a factory taking the parameters as keywords; `settings`
    (cash, commission, slippage, size, risk_pct, fraction, whole_units, allow_short) go to
    `backtest()` for every window.
    """
    grid = _grid(grid)
    name, _ = _factory(strategy)
    axes = _axes(grid, axes)
    fold_windows(len(bars), folds, anchored)
    table = grid_search(bars, strategy, grid, metric=metric, fixed=fixed, min_trades=min_trades, **settings)
    fold_results, equity, trades = walk_forward(
        bars,
        strategy,
        grid,
        metric=metric,
        folds=folds,
        anchored=anchored,
        fixed=fixed,
        min_trades=min_trades,
        **settings,
    )
    first = fold_results[0].test_start
    relative = [replace(t, entry_bar=t.entry_bar - first, exit_bar=t.exit_bar - first) for t in trades]
    return OptimizeResult(
        strategy=name,
        metric=metric,
        grid=table,
        heatmap=heatmap(table, grid, metric, axes),
        best_params=best_params(table, grid, metric),
        folds=fold_results,
        oos_equity=equity,
        oos_metrics=summarize(equity, relative),
        oos_trades=trades,
    )
