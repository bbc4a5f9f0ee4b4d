"""A channel's scorecard: parse every message, follow every clean signal, and flag the tricks.

Rules (the scorecard states them):

- A message "looks like a signal" when the parser calls it one, or when it names prices or a
  direction but misses the other half (see `_ATTEMPTS`). Updates, recaps and chat do not count.
  The parse rate is the signals parsed cleanly over the messages that look like signals.
- A signal is blocked (listed as unparsed, with its reasons) when the symbol is missing, a price
  could not be read, the stop or a target is on the wrong side of the entry, or the message has
  no time. Other parser remarks (no stop, inferred direction, no entry price) are kept and the
  signal is followed.
- Each clean signal becomes a `SignalSpec` published at the message's time and is followed with
  `follow` on its symbol's bars, exactly like our own signals; the record and the follower's
  return are `TrackRecord.from_outcomes` and `follower_return`. Signals whose symbol has no bars,
  or whose message falls outside the time its bars cover, are listed and left out of every figure.
- Expiry is a number of bars, or with `expiry` a time span: the span means the same on every
  symbol whatever the timeframe of its bars.
- The message time is `date_unixtime`; without it, `date` (the exporting computer's local time)
  is read as UTC.
- Red flags: an edited signal (with whether the edit came after the fill or the exit), targets
  without a stop, a stop on the wrong side, and "posted after the move": the same signal,
  followed over the `lookback_bars` bars that had closed before the message, fills and reaches
  its first target. Only signals with an entry price are checked: an at-market call has no level
  that price could have passed before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from academy.trading.channel_audit.parser import ParsedSignal, parse_message
from academy.trading.channel_audit.telegram_export import ChannelMessage
from academy.trading.signal.outcomes import DEFAULT_EXPIRY_BARS, Outcome, OutcomeError, SignalSpec, follow
from academy.trading.signal.track_record import FollowerReturn, TrackRecord, follower_return

__all__ = [
    "DEFAULT_LOOKBACK_BARS",
    "FlagKind",
    "RedFlag",
    "Scorecard",
    "SignalRow",
    "Unparsed",
    "audit",
    "published_at",
]

DEFAULT_LOOKBACK_BARS = 10

FlagKind = Literal["edited", "targets_without_stop", "stop_wrong_side", "posted_after_move"]

_ATTEMPTS = ("prices without a direction (long or short)", "direction without an instrument or prices")
_BLOCKING_PREFIXES = ("symbol missing", "unparseable number", "stop ", "target ")
_WRONG_SIDE_STOP = ("is not below the entry", "is not above the entry")


@dataclass(frozen=True)
class Unparsed:
    message_id: int | None
    published_at: datetime | None
    text: str
    reasons: list[str]


@dataclass(frozen=True)
class SignalRow:
    """A clean signal and, when its symbol has bars, its outcome."""

    message_id: int | None
    published_at: datetime
    symbol: str
    side: str
    entry: list[float] | None
    stop: float | None
    targets: list[float]
    problems: list[str]
    outcome: Outcome | None


@dataclass(frozen=True)
class RedFlag:
    kind: FlagKind
    message_id: int | None
    detail: str


@dataclass(frozen=True)
class Scorecard:
    messages: int
    signal_like: int
    signals: int
    parse_rate: float | None
    unparsed: list[Unparsed]
    rows: list[SignalRow]
    no_market_data: list[SignalRow]
    record: TrackRecord
    follower: FollowerReturn
    red_flags: list[RedFlag]
    risk_pct: float
    expiry_bars: int
    lookback_bars: int
    notes: list[str] = field(default_factory=list)
    expiry: timedelta | None = None

    def flags(self, kind: FlagKind) -> list[int | None]:
        return [f.message_id for f in self.red_flags if f.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times in ISO 8601, durations in hours, infinities and NaN as None."""
        r = self.record
        return {
            "messages": self.messages,
            "signal_like": self.signal_like,
            "signals": self.signals,
            "parse_rate": _num(self.parse_rate),
            "risk_pct": self.risk_pct,
            "expiry_bars": self.expiry_bars,
            "expiry_hours": None if self.expiry is None else self.expiry.total_seconds() / 3600.0,
            "lookback_bars": self.lookback_bars,
            "track_record": {
                "signals": r.signals,
                "filled": r.filled,
                "closed": r.closed,
                "open": r.open,
                "not_filled": r.not_filled,
                "wins": r.wins,
                "win_rate": _num(r.win_rate),
                "win_rate_low": _num(r.win_rate_low),
                "win_rate_high": _num(r.win_rate_high),
                "expectancy_r": _num(r.expectancy_r),
                "expectancy_pct": _num(r.expectancy_pct),
                "profit_factor": _num(r.profit_factor),
                "max_drawdown_r": _num(r.max_drawdown_r),
                "average_holding_hours": _hours(r.average_holding),
                "equity_r": [[_iso(t), _num(v)] for t, v in r.equity_r],
            },
            "follower": {
                "risk_pct": self.risk_pct,
                "start": self.follower.start,
                "final_equity": _num(self.follower.final_equity),
                "return_pct": _num(self.follower.return_pct),
                "trades": self.follower.trades,
                "equity": [[_iso(t), _num(v)] for t, v in self.follower.equity],
            },
            "red_flags": [
                {"kind": f.kind, "message_id": f.message_id, "detail": f.detail} for f in self.red_flags
            ],
            "unparsed": [
                {
                    "message_id": u.message_id,
                    "date": _iso(u.published_at),
                    "text": u.text,
                    "reasons": u.reasons,
                }
                for u in self.unparsed
            ],
            "no_market_data": [_row_dict(s) for s in self.no_market_data],
            "outcomes": [_row_dict(s) for s in self.rows],
            "notes": self.notes,
        }


def audit(
    messages: Iterable[ChannelMessage],
    bars_by_symbol: Mapping[str, pd.DataFrame],
    *,
    expiry_bars: int = DEFAULT_EXPIRY_BARS,
    risk_pct: float = 1.0,
    lookback_bars: int = DEFAULT_LOOKBACK_BARS,
    partials: bool = True,
    expiry: timedelta | None = None,
) -> Scorecard:
    """Score a channel from its messages and the bars of the symbols it trades (see the module rules)."""
    if lookback_bars < 1:
        raise ValueError("lookback_bars must be at least 1")
    bars = {symbol.upper(): _aligned(frame) for symbol, frame in bars_by_symbol.items()}
    count = signal_like = local_dates = 0
    unparsed: list[Unparsed] = []
    rows: list[SignalRow] = []
    missing: list[SignalRow] = []
    flags: list[RedFlag] = []
    for message in messages:
        count += 1
        parsed = parse_message(message.text)
        if not parsed.is_signal and not any(p in _ATTEMPTS for p in parsed.problems):
            continue
        signal_like += 1
        published = published_at(message)
        local_dates += message.date_unixtime is None and published is not None
        flags.extend(_parser_flags(message, parsed))
        blocking = [p for p in parsed.problems if p.startswith(_BLOCKING_PREFIXES)]
        if not parsed.is_signal:
            blocking = list(parsed.problems)
        if published is None:
            blocking.append("the message has no date")
        spec: SignalSpec | None = None
        if not blocking:
            assert parsed.side is not None and published is not None
            try:
                spec = _spec(parsed, published, expiry if expiry is not None else expiry_bars)
            except OutcomeError as exc:
                blocking.append(str(exc))
        if spec is None or published is None:
            unparsed.append(Unparsed(message.id, published, message.text, blocking))
            if message.edited or message.edited_unixtime:
                flags.append(RedFlag("edited", message.id, f"edited {_edit_time(message)}"))
            continue
        assert parsed.symbol is not None and parsed.side is not None
        frame = bars.get(parsed.symbol.upper())
        outcome = None
        if frame is not None and _covers(frame, published):
            outcome = follow(spec, frame, partials=partials)
            if _posted_after_move(spec, frame, lookback_bars, partials):
                flags.append(
                    RedFlag(
                        "posted_after_move",
                        message.id,
                        f"price had filled the entry and reached {spec.targets[0]:g} within "
                        f"{lookback_bars} bars before the message",
                    )
                )
        if message.edited or message.edited_unixtime:
            flags.append(RedFlag("edited", message.id, _edit_detail(message, outcome)))
        row = SignalRow(
            message_id=message.id,
            published_at=published,
            symbol=parsed.symbol,
            side=parsed.side,
            entry=parsed.entry,
            stop=parsed.stop,
            targets=list(spec.targets),
            problems=list(parsed.problems),
            outcome=outcome,
        )
        (rows if outcome is not None else missing).append(row)

    outcomes = [r.outcome for r in rows if r.outcome is not None]
    notes = []
    if local_dates:
        notes.append(f"{local_dates} message(s) without date_unixtime: their local date was read as UTC")
    signals = len(rows) + len(missing)
    return Scorecard(
        messages=count,
        signal_like=signal_like,
        signals=signals,
        parse_rate=signals / signal_like if signal_like else None,
        unparsed=unparsed,
        rows=rows,
        no_market_data=missing,
        record=TrackRecord.from_outcomes(outcomes),
        follower=follower_return(outcomes, risk_pct=risk_pct),
        red_flags=flags,
        risk_pct=risk_pct,
        expiry_bars=expiry_bars,
        lookback_bars=lookback_bars,
        notes=notes,
        expiry=expiry,
    )


def published_at(message: ChannelMessage) -> datetime | None:
    """When the message was posted, in UTC (see the module rules)."""
    if message.date_unixtime is not None:
        return datetime.fromtimestamp(message.date_unixtime, UTC)
    if message.date:
        try:
            stamp = datetime.fromisoformat(message.date)
        except ValueError:
            return None
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return None


def _edit_time(message: ChannelMessage) -> str:
    if message.edited_unixtime is not None:
        return datetime.fromtimestamp(message.edited_unixtime, UTC).isoformat()
    return message.edited or "at an unknown time"


def _edit_detail(message: ChannelMessage, outcome: Outcome | None) -> str:
    detail = f"edited {_edit_time(message)}"
    edit = ChannelMessage(text="", date=message.edited, date_unixtime=message.edited_unixtime)
    edited = published_at(edit)
    if edited is None or outcome is None:
        return detail
    when = pd.Timestamp(edited)
    # Bar times are bar opens: an edit inside the exit bar may precede the exit, so it must be later.
    if outcome.exits and when > outcome.exits[-1].time:
        return detail + ", after the trade's exit"
    if outcome.fill_time is not None and when > outcome.fill_time:
        return detail + ", after the fill"
    return detail


def _parser_flags(message: ChannelMessage, parsed: ParsedSignal) -> list[RedFlag]:
    flags: list[RedFlag] = []
    for problem in parsed.problems:
        if problem == "targets without a stop":
            flags.append(RedFlag("targets_without_stop", message.id, problem))
        elif problem.startswith("stop ") and any(side in problem for side in _WRONG_SIDE_STOP):
            flags.append(RedFlag("stop_wrong_side", message.id, problem))
    return flags


def _spec(parsed: ParsedSignal, published: datetime, expiry: int | timedelta) -> SignalSpec:
    side = 1 if parsed.side == "long" else -1
    # Channels list targets nearest first; sorting in the trade's direction covers the ones that don't.
    targets = sorted(parsed.targets, reverse=side < 0)
    return SignalSpec(
        side=side,
        published_at=published,
        entry=parsed.entry,
        stop=parsed.stop,
        targets=targets,
        expiry=expiry,
    )


def _aligned(frame: pd.DataFrame) -> pd.DataFrame:
    """The bars with an aware time index, like `published`; naive bar times are read as UTC."""
    if isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is None:
        return frame.tz_localize(UTC)
    return frame


def _covers(frame: pd.DataFrame, published: datetime) -> bool:
    """Whether the bars span the message's time: a signal before the first bar would otherwise be
    filled on bars long after it, and one after the last bar would read as still open."""
    if frame.empty:
        return False
    index = frame.index
    spacing = (index[1:] - index[:-1]).min() if len(index) > 1 else pd.Timedelta(0)
    moment = pd.Timestamp(published)
    return bool(index[0] <= moment < index[-1] + spacing)


def _posted_after_move(spec: SignalSpec, frame: pd.DataFrame, lookback_bars: int, partials: bool) -> bool:
    if spec.entry is None or not spec.targets or len(frame) < 2:
        return False
    index = frame.index
    spacing = (index[1:] - index[:-1]).min()
    # Only bars that had closed: the bar in progress may have moved after the message.
    closed = int(index.searchsorted(pd.Timestamp(spec.published_at) - spacing, side="right"))
    if closed == 0:
        return False
    start = max(0, closed - lookback_bars)
    earlier = SignalSpec(
        side=spec.side,
        published_at=index[start].to_pydatetime(),
        entry=spec.entry,
        stop=spec.stop,
        targets=spec.targets,
        expiry=lookback_bars,
    )
    return follow(earlier, frame.iloc[:closed], partials=partials).targets_hit > 0


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _hours(value: pd.Timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600.0


def _iso(value: Any) -> str | None:
    return None if value is None else pd.Timestamp(value).isoformat()


def _row_dict(row: SignalRow) -> dict[str, Any]:
    o = row.outcome
    return {
        "message_id": row.message_id,
        "date": _iso(row.published_at),
        "symbol": row.symbol,
        "side": row.side,
        "entry": row.entry,
        "stop": row.stop,
        "targets": row.targets,
        "problems": row.problems,
        "status": None if o is None else o.status,
        "fill_price": None if o is None else o.fill_price,
        "fill_time": None if o is None else _iso(o.fill_time),
        "exit_price": None if o is None else o.exit_price,
        "exit_time": None if o is None else _iso(o.exit_time),
        "targets_hit": None if o is None else o.targets_hit,
        "result_r": None if o is None else _num(o.result_r),
        "result_pct": None if o is None else _num(o.result_pct),
        "holding_hours": None if o is None else _hours(o.holding_time),
    }
