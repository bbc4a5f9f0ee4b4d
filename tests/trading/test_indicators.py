"""Every indicator wrapper returns exactly what TA-Lib returns when called directly."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import talib

from academy.trading import indicators as ind
from tests.trading.conftest import goog_bars, make_bars

F = np.float64

# Written out against TA-Lib's own signatures so a wrapper that forwards a parameter to the wrong
# argument (or changes a moving-average type) cannot agree with its reference by construction.
REFERENCE: dict[str, Callable[..., object]] = {
    "sma": lambda f, period=20: talib.SMA(f["close"].to_numpy(F), period),
    "ema": lambda f, period=20: talib.EMA(f["close"].to_numpy(F), period),
    "rsi": lambda f, period=14: talib.RSI(f["close"].to_numpy(F), period),
    "macd": lambda f, fast=12, slow=26, signal=9: talib.MACD(f["close"].to_numpy(F), fast, slow, signal),
    "bbands": lambda f, period=20, deviations=2.0: talib.BBANDS(
        f["close"].to_numpy(F), period, deviations, deviations, talib.MA_Type.SMA
    ),
    "atr": lambda f, period=14: talib.ATR(*_hlc(f), period),
    "stoch": lambda f, k=14, smooth=3, d=3: talib.STOCH(
        *_hlc(f), k, smooth, talib.MA_Type.SMA, d, talib.MA_Type.SMA
    ),
    "adx": lambda f, period=14: talib.ADX(*_hlc(f), period),
    "obv": lambda f: talib.OBV(f["close"].to_numpy(F), f["volume"].to_numpy(F)),
    "roc": lambda f, period=10: talib.ROC(f["close"].to_numpy(F), period),
    "cci": lambda f, period=20: talib.CCI(*_hlc(f), period),
    "willr": lambda f, period=14: talib.WILLR(*_hlc(f), period),
}

NON_DEFAULT: dict[str, tuple[float, ...]] = {
    "sma": (7,),
    "ema": (9,),
    "rsi": (5,),
    "macd": (5, 35, 4),
    "bbands": (10, 1.5),
    "atr": (5,),
    "stoch": (9, 4, 2),
    "adx": (7,),
    "obv": (),
    "roc": (3,),
    "cci": (11,),
    "willr": (21,),
}

FRAMES = {"random_walk": lambda: make_bars(1500, seed=7), "goog": goog_bars}


def _hlc(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return frame["high"].to_numpy(F), frame["low"].to_numpy(F), frame["close"].to_numpy(F)


def _as_tuple(result: object) -> tuple[np.ndarray, ...]:
    if isinstance(result, (tuple, list)):
        return tuple(result)
    assert isinstance(result, np.ndarray)
    return (result,)


def _wrapper(name: str, frame: pd.DataFrame, *args: float) -> tuple[np.ndarray, ...]:
    info = ind.REGISTRY[name]
    inputs = [frame[c].to_numpy(F) for c in info.inputs]
    return _as_tuple(info.fn(*inputs, *args))


def test_every_registered_indicator_has_a_reference() -> None:
    assert set(REFERENCE) == set(ind.REGISTRY) == set(NON_DEFAULT)


def test_registry_points_at_the_module_functions() -> None:
    for name, info in ind.REGISTRY.items():
        assert info.fn is getattr(ind, name)
        assert len(info.params) == len(info.defaults)


@pytest.mark.parametrize("data", sorted(FRAMES))
@pytest.mark.parametrize("name", sorted(REFERENCE))
@pytest.mark.parametrize("params", ["defaults", "non_default"])
def test_wrapper_equals_talib(name: str, data: str, params: str) -> None:
    frame = FRAMES[data]()
    args = NON_DEFAULT[name] if params == "non_default" else ()
    got = _wrapper(name, frame, *args)
    want = _as_tuple(REFERENCE[name](frame, *args))
    info = ind.REGISTRY[name]
    assert len(got) == len(want) == len(info.outputs)
    for output, g, w in zip(info.outputs, got, want, strict=True):
        assert g.shape == (len(frame),), output
        assert np.isfinite(g).sum() > len(frame) // 2, output
        np.testing.assert_allclose(g, w, rtol=0, atol=0, equal_nan=True, err_msg=f"{name}.{output}")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_wrappers_accept_series_and_integer_input(name: str) -> None:
    frame = make_bars(300, seed=3)
    info = ind.REGISTRY[name]
    from_series = _as_tuple(info.fn(*[frame[c] for c in info.inputs]))
    from_arrays = _wrapper(name, frame)
    for a, b in zip(from_series, from_arrays, strict=True):
        np.testing.assert_array_equal(a, b)
    ints = frame.round().astype(np.int64)
    from_ints = _as_tuple(info.fn(*[ints[c].to_numpy() for c in info.inputs]))
    for a, b in zip(from_ints, _wrapper(name, ints.astype(F)), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_value_at_a_bar_ignores_later_bars(name: str) -> None:
    frame = make_bars(400, seed=11)
    full = _wrapper(name, frame)
    for n in (60, 61, 250):
        head = _wrapper(name, frame.iloc[:n])
        for a, b in zip(head, full, strict=True):
            np.testing.assert_array_equal(a, b[:n])


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_registry_warmup_covers_the_leading_nans(name: str) -> None:
    frame = make_bars(500, seed=5)
    info = ind.REGISTRY[name]
    for output in _wrapper(name, frame):
        assert np.isfinite(output[info.warmup() - 1 :]).all()


def test_sma_by_hand() -> None:
    close = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 10.0])
    np.testing.assert_allclose(ind.sma(close, 3), [np.nan, np.nan, 2.0, 3.0, 4.0, 19 / 3], equal_nan=True)
    np.testing.assert_allclose(ind.sma(close, 1), close)


def test_bbands_by_hand() -> None:
    # Population standard deviation of 1, 2, 3 is sqrt(2/3).
    upper, middle, lower = ind.bbands(np.array([1.0, 2.0, 3.0]), 3, 2.0)
    assert middle[2] == pytest.approx(2.0)
    assert upper[2] == pytest.approx(2.0 + 2 * np.sqrt(2 / 3))
    assert lower[2] == pytest.approx(2.0 - 2 * np.sqrt(2 / 3))


@pytest.mark.parametrize("data", sorted(FRAMES))
def test_rsi_stays_within_0_and_100(data: str) -> None:
    close = FRAMES[data]()["close"].to_numpy()
    for period in (2, 5, 14, 50):
        values = ind.rsi(close, period)
        defined = values[~np.isnan(values)]
        assert len(defined) == len(close) - period
        assert defined.min() >= 0.0
        assert defined.max() <= 100.0


def test_rsi_extremes_of_one_way_markets() -> None:
    rising = np.arange(1.0, 41.0)
    assert np.allclose(ind.rsi(rising, 14)[14:], 100.0)
    assert np.allclose(ind.rsi(rising[::-1], 14)[14:], 0.0)
