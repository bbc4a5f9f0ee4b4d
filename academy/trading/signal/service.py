"""Signal channels and their published signals: the only entry point to them.

A channel runs one strategy on its instruments at one timeframe. When new closed bars arrive, every
channel watching them is evaluated and each entry on a new bar becomes a published signal: once per
bar (idempotent), never edited (a correction is a new version), then followed on later bars to its
outcome. Who may see a channel's signals is decided by billing's access tiers, nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np
import pandas as pd
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.billing.service import billing_service, tier_covers
from academy.config import get_settings
from academy.integrations.market import market_feed
from academy.kit import clock, i18n, realtime
from academy.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.kit.uow import after_commit
from academy.models import Instrument, Role, Signal, SignalChannel, SignalOutcome, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.trading.market_data.errors import MarketDataError
from academy.trading.market_data.service import market_data_service
from academy.trading.market_data.timeframes import timeframe_delta
from academy.trading.rules import RuleError
from academy.trading.signal.outcomes import Outcome, OutcomeError, SignalSpec, follow
from academy.trading.signal.repository import ChannelRepository, SignalRepository
from academy.trading.signal.schemas import (
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    EquityPoint,
    InstrumentBrief,
    OutcomeRead,
    SignalCorrection,
    SignalRead,
    TrackRecordRead,
)
from academy.trading.signal.track_record import TrackRecord
from academy.trading.strategy.base import Strategy, StrategyError, run
from academy.trading.strategy.build import build_strategy
from academy.trading.strategy.ml import MLStrategy
from academy.user.service import user_service

log = structlog.get_logger()
_ = i18n.gettext

NOTIFICATION_KIND = "signals"
# Bars a strategy sees when it is evaluated: enough for any indicator to settle after its warm-up.
_HISTORY_BARS = 1000
_ML_HISTORY_BARS = 5000
# Outcome following reads bars from the oldest open signal; cap it so one stale signal can't make
# every collection read years of bars.
_FOLLOW_MAX_BARS = 20_000
_PENDING = "pending"
# A profit factor with no losses is infinite; JSON has no infinity, so the API says this instead.
NO_LOSSES = 1e9


def live_channel(channel_id: int) -> str:
    return f"lab:channel:{channel_id}"


def price_text(value: float | None, tick: float) -> str:
    if value is None:
        return "—"
    decimals = max(0, min(8, -math.floor(math.log10(tick)))) if tick > 0 else 2
    return f"{value:,.{decimals}f}"


def _is_staff(user: User | None) -> bool:
    return user is not None and Role(user.role).is_staff


def _brief(instrument: Instrument) -> InstrumentBrief:
    return InstrumentBrief(
        id=instrument.id, symbol=instrument.symbol, venue=instrument.venue, simulated=instrument.simulated
    )


def _outcome_from_row(signal: Signal, row: SignalOutcome) -> Outcome:
    """Rebuild the pure outcome the track record reads from the stored figures."""
    holding = row.exited_at - row.entered_at if row.exited_at and row.entered_at else None
    return Outcome(
        status=row.status,  # type: ignore[arg-type]  # stored from an Outcome's own status
        side=1 if signal.side == "long" else -1,
        published_at=pd.Timestamp(signal.created_at),
        fill_price=row.entry_price,
        fill_time=pd.Timestamp(row.entered_at) if row.entered_at else None,
        exit_price=row.exit_price,
        exit_time=pd.Timestamp(row.exited_at) if row.exited_at else None,
        result_r=row.result_r,
        result_pct=row.result_pct,
        holding_time=pd.Timedelta(holding) if holding is not None else None,
        bars_held=row.bars_held,
    )


def record_read(record: TrackRecord) -> TrackRecordRead:
    holding = record.average_holding
    profit_factor = record.profit_factor
    if profit_factor is not None and math.isinf(profit_factor):
        profit_factor = NO_LOSSES
    return TrackRecordRead(
        signals=record.signals,
        closed=record.closed,
        open=record.open,
        not_filled=record.not_filled,
        wins=record.wins,
        win_rate=record.win_rate,
        win_rate_low=record.win_rate_low,
        win_rate_high=record.win_rate_high,
        expectancy_r=record.expectancy_r,
        expectancy_pct=record.expectancy_pct,
        profit_factor=profit_factor,
        max_drawdown_r=record.max_drawdown_r,
        average_holding_hours=holding.total_seconds() / 3600 if holding is not None else None,
        equity_r=[EquityPoint(time=t.to_pydatetime(), r=r) for t, r in record.equity_r],
    )


class SignalService:
    # --- channels ---

    def strategy_for(self, channel: SignalChannel) -> Strategy:
        return build_strategy(channel.strategy, dict(channel.params or {}), channel.rule)

    async def create_channel(self, session: AsyncSession, actor: User, data: ChannelCreate) -> SignalChannel:
        self._require_author(actor)
        repo = ChannelRepository(session)
        if await repo.by_slug(data.slug) is not None:
            raise Conflict(f"A channel with the address '{data.slug}' exists already")
        try:
            timeframe_delta(data.timeframe)
            build_strategy(data.strategy, dict(data.params), data.rule)
        except (StrategyError, RuleError, MarketDataError) as exc:
            raise Unprocessable(str(exc)) from exc
        for instrument_id in dict.fromkeys(data.instrument_ids):
            await market_data_service.instrument(session, instrument_id)
        channel = await repo.add(
            SignalChannel(
                slug=data.slug,
                name=data.name,
                description=data.description,
                timeframe=data.timeframe,
                strategy=data.strategy,
                params=dict(data.params),
                rule=data.rule if data.strategy == "rule" else None,
                access_tier=data.access_tier,
                expiry_bars=data.expiry_bars,
                telegram_chat=data.telegram_chat or None,
                created_by_id=actor.id,
            ),
            list(dict.fromkeys(data.instrument_ids)),
        )
        log.info("signal.channel_created", channel_id=channel.id, user_id=actor.id)
        return channel

    async def update_channel(
        self, session: AsyncSession, actor: User, channel_id: int, data: ChannelUpdate
    ) -> SignalChannel:
        self._require_author(actor)
        channel = await self._channel(session, channel_id)
        for key, value in data.model_dump(exclude_unset=True).items():
            if key == "telegram_chat":
                value = value or None
            if value is not None or key == "telegram_chat":
                setattr(channel, key, value)
        await session.flush()
        log.info("signal.channel_updated", channel_id=channel.id, user_id=actor.id)
        return channel

    async def channels(self, session: AsyncSession, viewer: User | None) -> list[ChannelRead]:
        """Every active channel (all of them for staff), with what the viewer may do with each."""
        rows = await ChannelRepository(session).listing(active_only=not _is_staff(viewer))
        return await self._reads(session, viewer, rows)

    async def channel(self, session: AsyncSession, viewer: User | None, slug: str) -> ChannelRead:
        channel = await ChannelRepository(session).by_slug(slug)
        if channel is None or (not channel.active and not _is_staff(viewer)):
            raise NotFound("No such channel")
        return (await self._reads(session, viewer, [channel]))[0]

    async def channel_by_id(self, session: AsyncSession, viewer: User | None, channel_id: int) -> ChannelRead:
        channel = await self._channel(session, channel_id)
        if not channel.active and not _is_staff(viewer):
            raise NotFound("No such channel")
        return (await self._reads(session, viewer, [channel]))[0]

    async def can_view(self, session: AsyncSession, user: User | None, channel: SignalChannel) -> bool:
        if user is None:
            return False
        return tier_covers(await billing_service.tier(session, user), channel.access_tier)

    async def subscribe(self, session: AsyncSession, user: User, channel_id: int) -> bool:
        channel = await self._visible(session, user, channel_id)
        added = await ChannelRepository(session).subscribe(user.id, channel.id)
        if added:
            log.info("signal.channel_subscribed", channel_id=channel.id, user_id=user.id)
        return added

    async def unsubscribe(self, session: AsyncSession, user: User, channel_id: int) -> bool:
        await self._channel(session, channel_id)
        return await ChannelRepository(session).unsubscribe(user.id, channel_id)

    async def track_record(
        self, session: AsyncSession, viewer: User | None, channel_id: int
    ) -> TrackRecordRead:
        """The record of everything the channel published (current versions), which anyone who may
        see the channel page may see: an honest record is the channel's advertisement."""
        channel = await self._channel(session, channel_id)
        if not channel.active and not _is_staff(viewer):
            raise NotFound("No such channel")
        rows = await SignalRepository(session).current_for_channel(channel.id)
        outcomes = [_outcome_from_row(s, o) for s, o in rows if o is not None and o.status != _PENDING]
        pending = sum(1 for _, o in rows if o is None or o.status == _PENDING)
        record = record_read(TrackRecord.from_outcomes(outcomes))
        # Signals whose first bar has not opened yet are waiting for their fill, like unfilled orders.
        return record.model_copy(update={"signals": record.signals + pending, "open": record.open + pending})

    # --- signals ---

    async def signals(
        self,
        session: AsyncSession,
        viewer: User,
        params: PageParams,
        *,
        channel_id: int | None = None,
        instrument_id: int | None = None,
        timeframe: str | None = None,
    ) -> Page[SignalRead]:
        """Current versions of the signals the viewer may see, newest first."""
        repo = ChannelRepository(session)
        if channel_id is not None:
            channels = [await self._visible(session, viewer, channel_id)]
        else:
            channels = [
                c
                for c in await repo.listing(active_only=not _is_staff(viewer))
                if await self.can_view(session, viewer, c)
            ]
        rows, total = await SignalRepository(session).page(
            channel_ids=[c.id for c in channels],
            instrument_id=instrument_id,
            timeframe=timeframe,
            offset=params.offset,
            limit=params.size,
        )
        items = await self._signal_reads(session, rows, {c.id: c for c in channels})
        return Page(items=items, total=total, page=params.page, size=params.size)

    async def signal(self, session: AsyncSession, viewer: User, signal_id: int) -> SignalRead:
        signal = await self._signal(session, signal_id)
        channel = await self._visible(session, viewer, signal.channel_id)
        outcome = await SignalRepository(session).outcome(signal.id)
        return (await self._signal_reads(session, [(signal, outcome)], {channel.id: channel}))[0]

    async def history(self, session: AsyncSession, viewer: User, signal_id: int) -> list[SignalRead]:
        """Every version of a signal, oldest first: what was published and every correction."""
        signal = await self._signal(session, signal_id)
        channel = await self._visible(session, viewer, signal.channel_id)
        repo = SignalRepository(session)
        rows = [(s, await repo.outcome(s.id)) for s in await repo.chain(signal)]
        return await self._signal_reads(session, rows, {channel.id: channel})

    async def correct(
        self, session: AsyncSession, actor: User, signal_id: int, data: SignalCorrection
    ) -> Signal:
        """Publish a corrected version. Only the current version of a signal still in play can be
        corrected: rewriting the levels of a finished trade would rewrite its result."""
        self._require_author(actor)
        repo = SignalRepository(session)
        old = await self._signal(session, signal_id)
        if await repo.successor(old.id) is not None:
            raise Conflict("This version was corrected already; correct the latest version")
        outcome = await repo.outcome(old.id)
        if outcome is not None and outcome.status not in (_PENDING, "open"):
            raise Conflict("The signal has finished; a finished signal cannot be corrected")
        stop = data.stop if data.stop is not None else old.stop
        targets = list(data.targets) if data.targets is not None else list(old.targets)
        side = 1 if old.side == "long" else -1
        try:
            SignalSpec(
                side=side,
                published_at=old.created_at,
                entry=old.entry if old.entry is not None else None,
                stop=stop,
                targets=sorted(targets, reverse=side < 0),
            )
            if stop is not None and side * (old.reference_price - stop) <= 0:
                raise OutcomeError("the stop must be on the losing side of the entry")
            if targets and side * (targets[0] - old.reference_price) <= 0:
                raise OutcomeError("the targets must be on the winning side of the entry")
        except OutcomeError as exc:
            raise Unprocessable(str(exc)) from exc
        channel = await self._channel(session, old.channel_id)
        new = await repo.add(
            Signal(
                channel_id=old.channel_id,
                instrument_id=old.instrument_id,
                timeframe=old.timeframe,
                bar_time=old.bar_time,
                version=old.version + 1,
                supersedes_id=old.id,
                side=old.side,
                entry=old.entry,
                reference_price=old.reference_price,
                stop=stop,
                targets=sorted(targets, reverse=side < 0),
                confidence=old.confidence,
                reason=old.reason,
                note=data.note.strip(),
                author_id=actor.id,
                # The correction is tracked from the original publication: the trade it describes
                # started then, and a later start would let a correction pick a better entry.
                created_at=old.created_at,
            )
        )
        await self._follow_signals(session, [new])
        await self._announce(session, channel, new, corrected=True)
        log.info("signal.corrected", signal_id=new.id, supersedes_id=old.id, user_id=actor.id)
        return new

    async def may_follow(self, session: AsyncSession, user: User, channel_id: int) -> bool:
        """Whether `user` may follow the channel's live feed (the same rule as reading its signals)."""
        try:
            await self._visible(session, user, channel_id)
        except (NotFound, Forbidden):
            return False
        return True

    async def live_cursor(self, session: AsyncSession, channel_id: int) -> int:
        return await SignalRepository(session).latest_id(channel_id)

    async def live_since(self, session: AsyncSession, channel_id: int, after_id: int) -> list[dict[str, Any]]:
        """The live messages of signals stored after `after_id`, for pages that cannot hear the hub."""
        return [live_message(s) for s in await SignalRepository(session).newer_than(channel_id, after_id)]

    # --- the engine: new bars in, signals and outcomes out ---

    async def on_new_bars(
        self, session: AsyncSession, instrument_id: int, timeframe: str, first_new: datetime
    ) -> list[Signal]:
        """Evaluate every channel watching these bars on the bars from `first_new`, then follow the
        open signals on them. Idempotent: running it again publishes nothing new."""
        instrument = await market_data_service.instrument(session, instrument_id)
        published: list[Signal] = []
        for channel in await ChannelRepository(session).for_bars(instrument_id, timeframe):
            published += await self.evaluate(session, channel, instrument, since=first_new)
        await self.follow_outcomes(session, instrument_id, timeframe)
        return published

    async def evaluate(
        self,
        session: AsyncSession,
        channel: SignalChannel,
        instrument: Instrument,
        *,
        since: datetime,
        backfill: bool = False,
    ) -> list[Signal]:
        """Publish the channel's entry on the newest closed bar, if it has one (never on bars from
        before the channel existed: a track record only holds what was published live).

        With `backfill` (the demo's history) every entry on bars from `since` is published, each
        dated at its bar's close, which is what a live run would have done: a strategy's decision
        on a bar never depends on later bars (the look-ahead tests hold every strategy to that)."""
        strategy = self.strategy_for(channel)
        depth = (
            _ML_HISTORY_BARS if isinstance(strategy, MLStrategy) else max(_HISTORY_BARS, strategy.warmup * 4)
        )
        delta = timeframe_delta(channel.timeframe)
        start = max(pd.Timestamp(since), pd.Timestamp(channel.created_at) - delta)
        bars = await market_data_service.bars(
            session, instrument.id, channel.timeframe, start=(start - depth * delta).to_pydatetime()
        )
        if bars.empty:
            return []
        try:
            signals = run(strategy, bars)
        except StrategyError as exc:
            log.warning("signal.evaluation_failed", channel_id=channel.id, error=str(exc))
            return []
        entries = signals.index[(signals["entry"] != 0) & (signals.index >= start)]
        if not backfill and len(entries) and entries[0] < bars.index[-1]:
            # "At market on the next open" only means something while that open is still ahead: an
            # entry on an older bar (the collector was down) would be filled at a price the rule never
            # saw, so it is skipped, not published late.
            log.info(
                "signal.stale_skipped", channel_id=channel.id, bars=int((entries < bars.index[-1]).sum())
            )
            entries = entries[entries == bars.index[-1]]
        published = []
        repo = SignalRepository(session)
        for bar_time in entries:
            if await repo.first_version(channel.id, instrument.id, bar_time.to_pydatetime()) is not None:
                continue
            row = signals.loc[bar_time]
            close = float(bars.loc[bar_time, "close"])
            if backfill:
                # The moment the bar closed: when a live collector would have published it.
                with clock.frozen((bar_time + delta).to_pydatetime()):
                    signal = await self._publish(session, channel, instrument, bar_time, close, row)
            else:
                signal = await self._publish(session, channel, instrument, bar_time, close, row)
            published.append(signal)
        return published

    async def follow_outcomes(self, session: AsyncSession, instrument_id: int, timeframe: str) -> int:
        signals = await SignalRepository(session).to_follow(instrument_id, timeframe)
        await self._follow_signals(session, signals)
        return len(signals)

    async def tracked(self, session: AsyncSession) -> list[tuple[int, str]]:
        """The (instrument, timeframe) series that active channels watch: what the collector fetches."""
        return await ChannelRepository(session).tracked()

    async def collect(self, session: AsyncSession, instrument_id: int, timeframe: str) -> list[Signal]:
        """Fetch the series' new closed bars from its venue's feed, then evaluate and follow on them."""
        instrument = await market_data_service.instrument(session, instrument_id)
        last = await market_data_service.last_bar_time(session, instrument_id, timeframe)
        counts = await market_data_service.collect(
            session, instrument, timeframe, market_feed(instrument.venue)
        )
        if counts.inserted == 0:
            return []
        first_new = (
            last + timeframe_delta(timeframe) if last is not None else datetime.min.replace(tzinfo=UTC)
        )
        return await self.on_new_bars(session, instrument_id, timeframe, first_new)

    # --- internals ---

    async def _publish(
        self,
        session: AsyncSession,
        channel: SignalChannel,
        instrument: Instrument,
        bar_time: pd.Timestamp,
        close: float,
        row: pd.Series,
    ) -> Signal:
        side = 1 if int(row["entry"]) > 0 else -1
        stop_distance, target_distance = float(row["stop"]), float(row["target"])
        stop = close - side * stop_distance if np.isfinite(stop_distance) and stop_distance > 0 else None
        target = (
            close + side * target_distance if np.isfinite(target_distance) and target_distance > 0 else None
        )
        signal = await SignalRepository(session).add(
            Signal(
                channel_id=channel.id,
                instrument_id=instrument.id,
                timeframe=channel.timeframe,
                bar_time=bar_time.to_pydatetime(),
                version=1,
                side="long" if side > 0 else "short",
                entry=None,
                reference_price=float(close),
                stop=_tick(stop, instrument.tick_size),
                targets=[t for t in [_tick(target, instrument.tick_size)] if t is not None],
                confidence=float(row["confidence"]),
                reason=str(row["reason"]),
            )
        )
        await SignalRepository(session).save_outcome(SignalOutcome(signal_id=signal.id, status=_PENDING))
        await self._announce(session, channel, signal, corrected=False)
        log.info("signal.published", signal_id=signal.id, channel_id=channel.id, instrument_id=instrument.id)
        return signal

    async def _follow_signals(self, session: AsyncSession, signals: Sequence[Signal]) -> None:
        if not signals:
            return
        repo = SignalRepository(session)
        by_series: dict[tuple[int, str], list[Signal]] = {}
        for signal in signals:
            by_series.setdefault((signal.instrument_id, signal.timeframe), []).append(signal)
        channels = ChannelRepository(session)
        expiry = {}
        for channel_id in {s.channel_id for s in signals}:
            channel = await channels.get(channel_id)
            expiry[channel_id] = channel.expiry_bars if channel else 20
        for (instrument_id, timeframe), group in by_series.items():
            oldest = min(s.created_at for s in group)
            bars = await market_data_service.bars(
                session,
                instrument_id,
                timeframe,
                start=oldest - timeframe_delta(timeframe),
                limit=_FOLLOW_MAX_BARS,
            )
            for signal in group:
                side = 1 if signal.side == "long" else -1
                spec = SignalSpec(
                    side=side,
                    published_at=signal.created_at,
                    entry=signal.entry,
                    stop=signal.stop,
                    targets=signal.targets,
                    expiry=expiry.get(signal.channel_id, 20),
                )
                after = bars[bars.index >= pd.Timestamp(signal.created_at)]
                if after.empty:
                    await repo.save_outcome(SignalOutcome(signal_id=signal.id, status=_PENDING))
                    continue
                outcome = follow(spec, bars)
                await repo.save_outcome(
                    SignalOutcome(
                        signal_id=signal.id,
                        status=outcome.status,
                        entry_price=outcome.fill_price,
                        exit_price=outcome.exit_price,
                        entered_at=_py(outcome.fill_time),
                        exited_at=_py(outcome.exit_time),
                        result_r=_finite(outcome.result_r),
                        result_pct=_finite(outcome.result_pct),
                        bars_held=outcome.bars_held,
                        updated_at=clock.now(),
                    )
                )

    async def _announce(
        self, session: AsyncSession, channel: SignalChannel, signal: Signal, *, corrected: bool
    ) -> None:
        """Tell subscribers (in-app, email or digest, Telegram), the channel's Telegram chat, open pages."""
        instrument = await market_data_service.instrument(session, signal.instrument_id)
        link = f"/lab/signals/{signal.id}"
        for user_id in await ChannelRepository(session).subscriber_ids(channel.id):
            user = await _user(session, user_id)
            if user is None or not await self.can_view(session, user, channel):
                continue  # a lapsed tier stops delivery; the subscription waits for a renewal
            with i18n.use_locale(user.locale):
                title, body = signal_message(channel, instrument, signal, corrected=corrected)
            await notification_service.notify(
                session,
                user.id,
                NotificationPayload(kind=NOTIFICATION_KIND, title=title, body=body, link=link),
            )
        if channel.telegram_chat:
            with i18n.use_locale("en"):
                title, body = signal_message(channel, instrument, signal, corrected=corrected)
            await notification_service.send_telegram(
                session,
                chat_id=channel.telegram_chat,
                text=telegram_text(title, body, link),
                kind=NOTIFICATION_KIND,
            )
        message = live_message(signal)

        async def push() -> None:
            await realtime.hub().publish(live_channel(channel.id), message)

        after_commit(session, push)

    async def _reads(
        self, session: AsyncSession, viewer: User | None, channels: Sequence[SignalChannel]
    ) -> list[ChannelRead]:
        repo = ChannelRepository(session)
        ids = [c.id for c in channels]
        instruments = await repo.instruments(ids)
        counts = await repo.subscriber_counts(ids)
        mine = await repo.subscribed_ids(viewer.id) if viewer is not None else set()
        tier = await billing_service.tier(session, viewer)
        return [
            ChannelRead(
                id=c.id,
                slug=c.slug,
                name=c.name,
                description=c.description,
                timeframe=c.timeframe,
                strategy=c.strategy,
                strategy_text=c.rule if c.strategy == "rule" and c.rule else self.strategy_for(c).describe(),
                access_tier=c.access_tier,  # type: ignore[arg-type]  # constrained by a CHECK
                expiry_bars=c.expiry_bars,
                active=c.active,
                telegram_chat=c.telegram_chat,
                instruments=[_brief(i) for i in instruments[c.id]],
                simulated=any(i.simulated for i in instruments[c.id]),
                subscribers=counts.get(c.id, 0),
                locked=viewer is None or not tier_covers(tier, c.access_tier),
                subscribed=c.id in mine,
                created_at=c.created_at,
            )
            for c in channels
        ]

    async def _signal_reads(
        self,
        session: AsyncSession,
        rows: Sequence[tuple[Signal, SignalOutcome | None]],
        channels: dict[int, SignalChannel],
    ) -> list[SignalRead]:
        superseded = await SignalRepository(session).superseded_ids([s.id for s, _ in rows])
        instruments: dict[int, Instrument] = {}
        items = []
        for signal, outcome in rows:
            if signal.instrument_id not in instruments:
                instruments[signal.instrument_id] = await market_data_service.instrument(
                    session, signal.instrument_id
                )
            instrument = instruments[signal.instrument_id]
            items.append(
                SignalRead(
                    id=signal.id,
                    channel_id=signal.channel_id,
                    channel_name=channels[signal.channel_id].name,
                    instrument=_brief(instrument),
                    timeframe=signal.timeframe,
                    bar_time=signal.bar_time,
                    published_at=signal.created_at,
                    version=signal.version,
                    supersedes_id=signal.supersedes_id,
                    superseded=signal.id in superseded,
                    side=signal.side,  # type: ignore[arg-type]  # constrained by a CHECK
                    entry=signal.entry,
                    reference_price=signal.reference_price,
                    stop=signal.stop,
                    targets=list(signal.targets),
                    confidence=signal.confidence,
                    reason=signal.reason,
                    note=signal.note,
                    status=outcome.status if outcome else _PENDING,
                    result_r=outcome.result_r if outcome else None,
                    result_pct=outcome.result_pct if outcome else None,
                    chart_url=chart_url(signal),
                    outcome=OutcomeRead.model_validate(outcome, from_attributes=True) if outcome else None,
                )
            )
        return items

    async def _channel(self, session: AsyncSession, channel_id: int) -> SignalChannel:
        channel = await ChannelRepository(session).get(channel_id)
        if channel is None:
            raise NotFound("No such channel")
        return channel

    async def _signal(self, session: AsyncSession, signal_id: int) -> Signal:
        signal = await SignalRepository(session).get(signal_id)
        if signal is None:
            raise NotFound("No such signal")
        return signal

    async def _visible(self, session: AsyncSession, user: User, channel_id: int) -> SignalChannel:
        channel = await self._channel(session, channel_id)
        if not channel.active and not _is_staff(user):
            raise NotFound("No such channel")
        if not await self.can_view(session, user, channel):
            raise Forbidden(f"This channel's signals need the {channel.access_tier} plan")
        return channel

    @staticmethod
    def _require_author(user: User) -> None:
        if user.role not in (Role.curator, Role.admin):
            raise Forbidden("Only curators and admins manage signal channels")


def live_message(signal: Signal) -> dict[str, Any]:
    return {
        "type": "signal",
        "channel_id": signal.channel_id,
        "signal_id": signal.id,
        "instrument_id": signal.instrument_id,
        "timeframe": signal.timeframe,
        "version": signal.version,
    }


def chart_url(signal: Signal) -> str:
    at = int(signal.bar_time.timestamp())
    return f"/lab/chart/{signal.instrument_id}?tf={signal.timeframe}&at={at}"


def signal_message(
    channel: SignalChannel, instrument: Instrument, signal: Signal, *, corrected: bool
) -> tuple[str, str]:
    """Title and body of a signal in the current locale; every signal message carries the notice."""
    tick = instrument.tick_size
    side = _("LONG") if signal.side == "long" else _("SHORT")
    sim = f" ({_('simulated')})" if instrument.simulated else ""
    title = (_("Corrected: %(side)s %(symbol)s") if corrected else _("%(side)s %(symbol)s")) % {
        "side": side,
        "symbol": instrument.symbol,
    }
    title = f"{title}{sim} · {channel.name}"
    lines = [
        _("Entry: at market (last close %(price)s)") % {"price": price_text(signal.reference_price, tick)},
        _("Stop: %(price)s") % {"price": price_text(signal.stop, tick)},
        _("Targets: %(prices)s")
        % {"prices": ", ".join(price_text(t, tick) for t in signal.targets) if signal.targets else "—"},
    ]
    if signal.confidence is not None:
        lines.append(_("Confidence: %(pct)s%%") % {"pct": round(signal.confidence * 100)})
    if signal.reason:
        lines.append(_("Why: %(reason)s") % {"reason": signal.reason})
    if corrected and signal.note:
        lines.append(_("Correction: %(note)s") % {"note": signal.note})
    lines.append(_("Educational material, not financial advice."))
    return title[:200], "\n".join(lines)


def telegram_text(title: str, body: str, link: str) -> str:
    return f"<b>{escape(title)}</b>\n{escape(body)}\n{escape(get_settings().url(link))}"


def _tick(value: float | None, tick: float) -> float | None:
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return round(round(value / tick) * tick, 10) if tick > 0 else value


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _py(value: pd.Timestamp | None) -> datetime | None:
    return value.to_pydatetime() if value is not None else None


async def _user(session: AsyncSession, user_id: int) -> User | None:
    try:
        return await user_service.get(session, user_id)
    except NotFound:
        return None


signal_service = SignalService()
