"""/ws/lab: bars reach subscribed pages after the commit that stored them; strangers and unknown
topics are refused; without a cross-process hub the socket catches up from the database."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from academy.kit import realtime
from academy.kit.uow import UnitOfWork
from academy.trading.market_data.service import LIVE_BARS, market_data_service
from academy.web.lab import live
from tests.fixtures.app import make_user
from tests.trading.chart.conftest import AsgiSocket, Refused, hourly, session_cookie, store_bars


@pytest.fixture
async def cookie(settings):
    return await session_cookie(await make_user())


def next_bars(bars: pd.DataFrame, n: int, seed: int = 11) -> pd.DataFrame:
    """n bars continuing `bars` by one hour each."""
    more = hourly(n, seed=seed)
    more.index = pd.date_range(bars.index[-1] + pd.Timedelta(hours=1), periods=n, freq="1h", tz="UTC")
    return more


def as_message(instrument_id: int, bars: pd.DataFrame, i: int) -> dict:
    row = bars.iloc[i]
    return {
        "type": "bar",
        "instrument_id": instrument_id,
        "timeframe": "1h",
        "topic": f"bars:{instrument_id}:1h",
        "bar": {
            "time": int(bars.index[i].timestamp()),
            **{c: float(row[c]) for c in ("open", "high", "low", "close", "volume")},
        },
    }


async def test_a_subscribed_page_receives_bars_stored_after_commit(app, cookie, market):
    instrument, bars = market
    topic = f"bars:{instrument.id}:1h"
    async with AsgiSocket(app, "/ws/lab", cookie=cookie) as ws:
        await ws.send_json({"subscribe": [topic]})
        assert await ws.receive_json() == {"type": "subscribed", "topic": topic}
        more = next_bars(bars, 2)
        async with UnitOfWork() as uow:
            await market_data_service.upsert_bars(uow.session, instrument, "1h", more)
            await uow.session.flush()
            # Nothing is announced before the commit: a rolled-back write must never reach a chart.
            assert await ws.nothing_for(0.2)
        assert await ws.receive_json() == as_message(instrument.id, more, 0)
        assert await ws.receive_json() == as_message(instrument.id, more, 1)
        # Re-storing the same bars changes nothing and announces nothing; other timeframes stay quiet.
        await store_bars(instrument, more)
        await store_bars(instrument, next_bars(bars, 3), "1d")
        assert await ws.nothing_for(0.3)


async def test_collect_announces_only_new_closed_bars(app, cookie, market):
    instrument, bars = market

    class Feed:
        name = "test"

        def __init__(self, frame: pd.DataFrame) -> None:
            self.frame = frame

        async def fetch_closed_bars(self, symbol, timeframe, since):
            return self.frame[self.frame.index >= since] if since is not None else self.frame

    history_fix = bars.iloc[[10]].copy()
    history_fix["volume"] += 1  # a correction deep in history moves no open chart
    more = next_bars(bars, 1)
    topic = f"bars:{instrument.id}:1h"
    async with AsgiSocket(app, "/ws/lab", cookie=cookie) as ws:
        await ws.send_json({"subscribe": [topic]})
        await ws.receive_json()
        await store_bars(instrument, history_fix)
        assert await ws.nothing_for(0.2)
        async with UnitOfWork() as uow:
            counts = await market_data_service.collect(uow.session, instrument, "1h", Feed(more))
        assert counts.inserted == 1
        assert await ws.receive_json() == as_message(instrument.id, more, 0)


async def test_a_large_upsert_announces_only_the_latest_bars(app, cookie, market):
    instrument, bars = market
    topic = f"bars:{instrument.id}:1h"
    more = next_bars(bars, LIVE_BARS + 30)
    async with AsgiSocket(app, "/ws/lab", cookie=cookie) as ws:
        await ws.send_json({"subscribe": [topic]})
        await ws.receive_json()
        await store_bars(instrument, more)
        got = [await ws.receive_json() for _ in range(LIVE_BARS)]
        assert got[0] == as_message(instrument.id, more, 30) and got[-1] == as_message(
            instrument.id, more, -1
        )
        assert await ws.nothing_for(0.2)


async def test_anonymous_and_cross_site_sockets_are_refused(app, cookie, settings):
    with pytest.raises(Refused) as anonymous:
        async with AsgiSocket(app, "/ws/lab"):
            pass
    assert anonymous.value.code == 4401
    with pytest.raises(Refused) as cross_site:
        async with AsgiSocket(app, "/ws/lab", cookie=cookie, origin="https://evil.example"):
            pass
    assert cross_site.value.code == 4403


async def test_unknown_malformed_and_missing_topics_are_refused(app, cookie, market):
    instrument, _ = market
    async with AsgiSocket(app, "/ws/lab", cookie=cookie) as ws:
        await ws.send_json(
            {"subscribe": ["prices:1", "bars:999999:1h", f"bars:{instrument.id}:2h", "bars:x"]}
        )
        assert await ws.receive_json() == {"type": "refused", "topic": "prices:1", "reason": "unknown"}
        for topic in ("bars:999999:1h", f"bars:{instrument.id}:2h", "bars:x"):
            assert await ws.receive_json() == {"type": "refused", "topic": topic, "reason": "forbidden"}
        await ws.send_json({"subscribe": "bars:1:1h"})
        assert (await ws.receive_json())["type"] == "error"
        await ws.send_text("not json")
        assert (await ws.receive_json())["type"] == "error"
        # The socket still works after refusals and errors.
        topic = f"bars:{instrument.id}:1h"
        await ws.send_json({"subscribe": [topic]})
        assert await ws.receive_json() == {"type": "subscribed", "topic": topic}
        await ws.send_json({"unsubscribe": [topic]})
        assert await ws.receive_json() == {"type": "unsubscribed", "topic": topic}
        assert realtime.hub().subscriber_count(f"lab:bars:{instrument.id}:1h") == 0


class DeafHub(realtime.LocalHub):
    """A hub that loses every message, like the in-memory hub of another process (no Redis)."""

    async def publish(self, channel, message):
        return None


async def test_without_a_cross_process_hub_the_socket_catches_up_from_the_database(
    app, cookie, market, monkeypatch
):
    instrument, bars = market
    monkeypatch.setattr(realtime, "_hub", DeafHub())
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)
    topic = f"bars:{instrument.id}:1h"
    async with AsgiSocket(app, "/ws/lab", cookie=cookie) as ws:
        await ws.send_json({"subscribe": [topic]})
        assert await ws.receive_json() == {"type": "subscribed", "topic": topic}
        assert await ws.nothing_for(0.2)  # what was stored before subscribing is not sent again
        more = next_bars(bars, 3)
        await store_bars(instrument, more)
        got = [await ws.receive_json() for _ in range(3)]
        assert got == [as_message(instrument.id, more, i) for i in range(3)]
        await asyncio.sleep(0.2)
        assert await ws.nothing_for(0.2)  # each bar once


async def test_a_topic_kind_can_be_added(app, cookie, settings, monkeypatch):
    class Echo(live.TopicKind):
        def hub_channel(self, key):
            return f"test:echo:{key}"

        async def authorize(self, session, user, key):
            return key == "open"

        async def catch_up(self, session, user, key, cursor):
            return [], cursor

    monkeypatch.setitem(live.TOPICS, "echo", Echo())
    async with AsgiSocket(app, "/ws/lab", cookie=cookie) as ws:
        await ws.send_json({"subscribe": ["echo:open", "echo:closed"]})
        assert await ws.receive_json() == {"type": "subscribed", "topic": "echo:open"}
        assert await ws.receive_json() == {"type": "refused", "topic": "echo:closed", "reason": "forbidden"}
        await realtime.hub().publish("test:echo:open", {"type": "ping"})
        assert await ws.receive_json() == {"type": "ping", "topic": "echo:open"}
