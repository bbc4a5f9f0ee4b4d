"""Stored bars for backtest jobs: a simulated instrument with daily bars of a seeded random walk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from academy.kit import jobs, ratelimit
from academy.kit.uow import UnitOfWork
from academy.trading.market_data.service import market_data_service
from tests.fixtures.db import reconfigure
from tests.trading.conftest import make_bars


@dataclass
class Market:
    instrument_id: int
    symbol: str
    bars: pd.DataFrame  # the 1d bars as stored (read back, so exactly what a job reads)
    short_id: int  # an instrument with only a few 1d bars


@pytest.fixture
async def market(settings: Any) -> Market:
    async with UnitOfWork() as uow:
        btc, eth, *_ = await market_data_service.ensure_simulated_instruments(uow.session)
        await market_data_service.upsert_bars(uow.session, btc, "1d", make_bars(600, seed=3))
        await market_data_service.upsert_bars(uow.session, eth, "1d", make_bars(15, seed=4))
    async with UnitOfWork() as uow:
        stored = await market_data_service.bars(uow.session, btc.id, "1d")
    return Market(instrument_id=btc.id, symbol=btc.symbol, bars=stored, short_id=eth.id)


class Recorder:
    """A dispatcher that only records: the run stays queued until the test runs the job."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    async def dispatch(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.sent.append((name, args))


@pytest.fixture
def no_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that poll a run as fast as they can would otherwise hit the per-user limit."""
    reconfigure(monkeypatch, rate_limit_enabled="false")
    ratelimit.configure(enabled=False)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    monkeypatch.setattr(jobs, "_dispatcher", recording)
    return recording
