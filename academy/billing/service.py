"""Entitlements: which access tier a user holds. The trading lab asks here, and nowhere else, what a
user may see; plans and payments will write the same grants when billing arrives."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.billing.repository import GrantRepository
from academy.kit import clock
from academy.kit.errors import Unprocessable
from academy.models import AccessGrant, Role, User
from academy.models.trading import ACCESS_TIERS

log = structlog.get_logger()

FREE = ACCESS_TIERS[0]


def tier_rank(tier: str) -> int:
    return ACCESS_TIERS.index(tier)


def tier_covers(held: str, required: str) -> bool:
    return tier_rank(held) >= tier_rank(required)


class BillingService:
    async def tier(self, session: AsyncSession, user: User | None) -> str:
        """The highest tier the user holds now; staff hold every tier (they author and review)."""
        if user is None:
            return FREE
        if Role(user.role).is_staff:
            return ACCESS_TIERS[-1]
        grants = await GrantRepository(session).current(user.id, clock.now())
        return max((g.tier for g in grants), key=tier_rank, default=FREE)

    async def grant(
        self,
        session: AsyncSession,
        user: User,
        tier: str,
        *,
        expires_at: datetime | None = None,
        source: str = "manual",
        granted_by: User | None = None,
    ) -> AccessGrant:
        if tier not in ACCESS_TIERS:
            raise Unprocessable(f"Unknown tier '{tier}' (known: {', '.join(ACCESS_TIERS)})")
        if expires_at is not None and expires_at <= clock.now():
            raise Unprocessable("A grant must expire in the future")
        grant = await GrantRepository(session).add(
            AccessGrant(
                user_id=user.id,
                tier=tier,
                source=source,
                expires_at=expires_at,
                granted_by_id=granted_by.id if granted_by else None,
            )
        )
        log.info("billing.tier_granted", user_id=user.id, tier=tier, grant_id=grant.id)
        return grant


billing_service = BillingService()
