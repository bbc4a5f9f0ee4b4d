from academy.models.trading.market import ASSET_CLASSES, Bar, Instrument
from academy.models.trading.signal import (
    ACCESS_TIERS,
    BacktestRun,
    ChannelAudit,
    ChannelInstrument,
    ChannelSubscription,
    Signal,
    SignalChannel,
    SignalOutcome,
)

__all__ = [
    "ACCESS_TIERS",
    "ASSET_CLASSES",
    "BacktestRun",
    "Bar",
    "ChannelAudit",
    "ChannelInstrument",
    "ChannelSubscription",
    "Instrument",
    "Signal",
    "SignalChannel",
    "SignalOutcome",
]
