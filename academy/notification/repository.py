from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from academy.kit.repository import Repository
from academy.models import Email, Notification, NotificationPreference, TelegramMessage


class NotificationRepository(Repository[Notification]):
    model = Notification

    async def for_user(
        self, user_id: int, *, unread_only: bool, offset: int, limit: int
    ) -> tuple[Sequence[Notification], int]:
        stmt = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        total = await self.count(stmt)
        rows = await self.all(stmt.order_by(Notification.id.desc()).offset(offset).limit(limit))
        return rows, total

    async def latest(self, user_id: int, limit: int) -> Sequence[Notification]:
        stmt = select(Notification).where(Notification.user_id == user_id)
        return await self.all(stmt.order_by(Notification.id.desc()).limit(limit))

    async def newer_than(self, user_id: int, after_id: int, limit: int = 20) -> Sequence[Notification]:
        return await self.all(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.id > after_id)
            .order_by(Notification.id)
            .limit(limit)
        )

    async def latest_id(self, user_id: int) -> int:
        stmt = select(func.max(Notification.id)).where(Notification.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar() or 0)

    async def unread_count(self, user_id: int) -> int:
        stmt = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def mark_all_read(self, user_id: int, at: datetime) -> None:
        await self.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=at)
        )

    async def for_digest(
        self, user_id: int, kinds: Collection[str], *, after: datetime, until: datetime, limit: int
    ) -> tuple[Sequence[Notification], int]:
        """Notifications of `kinds` created in (after, until], oldest first, and how many there are."""
        stmt = select(Notification).where(
            Notification.user_id == user_id,
            Notification.kind.in_(kinds),
            Notification.created_at > after,
            Notification.created_at <= until,
        )
        total = await self.count(stmt)
        return await self.all(stmt.order_by(Notification.id).limit(limit)), total


class PreferenceRepository(Repository[NotificationPreference]):
    model = NotificationPreference

    async def for_user(self, user_id: int) -> dict[str, NotificationPreference]:
        rows = await self.all(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
        return {p.kind: p for p in rows}

    async def digest_subscribers(self) -> list[int]:
        """Users who asked for at least one kind by email as a digest."""
        stmt = (
            select(NotificationPreference.user_id)
            .where(NotificationPreference.digest.is_(True), NotificationPreference.email.is_(True))
            .distinct()
            .order_by(NotificationPreference.user_id)
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars()]


class EmailRepository(Repository[Email]):
    model = Email

    async def retryable_ids(self, now: datetime, max_attempts: int = 5) -> list[int]:
        # Mail that failed transiently, or that no worker picked up for ten minutes (broker was down).
        # Fresh mail is left to its own job, so a busy worker never gets the same message twice.
        stmt = select(Email.id).where(
            Email.status == "queued",
            Email.attempts < max_attempts,
            or_(Email.attempts > 0, Email.created_at < now - timedelta(minutes=10)),
        )
        return [int(i) for i in (await self.session.execute(stmt.limit(500))).scalars()]

    async def recent(self, *, offset: int, limit: int) -> tuple[Sequence[Email], int]:
        stmt = select(Email)
        total = await self.count(stmt)
        return await self.all(stmt.order_by(Email.id.desc()).offset(offset).limit(limit)), total

    async def last_created(self, user_id: int, kind: str) -> datetime | None:
        stmt = select(func.max(Email.created_at)).where(Email.user_id == user_id, Email.kind == kind)
        result: datetime | None = (await self.session.execute(stmt)).scalar()
        return result


class TelegramMessageRepository(Repository[TelegramMessage]):
    model = TelegramMessage

    async def retryable_ids(
        self, now: datetime, *, backoff: Sequence[timedelta], stale_after: timedelta
    ) -> list[int]:
        """Queued messages whose next attempt is due.

        There is no "last attempt" column, so the schedule is counted from creation: after the n-th
        failed attempt a message waits until `created_at + backoff[n - 1]`. Messages with no attempt
        yet are left to their own job unless none ran for `stale_after` (the broker was down).
        """
        due = [
            and_(TelegramMessage.attempts == n, TelegramMessage.created_at <= now - wait)
            for n, wait in enumerate(backoff, start=1)
        ]
        stmt = select(TelegramMessage.id).where(
            TelegramMessage.status == "queued",
            or_(
                and_(TelegramMessage.attempts == 0, TelegramMessage.created_at < now - stale_after),
                *due,
            ),
        )
        return [
            int(i)
            for i in (await self.session.execute(stmt.order_by(TelegramMessage.id).limit(500))).scalars()
        ]

    async def recent(self, *, offset: int, limit: int) -> tuple[Sequence[TelegramMessage], int]:
        stmt = select(TelegramMessage)
        total = await self.count(stmt)
        rows = await self.all(stmt.order_by(TelegramMessage.id.desc()).offset(offset).limit(limit))
        return rows, total
