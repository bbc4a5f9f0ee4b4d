from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.config import get_settings
from academy.integrations.email import EmailDeliveryError, OutgoingEmail, email_transport
from academy.integrations.telegram import TelegramClient, TelegramDeliveryError, telegram_client
from academy.kit import clock, jobs, realtime
from academy.kit.errors import NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.kit.uow import after_commit
from academy.models import Email, Notification, NotificationPreference, Role, TelegramMessage, User
from academy.notification import emails
from academy.notification.repository import (
    EmailRepository,
    NotificationRepository,
    PreferenceRepository,
    TelegramMessageRepository,
)
from academy.notification.schemas import (
    KINDS,
    STAFF_KINDS,
    EmailRead,
    NotificationPayload,
    NotificationRead,
    PreferenceRead,
    TelegramMessageRead,
)
from academy.notification.telegram import notification_text, preview
from academy.user.service import user_service

log = structlog.get_logger()

# Account mail (verification, reset) is not optional; it goes out regardless of preferences,
# and at once rather than in a digest.
_ALWAYS_EMAIL = {"account"}

# After the n-th failed attempt a Telegram message is retried once `created_at + backoff[n - 1]` has
# passed; the attempt after the last step is final.
TELEGRAM_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
TELEGRAM_MAX_ATTEMPTS = len(TELEGRAM_BACKOFF) + 1
# A message no job touched for this long was lost with the broker; the retry beat sends it.
_TELEGRAM_STALE = timedelta(minutes=10)

DIGEST_KIND = "digest"
# A first digest covers one day: older notifications were emailed one by one before the digest was chosen.
_FIRST_DIGEST_WINDOW = timedelta(days=1)
_DIGEST_MAX_ITEMS = 50
_CHANNELS = ("email", "telegram", "digest")


def _preference(kind: str, pref: NotificationPreference | None) -> PreferenceRead:
    """A kind's settings; a kind the user never touched is emailed at once and sent to Telegram."""
    forced = kind in _ALWAYS_EMAIL
    return PreferenceRead(
        kind=kind,
        label=KINDS[kind],
        email=forced or (pref.email if pref else True),
        telegram=pref.telegram if pref else True,
        digest=not forced and pref is not None and pref.digest,
    )


def _absolute(link: str | None) -> str | None:
    return get_settings().url(link) if link and link.startswith("/") else link


def live_message(item: NotificationRead, unread: int) -> dict[str, object]:
    """What `/ws` receives for a new notification (also rebuilt from the table when catching up)."""
    return {
        "type": "notification",
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "link": item.link,
        "unread": unread,
    }


class NotificationService:
    async def notify(
        self,
        session: AsyncSession,
        user_id: int,
        payload: NotificationPayload,
        *,
        email: bool = True,
        telegram: bool = True,
    ) -> Notification:
        """Store an in-app notification, push it live after commit, and email it (at once or in the
        daily digest) and send it to the user's Telegram as they chose for its kind."""
        user = await user_service.get(session, user_id)
        repo = NotificationRepository(session)
        item = await repo.add(
            Notification(
                user_id=user.id, kind=payload.kind, title=payload.title, body=payload.body, link=payload.link
            )
        )
        message = live_message(NotificationRead.model_validate(item), await repo.unread_count(user.id))

        async def push() -> None:
            await realtime.hub().publish(realtime.user_channel(user.id), message)

        after_commit(session, push)
        choice = _preference(
            payload.kind, (await PreferenceRepository(session).for_user(user.id)).get(payload.kind)
        )
        link = _absolute(payload.link)
        # Digest kinds wait for `send_digests`, which finds them in the notifications table.
        if email and choice.email and not choice.digest and user.email and user.email_verified_at:
            await self.send_email(
                session,
                user,
                template="notification",
                kind=payload.kind,
                title=payload.title,
                body=payload.body,
                link=link,
            )
        if telegram and choice.telegram and user.telegram_id is not None:
            await self.send_telegram(
                session,
                chat_id=str(user.telegram_id),
                text=notification_text(user.locale, title=payload.title, body=payload.body, link=link),
                kind=payload.kind,
                user_id=user.id,
            )
        log.info("notification.created", user_id=user.id, notification_id=item.id, kind=item.kind)
        return item

    async def send_email(
        self, session: AsyncSession, user: User, *, template: str, kind: str, **context: object
    ) -> Email:
        """Write the email to the outbox table; the delivery job sends it after commit."""
        if not user.email:
            raise NotFound("User has no email address")
        subject, text, html = emails.render(template, user.locale, name=user.display_name, **context)
        mail = await EmailRepository(session).add(
            Email(
                user_id=user.id,
                kind=kind,
                to_address=user.email,
                subject=subject,
                body_text=text,
                body_html=html,
            )
        )
        jobs.enqueue(session, "notification.deliver_email", mail.id)
        return mail

    async def page(
        self, session: AsyncSession, user: User, params: PageParams, *, unread_only: bool = False
    ) -> Page[NotificationRead]:
        rows, total = await NotificationRepository(session).for_user(
            user.id, unread_only=unread_only, offset=params.offset, limit=params.size
        )
        return Page(
            items=[NotificationRead.model_validate(r) for r in rows],
            total=total,
            page=params.page,
            size=params.size,
        )

    async def recent(self, session: AsyncSession, user: User, limit: int = 5) -> list[NotificationRead]:
        rows = await NotificationRepository(session).latest(user.id, limit)
        return [NotificationRead.model_validate(r) for r in rows]

    async def newer_than(self, session: AsyncSession, user: User, after_id: int) -> list[NotificationRead]:
        rows = await NotificationRepository(session).newer_than(user.id, after_id)
        return [NotificationRead.model_validate(r) for r in rows]

    async def latest_id(self, session: AsyncSession, user: User) -> int:
        return await NotificationRepository(session).latest_id(user.id)

    async def unread_count(self, session: AsyncSession, user: User) -> int:
        return await NotificationRepository(session).unread_count(user.id)

    async def mark_read(self, session: AsyncSession, user: User, notification_id: int) -> NotificationRead:
        item = await NotificationRepository(session).get(notification_id)
        if item is None or item.user_id != user.id:
            raise NotFound("Notification not found")
        if item.read_at is None:
            item.read_at = clock.now()
        return NotificationRead.model_validate(item)

    async def mark_all_read(self, session: AsyncSession, user: User) -> None:
        await NotificationRepository(session).mark_all_read(user.id, clock.now())

    async def preferences(self, session: AsyncSession, user: User) -> list[PreferenceRead]:
        prefs = await PreferenceRepository(session).for_user(user.id)
        staff = user.role != Role.student
        return [_preference(kind, prefs.get(kind)) for kind in KINDS if staff or kind not in STAFF_KINDS]

    async def update_preferences(
        self,
        session: AsyncSession,
        user: User,
        email: Mapping[str, bool] | None = None,
        *,
        telegram: Mapping[str, bool] | None = None,
        digest: Mapping[str, bool] | None = None,
    ) -> list[PreferenceRead]:
        """Change the named kinds on the given channels; everything else keeps its setting."""
        changes = dict(zip(_CHANNELS, (email or {}, telegram or {}, digest or {}), strict=True))
        unknown = {kind for wanted in changes.values() for kind in wanted} - set(KINDS)
        if unknown:
            raise Unprocessable(f"Unknown notification kinds: {', '.join(sorted(unknown))}")
        repo = PreferenceRepository(session)
        prefs = await repo.for_user(user.id)
        for channel, wanted in changes.items():
            for kind, value in wanted.items():
                pref = prefs.get(kind)
                if pref is None:
                    pref = prefs[kind] = await repo.add(
                        NotificationPreference(
                            user_id=user.id, kind=kind, email=True, telegram=True, digest=False
                        )
                    )
                setattr(pref, channel, value)
        return await self.preferences(session, user)

    async def outbox(self, session: AsyncSession, params: PageParams) -> Page[EmailRead]:
        rows, total = await EmailRepository(session).recent(offset=params.offset, limit=params.size)
        return Page(
            items=[EmailRead.model_validate(r) for r in rows], total=total, page=params.page, size=params.size
        )

    async def deliver_email(self, session: AsyncSession, email_id: int) -> str:
        """Send one outbox email through the configured transport. Idempotent: sent mail is skipped."""
        mail = await EmailRepository(session).get(email_id)
        if mail is None or mail.status == "sent":
            return "skipped"
        transport = email_transport()
        mail.attempts += 1
        try:
            await transport.send(
                OutgoingEmail(
                    sender=get_settings().email_from,
                    to=mail.to_address,
                    subject=mail.subject,
                    text=mail.body_text,
                    html=mail.body_html,
                    message_id=f"<email-{mail.id}@academy.local>",
                )
            )
        except EmailDeliveryError as exc:
            mail.last_error = str(exc)
            mail.status = "failed" if exc.permanent or mail.attempts >= 5 else "queued"
            log.warning("notification.email_failed", email_id=mail.id, error=str(exc), attempts=mail.attempts)
            # Transient failures stay queued; `notification.retry_emails` picks them up again.
            return mail.status
        mail.status = "sent"
        mail.sent_at = clock.now()
        log.info("notification.email_sent", email_id=mail.id, transport=transport.name)
        return "sent"

    async def pending_email_ids(self, session: AsyncSession) -> list[int]:
        return await EmailRepository(session).retryable_ids(clock.now())

    async def send_telegram(
        self, session: AsyncSession, *, chat_id: str, text: str, kind: str, user_id: int | None = None
    ) -> TelegramMessage:
        """Write a Telegram message (HTML parse mode) to the outbox; the delivery job sends it after commit.

        `chat_id` is a user's Telegram id or a chat such as `@channel`; `kind` labels the message.
        """
        chat_id, kind = chat_id.strip(), kind.strip()
        if not chat_id or len(chat_id) > 64:
            raise Unprocessable("A Telegram chat id of at most 64 characters is required")
        if not kind or len(kind) > 64:
            raise Unprocessable("A message kind of at most 64 characters is required")
        if not text.strip():
            raise Unprocessable("A Telegram message needs text")
        message = await TelegramMessageRepository(session).add(
            TelegramMessage(
                user_id=user_id, chat_id=chat_id, kind=kind, text=text, status="queued", attempts=0
            )
        )
        jobs.enqueue(session, "notification.deliver_telegram", message.id)
        log.info("notification.telegram_queued", telegram_message_id=message.id, kind=kind, user_id=user_id)
        return message

    async def deliver_telegram(
        self, session: AsyncSession, message_id: int, client: TelegramClient | None = None
    ) -> str:
        """Send one queued Telegram message. Idempotent: sent and failed messages are skipped.

        Pass `client` to share one connection across many messages; otherwise one is opened and closed.
        """
        message = await TelegramMessageRepository(session).get(message_id)
        if message is None or message.status != "queued":
            return "skipped"
        sender = client or telegram_client()
        message.attempts += 1
        try:
            sent = await sender.send_text(message.chat_id, message.text)
        except TelegramDeliveryError as exc:
            message.last_error = str(exc)
            final = exc.permanent or message.attempts >= TELEGRAM_MAX_ATTEMPTS
            message.status = "failed" if final else "queued"
            log.warning(
                "notification.telegram_failed",
                telegram_message_id=message.id,
                error=str(exc),
                attempts=message.attempts,
                permanent=exc.permanent,
            )
            # Retryable failures stay queued; `notification.retry_telegram` tries again after the backoff.
            return message.status
        finally:
            if client is None:
                await sender.close()
        message.status = "sent"
        message.sent_at = clock.now()
        log.info(
            "notification.telegram_sent",
            telegram_message_id=message.id,
            client=sender.name,
            telegram_id=sent.message_id,
        )
        return "sent"

    async def retry_telegram(self, session: AsyncSession) -> int:
        """Deliver every queued message whose backoff has passed; how many were tried."""
        ids = await TelegramMessageRepository(session).retryable_ids(
            clock.now(), backoff=TELEGRAM_BACKOFF, stale_after=_TELEGRAM_STALE
        )
        if not ids:
            return 0
        client = telegram_client()
        try:
            for message_id in ids:
                await self.deliver_telegram(session, message_id, client)
        finally:
            await client.close()
        return len(ids)

    async def telegram_messages(self, session: AsyncSession, params: PageParams) -> Page[TelegramMessageRead]:
        rows, total = await TelegramMessageRepository(session).recent(offset=params.offset, limit=params.size)
        items = [
            TelegramMessageRead.model_validate(r).model_copy(update={"preview": preview(r.text)})
            for r in rows
        ]
        return Page(items=items, total=total, page=params.page, size=params.size)

    async def send_digests(self, session: AsyncSession) -> int:
        """Email every digest subscriber what their digest kinds brought since their previous digest."""
        sent = 0
        for user_id in await PreferenceRepository(session).digest_subscribers():
            if await self.send_digest(session, user_id) is not None:
                sent += 1
        log.info("notification.digests_sent", count=sent)
        return sent

    async def send_digest(self, session: AsyncSession, user_id: int) -> Email | None:
        """One user's digest email, or None when there is nothing new (running twice sends once).

        The previous digest is the user's latest email of kind "digest"; this one covers notifications
        created after it and up to now, and is stamped with that same now, so nothing falls between two.
        """
        user = await user_service.find(session, user_id)
        if user is None or not user.email or not user.email_verified_at:
            return None
        prefs = await PreferenceRepository(session).for_user(user.id)
        kinds = [kind for kind in KINDS if (p := _preference(kind, prefs.get(kind))).email and p.digest]
        if not kinds:
            return None
        now = clock.now()
        previous = await EmailRepository(session).last_created(user.id, DIGEST_KIND)
        rows, total = await NotificationRepository(session).for_digest(
            user.id, kinds, after=previous or now - _FIRST_DIGEST_WINDOW, until=now, limit=_DIGEST_MAX_ITEMS
        )
        if not rows:
            return None
        mail = await self.send_email(
            session,
            user,
            template="digest",
            kind=DIGEST_KIND,
            count=total,
            items=[{"title": n.title, "body": n.body, "link": _absolute(n.link)} for n in rows],
            more=total - len(rows),
            notifications_link=get_settings().url("/notifications"),
        )
        mail.created_at = now
        log.info("notification.digest_queued", user_id=user.id, email_id=mail.id, count=total)
        return mail


notification_service = NotificationService()
