"""The chart page: pickers, the simulated label, the empty state, its JSON routes and its address."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from academy.web.lab.charts import parse_indicators
from tests.fixtures.app import make_user, page_login
from tests.trading.chart.conftest import add_instrument


@pytest.fixture
async def viewer(client):
    user = await make_user()
    await page_login(client, user.email)
    return client


def config(html: str) -> dict:
    match = re.search(r'data-config="([^"]+)"', html)
    assert match, "the chart has no configuration"
    return json.loads(unescape(match.group(1)))


async def test_chart_page_shows_the_instrument_with_its_simulated_label(viewer, market):
    instrument, _ = market
    real = await add_instrument("ACME", simulated=False, asset_class="stock")
    r = await viewer.get(f"/lab/chart/{instrument.id}?tf=1h&ind=sma:20,ema:50,bbands:20,rsi:14,macd,vol")
    assert r.status_code == 200, r.text
    html = r.text
    assert 'data-testid="nfa-notice"' in html
    title = html[html.index('data-testid="chart-title"') :].split("</h2>")[0]
    assert "BTCUSD-SIM" in title and ">simulated</span>" in title
    assert f'<option value="{instrument.id}" selected>BTCUSD-SIM · SIM (simulated)</option>' in html
    assert f'<option value="{real.id}" >ACME · TESTX</option>' in html
    assert '<optgroup label="Simulated">' in html and '<optgroup label="Stocks">' in html
    assert '<option value="1h" selected>1h</option>' in html and '<option value="1d" >1d</option>' in html
    assert (
        "/static/vendor/lightweight-charts.standalone.production.js" in html
        and "/static/lab-chart.js" in html
    )
    cfg = config(html)
    assert cfg["instrument"]["id"] == instrument.id and cfg["instrument"]["simulated"] is True
    assert cfg["timeframe"] == "1h" and cfg["intraday"] is True
    assert [(i["name"], i["params"], i["overlay"]) for i in cfg["indicators"]] == [
        ("sma", {"period": 20}, True),
        ("ema", {"period": 50}, True),
        ("bbands", {"period": 20, "deviations": 2.0}, True),
        ("rsi", {"period": 14}, False),
        ("macd", {"fast": 12, "slow": 26, "signal": 9}, False),
        ("vol", {}, False),
    ]
    assert (
        cfg["canonical"]
        == f"/lab/chart/{instrument.id}?tf=1h&ind=sma:20,ema:50,bbands:20:2,rsi:14,macd:12:26:9,vol"
    )
    real_page = await viewer.get(f"/lab/chart/{real.id}")
    title = real_page.text[real_page.text.index('data-testid="chart-title"') :].split("</h2>")[0]
    assert "ACME" in title and "simulated" not in title


async def test_chart_home_picks_an_instrument_with_bars(viewer, market):
    instrument, _ = market
    await add_instrument("AAA-SIM")  # listed first, but without bars
    r = await viewer.get("/lab/chart")
    assert r.status_code == 200
    cfg = config(r.text)
    assert cfg["instrument"]["id"] == instrument.id and cfg["timeframe"] == "1h"
    assert [i["name"] for i in cfg["indicators"]] == ["sma", "ema", "vol"]  # the default set


async def test_empty_states_say_how_to_import(viewer, settings):
    r = await viewer.get("/lab/chart")
    assert r.status_code == 200
    assert 'data-testid="chart-empty"' in r.text and "academy lab --help" in r.text
    assert 'data-testid="nfa-notice"' in r.text and "data-config" not in r.text
    instrument = await add_instrument("EMPTY-SIM")
    r = await viewer.get(f"/lab/chart/{instrument.id}")
    assert "No bars for EMPTY-SIM yet" in r.text and "data-config" not in r.text
    r = await viewer.get(f"/lab/chart/{instrument.id}?tf=4h")
    assert "No 4h bars for EMPTY-SIM yet" in r.text


async def test_the_picker_form_lands_on_the_canonical_address(viewer, market):
    instrument, _ = market
    r = await viewer.get(
        "/lab/chart",
        params=[
            ("instrument", instrument.id),
            ("tf", "1d"),
            ("on", "sma"),
            ("sma.period", "30"),
            ("on", "bbands"),
            ("bbands.period", "10"),
            ("bbands.deviations", "1.5"),
            ("on", "vol"),
            ("on", "evil"),
            ("ema.period", "50"),  # switched off: left out
        ],
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/lab/chart/{instrument.id}?tf=1d&ind=sma:30,bbands:10:1.5,vol"


async def test_unknown_instrument_is_404_and_strangers_go_to_login(client, viewer, market):
    assert (await viewer.get("/lab/chart/999999")).status_code == 404
    client.cookies.clear()
    r = await client.get("/lab/chart")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_page_reads_bars_indicators_and_signals_with_its_cookie(viewer, market):
    instrument, bars = market
    r = await viewer.get(f"/lab/chart/{instrument.id}/bars", params={"timeframe": "1h", "limit": 3})
    assert r.status_code == 200
    assert [b["time"] for b in r.json()["bars"]] == [int(t.timestamp()) for t in bars.index[-3:]]
    r = await viewer.get(
        f"/lab/chart/{instrument.id}/indicators", params={"timeframe": "1h", "name": "sma", "period": 5}
    )
    assert r.status_code == 200 and r.json()["params"] == {"period": 5}
    r = await viewer.get(f"/lab/chart/{instrument.id}/signals", params={"timeframe": "1h"})
    assert r.status_code == 200 and r.json()["items"] == []


def test_indicator_parameter_in_the_address():
    chosen, dropped = parse_indicators(
        "sma:20, SMA:20,ema,bbands:20:2.5,rsi:1:2,macd:8:21:5,nope,vol,sma:0,vol:3"
    )
    assert [i.token for i in chosen] == ["sma:20", "ema:20", "bbands:20:2.5", "macd:8:21:5", "vol"]
    assert dropped == ["rsi:1:2", "nope", "sma:0", "vol:3"]
    assert chosen[2].params == {"period": 20, "deviations": 2.5} and chosen[2].label == "BBANDS 20 2.5"
