from __future__ import annotations

from datetime import UTC, datetime, timedelta

from academy.trading.market_data.errors import UnknownTimeframe

TIMEFRAMES: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}

# Bars are aligned to this instant; it is a Monday, so weekly bars start on Mondays.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def timeframe_delta(timeframe: str) -> timedelta:
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        known = ", ".join(TIMEFRAMES)
        raise UnknownTimeframe(f"Unknown timeframe '{timeframe}' (known: {known})") from None


def timeframe_for(delta: timedelta) -> str | None:
    for name, value in TIMEFRAMES.items():
        if value == delta:
            return name
    return None


def floor_time(moment: datetime, timeframe: str) -> datetime:
    """The open time of the bar containing `moment`."""
    delta = timeframe_delta(timeframe)
    return EPOCH + ((moment - EPOCH) // delta) * delta
