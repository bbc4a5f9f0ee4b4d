from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from academy.kit.schemas import Id
from academy.models.trading import ACCESS_TIERS

Tier = Literal["free", "pro", "premium"]
assert set(ACCESS_TIERS) == {"free", "pro", "premium"}


class ChannelCreate(BaseModel):
    slug: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=2, max_length=120)
    description: str = Field(default="", max_length=4000)
    instrument_ids: list[Id] = Field(min_length=1, max_length=50)
    timeframe: str = Field(max_length=8)
    strategy: str = Field(max_length=40)
    params: dict[str, float] = Field(default_factory=dict)
    rule: str | None = Field(default=None, max_length=4000)
    access_tier: Tier = "free"
    expiry_bars: int = Field(default=20, ge=1, le=1000)
    telegram_chat: str | None = Field(default=None, max_length=64, pattern=r"^(@[A-Za-z0-9_]{4,}|-?\d{5,})$")

    @field_validator("name", "description")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class ChannelUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    access_tier: Tier | None = None
    active: bool | None = None
    telegram_chat: str | None = Field(default=None, max_length=64, pattern=r"^(@[A-Za-z0-9_]{4,}|-?\d{5,})?$")


class InstrumentBrief(BaseModel):
    id: int
    symbol: str
    venue: str
    simulated: bool


class EquityPoint(BaseModel):
    time: datetime
    r: float


class TrackRecordRead(BaseModel):
    signals: int
    closed: int
    open: int
    not_filled: int
    wins: int
    win_rate: float | None
    win_rate_low: float
    win_rate_high: float
    expectancy_r: float | None
    expectancy_pct: float | None
    profit_factor: float | None  # None: undefined; a very large number stands for "no losses"
    max_drawdown_r: float | None
    average_holding_hours: float | None
    equity_r: list[EquityPoint]  # cumulative R after each closed signal, in exit order


class ChannelRead(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    timeframe: str
    strategy: str
    strategy_text: str
    access_tier: Tier
    expiry_bars: int
    active: bool
    telegram_chat: str | None
    instruments: list[InstrumentBrief]
    simulated: bool
    subscribers: int
    # For the viewer: may they see the signals, and do they follow the channel?
    locked: bool
    subscribed: bool
    created_at: datetime


class OutcomeRead(BaseModel):
    status: str
    entry_price: float | None
    exit_price: float | None
    entered_at: datetime | None
    exited_at: datetime | None
    result_r: float | None
    result_pct: float | None
    bars_held: int | None


class SignalRead(BaseModel):
    id: int
    channel_id: int
    channel_name: str
    instrument: InstrumentBrief
    timeframe: str
    bar_time: datetime
    published_at: datetime
    version: int
    supersedes_id: int | None
    superseded: bool
    side: Literal["long", "short"]
    entry: float | None
    reference_price: float | None
    stop: float | None
    targets: list[float]
    confidence: float | None
    reason: str
    note: str
    status: str
    result_r: float | None
    result_pct: float | None
    chart_url: str
    outcome: OutcomeRead | None


class SignalCorrection(BaseModel):
    """A correction publishes a new version; what is left out keeps its current value."""

    stop: float | None = Field(default=None, gt=0)
    targets: list[float] | None = Field(default=None, max_length=5)
    note: str = Field(min_length=3, max_length=500)

    @field_validator("targets")
    @classmethod
    def _positive(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(t <= 0 for t in value):
            raise ValueError("targets must be positive prices")
        return value
