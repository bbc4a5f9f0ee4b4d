"""The chart page in a real browser: candles render, indicators load, and a bar stored by another
process reaches the open page over /ws/lab (no Redis: the socket's database catch-up)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.support.server import Server

pytestmark = pytest.mark.e2e

# Runs in the server's environment (same database): stores the simulator's recent bars of a series
# the demo does not load, all but the newest ("seed"), or collects whatever is missing ("tick").
MARKET_SCRIPT = """
import asyncio, json, sys
from academy.config import get_settings
from academy.kit.uow import UnitOfWork
from academy.main import shutdown, startup
from academy.trading.market_data.service import market_data_service
from academy.trading.market_data.simulator import SimulatedFeed

async def main(mode, symbol, timeframe):
    await startup(get_settings())
    try:
        feed = SimulatedFeed(history=300)
        async with UnitOfWork() as uow:
            markets = await market_data_service.ensure_simulated_instruments(uow.session)
            instrument = next(i for i in markets if i.symbol == symbol)
            if mode == "seed":
                frame = await feed.fetch_closed_bars(symbol, timeframe, None)
                await market_data_service.upsert_bars(uow.session, instrument, timeframe, frame.iloc[:-1])
            else:
                await market_data_service.collect(uow.session, instrument, timeframe, feed)
            print(json.dumps({"id": instrument.id, "symbol": instrument.symbol}))
    finally:
        await shutdown()

asyncio.run(main(*sys.argv[1:]))
"""


SYMBOL, TIMEFRAME = "ACME-SIM", "30m"


def market(server: Server, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", MARKET_SCRIPT, mode, SYMBOL, TIMEFRAME],
        env=server.env,
        cwd=server.cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_chart_renders_candles_and_follows_new_bars(live_server: Server, browser: Browser) -> None:
    url = live_server.base_url
    instrument = market(live_server, "seed")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page: Page = context.new_page()
    errors: list[str] = []
    failed: list[str] = []
    # A failed request also logs "Failed to load resource"; those are judged by URL below, since the
    # layout has no favicon and the browser asks for one anyway.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    frames: list[str] = []

    def watch(ws: WebSocket) -> None:
        if ws.url.endswith("/ws/lab"):
            ws.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", watch)
    page.goto(f"{url}/login")
    page.fill("input[name=email]", "student@demo.academy.school")
    page.fill("input[name=password]", "academy-demo")
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/dashboard")

    # The demo's Trend Rider channel trades BTCUSD-SIM 1h: its signals are listed and marked.
    page.goto(f"{url}/lab/chart")
    page.select_option("[data-testid=instrument-picker]", label="BTCUSD-SIM · SIM (simulated)")
    page.wait_for_url("**/lab/chart/*?tf=1h*")
    expect(page.locator("#lab-chart[data-ready='1']")).to_have_count(1, timeout=15_000)
    assert page.locator("[data-testid=signal-row]").count() > 0

    page.goto(f"{url}/lab/chart/{instrument['id']}?tf={TIMEFRAME}&ind=sma:20,bbands:20,rsi:14,macd,vol")
    expect(page.get_by_test_id("chart-title")).to_contain_text(instrument["symbol"])
    expect(page.get_by_test_id("chart-title")).to_contain_text("simulated")
    expect(page.get_by_test_id("nfa-notice")).to_be_visible()
    expect(page.locator("#lab-chart[data-ready='1']")).to_have_count(1, timeout=15_000)
    assert page.locator("#lab-chart canvas").count() > 0
    expect(page.get_by_test_id("live-status")).to_have_text("Live", timeout=10_000)
    expect(page.locator("#lab-signals")).to_contain_text("No signals on this chart yet.")

    market(live_server, "tick")
    deadline_ms = 15_000
    page.wait_for_timeout(500)
    waited = 500
    while not any('"type": "bar"' in f for f in frames) and waited < deadline_ms:
        page.wait_for_timeout(250)
        waited += 250
    bar_frames = [json.loads(f) for f in frames if '"type": "bar"' in f]
    assert bar_frames, f"no bar reached the page; frames: {frames}"
    assert bar_frames[0]["topic"] == f"bars:{instrument['id']}:{TIMEFRAME}"
    page.wait_for_timeout(800)  # the indicators are fetched again after a live bar
    context.close()
    assert errors == [], errors
    assert failed == [], failed
