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
