from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.config import get_settings
from academy.integrations.email import EmailDeliveryError, OutgoingEmail, email_transport
from academy.kit import clock, jobs, realtime
from academy.kit.errors import NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.kit.uow import after_commit
from academy.models import Email, Notification, NotificationPreference, User
from academy.notification import emails
from academy.notification.repository import EmailRepository, NotificationRepository, PreferenceRepository
from academy.notification.schemas import (
    KINDS,
    EmailRead,
    NotificationPayload,
    NotificationRead,
    PreferenceRead,
)
from academy.user.service import user_service

log = structlog.get_logger()

# Account mail (verification, reset) is not optional; it goes out regardless of preferences.
_ALWAYS_EMAIL = {"account"}


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
        self, session: AsyncSession, user_id: int, payload: NotificationPayload, *, email: bool = True
    ) -> Notification:
        """Store an in-app notification, push it live after commit, and email it if the user wants."""
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
        if email and await self.wants_email(session, user, payload.kind):
            link = payload.link
            if link and link.startswith("/"):
                link = get_settings().url(link)
            await self.send_email(
                session,
                user,
                template="notification",
                kind=payload.kind,
                title=payload.title,
                body=payload.body,
                link=link,
            )
        log.info("notification.created", user_id=user.id, notification_id=item.id, kind=item.kind)
        return item

    async def wants_email(self, session: AsyncSession, user: User, kind: str) -> bool:
        if not user.email or not user.email_verified_at:
            return False
        if kind in _ALWAYS_EMAIL:
            return True
        pref = (await PreferenceRepository(session).for_user(user.id)).get(kind)
        return pref.email if pref else True

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
        return [
            PreferenceRead(
                kind=kind,
                label=label,
                email=kind in _ALWAYS_EMAIL or (prefs[kind].email if kind in prefs else True),
            )
            for kind, label in KINDS.items()
        ]

    async def update_preferences(
        self, session: AsyncSession, user: User, email: dict[str, bool]
    ) -> list[PreferenceRead]:
        unknown = set(email) - set(KINDS)
        if unknown:
            raise Unprocessable(f"Unknown notification kinds: {', '.join(sorted(unknown))}")
        repo = PreferenceRepository(session)
        prefs = await repo.for_user(user.id)
        for kind, wanted in email.items():
            if kind in prefs:
                prefs[kind].email = wanted
            else:
                await repo.add(NotificationPreference(user_id=user.id, kind=kind, email=wanted))
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


notification_service = NotificationService()
