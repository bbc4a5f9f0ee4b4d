"""Grid search and walk-forward evaluation: determinism, the heatmap, no peeking past a window."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from academy.trading.backtest import backtest
from academy.trading.backtest.metrics import Metrics
from academy.trading.backtest.optimize import (
    Fold,
    OptimizeError,
    OptimizeResult,
    fold_windows,
    grid_search,
    optimize,
    walk_forward,
)
from academy.trading.strategy.base import Param, Signals, Strategy, run
from academy.trading.strategy.presets import make

from .conftest import make_bars

SMA_GRID = {"fast": [5, 10, 15, 25], "slow": [20, 30, 50]}
CYCLE = 20


def same_metrics(a: Metrics | None, b: Metrics | None) -> None:
    assert a is not None and b is not None
    pd.testing.assert_series_equal(pd.Series(a.as_dict()), pd.Series(b.as_dict()))


def same_fold(a: Fold, b: Fold) -> None:
    assert (a.number, a.train_start, a.train_stop, a.test_start, a.test_stop) == (
        b.number,
        b.train_start,
        b.train_stop,
        b.test_start,
        b.test_stop,
    )
    assert a.params == b.params
    assert a.in_sample_score == b.in_sample_score or (
        math.isnan(a.in_sample_score) and math.isnan(b.in_sample_score)
    )
    same_metrics(a.in_sample, b.in_sample)
    same_metrics(a.out_of_sample, b.out_of_sample)


def same_result(a: OptimizeResult, b: OptimizeResult) -> None:
    pd.testing.assert_frame_equal(a.grid, b.grid)
    pd.testing.assert_frame_equal(a.heatmap, b.heatmap)
    assert a.best_params == b.best_params
    assert len(a.folds) == len(b.folds)
    for x, y in zip(a.folds, b.folds, strict=True):
        same_fold(x, y)
    pd.testing.assert_series_equal(a.oos_equity, b.oos_equity)
    same_metrics(a.oos_metrics, b.oos_metrics)
    pd.testing.assert_frame_equal(pd.DataFrame(a.oos_trades), pd.DataFrame(b.oos_trades))


# --- determinism and the grid ---


def test_search_is_deterministic(goog: pd.DataFrame) -> None:
    first = optimize(goog, "sma_cross", SMA_GRID, commission=0.002, folds=4)
    second = optimize(goog.copy(), "sma_cross", dict(SMA_GRID), commission=0.002, folds=4)
    same_result(first, second)


def test_grid_rows_are_backtests_of_each_combination(goog: pd.DataFrame) -> None:
    table = grid_search(goog, "sma_cross", SMA_GRID, commission=0.002)
    assert list(table[["fast", "slow"]].itertuples(index=False, name=None)) == [
        (f, s) for f in SMA_GRID["fast"] for s in SMA_GRID["slow"]
    ]
    row = table[(table.fast == 10) & (table.slow == 20)].iloc[0]
    direct = backtest(goog, run(make("sma_cross", fast=10, slow=20), goog), commission=0.002).metrics
    assert row["final_equity"] == direct.final_equity
    assert row["trades"] == direct.trades
    assert row["score"] == direct.sharpe
    rejected = table[(table.fast == 25) & (table.slow == 20)].iloc[0]
    assert math.isnan(rejected["score"]) and "fast must be shorter than slow" in rejected["error"]


def test_grid_values_may_be_any_iterable(goog: pd.DataFrame) -> None:
    lists = grid_search(goog, "sma_cross", {"fast": [5, 10], "slow": [20, 30]})
    other = grid_search(goog, "sma_cross", {"fast": range(5, 15, 5), "slow": np.array([20, 30])})
    pd.testing.assert_frame_equal(lists.drop(columns=["fast", "slow"]), other.drop(columns=["fast", "slow"]))
    assert other[["fast", "slow"]].to_numpy().tolist() == [[5, 20], [5, 30], [10, 20], [10, 30]]


def test_heatmap_shape_labels_and_values(goog: pd.DataFrame) -> None:
    result = optimize(goog, "sma_cross", SMA_GRID, commission=0.002, folds=2)
    heat = result.heatmap
    assert heat.shape == (4, 3)
    assert heat.index.name == "fast" and list(heat.index) == SMA_GRID["fast"]
    assert heat.columns.name == "slow" and list(heat.columns) == SMA_GRID["slow"]
    for row in result.grid.itertuples():
        value = heat.loc[row.fast, row.slow]
        assert value == row.sharpe or (math.isnan(value) and math.isnan(row.sharpe))
    assert math.isnan(heat.loc[25, 20])
    best = result.best_params
    assert best is not None
    assert heat.loc[best["fast"], best["slow"]] == np.nanmax(heat.to_numpy())

    swapped = optimize(goog, "sma_cross", SMA_GRID, commission=0.002, folds=2, axes=("slow", "fast"))
    pd.testing.assert_frame_equal(swapped.heatmap, heat.T)


def test_heatmap_folds_a_third_parameter_into_its_best_value(goog: pd.DataFrame) -> None:
    grid = {"fast": [5, 10], "slow": [20, 40], "allow_short": [0, 1]}
    result = optimize(goog, "sma_cross", grid, metric="total_return_pct", folds=2)
    table = result.grid
    assert result.heatmap.shape == (2, 2)
    for fast in grid["fast"]:
        for slow in grid["slow"]:
            cell = table[(table.fast == fast) & (table.slow == slow)]
            assert result.heatmap.loc[fast, slow] == cell["total_return_pct"].max()

    drawdown = optimize(goog, "sma_cross", grid, metric="max_drawdown_pct", folds=2)
    cell = drawdown.grid[(drawdown.grid.fast == 5) & (drawdown.grid.slow == 20)]
    assert drawdown.heatmap.loc[5, 20] == cell["max_drawdown_pct"].min()


def test_single_parameter_heatmap(bars: pd.DataFrame) -> None:
    result = optimize(bars, "sma_cross", {"slow": [20, 30, 40]}, folds=2)
    assert result.heatmap.shape == (3, 1)
    assert list(result.heatmap.index) == [20, 30, 40] and list(result.heatmap.columns) == ["sharpe"]


def test_ties_go_to_the_earliest_combination(bars: pd.DataFrame) -> None:
    # Without a stop or target the ATR period changes nothing: every combination scores the same.
    for order in ([20, 10, 14], [14, 20, 10]):
        result = optimize(bars, "sma_cross", {"atr_period": order}, folds=3)
        assert result.grid["score"].nunique() == 1
        assert result.best_params == {"atr_period": order[0]}
        assert all(fold.params == {"atr_period": order[0]} for fold in result.folds)


def test_lower_is_better_for_drawdown_and_min_trades(goog: pd.DataFrame) -> None:
    table = grid_search(goog, "sma_cross", SMA_GRID, metric="max_drawdown_pct")
    result = optimize(goog, "sma_cross", SMA_GRID, metric="max_drawdown_pct", folds=2)
    assert result.best_params is not None
    best = table[(table.fast == result.best_params["fast"]) & (table.slow == result.best_params["slow"])]
    assert best["max_drawdown_pct"].iloc[0] == table["max_drawdown_pct"].min()

    few = grid_search(goog, "sma_cross", SMA_GRID, min_trades=60)
    assert (few["score"].isna() == ((few["trades"] < 60) | (few["error"] != ""))).all()


# --- walk-forward ---


def test_fold_windows() -> None:
    assert fold_windows(1003, 4) == [
        (0, 200, 200, 400),
        (0, 400, 400, 600),
        (0, 600, 600, 800),
        (0, 800, 800, 1003),
    ]
    assert fold_windows(1000, 4, anchored=False)[2] == (400, 600, 600, 800)
    with pytest.raises(OptimizeError, match="too few"):
        fold_windows(9, 4)


def test_out_of_sample_is_stitched_from_the_folds(goog: pd.DataFrame) -> None:
    result = optimize(goog, "sma_cross", SMA_GRID, commission=0.002, folds=4, cash=10_000)
    first = result.folds[0]
    assert first.train_start == 0 and first.train_stop == first.test_start
    pd.testing.assert_index_equal(result.oos_equity.index, goog.index[first.test_start :])
    assert result.oos_equity.iloc[0] == 10_000
    for before, after in zip(result.folds, result.folds[1:], strict=False):
        assert after.test_start == before.test_stop
        # Cash carries over: each fold starts where the previous one ended.
        start = result.oos_equity.iloc[after.test_start - first.test_start]
        assert start == before.out_of_sample.final_equity
    assert result.oos_metrics.final_equity == result.folds[-1].out_of_sample.final_equity
    trades = sum(f.out_of_sample.trades for f in result.folds)
    assert result.oos_metrics.trades == trades == len(result.oos_trades) > 0
    for trade in result.oos_trades:
        fold = next(f for f in result.folds if f.test_start <= trade.entry_bar < f.test_stop)
        assert trade.exit_bar < fold.test_stop
        assert goog.index[trade.entry_bar] == trade.entry_time


@pytest.mark.parametrize("anchored", [True, False])
def test_folds_never_use_bars_after_their_window(goog: pd.DataFrame, anchored: bool) -> None:
    folds = 4
    settings: dict[str, Any] = {"anchored": anchored, "commission": 0.002}
    full, _, _ = walk_forward(goog, "sma_cross", SMA_GRID, folds=folds, **settings)
    for k in range(folds - 1):
        # Truncating right after fold k keeps the segment length, so folds 0..k keep their windows.
        head = goog.iloc[: full[k].test_stop]
        truncated, _, _ = walk_forward(head, "sma_cross", SMA_GRID, folds=k + 1, **settings)
        for j in range(k + 1):
            same_fold(truncated[j], full[j])


def replace_from(bars: pd.DataFrame, position: int, seed: int) -> pd.DataFrame:
    """The bars up to `position`, then an unrelated random walk from the same price level."""
    tail = make_bars(len(bars) - position, seed=seed, start=float(bars["close"].iloc[position]))
    tail.index = bars.index[position:]
    return pd.concat([bars.iloc[:position], tail])


def test_later_bars_cannot_change_a_fold(goog: pd.DataFrame) -> None:
    folds, _, _ = walk_forward(goog, "sma_cross", SMA_GRID, folds=4, commission=0.002)
    k = 1
    # Replace everything after fold k's window with an unrelated walk at the same price level.
    changed = replace_from(goog, folds[k].test_stop, seed=7)
    other, _, _ = walk_forward(changed, "sma_cross", SMA_GRID, folds=4, commission=0.002)
    for j in range(k + 1):
        same_fold(other[j], folds[j])
    assert any(other[j].out_of_sample != folds[j].out_of_sample for j in range(k + 1, 4))

    # The choice for a fold reads only its in-sample bars: changing its test window changes
    # what the choice earned there, never the choice.
    changed = replace_from(goog, folds[k].test_start, seed=8)
    other, _, _ = walk_forward(changed, "sma_cross", SMA_GRID, folds=4, commission=0.002)
    assert other[k].params == folds[k].params
    assert other[k].in_sample_score == folds[k].in_sample_score
    assert other[k].out_of_sample != folds[k].out_of_sample


# --- a planted answer ---


def planted_bars(cycles: int = 60) -> pd.DataFrame:
    """Ten bars up then ten bars down, over and over: the bottom is at phase 19, the top at 9."""
    n = cycles * CYCLE
    steps = np.where(np.arange(n) % CYCLE < CYCLE // 2, 1.0, -1.0)
    close = 100.0 + np.cumsum(steps)
    open_ = np.concatenate(([100.0], close[:-1]))
    index = pd.date_range("2021-01-01", periods=n, freq="1D", tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.1,
            "low": np.minimum(open_, close) - 0.1,
            "close": close,
            "volume": 1000.0,
        },
        index=index,
    )


class Phase(Strategy):
    """Buy at the close of every bar at `phase` in the cycle, sell half a cycle later."""

    name = "phase"
    params: ClassVar[dict[str, Param]] = {"phase": Param(0, 0, CYCLE - 1)}

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        position = np.arange(len(frame)) % CYCLE
        signals = Signals(frame.index)
        signals.entry[position == self.values["phase"]] = 1
        signals.exit[position == (self.values["phase"] + CYCLE // 2) % CYCLE] = True
        return signals.frame()


@pytest.mark.parametrize("metric", ["total_return_pct", "sharpe", "expectancy_pct"])
def test_the_planted_best_phase_is_found(metric: str) -> None:
    bars = planted_bars()
    # The signal at the bottom (phase 19) fills at the next open, the bottom close.
    grid = {"phase": [3, 7, 11, 15, 19, 0]}
    result = optimize(bars, Phase, grid, metric=metric, folds=5, commission=0.001)
    assert result.strategy == "phase"
    assert result.best_params == {"phase": 19}
    assert [fold.params for fold in result.folds] == [{"phase": 19}] * 5
    assert result.oos_metrics.win_rate_pct == 100.0
    assert result.oos_metrics.final_equity > 10_000


@pytest.mark.parametrize("metric", ["total_return_pct", "sharpe"])
def test_the_planted_best_preset_parameter_is_found(metric: str) -> None:
    """On the saw-tooth, close against its 2-bar SMA flips on the first bar after each turn; every
    slower SMA lags the turns by more bars, and the 20-bar one (a full cycle) is flat and loses."""
    bars = planted_bars()
    grid = {"fast": [1], "slow": [20, 10, 5, 2]}
    result = optimize(bars, "sma_cross", grid, metric=metric, folds=3)
    assert result.best_params == {"fast": 1, "slow": 2}
    assert [fold.params for fold in result.folds] == [{"fast": 1, "slow": 2}] * 3
    returns = result.heatmap.loc[1] if metric == "total_return_pct" else result.grid["total_return_pct"]
    assert list(np.argsort(returns.to_numpy())) == [0, 1, 2, 3]


# --- bad input ---


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "nope"}, "unknown preset 'nope'; known presets"),
        ({"grid": {"speed": [1, 2]}}, "sma_cross has no parameter"),
        ({"grid": {"fast": []}}, "non-empty list"),
        ({"grid": {"fast": [5, 5]}}, "lists a value twice"),
        ({"grid": {}}, "no parameters"),
        ({"metric": "luck"}, "unknown metric 'luck'; known metrics: total_return_pct"),
        ({"folds": 0}, "at least 1"),
        ({"folds": 2000}, "too few"),
        ({"fixed": {"fast": 3}}, "both in the grid and fixed"),
        ({"close_at_end": False}, "unknown backtest setting"),
        ({"axes": ("fast", "atr_period")}, "heatmap axis 'atr_period'"),
        ({"grid": {"fast": [30, 40], "slow": [10]}}, "rejected every combination"),
    ],
)
def test_bad_input(goog: pd.DataFrame, kwargs: dict[str, Any], message: str) -> None:
    call: dict[str, Any] = {"strategy": "sma_cross", "grid": {"fast": [5, 10], "slow": [20]}, "folds": 2}
    call.update(kwargs)
    with pytest.raises(OptimizeError, match=message):
        optimize(goog, **call)
