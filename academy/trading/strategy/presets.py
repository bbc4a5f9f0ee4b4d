"""Ready-made strategies: moving-average cross, RSI reversion, Bollinger breakout, MACD trend.

Each decision at bar i reads indicator values at bars i and i-1 only, and TA-Lib computes those
from bars <= i, so a signal never depends on a later bar.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from academy.trading import indicators as ind
from academy.trading.strategy.base import Param, Signals, Strategy, StrategyError


# TA-Lib's leading-NaN counts; a warmup adds the one earlier bar that a cross compares against.
def _sma_lookback(period: int) -> int:
    return period - 1


def _rsi_lookback(period: int) -> int:
    return period


def _atr_lookback(period: int) -> int:
    return period


def _macd_lookback(slow: int, signal: int) -> int:
    return (slow - 1) + (signal - 1)


def crossed_above(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """True at bar i when a > b at i and a <= b at i-1 (False wherever a value is undefined)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    out = np.zeros(a.shape, dtype=bool)
    if len(a) > 1:
        with np.errstate(invalid="ignore"):
            out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def crossed_below(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """True at bar i when a < b at i and a >= b at i-1 (False wherever a value is undefined)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    out = np.zeros(a.shape, dtype=bool)
    if len(a) > 1:
        with np.errstate(invalid="ignore"):
            out[1:] = (a[1:] < b[1:]) & (a[:-1] >= b[:-1])
    return out


def fmt(x: float) -> str:
    """A number for a human: two decimals for prices, significant digits for tiny ones."""
    if not np.isfinite(x):
        return "n/a"
    if x == 0 or abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.4g}"


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        frame["high"].to_numpy(dtype=np.float64),
        frame["low"].to_numpy(dtype=np.float64),
        frame["close"].to_numpy(dtype=np.float64),
    )


_RISK_PARAMS: dict[str, Param] = {
    "stop_atr": Param(0.0, 0.0, 100.0, "stop distance in ATRs (0 = no stop)"),
    "target_atr": Param(0.0, 0.0, 100.0, "target distance in ATRs (0 = no target)"),
    "atr_period": Param(14, 1, 1000, "ATR period for the stop and target"),
}


class _Preset(Strategy):
    """Shared plumbing: ATR stop/target distances and the reason text on entry bars."""

    def _uses_atr(self) -> bool:
        return bool(self.values["stop_atr"] > 0 or self.values["target_atr"] > 0)

    def _risk_warmup(self) -> int:
        return _atr_lookback(self.values["atr_period"]) + 1 if self._uses_atr() else 0

    def _finish(self, frame: pd.DataFrame, signals: Signals, reasons: dict[int, str]) -> pd.DataFrame:
        signals.entry[: self.warmup] = 0
        signals.exit[: self.warmup] = False
        reasons = {bar: text for bar, text in reasons.items() if bar >= self.warmup}
        entries = np.flatnonzero(signals.entry)
        if self._uses_atr() and len(entries):
            high, low, close = _arrays(frame)
            period = self.values["atr_period"]
            atr = ind.atr(high, low, close, period)
            notes = []
            for key, column in (("stop_atr", signals.stop), ("target_atr", signals.target)):
                multiple = self.values[key]
                if multiple > 0:
                    column[entries] = multiple * atr[entries]
                    notes.append((key.split("_")[0], multiple, column))
            for bar in entries.tolist():
                extra = ", ".join(
                    f"{label} {fmt(column[bar])} away ({multiple:g} × ATR({period}))"
                    for label, multiple, column in notes
                )
                reasons[bar] = f"{reasons[bar]}; {extra}"
        for bar, text in reasons.items():
            signals.reason[bar] = text
        return signals.frame()


class SmaCross(_Preset):
    name: ClassVar[str] = "sma_cross"
    params: ClassVar[dict[str, Param]] = {
        "fast": Param(10, 1, 10_000, "fast SMA period"),
        "slow": Param(20, 2, 10_000, "slow SMA period"),
        "allow_short": Param(0, 0, 1, "1 to go short when the fast SMA crosses below the slow one"),
        **_RISK_PARAMS,
    }

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.values["fast"] >= self.values["slow"]:
            raise StrategyError(f"{self.name}: fast must be shorter than slow")

    @property
    def warmup(self) -> int:
        return max(_sma_lookback(self.values["slow"]) + 1, self._risk_warmup())

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        fast_n, slow_n = self.values["fast"], self.values["slow"]
        close = frame["close"].to_numpy(dtype=np.float64)
        fast, slow = ind.sma(close, fast_n), ind.sma(close, slow_n)
        up, down = crossed_above(fast, slow), crossed_below(fast, slow)
        signals = Signals(frame.index)
        signals.entry[up] = 1
        signals.exit[down] = True
        reasons: dict[int, str] = {}
        for i in np.flatnonzero(up):
            reasons[int(i)] = f"SMA({fast_n}) {fmt(fast[i])} crossed above SMA({slow_n}) {fmt(slow[i])}"
        if self.values["allow_short"]:
            # A reversal: the exit closes the open short before the new long opens, and vice versa.
            signals.exit[up] = True
            signals.entry[down] = -1
            for i in np.flatnonzero(down):
                reasons[int(i)] = f"SMA({fast_n}) {fmt(fast[i])} crossed below SMA({slow_n}) {fmt(slow[i])}"
        return self._finish(frame, signals, reasons)


class RsiReversion(_Preset):
    name: ClassVar[str] = "rsi_reversion"
    params: ClassVar[dict[str, Param]] = {
        "period": Param(14, 2, 1000, "RSI period"),
        "oversold": Param(30.0, 0.0, 100.0, "go long when RSI crosses up through this level"),
        "overbought": Param(70.0, 0.0, 100.0, "exit when RSI rises above this level"),
        "stop_atr": Param(2.0, 0.0, 100.0, "stop distance in ATRs (0 = no stop)"),
        "target_atr": Param(3.0, 0.0, 100.0, "target distance in ATRs (0 = no target)"),
        "atr_period": _RISK_PARAMS["atr_period"],
    }

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.values["oversold"] >= self.values["overbought"]:
            raise StrategyError(f"{self.name}: oversold must be below overbought")

    @property
    def warmup(self) -> int:
        return max(_rsi_lookback(self.values["period"]) + 1, self._risk_warmup())

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        period, oversold = self.values["period"], self.values["oversold"]
        close = frame["close"].to_numpy(dtype=np.float64)
        rsi = ind.rsi(close, period)
        up = crossed_above(rsi, oversold)
        signals = Signals(frame.index)
        signals.entry[up] = 1
        with np.errstate(invalid="ignore"):
            signals.exit[:] = rsi > self.values["overbought"]
        reasons = {
            int(i): f"RSI({period}) rose from {fmt(rsi[i - 1])} to {fmt(rsi[i])}, "
            f"back above the oversold level {oversold:g}"
            for i in np.flatnonzero(up)
        }
        return self._finish(frame, signals, reasons)


class BollingerBreakout(_Preset):
    name: ClassVar[str] = "bollinger_breakout"
    params: ClassVar[dict[str, Param]] = {
        "period": Param(20, 2, 10_000, "Bollinger middle band (SMA) period"),
        "deviations": Param(2.0, 0.1, 10.0, "band width in standard deviations"),
        **_RISK_PARAMS,
    }

    @property
    def warmup(self) -> int:
        return max(_sma_lookback(self.values["period"]) + 1, self._risk_warmup())

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        period, k = self.values["period"], self.values["deviations"]
        close = frame["close"].to_numpy(dtype=np.float64)
        upper, middle, _lower = ind.bbands(close, period, k)
        # Only the first close above the band enters; staying above it is not a new breakout.
        up = crossed_above(close, upper)
        signals = Signals(frame.index)
        signals.entry[up] = 1
        with np.errstate(invalid="ignore"):
            signals.exit[:] = close < middle
        reasons = {
            int(i): f"close {fmt(close[i])} broke above the upper Bollinger band {fmt(upper[i])} "
            f"(SMA({period}) {fmt(middle[i])} + {k:g} standard deviations)"
            for i in np.flatnonzero(up)
        }
        return self._finish(frame, signals, reasons)


class MacdTrend(_Preset):
    name: ClassVar[str] = "macd_trend"
    params: ClassVar[dict[str, Param]] = {
        "fast": Param(12, 1, 1000, "fast EMA period"),
        "slow": Param(26, 2, 1000, "slow EMA period"),
        "signal": Param(9, 1, 1000, "signal line EMA period"),
        "above_zero": Param(0, 0, 1, "1 to enter only while the MACD line is above zero"),
        **_RISK_PARAMS,
    }

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.values["fast"] >= self.values["slow"]:
            raise StrategyError(f"{self.name}: fast must be shorter than slow")

    @property
    def warmup(self) -> int:
        lookback = _macd_lookback(self.values["slow"], self.values["signal"])
        return max(lookback + 1, self._risk_warmup())

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        fast, slow, sig = self.values["fast"], self.values["slow"], self.values["signal"]
        close = frame["close"].to_numpy(dtype=np.float64)
        line, signal_line, _hist = ind.macd(close, fast, slow, sig)
        up = crossed_above(line, signal_line)
        if self.values["above_zero"]:
            with np.errstate(invalid="ignore"):
                up &= line > 0
        signals = Signals(frame.index)
        signals.entry[up] = 1
        signals.exit[crossed_below(line, signal_line)] = True
        reasons = {
            int(i): f"MACD({fast},{slow}) {fmt(line[i])} crossed above its signal line "
            f"EMA({sig}) {fmt(signal_line[i])}"
            for i in np.flatnonzero(up)
        }
        return self._finish(frame, signals, reasons)


PRESETS: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (SmaCross, RsiReversion, BollingerBreakout, MacdTrend)
}


def make(name: str, **params: Any) -> Strategy:
    """A preset by name, with parameters overriding its defaults."""
    try:
        cls = PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise StrategyError(f"unknown preset {name!r}; known presets: {known}") from None
    return cls(**params)
