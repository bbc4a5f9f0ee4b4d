"""The LightGBM walk-forward strategy: no look-ahead, determinism, an honest out-of-sample report."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from academy.trading import indicators as ind
from academy.trading.strategy.base import SIGNAL_COLUMNS, StrategyError, run
from academy.trading.strategy.ml import FEATURE_WARMUP, FEATURES, ML_STRATEGIES, MLStrategy, Window
from tests.trading.conftest import assert_no_lookahead, make_bars

# Four windows on 1,200 bars: predictions start at 50 + 400 + 5 = 455, then 655, 855 and 1055.
SMALL: dict[str, Any] = {"train_bars": 400, "test_bars": 200, "horizon": 5, "n_estimators": 50}


def planted_bars(n: int = 1200, period: int = 40, amplitude: float = 0.05) -> pd.DataFrame:
    """A quiet random walk with a 40-bar price cycle on top: the next 5 bars' direction is in the phase."""
    frame = make_bars(n, seed=3, volatility=0.005)
    cycle = np.exp(amplitude * np.sin(2 * np.pi * np.arange(n) / period))
    prices = frame[["open", "high", "low", "close"]].mul(cycle, axis=0)
    prices["high"] = prices.max(axis=1)
    prices["low"] = prices.min(axis=1)
    return prices.assign(volume=frame["volume"])


def realised_up(frame: pd.DataFrame, horizon: int) -> pd.Series:
    close = frame["close"]
    return (close.shift(-horizon) > close).where(close.shift(-horizon).notna())


@pytest.mark.parametrize(
    "params",
    [SMALL, {**SMALL, "allow_short": 1, "threshold": 0.52, "stop_atr": 1.5, "target_atr": 0}],
    ids=["long-only", "with-shorts"],
)
def test_signals_never_look_ahead(params: dict[str, Any]) -> None:
    frame = make_bars(1200, seed=11)
    strategy = MLStrategy(**params)
    w = strategy.warmup
    starts = [window.test_start for window in strategy.windows(len(frame))]
    assert starts == [455, 655, 855, 1055]
    # Each window's first bars are where a missing purge gap would show: their training labels would
    # need closes the truncated history does not have yet.
    boundaries = [n for start in starts for n in (start, start + 1, start + 2, start + 5, start + 6)]
    inside = [560, 777, 1000, 1150, len(frame) - 1]
    assert_no_lookahead(strategy, frame, [1, w - 1, *boundaries, *inside])


class _AnchoredAtTheEnd(MLStrategy):
    """The classic mistake: windows counted back from the newest bar move when a bar arrives."""

    def windows(self, n_bars: int) -> list[Window]:
        train, test, horizon = self.values["train_bars"], self.values["test_bars"], self.values["horizon"]
        starts = range(n_bars - test, self.warmup - 1, -test)
        return [Window(s - horizon - train, s - horizon, s, min(s + test, n_bars)) for s in starts]


def test_the_guard_catches_windows_anchored_at_the_end() -> None:
    with pytest.raises(AssertionError, match="first 1100 bars"):
        assert_no_lookahead(_AnchoredAtTheEnd(**SMALL), make_bars(1200, seed=11), [1100])


@pytest.mark.parametrize("n_bars", [456, 700, 1055, 1056, 1200])
def test_windows_are_anchored_purged_and_contiguous(n_bars: int) -> None:
    strategy = MLStrategy(**SMALL)
    assert strategy.windows(strategy.warmup) == []
    windows = strategy.windows(n_bars)
    full = strategy.windows(1200)
    assert windows[:-1] == full[: len(windows) - 1]
    assert windows[-1].test_start == full[len(windows) - 1].test_start
    assert windows[0].test_start == strategy.warmup == FEATURE_WARMUP + 400 + 5
    assert windows[0].train_start == FEATURE_WARMUP
    for k, window in enumerate(windows):
        assert window.test_start == strategy.warmup + k * 200
        assert window.test_end == min(window.test_start + 200, n_bars)
        assert window.train_end - window.train_start == 400
        # The last training row's label reads the close `horizon` bars later: bar test_start - 1.
        assert window.train_end - 1 + 5 == window.test_start - 1
    assert [w.test_end for w in windows[:-1]] == [w.test_start for w in windows[1:]]
    assert windows[-1].test_end == n_bars


def test_same_input_same_signals() -> None:
    frame = make_bars(1200, seed=5)
    params = {**SMALL, "allow_short": 1}
    first = run(MLStrategy(**params), frame)
    strategy = MLStrategy(**params)
    second = run(strategy, frame)
    third = run(strategy, frame.copy())
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, third)


def test_report_is_out_of_sample_and_matches_the_confidences() -> None:
    frame = make_bars(1200, seed=7)
    strategy = MLStrategy(**SMALL, allow_short=1, threshold=0.52)
    signals = run(strategy, frame)
    report = strategy.last_report
    assert report is not None
    w, n, h = strategy.warmup, len(frame), 5

    confidence = signals["confidence"].to_numpy()
    entry = signals["entry"].to_numpy()
    assert (entry == -1).any() and (entry == 1).any()
    assert (confidence[:w] == 1.0).all()
    p_up = np.where(entry == -1, 1.0 - confidence, confidence)
    np.testing.assert_allclose(p_up[w:], report.probability.to_numpy()[w:])
    assert report.probability.iloc[:w].isna().all()

    scored = slice(w, n - h)
    actual = realised_up(frame, h).to_numpy()[scored].astype(bool)
    predicted_up = p_up[scored] > 0.5
    assert report.predictions == n - w
    assert report.scored == n - w - h
    assert report.correct == int((predicted_up == actual).sum())
    assert report.accuracy == pytest.approx((predicted_up == actual).mean())
    assert report.base_rate == pytest.approx(actual.mean())
    assert report.majority_rate == max(report.base_rate, 1 - report.base_rate)

    assert [wr.window.test_start for wr in report.windows] == [455, 655, 855, 1055]
    assert sum(wr.predictions for wr in report.windows) == report.predictions
    assert sum(wr.scored for wr in report.windows) == report.scored
    last = report.windows[-1]
    assert last.scored == last.predictions - h
    for wr in report.windows:
        bars = slice(wr.window.test_start, min(wr.window.test_end, n - h))
        hits = (p_up[bars] > 0.5) == realised_up(frame, h).to_numpy()[bars].astype(bool)
        assert wr.accuracy == pytest.approx(hits.mean())
        assert wr.trained_to == frame.index[wr.window.train_end - 1]


def test_a_planted_pattern_is_learned_and_noise_is_not() -> None:
    planted = MLStrategy(**SMALL).walk_forward_report(planted_bars())
    noise = MLStrategy(**SMALL).walk_forward_report(make_bars(1200, seed=1))
    assert planted.accuracy > planted.majority_rate + 0.2
    assert all(wr.accuracy > wr.base_rate for wr in planted.windows)
    # A leak would make pure noise look predictable.
    assert abs(noise.accuracy - 0.5) < 0.1


def test_entries_exits_and_reasons() -> None:
    frame = planted_bars()
    strategy = MLStrategy(**SMALL, threshold=0.6)
    signals = run(strategy, frame)
    report = strategy.last_report
    assert report is not None
    p = report.probability.to_numpy()
    previous = np.concatenate(([np.nan], p[:-1]))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(signals["entry"].to_numpy() == 1, (p >= 0.6) & ~(previous >= 0.6))
        np.testing.assert_array_equal(signals["exit"].to_numpy(), p < 0.5)
    assert not (signals["entry"] == -1).any()

    entries = np.flatnonzero(signals["entry"].to_numpy())
    assert len(entries) > 5
    atr = ind.atr(frame["high"].to_numpy(), frame["low"].to_numpy(), frame["close"].to_numpy(), 14)
    np.testing.assert_allclose(signals["stop"].to_numpy()[entries], 2 * atr[entries])
    np.testing.assert_allclose(signals["target"].to_numpy()[entries], 3 * atr[entries])
    assert (signals["reason"].to_numpy()[entries] != "").all()
    quiet = signals[signals["entry"] == 0]
    assert (quiet["reason"] == "").all()

    bar = int(entries[0])
    window = next(wr for wr in report.windows if wr.window.test_start <= bar < wr.window.test_end)
    stamp = window.trained_to.strftime("%Y-%m-%d")
    match = re.fullmatch(
        rf"model P\(up over 5 bars\) = ([\d.]+) ≥ 0\.60 \(trained on 400 bars to {stamp}\); "
        r"stop [\d.]+ away \(2 × ATR\(14\)\), target [\d.]+ away \(3 × ATR\(14\)\)",
        signals["reason"].iloc[bar],
    )
    assert match is not None
    assert float(match.group(1)) == pytest.approx(p[bar], abs=0.005)


def test_shorts_reverse_on_a_move_across_one_half() -> None:
    strategy = MLStrategy(**SMALL, allow_short=1)
    signals = run(strategy, planted_bars())
    assert strategy.last_report is not None
    p = strategy.last_report.probability.to_numpy()
    previous = np.concatenate(([np.nan], p[:-1]))
    shorts = signals["entry"].to_numpy() == -1
    assert shorts.any()
    assert (p[shorts] <= 0.45).all()
    np.testing.assert_allclose(signals["confidence"].to_numpy()[shorts], 1 - p[shorts])
    assert signals["reason"][shorts].str.contains(r"≤ 0\.45").all()
    with np.errstate(invalid="ignore"):
        crossed = ((p < 0.5) & (previous >= 0.5)) | ((p > 0.5) & (previous <= 0.5))
    np.testing.assert_array_equal(signals["exit"].to_numpy(), crossed)


def test_a_history_shorter_than_the_warmup_gets_no_signal() -> None:
    strategy = MLStrategy(**SMALL)
    signals = run(strategy, make_bars(strategy.warmup, seed=2))
    assert tuple(signals.columns) == SIGNAL_COLUMNS
    assert not signals["entry"].any() and not signals["exit"].any()
    report = strategy.last_report
    assert report is not None
    assert (report.predictions, report.scored, report.windows) == (0, 0, ())
    assert np.isnan(report.accuracy)


def test_a_window_with_only_up_moves_predicts_up() -> None:
    close = 100 * 1.01 ** np.arange(700)
    frame = make_bars(700, seed=2).assign(
        open=close / 1.005, high=close * 1.002, low=close / 1.007, close=close
    )
    strategy = MLStrategy(**SMALL)
    signals = run(strategy, frame)
    report = strategy.last_report
    assert report is not None
    assert report.base_rate == 1.0
    np.testing.assert_allclose(report.probability.iloc[strategy.warmup :], 401 / 402)
    assert signals["entry"].iloc[strategy.warmup] == 1
    assert signals["entry"].sum() == 1
    assert report.accuracy == 1.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"depth": 3}, "unknown parameter"),
        ({"threshold": 0.4}, "threshold must be at least 0.5"),
        ({"threshold": 1.0}, "threshold must be at most 0.99"),
        ({"train_bars": 10}, "train_bars must be at least 50"),
        ({"test_bars": 0}, "test_bars must be at least 1"),
        ({"test_bars": 2.5}, "test_bars must be a whole number"),
        ({"horizon": 0}, "horizon must be at least 1"),
        ({"train_bars": 100, "horizon": 60}, "at least twice the horizon"),
    ],
)
def test_bad_params_are_rejected(params: dict[str, Any], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        MLStrategy(**params)


def test_registry_and_features() -> None:
    assert {"ml_gbm": MLStrategy} == ML_STRATEGIES
    assert MLStrategy.name == "ml_gbm"
    assert len(FEATURES) == 13
    assert MLStrategy().warmup == FEATURE_WARMUP + 500 + 5
