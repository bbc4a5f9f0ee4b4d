from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from academy.kit import clock
from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime


class RiskScore(Base):
    """The current dropout risk of one enrolment (overwritten on every rescoring)."""

    __tablename__ = "retention_risk_scores"
    __table_args__ = (
        Index("ix_retention_risk_scores_course_id_score", "course_id", "score"),
        Index("ix_retention_risk_scores_user_id", "user_id"),
    )

    enrollment_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"code": "inactive_days", "text": "no activity for 6 days", "weight": 30, "value": 6}], largest first.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scorer: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    at_risk_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RiskModel(IdMixin, CreatedMixin, Base):
    """A dropout model fitted by `academy risk train` on the school's own finished enrolments."""

    __tablename__ = "retention_risk_models"

    kind: Mapped[str] = mapped_column(String(40))
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    n_train: Mapped[int] = mapped_column(Integer)
    n_test: Mapped[int] = mapped_column(Integer)
    # Both measured on the same held-out split; the model is used only when it wins.
    auc: Mapped[float] = mapped_column(Float)
    rule_auc: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RiskEpisode(IdMixin, Base):
    """A stretch of "at risk" for one enrolment: where nudging is decided and its effect measured.

    The group is drawn once, when the episode opens: "treatment" episodes may be nudged
    automatically, "holdout" ones never are, so comparing their return rates is honest."""

    __tablename__ = "retention_risk_episodes"
    __table_args__ = (
        CheckConstraint("grp IN ('treatment', 'holdout')", name="grp"),
        Index("ix_retention_risk_episodes_enrollment_id_started_at", "enrollment_id", "started_at"),
        Index("ix_retention_risk_episodes_course_id_started_at", "course_id", "started_at"),
    )

    enrollment_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("enrollments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    score: Mapped[int] = mapped_column(Integer)
    grp: Mapped[str] = mapped_column(String(16))
    # The first activity after the episode opened, if any.
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Nudge(IdMixin, Base):
    """A message that asked an at-risk student to come back, and whether they did within 7 days."""

    __tablename__ = "retention_nudges"
    __table_args__ = (
        CheckConstraint("mode IN ('manual', 'auto')", name="mode"),
        CheckConstraint("channel IN ('email', 'telegram', 'in_app')", name="channel"),
        Index("ix_retention_nudges_user_id_sent_at", "user_id", "sent_at"),
        Index("ix_retention_nudges_course_id_sent_at", "course_id", "sent_at"),
    )

    enrollment_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("enrollments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("retention_risk_episodes.id", ondelete="SET NULL")
    )
    mode: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    score: Mapped[int | None] = mapped_column(Integer)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MetricSnapshot(IdMixin, CreatedMixin, Base):
    """The school's metrics for one day, stored by the nightly job (scope "all" or "course:<id>")."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (UniqueConstraint("day", "scope"),)

    day: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(40))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
