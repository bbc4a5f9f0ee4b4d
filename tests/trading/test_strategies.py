"""Presets: the look-ahead guard, the signals they produce, and how misuse is reported."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from academy.trading import indicators as ind
from academy.trading.strategy.base import SIGNAL_COLUMNS, Signals, Strategy, StrategyError, run
from academy.trading.strategy.presets import PRESETS, crossed_above, crossed_below, make
from tests.trading.conftest import assert_no_lookahead, goog_bars, make_bars

# Non-default settings that switch on every optional branch (shorts, ATR stops, the zero filter).
VARIANTS: dict[str, dict[str, Any]] = {
    "sma_cross": {"fast": 5, "slow": 30, "allow_short": 1, "stop_atr": 1.5, "target_atr": 4},
    "rsi_reversion": {"period": 7, "oversold": 25, "overbought": 65, "atr_period": 30},
    "bollinger_breakout": {"period": 15, "deviations": 1.5, "stop_atr": 2, "atr_period": 40},
    "macd_trend": {"fast": 8, "slow": 21, "signal": 5, "above_zero": 1, "target_atr": 2},
}
CASES: list[tuple[str, dict[str, Any]]] = [
    *((name, {}) for name in sorted(PRESETS)),
    *((name, VARIANTS[name]) for name in sorted(PRESETS)),
]
CASE_IDS = [f"{name}-{'variant' if params else 'defaults'}" for name, params in CASES]


def test_every_preset_has_a_variant() -> None:
    assert set(VARIANTS) == set(PRESETS)


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("data", ["random_walk", "goog"])
def test_signals_never_look_ahead(name: str, params: dict[str, Any], data: str) -> None:
    frame = make_bars(600, seed=42) if data == "random_walk" else goog_bars()
    strategy = make(name, **params)
    w = strategy.warmup
    assert_no_lookahead(strategy, frame, [1, 2, w - 1, w, w + 1, w + 2, w + 5, 150, 377, len(frame) - 1])


class _PeeksAtTomorrow(Strategy):
    name = "peeks"

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        signals = Signals(frame.index)
        signals.entry[:] = (frame["close"].shift(-1) > frame["close"]).to_numpy()
        return signals.frame()


def test_the_guard_catches_a_peek_at_the_next_bar() -> None:
    with pytest.raises(AssertionError, match="first 50 bars"):
        assert_no_lookahead(_PeeksAtTomorrow(), make_bars(200), [50])


@pytest.mark.parametrize(("name", "params"), CASES, ids=CASE_IDS)
def test_signal_frame_shape(name: str, params: dict[str, Any]) -> None:
    frame = goog_bars()
    strategy = make(name, **params)
    signals = run(strategy, frame)
    assert tuple(signals.columns) == SIGNAL_COLUMNS
    assert signals.index.equals(frame.index)
    assert set(np.unique(signals["entry"])) <= {-1, 0, 1}
    assert not signals["entry"].iloc[: strategy.warmup].any()
    assert not signals["exit"].iloc[: strategy.warmup].any()
    assert (signals["confidence"] == 1.0).all()

    entries = signals[signals["entry"] != 0]
    quiet = signals[signals["entry"] == 0]
    assert (entries["reason"].str.len() > 0).all()
    assert (quiet["reason"] == "").all()
    assert quiet[["stop", "target"]].isna().all().all()
    for column in ("stop", "target"):
        multiple = strategy.values[f"{column}_atr"]
        if multiple > 0:
            assert (entries[column] > 0).all()
            assert entries["reason"].str.contains(f"{column} ").all()
        else:
            assert entries[column].isna().all()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_enters_on_goog(name: str) -> None:
    signals = run(make(name), goog_bars())
    assert (signals["entry"] == 1).sum() >= 1
    assert signals["exit"].sum() >= 1


def test_sma_cross_matches_pandas_rolling_means() -> None:
    frame = make_bars(800, seed=9)
    signals = run(make("sma_cross", fast=10, slow=20), frame)
    fast = frame["close"].rolling(10).mean()
    slow = frame["close"].rolling(20).mean()
    above = fast > slow
    # Rolling sums differ from TA-Lib's in the last bits, so only clear crossings are compared.
    clear = (fast - slow).abs() > 1e-9 * frame["close"]
    clear = clear & clear.shift(1, fill_value=False)
    up = above & ~above.shift(1, fill_value=True) & clear
    down = ~above & above.shift(1, fill_value=False) & clear
    assert up.sum() > 5
    assert ((signals["entry"] == 1) == up)[clear].all()
    assert (signals["exit"] == down)[clear].all()
    assert not (signals["entry"] == -1).any()

    bar = signals.index[signals["entry"] == 1][0]
    assert signals.at[bar, "reason"] == (f"SMA(10) {fast[bar]:.2f} crossed above SMA(20) {slow[bar]:.2f}")


def test_sma_cross_with_shorts_reverses_on_every_cross() -> None:
    frame = goog_bars()
    long_only = run(make("sma_cross"), frame)
    both = run(make("sma_cross", allow_short=1), frame)
    crosses_down = long_only["exit"]
    assert (both["entry"] == -1).equals(crosses_down)
    assert (both["entry"] == 1).equals(long_only["entry"] == 1)
    assert both["exit"].equals(both["entry"] != 0)
    assert both.loc[both["entry"] == -1, "reason"].str.contains("crossed below").all()


def test_rsi_reversion_rules() -> None:
    frame = goog_bars()
    signals = run(make("rsi_reversion", oversold=35, overbought=60), frame)
    rsi = ind.rsi(frame["close"].to_numpy(), 14)
    entries = np.flatnonzero(signals["entry"].to_numpy() == 1)
    assert len(entries) > 0
    assert (rsi[entries] > 35).all()
    assert (rsi[entries - 1] <= 35).all()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(signals["exit"].to_numpy()[15:], (rsi > 60)[15:])
    atr = ind.atr(frame["high"].to_numpy(), frame["low"].to_numpy(), frame["close"].to_numpy(), 14)
    np.testing.assert_allclose(signals["stop"].to_numpy()[entries], 2 * atr[entries])
    np.testing.assert_allclose(signals["target"].to_numpy()[entries], 3 * atr[entries])
    first = entries[0]
    assert signals["reason"].iloc[first] == (
        f"RSI(14) rose from {rsi[first - 1]:.2f} to {rsi[first]:.2f}, back above the oversold level 35; "
        f"stop {2 * atr[first]:.2f} away (2 × ATR(14)), target {3 * atr[first]:.2f} away (3 × ATR(14))"
    )


def test_bollinger_breakout_rules() -> None:
    frame = make_bars(1000, seed=4)
    signals = run(make("bollinger_breakout"), frame)
    close = frame["close"].to_numpy()
    upper, middle, _ = ind.bbands(close, 20, 2.0)
    entries = np.flatnonzero(signals["entry"].to_numpy() == 1)
    assert len(entries) > 0
    assert (close[entries] > upper[entries]).all()
    assert (close[entries - 1] <= upper[entries - 1]).all()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(signals["exit"].to_numpy()[20:], (close < middle)[20:])
    assert re.fullmatch(
        r"close [\d.]+ broke above the upper Bollinger band [\d.]+ "
        r"\(SMA\(20\) [\d.]+ \+ 2 standard deviations\)",
        signals["reason"].iloc[entries[0]],
    )


def test_macd_trend_zero_filter() -> None:
    frame = goog_bars()
    close = frame["close"].to_numpy()
    line, signal_line, _ = ind.macd(close)
    anywhere = run(make("macd_trend"), frame)
    above = run(make("macd_trend", above_zero=1), frame)
    crosses = crossed_above(line, signal_line)
    crosses[:34] = False
    np.testing.assert_array_equal(anywhere["entry"].to_numpy() == 1, crosses)
    np.testing.assert_array_equal(above["entry"].to_numpy() == 1, crosses & (line > 0))
    assert 0 < (above["entry"] == 1).sum() < (anywhere["entry"] == 1).sum()
    np.testing.assert_array_equal(anywhere["exit"].to_numpy(), crossed_below(line, signal_line))


def test_crosses_by_hand() -> None:
    a = np.array([np.nan, 1.0, 2.0, 2.0, 3.0, 1.0, 2.0])
    b = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    assert crossed_above(a, b).tolist() == [False, False, False, False, True, False, False]
    assert crossed_below(a, b).tolist() == [False, False, False, False, False, True, False]
    assert crossed_above(a, 1.5).tolist() == [False, False, True, False, False, False, True]
    assert crossed_above(np.array([]), 1.0).tolist() == []


def test_make_overrides_defaults() -> None:
    strategy = make("sma_cross", fast=3, slow=7)
    assert isinstance(strategy, Strategy)
    assert strategy.values["fast"] == 3
    assert strategy.values["slow"] == 7
    assert strategy.warmup == 7
    assert strategy.describe().startswith("sma_cross(fast=3, slow=7")


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(StrategyError) as caught:
        make("golden_goose")
    message = str(caught.value)
    assert "golden_goose" in message
    for name in PRESETS:
        assert name in message


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("sma_cross", {"speed": 3}, "unknown parameter(s) speed"),
        ("sma_cross", {"fast": 2.5}, "fast must be a whole number"),
        ("sma_cross", {"fast": 0}, "fast must be at least 1"),
        ("sma_cross", {"fast": 30, "slow": 20}, "fast must be shorter than slow"),
        ("sma_cross", {"allow_short": 2}, "allow_short must be at most 1"),
        ("rsi_reversion", {"oversold": 70, "overbought": 30}, "oversold must be below overbought"),
        ("rsi_reversion", {"overbought": 120}, "overbought must be at most 100"),
        ("bollinger_breakout", {"stop_atr": -1}, "stop_atr must be at least 0"),
        ("macd_trend", {"fast": 26, "slow": 12}, "fast must be shorter than slow"),
        ("macd_trend", {"signal": 0}, "signal must be at least 1"),
    ],
)
def test_bad_params_are_explained(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(StrategyError, match=re.escape(f"{name}: {message}")):
        make(name, **params)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_run_rejects_missing_columns(name: str) -> None:
    frame = make_bars(100).drop(columns=["high", "volume"])
    with pytest.raises(StrategyError, match="no high, volume column"):
        run(make(name), frame)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_run_rejects_unsorted_bars(name: str) -> None:
    frame = make_bars(100).iloc[::-1]
    with pytest.raises(StrategyError, match="ascending time order"):
        run(make(name), frame)
    shuffled = make_bars(100).sample(frac=1.0, random_state=1)
    with pytest.raises(StrategyError, match="ascending time order"):
        run(make(name), shuffled)
