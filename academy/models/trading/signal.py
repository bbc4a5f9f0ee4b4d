from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from academy.kit import clock
from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime

ACCESS_TIERS = ("free", "pro", "premium")


class SignalChannel(IdMixin, CreatedMixin, Base):
    """A stream of signals: one strategy on a set of instruments at one timeframe."""

    __tablename__ = "trading_channels"
    __table_args__ = (CheckConstraint("access_tier IN ('free', 'pro', 'premium')", name="access_tier"),)

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    timeframe: Mapped[str] = mapped_column(String(8))
    # A preset name, "ml_gbm", or "rule" (then `rule` holds the rule-language text).
    strategy: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rule: Mapped[str | None] = mapped_column(Text)
    access_tier: Mapped[str] = mapped_column(String(16), default="free")
    # Bars a signal lives before it expires unfilled or open.
    expiry_bars: Mapped[int] = mapped_column(Integer, default=20)
    telegram_chat: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)

    def __str__(self) -> str:
        return self.name


class ChannelInstrument(Base):
    __tablename__ = "trading_channel_instruments"

    channel_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_channels.id", ondelete="CASCADE"), primary_key=True
    )
    instrument_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_instruments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ChannelSubscription(CreatedMixin, Base):
    __tablename__ = "trading_channel_subscriptions"

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_channels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Signal(IdMixin, CreatedMixin, Base):
    """A published signal. Rows are never updated: a correction is a new row with the next version
    that points at the row it corrects (`supersedes_id`), so the history shows both."""

    __tablename__ = "trading_signals"
    __table_args__ = (
        UniqueConstraint("channel_id", "instrument_id", "bar_time", "version"),
        UniqueConstraint("supersedes_id"),
        CheckConstraint("side IN ('long', 'short')", name="side"),
        Index("ix_trading_signals_channel_id_created_at", "channel_id", "created_at"),
    )

    channel_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("trading_channels.id", ondelete="CASCADE"))
    instrument_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_instruments.id", ondelete="CASCADE"), index=True
    )
    timeframe: Mapped[str] = mapped_column(String(8))
    # Open time of the closed bar that produced the signal; it acts on the next bar.
    bar_time: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("trading_signals.id", ondelete="RESTRICT")
    )
    side: Mapped[str] = mapped_column(String(8))
    # None is "at market" (the next bar's open); the reference is the close it was decided on.
    entry: Mapped[float | None] = mapped_column(Float)
    reference_price: Mapped[float] = mapped_column(Float)
    stop: Mapped[float | None] = mapped_column(Float)
    targets: Mapped[list[float]] = mapped_column(JSON, default=list)
    confidence: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))


class SignalOutcome(Base):
    """Where a signal stands, recomputed from bars; derived data, so unlike signals it is updated."""

    __tablename__ = "trading_signal_outcomes"

    signal_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_signals.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    entry_price: Mapped[float | None] = mapped_column(Float)
    exit_price: Mapped[float | None] = mapped_column(Float)
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result_r: Mapped[float | None] = mapped_column(Float)
    result_pct: Mapped[float | None] = mapped_column(Float)
    bars_held: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)


class BacktestRun(IdMixin, CreatedMixin, Base):
    """A backtest or a walk-forward grid search, run as a job; the result is stored as JSON."""

    __tablename__ = "trading_backtest_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("kind IN ('single', 'grid')", name="kind"),
        Index("ix_trading_backtest_runs_user_id_created_at", "user_id", "created_at"),
    )

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[str] = mapped_column(String(8), default="single")
    instrument_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_instruments.id", ondelete="CASCADE")
    )
    timeframe: Mapped[str] = mapped_column(String(8))
    strategy: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rule: Mapped[str | None] = mapped_column(Text)
    # Commission, slippage, sizing, cash, date range; for a grid, the parameter ranges too.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChannelAudit(IdMixin, CreatedMixin, Base):
    """An audit of someone else's signal channel (a Telegram export or pasted messages), kept so the
    owner can come back to it; the scorecard is recomputed data, stored as JSON."""

    __tablename__ = "trading_channel_audits"
    __table_args__ = (Index("ix_trading_channel_audits_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # "export" or "paste"
    messages: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
