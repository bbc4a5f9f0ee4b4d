from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

# Signals run for days, not a fixed number of bars: the span means the same whatever the timeframe.
DEFAULT_EXPIRY_DAYS = 7.0


class AuditOptions(BaseModel):
    risk_pct: float = Field(default=1.0, gt=0, le=100, description="percent of equity a follower risks")
    expiry_days: float = Field(
        default=DEFAULT_EXPIRY_DAYS, gt=0, le=365, description="how long a signal lives"
    )


class ChannelAuditExportCreate(AuditOptions):
    title: str = Field(default="", max_length=200)


class ChannelAuditPaste(AuditOptions):
    """Pasted messages: separated by blank lines; a first line holding a date and time
    ("2024-03-01 14:10", "01.03.2024 14:10", Telegram's "Channel, [01.03.24 14:10]") dates the message,
    read in `timezone`."""

    title: str = Field(default="", max_length=200)
    text: str = Field(min_length=1, max_length=1_000_000)
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Paste at least one message")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"Unknown time zone '{value}'") from None
        return value


class SymbolData(BaseModel):
    """Where a traded symbol's bars came from, or why there are none."""

    symbol: str
    signals: int
    status: Literal["ok", "partial", "missing"]
    venue: str | None = None
    timeframe: str | None = None
    first: datetime | None = None
    last: datetime | None = None
    bars: int = 0
    uncovered: int = 0
    first_signal: datetime | None = None
    last_signal: datetime | None = None


class ChannelAuditSummary(BaseModel):
    id: int
    title: str
    source: str
    messages: int
    signals: int | None = None
    parse_rate: float | None = None
    followed: int | None = None
    missing_symbols: list[str] = []
    created_at: datetime
    computed_at: datetime | None = None


class ChannelAuditRead(ChannelAuditSummary):
    user_id: int
    options: AuditOptions
    scorecard: dict[str, Any]
    market_data: list[SymbolData]


class BarsImportResult(BaseModel):
    symbol: str
    venue: str
    timeframe: str
    inserted: int
    updated: int
    report: str
    audit: ChannelAuditRead
