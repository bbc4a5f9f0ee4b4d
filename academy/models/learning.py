from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from academy.kit import clock
from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime


class Enrollment(IdMixin, CreatedMixin, Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        Index("ix_enrollments_course_id_last_activity_at", "course_id", "last_activity_at"),
    )

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    last_lesson_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("lessons.id", ondelete="SET NULL")
    )
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The newest activity event of this student in this course, kept by the activity service so the
    # curator's roster can tell active, idle and dropped students apart without reading the stream.
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LessonProgress(Base):
    __tablename__ = "lesson_progress"
    __table_args__ = (Index("ix_lesson_progress_lesson_id", "lesson_id"),)

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    lesson_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ActivityEvent(IdMixin, Base):
    """The one learning activity stream (append-only) that coach, risk scoring and metrics read."""

    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_events_user_id_at", "user_id", "at"),
        # user_id last: per-course activity counts (active users, retention) read the index alone.
        Index("ix_activity_events_course_id_at_user_id", "course_id", "at", "user_id"),
        Index("ix_activity_events_kind_at", "kind", "at"),
    )

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    course_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    lesson_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("lessons.id", ondelete="SET NULL"))
    quiz_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("quizzes.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class XpEvent(IdMixin, CreatedMixin, Base):
    __tablename__ = "xp_events"
    # `source` makes awards idempotent: one lesson or quiz pays out once per student.
    __table_args__ = (UniqueConstraint("user_id", "source"), Index("ix_xp_events_created_at", "created_at"))

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(80))


class GamificationProfile(Base):
    __tablename__ = "gamification_profiles"

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    xp: Mapped[int] = mapped_column(Integer, default=0)
    current_streak: Mapped[int] = mapped_column(Integer, default=0)
    longest_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_active_day: Mapped[date | None] = mapped_column(Date)
    # ISO week ("2026-W47") in which the weekly streak freeze was spent, if any.
    freeze_week: Mapped[str | None] = mapped_column(String(10))
    leaderboard_hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class UserAchievement(Base):
    __tablename__ = "user_achievements"

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    unlocked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Certificate(IdMixin, Base):
    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    # Names are frozen at issue time: the certificate states what was true then.
    student_name: Mapped[str] = mapped_column(String(200))
    course_title: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(300))
