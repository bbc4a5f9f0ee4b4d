"""Signal channels through their public surface: the service the collector calls, the API, the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from academy.billing.service import billing_service
from academy.kit import clock, jobs
from academy.kit.uow import UnitOfWork
from academy.models import Instrument, Role, User
from academy.trading.market_data.service import market_data_service
from academy.trading.market_data.simulator import SimulatedFeed
from academy.trading.signal.outcomes import SignalSpec, follow
from academy.trading.signal.schemas import ChannelCreate
from academy.trading.signal.service import signal_service
from academy.trading.signal.track_record import TrackRecord
from academy.trading.strategy.base import run
from academy.trading.strategy.presets import make
from tests.fixtures.app import api_login, make_user, page_login

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
PARAMS = {"fast": 5, "slow": 20, "allow_short": 1, "stop_atr": 2.0, "target_atr": 3.0}


async def _btc(at: datetime = T0) -> Instrument:
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            instruments = await market_data_service.ensure_simulated_instruments(uow.session)
            btc = next(i for i in instruments if i.symbol == "BTCUSD-SIM")
            await market_data_service.collect(uow.session, btc, "1h", SimulatedFeed(history=600))
            uow.session.expunge(btc)
    return btc


async def _channel(
    author: User, instrument: Instrument, *, tier: str = "free", slug: str = "trend", at=T0, chat=None
):
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            channel = await signal_service.create_channel(
                uow.session,
                author,
                ChannelCreate(
                    slug=slug,
                    name=f"Trend {slug}",
                    instrument_ids=[instrument.id],
                    timeframe="1h",
                    strategy="sma_cross",
                    params=PARAMS,
                    access_tier=tier,  # type: ignore[arg-type]
                    expiry_bars=30,
                    telegram_chat=chat,
                ),
            )
            return channel.id


async def _collect(instrument: Instrument, at: datetime) -> list[int]:
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            return [s.id for s in await signal_service.collect(uow.session, instrument.id, "1h")]


async def _history(instrument: Instrument, channel_id: int, until: datetime) -> None:
    """Bars up to `until`, and the channel's signals on them as a live run would have published them."""
    with clock.frozen(until):
        async with UnitOfWork() as uow:
            await market_data_service.collect(uow.session, instrument, "1h", SimulatedFeed())
            channel = await signal_service.channel_by_id(uow.session, None, channel_id)
            model = await _channel_model(uow, channel.id)
            await signal_service.evaluate(uow.session, model, instrument, since=T0, backfill=True)
            await signal_service.follow_outcomes(uow.session, instrument.id, "1h")


async def _channel_model(uow: UnitOfWork, channel_id: int):
    from academy.trading.signal.repository import ChannelRepository

    return await ChannelRepository(uow.session).get(channel_id)


async def _all_bars(instrument: Instrument) -> pd.DataFrame:
    async with UnitOfWork() as uow:
        return await market_data_service.bars(uow.session, instrument.id, "1h")


@pytest.fixture
async def curator(settings) -> User:
    return await make_user(role=Role.curator)


async def test_each_new_closed_bar_publishes_exactly_what_the_strategy_says_once(curator):
    btc = await _btc()
    channel_id = await _channel(curator, btc)
    published = []
    for hour in range(1, 121):  # the collector, once an hour
        published += await _collect(btc, T0 + timedelta(hours=hour))

    bars = await _all_bars(btc)
    signals = run(make("sma_cross", **PARAMS), bars)
    in_window = (signals.index >= T0) & (signals.index <= T0 + timedelta(hours=119))
    expected = signals.index[(signals["entry"] != 0) & in_window]
    assert len(expected) >= 3
    async with UnitOfWork() as uow:
        viewer = await make_user_in(uow)
        page = await signal_service.signals(uow.session, viewer, _params(500), channel_id=channel_id)
    assert len(published) == len(expected)
    assert sorted(pd.Timestamp(s.bar_time) for s in page.items) == list(expected)
    for s in page.items:
        row = signals.loc[pd.Timestamp(s.bar_time)]
        close = bars.loc[pd.Timestamp(s.bar_time), "close"]
        assert s.side == ("long" if row["entry"] > 0 else "short")
        assert s.reference_price == pytest.approx(close)
        sign = 1 if s.side == "long" else -1
        assert s.stop == pytest.approx(close - sign * row["stop"], abs=0.01)
        assert s.targets == [pytest.approx(close + sign * row["target"], abs=0.01)]
        assert s.reason
        assert s.published_at == s.bar_time + timedelta(hours=1)  # as soon as the bar closed

    # Idempotent: the same bars again (a redelivered job) publish nothing.
    with clock.frozen(T0 + timedelta(hours=120)):
        async with UnitOfWork() as uow:
            again = await signal_service.on_new_bars(uow.session, btc.id, "1h", T0)
    assert again == []


async def test_a_collector_catching_up_skips_stale_entries_instead_of_publishing_them_late(curator):
    btc = await _btc()
    channel_id = await _channel(curator, btc)
    await _collect(btc, T0 + timedelta(hours=150))  # 150 bars at once: only the newest may publish
    async with UnitOfWork() as uow:
        viewer = await make_user_in(uow)
        page = await signal_service.signals(uow.session, viewer, _params(500), channel_id=channel_id)
    assert all(s.bar_time == T0 + timedelta(hours=149) for s in page.items)


async def test_signals_are_never_published_for_bars_before_the_channel_existed(curator):
    btc = await _btc()
    channel_id = await _channel(curator, btc, at=T0 + timedelta(hours=100))
    await _history(btc, channel_id, T0 + timedelta(hours=300))
    async with UnitOfWork() as uow:
        viewer = await make_user_in(uow)
        page = await signal_service.signals(uow.session, viewer, _params(500), channel_id=channel_id)
    assert page.items
    assert min(s.bar_time for s in page.items) >= T0 + timedelta(hours=99)


async def test_outcomes_follow_later_bars_and_the_record_matches_the_pure_figures(curator):
    btc = await _btc()
    channel_id = await _channel(curator, btc)
    await _history(btc, channel_id, T0 + timedelta(hours=400))
    async with UnitOfWork() as uow:
        viewer = await make_user_in(uow)

    bars = await _all_bars(btc)
    async with UnitOfWork() as uow:
        page = await signal_service.signals(uow.session, viewer, _params(500), channel_id=channel_id)
        record = await signal_service.track_record(uow.session, viewer, channel_id)
    outcomes = []
    # A signal on the last bar waits for the next bar to open, like an unfilled order.
    waiting = [s for s in page.items if s.status == "pending"]
    assert all(s.published_at == T0 + timedelta(hours=400) for s in waiting)
    for s in sorted(page.items, key=lambda s: s.id):
        spec = SignalSpec(
            side=1 if s.side == "long" else -1,
            published_at=s.published_at,
            stop=s.stop,
            targets=s.targets,
            expiry=30,
        )
        outcome = follow(spec, bars)
        outcomes.append(outcome)
        if s in waiting:
            assert outcome.status == "open" and outcome.fill_price is None
            continue
        assert s.status == outcome.status
        assert s.result_r == pytest.approx(outcome.result_r)
    assert {s.status for s in page.items} & {"won", "lost"}
    pure = TrackRecord.from_outcomes(outcomes)
    assert record.open == pure.open
    assert record.signals == pure.signals and record.closed == pure.closed and record.wins == pure.wins
    assert record.win_rate_low == pytest.approx(pure.win_rate_low)
    assert record.expectancy_r == pytest.approx(pure.expectancy_r)
    assert [p.r for p in record.equity_r] == pytest.approx([v for _, v in pure.equity_r])


async def test_a_correction_is_a_new_version_and_the_history_shows_both(curator, client):
    btc = await _btc()
    channel_id = await _channel(curator, btc)
    now = T0 + timedelta(hours=150)
    await _history(btc, channel_id, now)
    fresh: list[int] = []
    while not fresh:  # the collector runs until the channel publishes a signal
        now += timedelta(hours=1)
        fresh = await _collect(btc, now)
    async with UnitOfWork() as uow:
        viewer = await make_user_in(uow)
        first = await signal_service.signal(uow.session, viewer, fresh[0])
    assert first.status == "pending"
    sign = 1 if first.side == "long" else -1
    new_stop = round(first.reference_price - sign * first.reference_price * 0.05, 2)
    headers = await api_login(client, curator.email or "")
    r = await client.post(
        f"/api/v1/signals/{first.id}/corrections",
        json={"stop": new_stop, "note": "wider stop"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    corrected = r.json()
    assert corrected["version"] == 2 and corrected["supersedes_id"] == first.id
    assert corrected["stop"] == new_stop and corrected["targets"] == first.targets

    history = (await client.get(f"/api/v1/signals/{corrected['id']}/history", headers=headers)).json()
    assert [(v["version"], v["stop"], v["superseded"]) for v in history] == [
        (1, first.stop, True),
        (2, new_stop, False),
    ]
    # The feed shows the current version only, and the old row was not touched.
    feed = (await client.get(f"/api/v1/signals?channel_id={channel_id}&limit=500", headers=headers)).json()
    ids = {s["id"] for s in feed["items"]}
    assert corrected["id"] in ids and first.id not in ids
    old = (await client.get(f"/api/v1/signals/{first.id}", headers=headers)).json()
    assert old["stop"] == first.stop and old["superseded"] is True

    again = await client.post(
        f"/api/v1/signals/{first.id}/corrections", json={"stop": new_stop, "note": "again"}, headers=headers
    )
    assert again.status_code == 409
    wrong_side = await client.post(
        f"/api/v1/signals/{corrected['id']}/corrections",
        json={"stop": first.reference_price * (1 + sign * 0.05), "note": "stop on the wrong side"},
        headers=headers,
    )
    assert wrong_side.status_code == 422
    assert "losing side" in wrong_side.json()["detail"]


async def test_a_student_without_the_channels_tier_cannot_see_its_signals(curator, client, new_client):
    btc = await _btc()
    channel_id = await _channel(curator, btc, tier="pro")
    await _history(btc, channel_id, T0 + timedelta(hours=150))
    student = await make_user(role=Role.student)
    headers = await api_login(client, student.email or "")

    listing = await client.get(f"/api/v1/signals?channel_id={channel_id}", headers=headers)
    assert listing.status_code == 403
    everything = (await client.get("/api/v1/signals?limit=500", headers=headers)).json()
    assert everything["total"] == 0
    async with UnitOfWork() as uow:
        curator_view = await signal_service.signals(uow.session, curator, _params(1), channel_id=channel_id)
    signal_id = curator_view.items[0].id
    assert (await client.get(f"/api/v1/signals/{signal_id}", headers=headers)).status_code == 403
    assert (
        await client.put(f"/api/v1/channels/{channel_id}/subscription", headers=headers)
    ).status_code == 403
    channel = (await client.get(f"/api/v1/channels/{channel_id}", headers=headers)).json()
    assert channel["locked"] is True

    browser = new_client()
    await page_login(browser, student.email or "")
    page = await browser.get("/lab/channels/trend")
    assert page.status_code == 200
    assert 'data-testid="locked"' in page.text and 'data-testid="signal-row"' not in page.text
    assert (await browser.get(f"/lab/signals/{signal_id}")).status_code == 403

    # A pro grant opens it; when the grant expires it closes again.
    async with UnitOfWork() as uow:
        await billing_service.grant(uow.session, student, "pro", expires_at=clock.now() + timedelta(days=30))
    assert (await client.get(f"/api/v1/signals?channel_id={channel_id}", headers=headers)).json()["total"] > 0
    page = await browser.get("/lab/channels/trend")
    assert 'data-testid="signal-row"' in page.text
    with clock.frozen(clock.now() + timedelta(days=31)):
        assert (
            await client.get(f"/api/v1/signals?channel_id={channel_id}", headers=headers)
        ).status_code == 403


async def test_subscribers_are_notified_and_the_channel_chat_gets_the_signal(curator, client):
    btc = await _btc()
    channel_id = await _channel(curator, btc, chat="@academy_signals")
    student = await make_user(role=Role.student)
    headers = await api_login(client, student.email or "")
    assert (
        await client.put(f"/api/v1/channels/{channel_id}/subscription", headers=headers)
    ).status_code == 204
    published = []
    for hour in range(1, 61):
        published += await _collect(btc, T0 + timedelta(hours=hour))
    assert published
    notes = (await client.get("/api/v1/notifications?size=100", headers=headers)).json()["items"]
    signal_notes = [n for n in notes if n["kind"] == "signals"]
    assert len(signal_notes) == len(published)
    assert "not financial advice" in signal_notes[0]["body"]
    assert signal_notes[0]["link"].startswith("/lab/signals/")
    from academy.notification.service import notification_service

    async with UnitOfWork() as uow:
        sent = await notification_service.telegram_messages(uow.session, _params(100))
    chat = [m for m in sent.items if m.chat_id == "@academy_signals"]
    assert len(chat) == len(published)
    assert "BTCUSD-SIM" in chat[0].text


async def test_only_curators_and_admins_open_channels_and_bad_strategies_are_refused(curator, client):
    btc = await _btc()
    student = await make_user(role=Role.student)
    body = {
        "slug": "x1",
        "name": "X one",
        "instrument_ids": [btc.id],
        "timeframe": "1h",
        "strategy": "sma_cross",
    }
    assert (
        await client.post("/api/v1/channels", json=body, headers=await api_login(client, student.email or ""))
    ).status_code == 403
    headers = await api_login(client, curator.email or "")
    bad_rule = {**body, "strategy": "rule", "rule": "enter long when rsi(14) <"}
    r = await client.post("/api/v1/channels", json=bad_rule, headers=headers)
    assert r.status_code == 422 and "column" in r.json()["detail"]
    bad_param = {**body, "params": {"fastest": 3}}
    assert (await client.post("/api/v1/channels", json=bad_param, headers=headers)).status_code == 422
    assert (
        await client.post("/api/v1/channels", json={**body, "timeframe": "7m"}, headers=headers)
    ).status_code == 422
    ok = await client.post("/api/v1/channels", json=body, headers=headers)
    assert ok.status_code == 201
    assert (await client.post("/api/v1/channels", json=body, headers=headers)).status_code == 409


async def test_channel_pages_for_a_curator(curator, client):
    btc = await _btc()
    await page_login(client, curator.email or "")
    form = await client.get("/lab/channels/new")
    assert form.status_code == 200 and "BTCUSD-SIM" in form.text
    token = client.cookies.get("academy_csrf")
    bad = await client.post(
        "/lab/channels/new",
        data={
            "csrf_token": token,
            "slug": "rules",
            "name": "Rules",
            "instrument_ids": str(btc.id),
            "timeframe": "1h",
            "strategy": "rule",
            "rule": "enter long when close >> sma(5)",
        },
    )
    assert bad.status_code == 422 and 'data-testid="form-error"' in bad.text
    good = await client.post(
        "/lab/channels/new",
        data={
            "csrf_token": token,
            "slug": "rules",
            "name": "Rules",
            "instrument_ids": str(btc.id),
            "timeframe": "1h",
            "strategy": "sma_cross",
            "params": "fast=5, slow=20, stop_atr=2, target_atr=3",
        },
    )
    assert good.status_code == 303 and good.headers["location"] == "/lab/channels/rules"
    async with UnitOfWork() as uow:
        rules = await signal_service.channel(uow.session, curator, "rules")
    await _history(btc, rules.id, clock.now() + timedelta(hours=300))
    page = await client.get("/lab/channels/rules")
    assert page.status_code == 200
    assert 'data-testid="signal-row"' in page.text and 'data-testid="nfa-notice"' in page.text
    listing = await client.get("/lab/channels")
    assert 'data-slug="rules"' in listing.text


# --- helpers ---


def _params(size: int):
    from academy.kit.pagination import PageParams

    return PageParams(page=1, size=size)


async def make_user_in(uow: UnitOfWork) -> User:
    """An admin viewer for reading through the service (staff see every channel)."""
    user = await make_user(role=Role.admin)
    return user


_ = jobs
