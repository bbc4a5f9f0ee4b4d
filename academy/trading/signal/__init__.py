"""Signals: following each published signal to its outcome, and a channel's track record."""

from academy.trading.signal.outcomes import (
    DEFAULT_EXPIRY_BARS,
    PARTIALS_RULE,
    STOP_RULE,
    Exit,
    Outcome,
    OutcomeError,
    SignalSpec,
    Status,
    follow,
)
from academy.trading.signal.track_record import FollowerReturn, TrackRecord, follower_return, wilson_interval

__all__ = [
    "DEFAULT_EXPIRY_BARS",
    "PARTIALS_RULE",
    "STOP_RULE",
    "Exit",
    "FollowerReturn",
    "Outcome",
    "OutcomeError",
    "SignalSpec",
    "Status",
    "TrackRecord",
    "follow",
    "follower_return",
    "wilson_interval",
]
