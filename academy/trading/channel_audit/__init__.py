"""Channel audit: read a signal channel's messages and extract the trade calls in them."""

from academy.trading.channel_audit.parser import ParsedSignal, Side, parse_message
from academy.trading.channel_audit.scorecard import RedFlag, Scorecard, SignalRow, Unparsed, audit
from academy.trading.channel_audit.telegram_export import (
    ChannelMessage,
    ExportError,
    export_name,
    parse_messages,
    read_messages,
)

__all__ = [
    "ChannelMessage",
    "ExportError",
    "ParsedSignal",
    "RedFlag",
    "Scorecard",
    "Side",
    "SignalRow",
    "Unparsed",
    "audit",
    "export_name",
    "parse_message",
    "parse_messages",
    "read_messages",
]
