"""The trading lab's demo: simulated markets with two months of bars, and signal channels whose track
records were built the way a live run builds them, through the same services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from academy.billing.service import billing_service
from academy.kit import clock
from academy.models import User
from academy.trading.market_data.service import market_data_service
from academy.trading.market_data.simulator import SimulatedFeed
from academy.trading.market_data.timeframes import timeframe_delta
from academy.trading.signal.repository import ChannelRepository
from academy.trading.signal.schemas import ChannelCreate
from academy.trading.signal.service import signal_service

HISTORY = timedelta(days=60)
CHANNELS_OPENED = timedelta(days=45)
MAX_BARS = 1500


@dataclass(frozen=True)
class _DemoChannel:
    slug: str
    name: str
    description: str
    symbols: tuple[str, ...]
    timeframe: str
    strategy: str
    tier: str
    params: dict[str, float] = field(default_factory=dict)
    rule: str | None = None
    expiry_bars: int = 30


CHANNELS = (
    _DemoChannel(
        "trend-rider",
        "Trend Rider",
        "Moving-average crosses on the big crypto pairs, with a stop two ATRs away and a target at three.",
        ("BTCUSD-SIM", "ETHUSD-SIM"),
        "1h",
        "sma_cross",
        "free",
        {"fast": 10, "slow": 30, "allow_short": 1, "stop_atr": 2.0, "target_atr": 3.0},
    ),
    _DemoChannel(
        "range-fader",
        "Range Fader",
        "Buys oversold and sells overbought RSI in quiet markets: forex and gold.",
        ("EURUSD-SIM", "GOLD-SIM"),
        "1h",
        "rsi_reversion",
        "pro",
        {"period": 14, "oversold": 30, "overbought": 70, "stop_atr": 1.5, "target_atr": 2.0},
    ),
    _DemoChannel(
        "rule-of-three",
        "Rule of Three",
        "Written in the rule language: buy strength above the 50-bar average when RSI confirms.",
        ("ACME-SIM", "BTCUSD-SIM"),
        "4h",
        "rule",
        "premium",
        rule=(
            "enter long when close crosses_above sma(50) and rsi(14) > 50; exit when rsi(14) < 40; "
            "stop 2 * atr(14); target 3 * atr(14)"
        ),
    ),
    _DemoChannel(
        "fast-lane",
        "Fast Lane (5 min)",
        "A quick moving-average cross on 5-minute bars, so the demo shows new signals within the hour.",
        ("BTCUSD-SIM",),
        "5m",
        "sma_cross",
        "free",
        {"fast": 5, "slow": 20, "allow_short": 1, "stop_atr": 1.5, "target_atr": 2.0},
        expiry_bars=24,
    ),
)


async def load_lab(session: AsyncSession, curator: User, students: list[User], now: datetime) -> bool:
    """Idempotent: does nothing when the demo channels exist already."""
    if await ChannelRepository(session).by_slug(CHANNELS[0].slug) is not None:
        return False
    instruments = {i.symbol: i for i in await market_data_service.ensure_simulated_instruments(session)}
    series = {(s, c.timeframe) for c in CHANNELS for s in c.symbols}
    with clock.frozen(now):
        for symbol, timeframe in sorted(series):
            # Fast timeframes get days, not months: the point there is the live feed, not the record.
            history = min(int(HISTORY / timeframe_delta(timeframe)), MAX_BARS)
            feed = SimulatedFeed(history=history, max_bars=history)
            await market_data_service.collect(session, instruments[symbol], timeframe, feed)
    opened = now - CHANNELS_OPENED
    for spec in CHANNELS:
        with clock.frozen(opened):
            channel = await signal_service.create_channel(session, curator, _create(spec, instruments))
        with clock.frozen(now):
            for symbol in spec.symbols:
                await signal_service.evaluate(
                    session, channel, instruments[symbol], since=opened, backfill=True
                )
    with clock.frozen(now):
        for symbol, timeframe in sorted(series):
            await signal_service.follow_outcomes(session, instruments[symbol].id, timeframe)
        free = await ChannelRepository(session).by_slug("trend-rider")
        assert free is not None
        for number, student in enumerate(students):
            await signal_service.subscribe(session, student, free.id)
            if number == 0:
                # The demo student has Pro for a month, so both locked and unlocked channels show.
                await billing_service.grant(session, student, "pro", expires_at=now + timedelta(days=30))
    return True


def _create(spec: _DemoChannel, instruments: dict[str, Any]) -> ChannelCreate:
    return ChannelCreate(
        slug=spec.slug,
        name=spec.name,
        description=spec.description,
        instrument_ids=[instruments[s].id for s in spec.symbols],
        timeframe=spec.timeframe,
        strategy=spec.strategy,
        params=spec.params,
        rule=spec.rule,
        access_tier=spec.tier,  # type: ignore[arg-type]
        expiry_bars=spec.expiry_bars,
    )
