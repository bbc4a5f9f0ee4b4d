from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime

ASSET_CLASSES = ("crypto", "forex", "stock", "index", "commodity")


class Instrument(IdMixin, CreatedMixin, Base):
    __tablename__ = "trading_instruments"
    __table_args__ = (
        UniqueConstraint("venue", "symbol"),
        CheckConstraint(
            "asset_class IN ('crypto', 'forex', 'stock', 'index', 'commodity')", name="asset_class"
        ),
    )

    symbol: Mapped[str] = mapped_column(String(40))
    venue: Mapped[str] = mapped_column(String(40))
    asset_class: Mapped[str] = mapped_column(String(16))
    tick_size: Mapped[float] = mapped_column(Float)
    quote_currency: Mapped[str] = mapped_column(String(12))
    base_currency: Mapped[str | None] = mapped_column(String(12))
    # Simulated instruments live on venue "SIM" and are labelled as such wherever they appear.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return f"{self.symbol} ({self.venue})"


class Bar(Base):
    """One closed OHLCV bar. The composite primary key is the unique key and the range-read index;
    on SQLite the table is WITHOUT ROWID, so a range read walks one clustered b-tree."""

    __tablename__ = "trading_bars"
    __table_args__ = {"sqlite_with_rowid": False}

    instrument_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("trading_instruments.id", ondelete="CASCADE"), primary_key=True
    )
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    open_time: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float, default=0.0)
