"""GET /api/v1/instruments, …/bars and …/indicators: values, ranges, limits and errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib

from academy.trading.indicators import REGISTRY
from tests.fixtures.app import api_login, make_user
from tests.trading.chart.conftest import BARS, add_instrument, store_bars


@pytest.fixture
async def headers(client):
    user = await make_user()
    return await api_login(client, user.email)


def epoch(index: pd.DatetimeIndex) -> list[int]:
    return [int(t.timestamp()) for t in index]


def values(data: dict, output: str = "value") -> np.ndarray:
    return np.array([np.nan if v is None else v for v in data["values"][output]], dtype=float)


async def test_instruments_lists_active_ones_with_their_timeframes(client, headers, market):
    instrument, _ = market
    empty = await add_instrument("ACME", simulated=False, asset_class="stock")
    await add_instrument("OLD-SIM", active=False)
    r = await client.get("/api/v1/instruments", headers=headers)
    assert r.status_code == 200, r.text
    listed = {i["symbol"]: i for i in r.json()}
    assert set(listed) == {"BTCUSD-SIM", "ACME"}
    assert listed["BTCUSD-SIM"]["simulated"] is True and listed["BTCUSD-SIM"]["id"] == instrument.id
    assert listed["BTCUSD-SIM"]["timeframes"] == ["1h", "1d"]  # shortest first
    assert listed["ACME"] == {**listed["ACME"], "id": empty.id, "simulated": False, "timeframes": []}


async def test_bars_default_to_the_latest_500_ascending(client, headers, market):
    instrument, bars = market
    r = await client.get(
        f"/api/v1/instruments/{instrument.id}/bars", params={"timeframe": "1h"}, headers=headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["instrument_id"] == instrument.id and body["timeframe"] == "1h"
    got = body["bars"]
    assert len(got) == 500
    assert [b["time"] for b in got] == epoch(bars.index[-500:])
    last = bars.iloc[-1]
    assert got[-1] == {
        "time": int(bars.index[-1].timestamp()),
        "open": last["open"],
        "high": last["high"],
        "low": last["low"],
        "close": last["close"],
        "volume": last["volume"],
    }


async def test_bars_range_and_limit(client, headers, market):
    instrument, bars = market
    url = f"/api/v1/instruments/{instrument.id}/bars"
    start, end = bars.index[100], bars.index[200]
    r = await client.get(
        url, params={"timeframe": "1h", "start": start.isoformat(), "end": end.isoformat()}, headers=headers
    )
    assert [b["time"] for b in r.json()["bars"]] == epoch(bars.index[100:200])  # [start, end)
    r = await client.get(
        url, params={"timeframe": "1h", "end": end.isoformat(), "limit": 10}, headers=headers
    )
    assert [b["time"] for b in r.json()["bars"]] == epoch(bars.index[190:200])  # the latest 10 before end
    r = await client.get(url, params={"timeframe": "1h", "limit": 5000}, headers=headers)
    assert len(r.json()["bars"]) == BARS
    r = await client.get(url, params={"timeframe": "4h"}, headers=headers)
    assert r.status_code == 200 and r.json()["bars"] == []


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"timeframe": "2h"}, "Unknown timeframe"),
        ({"timeframe": "1h", "limit": 5001}, None),
        ({"timeframe": "1h", "limit": 0}, None),
        ({"timeframe": "1h", "start": "2024-01-02T00:00:00"}, "timezone-aware"),
        ({}, None),
    ],
)
async def test_bars_refuse_bad_input_with_422(client, headers, market, params, detail):
    instrument, _ = market
    r = await client.get(f"/api/v1/instruments/{instrument.id}/bars", params=params, headers=headers)
    assert r.status_code == 422, r.text
    if detail:
        assert detail in str(r.json()["detail"])


async def test_unknown_instrument_is_404_and_strangers_are_401(client, headers, market):
    instrument, _ = market
    r = await client.get("/api/v1/instruments/999999/bars", params={"timeframe": "1h"}, headers=headers)
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    r = await client.get(
        "/api/v1/instruments/999999/indicators", params={"timeframe": "1h", "name": "sma"}, headers=headers
    )
    assert r.status_code == 404
    for path in (
        "",
        f"/{instrument.id}/bars?timeframe=1h",
        f"/{instrument.id}/indicators?timeframe=1h&name=sma",
    ):
        r = await client.get("/api/v1/instruments" + path)
        assert r.status_code == 401, path


async def _indicator(client, headers, instrument_id: int, **params) -> dict:
    r = await client.get(
        f"/api/v1/instruments/{instrument_id}/indicators",
        params={"timeframe": "1h", **params},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_indicators_equal_talib_on_the_same_bars(client, headers, market):
    instrument, bars = market
    close, high, low = (bars[c].to_numpy() for c in ("close", "high", "low"))
    whole = {"limit": 5000}
    expected = {
        ("sma", "value"): ({"period": 20}, talib.SMA(close, 20)),
        ("ema", "value"): ({"period": 50}, talib.EMA(close, 50)),
        ("rsi", "value"): ({"period": 14}, talib.RSI(close, 14)),
        ("atr", "value"): ({}, talib.ATR(high, low, close, 14)),
    }
    for (name, output), (params, want) in expected.items():
        data = await _indicator(client, headers, instrument.id, name=name, **params, **whole)
        assert data["time"] == epoch(bars.index)
        np.testing.assert_allclose(values(data, output), want, rtol=0, atol=1e-9, err_msg=name)
    data = await _indicator(client, headers, instrument.id, name="macd", fast=8, slow=21, signal=5, **whole)
    assert data["params"] == {"fast": 8, "slow": 21, "signal": 5}
    for output, want in zip(("macd", "signal", "hist"), talib.MACD(close, 8, 21, 5), strict=True):
        np.testing.assert_allclose(values(data, output), want, rtol=0, atol=1e-9)
    data = await _indicator(client, headers, instrument.id, name="bbands", period=20, deviations=2.5, **whole)
    for output, want in zip(
        ("upper", "middle", "lower"), talib.BBANDS(close, 20, 2.5, 2.5, talib.MA_Type.SMA), strict=True
    ):
        np.testing.assert_allclose(values(data, output), want, rtol=0, atol=1e-9)


async def test_undefined_values_are_null_and_a_window_is_warmed_up_from_earlier_bars(client, headers, market):
    instrument, bars = market
    data = await _indicator(client, headers, instrument.id, name="sma", period=20, limit=5000)
    assert data["values"]["value"][:19] == [None] * 19 and data["values"]["value"][19] is not None
    assert data["warmup"] == 20
    # A window of the latest 100 bars: values from the first bar on, equal to TA-Lib's on the window
    # preceded by warm-up - 1 bars.
    data = await _indicator(client, headers, instrument.id, name="ema", period=30, limit=100)
    assert data["time"] == epoch(bars.index[-100:])
    pad = REGISTRY["ema"].warmup(30) - 1
    want = talib.EMA(bars["close"].to_numpy()[-(100 + pad) :], 30)[pad:]
    assert not any(v is None for v in data["values"]["value"])
    np.testing.assert_allclose(values(data), want, rtol=0, atol=1e-9)


async def test_indicators_with_no_bars_are_empty(client, headers, market):
    instrument, _ = market
    data = await _indicator(client, headers, instrument.id, name="rsi", timeframe="4h")
    assert data["time"] == [] and data["values"] == {"value": []}


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"name": "nope"}, "Unknown indicator 'nope'"),
        ({"name": "sma", "period": 0}, "sma period must be a whole number from 1 to 1000"),
        ({"name": "sma", "period": 2.5}, "whole number"),
        ({"name": "sma", "period": "abc"}, "must be a number"),
        ({"name": "sma", "lenght": 20}, "sma has no parameter lenght; it takes period"),
        ({"name": "obv", "period": 3}, "it takes no parameters"),
        ({"name": "bbands", "deviations": 0}, "deviations must be above 0"),
        ({"name": "rsi", "period": 1}, "rsi does not accept period=1"),
        ({"name": "sma", "timeframe": "7m"}, "Unknown timeframe"),
        ({"name": "sma", "limit": 6000}, None),
    ],
)
async def test_indicator_parameters_are_checked_against_the_registry(client, headers, market, params, detail):
    instrument, _ = market
    r = await client.get(
        f"/api/v1/instruments/{instrument.id}/indicators",
        params={"timeframe": "1h", **params},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    if detail:
        assert detail in str(r.json()["detail"]), r.json()


async def test_nan_never_reaches_json(client, headers, settings):
    instrument = await add_instrument("FLAT-SIM")
    bars = pd.DataFrame(
        {"open": 5.0, "high": 5.0, "low": 5.0, "close": 5.0, "volume": 0.0},
        index=pd.date_range("2024-01-01", periods=40, freq="1h", tz="UTC"),
    )
    await store_bars(instrument, bars)
    data = await _indicator(client, headers, instrument.id, name="rsi", period=14)
    assert all(v is None or math.isfinite(v) for v in data["values"]["value"])
