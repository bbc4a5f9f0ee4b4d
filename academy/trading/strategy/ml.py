"""A machine-learning strategy: gradient boosting (LightGBM) on indicator features, walk-forward.

The model answers one question per bar: will the close `horizon` bars from now be above this
close? Its probability becomes the signal's confidence.

Walk-forward windows are anchored to absolute bar positions counted from the first bar, so the
same bar always falls in the same window, with the same model, however much later history the
frame holds. Window k predicts bars [P_k, P_k + test_bars) with P_k = warmup + k * test_bars and
is trained on the `train_bars` rows that end `horizon` bars before P_k: the label of row r reads
the close of bar r + horizon, so the last training label is realised at bar P_k - 1, before the
first bar the model predicts. Features at bar i read bars <= i only (TA-Lib), so the signal for
bar i is the same on bars[:i + 1] as on the full history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from academy.trading import indicators as ind
from academy.trading.strategy.base import Param, Signals, Strategy, StrategyError, run
from academy.trading.strategy.presets import _RISK_PARAMS, _Preset

RETURN_HORIZONS = (1, 3, 5, 10, 20)
FEATURES: tuple[str, ...] = (
    *(f"return_{n}" for n in RETURN_HORIZONS),
    "rsi_14",
    "macd_hist",
    "bollinger_pct_b",
    "bollinger_width",
    "atr_14",
    "close_vs_sma_20",
    "sma_10_vs_sma_50",
    "volume_z_20",
)
_INDICATORS_USED: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("roc", (max(RETURN_HORIZONS),)),
    ("rsi", (14,)),
    ("macd", (12, 26, 9)),
    ("bbands", (20, 2.0)),
    ("atr", (14,)),
    ("sma", (50,)),
)
FEATURE_WARMUP = max(ind.REGISTRY[name].warmup(*args) for name, args in _INDICATORS_USED)
SEED = 0


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs, one row per bar; row i reads bars <= i only (NaN before FEATURE_WARMUP).

    Prices enter as ratios, so a model trained on one price level applies at another.
    """
    close = frame["close"].to_numpy(dtype=np.float64)
    high = frame["high"].to_numpy(dtype=np.float64)
    low = frame["low"].to_numpy(dtype=np.float64)
    volume = np.log1p(frame["volume"].to_numpy(dtype=np.float64))
    upper, middle, lower = ind.bbands(close, 20, 2.0)
    _, _, hist = ind.macd(close, 12, 26, 9)
    volume_upper, volume_mean, _ = ind.bbands(volume, 20, 1.0)
    columns: dict[str, np.ndarray] = {f"return_{n}": ind.roc(close, n) / 100.0 for n in RETURN_HORIZONS}
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["rsi_14"] = ind.rsi(close, 14) / 100.0
        columns["macd_hist"] = hist / close
        columns["bollinger_pct_b"] = (close - lower) / (upper - lower)
        columns["bollinger_width"] = (upper - lower) / middle
        columns["atr_14"] = ind.atr(high, low, close, 14) / close
        columns["close_vs_sma_20"] = close / ind.sma(close, 20) - 1.0
        columns["sma_10_vs_sma_50"] = ind.sma(close, 10) / ind.sma(close, 50) - 1.0
        columns["volume_z_20"] = (volume - volume_mean) / (volume_upper - volume_mean)
    result = pd.DataFrame({name: columns[name] for name in FEATURES}, index=frame.index)
    # A flat stretch (zero band width, constant volume) divides by zero; LightGBM treats NaN as missing.
    return result.replace([np.inf, -np.inf], np.nan)


def up_labels(close: np.ndarray, horizon: int) -> np.ndarray:
    """1.0 where the close `horizon` bars later is above this close, 0.0 where not, NaN where unknown."""
    labels = np.full(len(close), np.nan)
    if len(close) > horizon:
        labels[:-horizon] = (close[horizon:] > close[:-horizon]).astype(np.float64)
    return labels


@dataclass(frozen=True)
class Window:
    """One walk-forward step: train on rows [train_start, train_end), predict [test_start, test_end)."""

    train_start: int
    train_end: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class WindowReport:
    window: Window
    trained_to: Any  # open time of the last training row
    predictions: int
    scored: int  # predictions whose outcome is already known (at least `horizon` bars old)
    accuracy: float  # NaN when nothing is scored yet
    base_rate: float  # share of up moves among the scored bars


@dataclass(frozen=True, eq=False)
class WalkForwardReport:
    """Out-of-sample results: every number here comes from bars the model had not seen."""

    horizon: int
    predictions: int
    scored: int
    correct: int
    accuracy: float
    base_rate: float
    windows: tuple[WindowReport, ...]
    probability: pd.Series  # P(up) per bar; NaN where no model made a prediction

    @property
    def majority_rate(self) -> float:
        """Accuracy of always guessing the more common outcome: the bar a model has to clear."""
        return max(self.base_rate, 1.0 - self.base_rate)


def _accuracy(predicted_up: np.ndarray, labels: np.ndarray) -> tuple[int, int, float, float]:
    """(scored, correct, accuracy, base rate) over the bars whose label is known."""
    known = ~np.isnan(labels)
    scored = int(known.sum())
    if not scored:
        return 0, 0, float("nan"), float("nan")
    actual = labels[known] == 1.0
    correct = int((predicted_up[known] == actual).sum())
    return scored, correct, correct / scored, float(actual.mean())


def _stamp(moment: Any) -> str:
    if isinstance(moment, pd.Timestamp):
        return moment.strftime("%Y-%m-%d" if moment == moment.normalize() else "%Y-%m-%d %H:%M")
    return str(moment)


class MLStrategy(_Preset):
    name: ClassVar[str] = "ml_gbm"
    params: ClassVar[dict[str, Param]] = {
        "train_bars": Param(500, 50, 100_000, "bars in each training window"),
        "test_bars": Param(100, 1, 100_000, "bars each trained model predicts before retraining"),
        "horizon": Param(5, 1, 1000, "bars ahead the model predicts the direction of"),
        "threshold": Param(0.55, 0.5, 0.99, "P(up) needed for a long entry (1 - threshold for a short)"),
        "allow_short": Param(0, 0, 1, "1 to go short when P(up) falls to 1 - threshold"),
        "n_estimators": Param(100, 1, 5000, "boosting rounds"),
        "learning_rate": Param(0.05, 0.001, 1.0, "boosting learning rate"),
        "num_leaves": Param(15, 2, 1024, "leaves per tree"),
        "min_child_samples": Param(20, 1, 10_000, "fewest training rows in a leaf"),
        "stop_atr": Param(2.0, 0.0, 100.0, "stop distance in ATRs (0 = no stop)"),
        "target_atr": Param(3.0, 0.0, 100.0, "target distance in ATRs (0 = no target)"),
        "atr_period": _RISK_PARAMS["atr_period"],
    }

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.values["horizon"] * 2 > self.values["train_bars"]:
            raise StrategyError(f"{self.name}: train_bars must be at least twice the horizon")
        self.last_report: WalkForwardReport | None = None

    @property
    def warmup(self) -> int:
        """The first predicted bar: features defined, one full training window, and the purge gap."""
        return max(FEATURE_WARMUP + self.values["train_bars"] + self.values["horizon"], self._risk_warmup())

    def windows(self, n_bars: int) -> list[Window]:
        """The walk-forward steps that predict bars of an n-bar history, counted from bar 0."""
        train, test, horizon = self.values["train_bars"], self.values["test_bars"], self.values["horizon"]
        return [
            Window(start - horizon - train, start - horizon, start, min(start + test, n_bars))
            for start in range(self.warmup, n_bars, test)
        ]

    def _params(self) -> dict[str, Any]:
        # LightGBM's own training API: the scikit-learn wrapper would pull in scikit-learn and SciPy.
        return {
            "objective": "binary",
            "learning_rate": self.values["learning_rate"],
            "num_leaves": self.values["num_leaves"],
            "min_child_samples": self.values["min_child_samples"],
            "seed": SEED,
            "num_threads": 1,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def _predict(self, x: np.ndarray, labels: np.ndarray, window: Window) -> np.ndarray:
        train_x = x[window.train_start : window.train_end]
        train_y = labels[window.train_start : window.train_end].astype(np.int64)
        test_x = x[window.test_start : window.test_end]
        if train_y.min() == train_y.max():
            # LightGBM fitted on one class returns that class as column 0 and junk as column 1;
            # the smoothed share of ups is all a model could learn from such a window anyway.
            return np.full(len(test_x), (train_y.sum() + 1.0) / (len(train_y) + 2.0))
        booster = lgb.train(
            self._params(), lgb.Dataset(train_x, label=train_y), num_boost_round=self.values["n_estimators"]
        )
        return np.asarray(booster.predict(test_x), dtype=np.float64)

    def walk_forward_report(self, frame: pd.DataFrame) -> WalkForwardReport:
        run(self, frame)
        assert self.last_report is not None
        return self.last_report

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        horizon = self.values["horizon"]
        close = frame["close"].to_numpy(dtype=np.float64)
        x = feature_frame(frame).to_numpy()
        labels = up_labels(close, horizon)
        probability = np.full(len(frame), np.nan)
        window_reports = []
        for window in self.windows(len(frame)):
            p = self._predict(x, labels, window)
            probability[window.test_start : window.test_end] = p
            window_labels = labels[window.test_start : window.test_end]
            scored, _, accuracy, base_rate = _accuracy(p > 0.5, window_labels)
            window_reports.append(
                WindowReport(window, frame.index[window.train_end - 1], len(p), scored, accuracy, base_rate)
            )

        predicted = ~np.isnan(probability)
        scored, correct, accuracy, base_rate = _accuracy(probability[predicted] > 0.5, labels[predicted])
        self.last_report = WalkForwardReport(
            horizon=horizon,
            predictions=int(predicted.sum()),
            scored=scored,
            correct=correct,
            accuracy=accuracy,
            base_rate=base_rate,
            windows=tuple(window_reports),
            probability=pd.Series(probability, index=frame.index, name="p_up"),
        )
        return self._signals(frame, probability, window_reports)

    def _signals(
        self, frame: pd.DataFrame, probability: np.ndarray, window_reports: list[WindowReport]
    ) -> pd.DataFrame:
        horizon, threshold = self.values["horizon"], self.values["threshold"]
        previous = np.concatenate(([np.nan], probability[:-1]))
        with np.errstate(invalid="ignore"):
            # Enter when the probability moves into the zone, not on every bar it stays there, so a
            # channel publishes one signal per view; a repeated entry would be ignored by the engine anyway.
            long_zone = probability >= threshold
            long_entry = long_zone & ~(previous >= threshold)
            short_zone = probability <= 1.0 - threshold
            short_entry = short_zone & ~(previous <= 1.0 - threshold)
            below, above = probability < 0.5, probability > 0.5
        signals = Signals(frame.index)
        signals.confidence[:] = probability
        signals.entry[long_entry] = 1
        if self.values["allow_short"]:
            signals.entry[short_entry] = -1
            signals.confidence[short_entry] = 1.0 - probability[short_entry]
            # `exit` closes whichever side is open, so only a move across 0.5 may raise it.
            signals.exit[:] = (below & (previous >= 0.5)) | (above & (previous <= 0.5))
        else:
            signals.exit[:] = below

        trained_to = np.full(len(frame), "", dtype=object)
        for report in window_reports:
            trained_to[report.window.test_start : report.window.test_end] = _stamp(report.trained_to)
        train = self.values["train_bars"]
        reasons: dict[int, str] = {}
        for bar in np.flatnonzero(signals.entry).tolist():
            sign, level = ("≥", threshold) if signals.entry[bar] == 1 else ("≤", 1.0 - threshold)
            reasons[bar] = (
                f"model P(up over {horizon} bars) = {probability[bar]:.2f} {sign} {level:.2f} "
                f"(trained on {train} bars to {trained_to[bar]})"
            )
        return self._finish(frame, signals, reasons)


ML_STRATEGIES: dict[str, type[Strategy]] = {MLStrategy.name: MLStrategy}
