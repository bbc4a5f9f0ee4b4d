from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit.jobs import task
from academy.notification.service import notification_service


@task("notification.deliver_email")
async def deliver_email(session: AsyncSession, email_id: int) -> str:
    return await notification_service.deliver_email(session, email_id)


@task("notification.retry_emails")
async def retry_emails(session: AsyncSession) -> int:
    ids = await notification_service.pending_email_ids(session)
    for email_id in ids:
        await notification_service.deliver_email(session, email_id)
    return len(ids)


@task("notification.deliver_telegram")
async def deliver_telegram(session: AsyncSession, message_id: int) -> str:
    return await notification_service.deliver_telegram(session, message_id)


@task("notification.retry_telegram")
async def retry_telegram(session: AsyncSession) -> int:
    return await notification_service.retry_telegram(session)


@task("notification.send_digests")
async def send_digests(session: AsyncSession) -> int:
    return await notification_service.send_digests(session)
