"""Demo data: one account per role, made through the same services the product uses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from academy.auth.schemas import RegisterIn
from academy.auth.service import auth_service
from academy.models import Role
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.user.service import user_service

DEMO_PASSWORD = "academy-demo"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("student@demo.academy.school", "Sam Student", Role.student),
    DemoAccount("curator@demo.academy.school", "Cora Curator", Role.curator),
    DemoAccount("expert@demo.academy.school", "Eli Expert", Role.expert),
    DemoAccount("admin@demo.academy.school", "Ada Admin", Role.admin),
)


async def load_demo(session: AsyncSession) -> list[DemoAccount]:
    """Idempotent: existing demo accounts are left as they are."""
    created = []
    for account in DEMO_ACCOUNTS:
        if await user_service.by_email(session, account.email):
            continue
        user = await auth_service.register(
            session,
            RegisterIn(
                email=account.email, password=DEMO_PASSWORD, name=account.name, timezone="Europe/London"
            ),
            role=account.role,
            verified=True,
        )
        await notification_service.notify(
            session,
            user.id,
            NotificationPayload(
                kind="system",
                title=f"Welcome, {account.name.split()[0]}",
                body="This is the demo school. Open your profile to set your time zone and language.",
                link="/profile",
            ),
            email=False,
        )
        created.append(account)
    return created
