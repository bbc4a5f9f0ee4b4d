from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update

from academy.kit.repository import Repository
from academy.models import EmailToken, RefreshToken, User, WebSession


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        return await self.one_or_none(select(RefreshToken).where(RefreshToken.token_hash == token_hash))

    async def mark_used(self, token_id: int, at: datetime) -> bool:
        """Claim a refresh token for rotation; False when another request claimed it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_user(self, user_id: int, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def purge_expired(self, before: datetime) -> int:
        result = await self.session.execute(delete(RefreshToken).where(RefreshToken.expires_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


class EmailTokenRepository(Repository[EmailToken]):
    model = EmailToken

    async def by_hash(self, token_hash: str, purpose: str) -> EmailToken | None:
        return await self.one_or_none(
            select(EmailToken).where(EmailToken.token_hash == token_hash, EmailToken.purpose == purpose)
        )

    async def invalidate(self, user_id: int, purpose: str, at: datetime) -> None:
        await self.session.execute(
            update(EmailToken)
            .where(EmailToken.user_id == user_id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None))
            .values(used_at=at)
        )

    async def purge_expired(self, before: datetime) -> int:
        result = await self.session.execute(delete(EmailToken).where(EmailToken.expires_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


class WebSessionRepository(Repository[WebSession]):
    model = WebSession

    async def by_hash(self, token_hash: str) -> WebSession | None:
        return await self.one_or_none(select(WebSession).where(WebSession.token_hash == token_hash))

    async def active_user(self, token_hash: str, now: datetime) -> User | None:
        """The user of a live session, in one query: every page load asks this."""
        stmt = (
            select(User)
            .join(WebSession, WebSession.user_id == User.id)
            .where(
                WebSession.token_hash == token_hash,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
                User.is_active.is_(True),
            )
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def revoke_user(self, user_id: int, at: datetime) -> None:
        await self.session.execute(
            update(WebSession)
            .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def purge_expired(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(WebSession).where(or_(WebSession.expires_at < before, WebSession.revoked_at < before))
        )
        return int(getattr(result, "rowcount", 0) or 0)
