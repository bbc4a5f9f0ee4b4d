from __future__ import annotations

import hashlib

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.auth.schemas import UserRead
from academy.config import get_settings
from academy.integrations.storage import storage
from academy.kit.errors import NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.kit.uow import after_commit
from academy.models import Role, User
from academy.user.repository import UserRepository
from academy.user.schemas import ProfileUpdate

log = structlog.get_logger()

# Avatar types recognised by their first bytes, never by the name or the declared type.
_IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def _image_kind(data: bytes) -> str | None:
    for magic, ext in _IMAGE_SIGNATURES.items():
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class UserService:
    async def get(self, session: AsyncSession, user_id: int) -> User:
        user = await UserRepository(session).get(user_id)
        if user is None:
            raise NotFound("User not found")
        return user

    async def find(self, session: AsyncSession, user_id: int) -> User | None:
        return await UserRepository(session).get(user_id)

    async def by_email(self, session: AsyncSession, email: str) -> User | None:
        return await UserRepository(session).by_email(email)

    async def by_telegram_id(self, session: AsyncSession, telegram_id: int) -> User | None:
        return await UserRepository(session).by_telegram_id(telegram_id)

    async def add(self, session: AsyncSession, user: User) -> User:
        return await UserRepository(session).add(user)

    def read(self, user: User) -> UserRead:
        return UserRead(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            timezone=user.timezone,
            locale=user.locale,
            avatar_url=storage().url(user.avatar_path) if user.avatar_path else None,
            email_verified=user.email_verified_at is not None,
            telegram_linked=user.telegram_id is not None,
            totp_enabled=user.totp_enabled_at is not None,
            created_at=user.created_at,
        )

    async def update_profile(self, session: AsyncSession, user: User, data: ProfileUpdate) -> User:
        for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(user, field, value)
        await session.flush()
        log.info("user.profile_updated", user_id=user.id)
        return user

    async def set_avatar(self, session: AsyncSession, user: User, data: bytes) -> User:
        settings = get_settings()
        if len(data) > settings.max_avatar_bytes:
            raise Unprocessable(f"Avatar is larger than {settings.max_avatar_bytes // 1024} KB")
        kind = _image_kind(data)
        if kind is None:
            raise Unprocessable("Avatar must be a PNG, JPEG, GIF or WebP image")
        files = storage()
        key = f"avatars/{user.id}-{hashlib.sha256(data).hexdigest()[:12]}.{kind}"
        await files.put(key, data, _CONTENT_TYPES[kind])
        previous, user.avatar_path = user.avatar_path, key
        await session.flush()
        if previous and previous != key:
            # Only once the new key is committed: a rollback leaves the old avatar in place and in use.
            async def remove_previous() -> None:
                await files.delete(previous)

            after_commit(session, remove_previous)
        log.info("user.avatar_changed", user_id=user.id)
        return user

    async def search(
        self, session: AsyncSession, params: PageParams, *, query: str = "", role: Role | None = None
    ) -> Page[UserRead]:
        rows, total = await UserRepository(session).search(
            query=query, role=role.value if role else None, offset=params.offset, limit=params.size
        )
        return Page(items=[self.read(u) for u in rows], total=total, page=params.page, size=params.size)

    async def set_role(self, session: AsyncSession, user_id: int, role: Role) -> User:
        user = await self.get(session, user_id)
        user.role = role.value
        await session.flush()
        log.info("user.role_changed", user_id=user.id, role=role.value)
        return user


user_service = UserService()
