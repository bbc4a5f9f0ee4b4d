"""Technical indicators over numpy arrays, computed by TA-Lib (the reference implementation).

Every function takes float arrays (oldest first) and returns arrays of the same length, NaN where
the indicator is not yet defined. They are pure: the value at bar i depends on bars <= i only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import talib

Array = np.ndarray


def _f(values: Array) -> Array:
    return np.ascontiguousarray(values, dtype=np.float64)


def sma(close: Array, period: int = 20) -> Array:
    return talib.SMA(_f(close), timeperiod=period)


def ema(close: Array, period: int = 20) -> Array:
    return talib.EMA(_f(close), timeperiod=period)


def rsi(close: Array, period: int = 14) -> Array:
    return talib.RSI(_f(close), timeperiod=period)


def macd(close: Array, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Array, Array, Array]:
    """(macd line, signal line, histogram)."""
    line, sig, hist = talib.MACD(_f(close), fastperiod=fast, slowperiod=slow, signalperiod=signal)
    return line, sig, hist


def bbands(close: Array, period: int = 20, deviations: float = 2.0) -> tuple[Array, Array, Array]:
    """(upper, middle, lower) Bollinger Bands: SMA ± k population standard deviations."""
    upper, middle, lower = talib.BBANDS(
        _f(close), timeperiod=period, nbdevup=deviations, nbdevdn=deviations, matype=talib.MA_Type.SMA
    )
    return upper, middle, lower


def atr(high: Array, low: Array, close: Array, period: int = 14) -> Array:
    return talib.ATR(_f(high), _f(low), _f(close), timeperiod=period)


def stoch(
    high: Array, low: Array, close: Array, k: int = 14, smooth: int = 3, d: int = 3
) -> tuple[Array, Array]:
    """(%K slow, %D) stochastic oscillator."""
    slowk, slowd = talib.STOCH(
        _f(high),
        _f(low),
        _f(close),
        fastk_period=k,
        slowk_period=smooth,
        slowk_matype=talib.MA_Type.SMA,
        slowd_period=d,
        slowd_matype=talib.MA_Type.SMA,
    )
    return slowk, slowd


def adx(high: Array, low: Array, close: Array, period: int = 14) -> Array:
    return talib.ADX(_f(high), _f(low), _f(close), timeperiod=period)


def obv(close: Array, volume: Array) -> Array:
    return talib.OBV(_f(close), _f(volume))


def roc(close: Array, period: int = 10) -> Array:
    return talib.ROC(_f(close), timeperiod=period)


def cci(high: Array, low: Array, close: Array, period: int = 20) -> Array:
    return talib.CCI(_f(high), _f(low), _f(close), timeperiod=period)


def willr(high: Array, low: Array, close: Array, period: int = 14) -> Array:
    return talib.WILLR(_f(high), _f(low), _f(close), timeperiod=period)


@dataclass(frozen=True)
class IndicatorInfo:
    """What the rule language and the chart page need to know about an indicator."""

    name: str
    inputs: tuple[str, ...]  # columns of the bar frame it reads
    params: tuple[str, ...]  # positional parameters, in order
    defaults: tuple[float, ...]
    outputs: tuple[str, ...]  # names of the returned series ("value" for a single one)
    fn: Callable[..., Array | tuple[Array, ...]]

    def warmup(self, *args: float) -> int:
        """Bars before the first defined value, plus one: measured, not guessed (ADX(14), for one,
        needs 2 x 14 - 1 bars, not 14)."""
        values = tuple(float(v) for v in args) + tuple(float(v) for v in self.defaults[len(args) :])
        return _leading_undefined(self.name, values) + 1


@lru_cache(maxsize=512)
def _leading_undefined(name: str, params: tuple[float, ...]) -> int:
    info = REGISTRY[name]
    length = int(sum(params)) * 4 + 64
    rng = np.random.default_rng(0)
    close = 100 + np.cumsum(rng.normal(0, 1, length))
    columns = {
        "open": close,
        "high": close + 1.0,
        "low": close - 1.0,
        "close": close,
        "volume": np.full(length, 1000.0),
    }
    args = [
        int(p) if float(p).is_integer() and i < len(info.params) and info.params[i] != "deviations" else p
        for i, p in enumerate(params)
    ]
    out = info.fn(*(columns[c] for c in info.inputs), *args)
    outputs = out if isinstance(out, tuple) else (out,)
    return max(int(np.argmax(~np.isnan(o))) if (~np.isnan(o)).any() else length for o in outputs)


REGISTRY: dict[str, IndicatorInfo] = {
    info.name: info
    for info in (
        IndicatorInfo("sma", ("close",), ("period",), (20,), ("value",), sma),
        IndicatorInfo("ema", ("close",), ("period",), (20,), ("value",), ema),
        IndicatorInfo("rsi", ("close",), ("period",), (14,), ("value",), rsi),
        IndicatorInfo(
            "macd", ("close",), ("fast", "slow", "signal"), (12, 26, 9), ("macd", "signal", "hist"), macd
        ),
        IndicatorInfo(
            "bbands", ("close",), ("period", "deviations"), (20, 2.0), ("upper", "middle", "lower"), bbands
        ),
        IndicatorInfo("atr", ("high", "low", "close"), ("period",), (14,), ("value",), atr),
        IndicatorInfo("stoch", ("high", "low", "close"), ("k", "smooth", "d"), (14, 3, 3), ("k", "d"), stoch),
        IndicatorInfo("adx", ("high", "low", "close"), ("period",), (14,), ("value",), adx),
        IndicatorInfo("obv", ("close", "volume"), (), (), ("value",), obv),
        IndicatorInfo("roc", ("close",), ("period",), (10,), ("value",), roc),
        IndicatorInfo("cci", ("high", "low", "close"), ("period",), (20,), ("value",), cci),
        IndicatorInfo("willr", ("high", "low", "close"), ("period",), (14,), ("value",), willr),
    )
}
