from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from academy.kit import clock
from academy.models.base import Base, CreatedMixin, IdMixin, UTCDateTime


class Role(enum.StrEnum):
    student = "student"
    curator = "curator"
    expert = "expert"
    admin = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.student


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"

    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120), default="")
    avatar_path: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    role: Mapped[str] = mapped_column(String(16), default=Role.student.value, index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)

    @property
    def display_name(self) -> str:
        return self.name or (self.email or "").split("@")[0] or f"user{self.id}"

    def __str__(self) -> str:
        return f"{self.display_name} <{self.email or self.telegram_username or self.id}>"
