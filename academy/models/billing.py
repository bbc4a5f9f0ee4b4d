from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime
from academy.models.user import User


class AccessGrant(IdMixin, CreatedMixin, Base):
    """An access tier a user holds until `expires_at` (never, when null). Admins grant tiers by hand
    today; subscriptions will write the same rows, so the lab reads one source of entitlements."""

    __tablename__ = "access_grants"
    __table_args__ = (
        CheckConstraint("tier IN ('free', 'pro', 'premium')", name="tier"),
        Index("ix_access_grants_user_id_expires_at", "user_id", "expires_at"),
    )

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32), default="manual")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    granted_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))
    # For the admin area's user picker; services never load it.
    user: Mapped[User] = relationship(lazy="raise", foreign_keys=[user_id])
