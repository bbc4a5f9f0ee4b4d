from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from academy.models import (
    ChannelInstrument,
    ChannelSubscription,
    Instrument,
    Signal,
    SignalChannel,
    SignalOutcome,
)

# A signal is current when no later version points at it.
_newer = aliased(Signal)
_CURRENT = ~select(_newer.id).where(_newer.supersedes_id == Signal.id).exists()


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, channel: SignalChannel, instrument_ids: Sequence[int]) -> SignalChannel:
        self.session.add(channel)
        await self.session.flush()
        self.session.add_all(
            ChannelInstrument(channel_id=channel.id, instrument_id=i) for i in instrument_ids
        )
        await self.session.flush()
        return channel

    async def get(self, channel_id: int) -> SignalChannel | None:
        return await self.session.get(SignalChannel, channel_id)

    async def by_slug(self, slug: str) -> SignalChannel | None:
        return await self.session.scalar(select(SignalChannel).where(SignalChannel.slug == slug))

    async def listing(self, *, active_only: bool) -> list[SignalChannel]:
        query = select(SignalChannel).order_by(SignalChannel.name)
        if active_only:
            query = query.where(SignalChannel.active.is_(True))
        return list(await self.session.scalars(query))

    async def instruments(self, channel_ids: Sequence[int]) -> dict[int, list[Instrument]]:
        rows = await self.session.execute(
            select(ChannelInstrument.channel_id, Instrument)
            .join(Instrument, Instrument.id == ChannelInstrument.instrument_id)
            .where(ChannelInstrument.channel_id.in_(channel_ids))
            .order_by(Instrument.symbol)
        )
        found: dict[int, list[Instrument]] = {i: [] for i in channel_ids}
        for channel_id, instrument in rows.tuples():
            found[channel_id].append(instrument)
        return found

    async def for_bars(self, instrument_id: int, timeframe: str) -> list[SignalChannel]:
        """The active channels that watch this instrument at this timeframe."""
        rows = await self.session.scalars(
            select(SignalChannel)
            .join(ChannelInstrument, ChannelInstrument.channel_id == SignalChannel.id)
            .where(
                ChannelInstrument.instrument_id == instrument_id,
                SignalChannel.timeframe == timeframe,
                SignalChannel.active.is_(True),
            )
            .order_by(SignalChannel.id)
        )
        return list(rows)

    async def tracked(self) -> list[tuple[int, str]]:
        """(instrument id, timeframe) pairs that active channels watch: what the collector fetches."""
        rows = await self.session.execute(
            select(ChannelInstrument.instrument_id, SignalChannel.timeframe)
            .join(SignalChannel, SignalChannel.id == ChannelInstrument.channel_id)
            .join(Instrument, Instrument.id == ChannelInstrument.instrument_id)
            .where(SignalChannel.active.is_(True), Instrument.active.is_(True))
            .distinct()
            .order_by(ChannelInstrument.instrument_id, SignalChannel.timeframe)
        )
        return [(i, tf) for i, tf in rows.tuples()]

    async def subscriber_counts(self, channel_ids: Sequence[int]) -> dict[int, int]:
        rows = await self.session.execute(
            select(ChannelSubscription.channel_id, func.count())
            .where(ChannelSubscription.channel_id.in_(channel_ids))
            .group_by(ChannelSubscription.channel_id)
        )
        return dict(rows.tuples().all())

    async def subscribed_ids(self, user_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(ChannelSubscription.channel_id).where(ChannelSubscription.user_id == user_id)
        )
        return set(rows)

    async def subscriber_ids(self, channel_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(ChannelSubscription.user_id)
            .where(ChannelSubscription.channel_id == channel_id)
            .order_by(ChannelSubscription.user_id)
        )
        return list(rows)

    async def subscribe(self, user_id: int, channel_id: int) -> bool:
        if await self.session.get(ChannelSubscription, (user_id, channel_id)) is not None:
            return False
        self.session.add(ChannelSubscription(user_id=user_id, channel_id=channel_id))
        await self.session.flush()
        return True

    async def unsubscribe(self, user_id: int, channel_id: int) -> bool:
        result = await self.session.execute(
            delete(ChannelSubscription).where(
                ChannelSubscription.user_id == user_id, ChannelSubscription.channel_id == channel_id
            )
        )
        return bool(getattr(result, "rowcount", 0))


class SignalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, signal: Signal) -> Signal:
        self.session.add(signal)
        await self.session.flush()
        return signal

    async def get(self, signal_id: int) -> Signal | None:
        return await self.session.get(Signal, signal_id)

    async def first_version(self, channel_id: int, instrument_id: int, bar_time: datetime) -> Signal | None:
        return await self.session.scalar(
            select(Signal).where(
                Signal.channel_id == channel_id,
                Signal.instrument_id == instrument_id,
                Signal.bar_time == bar_time,
                Signal.version == 1,
            )
        )

    async def successor(self, signal_id: int) -> Signal | None:
        return await self.session.scalar(select(Signal).where(Signal.supersedes_id == signal_id))

    async def chain(self, signal: Signal) -> list[Signal]:
        """Every version of the signal's bar, oldest first (versions share channel, instrument, bar)."""
        rows = await self.session.scalars(
            select(Signal)
            .where(
                Signal.channel_id == signal.channel_id,
                Signal.instrument_id == signal.instrument_id,
                Signal.bar_time == signal.bar_time,
            )
            .order_by(Signal.version)
        )
        return list(rows)

    async def superseded_ids(self, signal_ids: Sequence[int]) -> set[int]:
        rows = await self.session.scalars(
            select(Signal.supersedes_id).where(Signal.supersedes_id.in_(signal_ids))
        )
        return {i for i in rows if i is not None}

    async def page(
        self,
        *,
        channel_ids: Sequence[int],
        instrument_id: int | None = None,
        timeframe: str | None = None,
        current_only: bool = True,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[tuple[Signal, SignalOutcome | None]], int]:
        conditions: list[ColumnElement[bool]] = [Signal.channel_id.in_(channel_ids)]
        if instrument_id is not None:
            conditions.append(Signal.instrument_id == instrument_id)
        if timeframe is not None:
            conditions.append(Signal.timeframe == timeframe)
        if current_only:
            conditions.append(_CURRENT)
        where = and_(*conditions)
        total = await self.session.scalar(select(func.count()).select_from(Signal).where(where)) or 0
        rows = await self.session.execute(
            select(Signal, SignalOutcome)
            .outerjoin(SignalOutcome, SignalOutcome.signal_id == Signal.id)
            .where(where)
            .order_by(Signal.created_at.desc(), Signal.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(s, o) for s, o in rows.tuples()], int(total)

    async def newer_than(self, channel_id: int, after_id: int, limit: int = 50) -> list[Signal]:
        rows = await self.session.scalars(
            select(Signal)
            .where(Signal.channel_id == channel_id, Signal.id > after_id)
            .order_by(Signal.id)
            .limit(limit)
        )
        return list(rows)

    async def latest_id(self, channel_id: int) -> int:
        return int(
            await self.session.scalar(select(func.max(Signal.id)).where(Signal.channel_id == channel_id)) or 0
        )

    async def current_for_channel(self, channel_id: int) -> list[tuple[Signal, SignalOutcome | None]]:
        rows = await self.session.execute(
            select(Signal, SignalOutcome)
            .outerjoin(SignalOutcome, SignalOutcome.signal_id == Signal.id)
            .where(Signal.channel_id == channel_id, _CURRENT)
            .order_by(Signal.created_at, Signal.id)
        )
        return [(s, o) for s, o in rows.tuples()]

    async def to_follow(self, instrument_id: int, timeframe: str) -> list[Signal]:
        """Current signals on these bars whose outcome is not final yet."""
        rows = await self.session.scalars(
            select(Signal)
            .outerjoin(SignalOutcome, SignalOutcome.signal_id == Signal.id)
            .where(
                Signal.instrument_id == instrument_id,
                Signal.timeframe == timeframe,
                _CURRENT,
                (SignalOutcome.signal_id.is_(None)) | (SignalOutcome.status.in_(("pending", "open"))),
            )
            .order_by(Signal.created_at)
        )
        return list(rows)

    async def outcome(self, signal_id: int) -> SignalOutcome | None:
        return await self.session.get(SignalOutcome, signal_id)

    async def save_outcome(self, outcome: SignalOutcome) -> None:
        await self.session.merge(outcome)
        await self.session.flush()

    async def drop_outcome(self, signal_id: int) -> None:
        await self.session.execute(delete(SignalOutcome).where(SignalOutcome.signal_id == signal_id))
