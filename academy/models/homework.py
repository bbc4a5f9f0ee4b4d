from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from academy.kit import clock
from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime


class Assignment(IdMixin, CreatedMixin, Base):
    """Homework attached to a lesson: short text graded by a rubric, a file, or a quiz."""

    __tablename__ = "homework_assignments"
    __table_args__ = (
        CheckConstraint("kind IN ('text', 'file', 'quiz')", name="kind"),
        CheckConstraint("late_policy IN ('accept', 'penalty', 'reject')", name="late_policy"),
        Index("ix_homework_assignments_course_id", "course_id"),
        Index("ix_homework_assignments_lesson_id", "lesson_id"),
    )

    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("lessons.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    instructions: Mapped[str] = mapped_column(Text, default="")
    # [{"key": "risk", "title": …, "points": 4, "description": what earns the points,
    #   "concepts": ["stop loss", "1 %"]}]; a quiz assignment has none (the quiz scores it).
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    model_answer: Mapped[str] = mapped_column(Text, default="")
    quiz_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("quizzes.id", ondelete="SET NULL"))
    # The deadline: a fixed moment, or a number of days after the student's enrolment (or neither).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_days: Mapped[int | None] = mapped_column(Integer)
    late_policy: Mapped[str] = mapped_column(String(8), default="accept")
    # Per started day late, for the "penalty" policy; never below zero points.
    late_penalty_pct: Mapped[int] = mapped_column(Integer, default=10)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # File uploads: allowed kinds ("pdf", "png", "jpeg", "txt", "csv", "xlsx", "docx", "zip").
    file_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_file_bytes: Mapped[int | None] = mapped_column(Integer)
    pass_pct: Mapped[int] = mapped_column(Integer, default=60)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))


class Submission(IdMixin, Base):
    """One attempt at an assignment. The AI proposal and the curator's final grade sit side by side,
    so agreement is measured on the very same rows."""

    __tablename__ = "homework_submissions"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'proposed', 'final', 'failed')", name="status"),
        Index("ix_homework_submissions_assignment_id_user_id", "assignment_id", "user_id"),
        Index("ix_homework_submissions_status_submitted_at", "status", "submitted_at"),
        Index("ix_homework_submissions_user_id_submitted_at", "user_id", "submitted_at"),
        Index("ix_homework_submissions_course_id_status", "course_id", "status"),
    )

    assignment_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("homework_assignments.id", ondelete="CASCADE")
    )
    # Denormalised from the assignment: the review queue and metrics filter by course.
    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_days: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str | None] = mapped_column(Text)
    file_key: Mapped[str | None] = mapped_column(String(300))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_type: Mapped[str | None] = mapped_column(String(16))
    file_size: Mapped[int | None] = mapped_column(Integer)
    quiz_attempt_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("quiz_attempts.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    max_points: Mapped[float] = mapped_column(Float, default=0)
    # [{"key", "title", "points", "max", "feedback"}] from the grader, then as the curator left them.
    ai_scores: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    ai_total: Mapped[float | None] = mapped_column(Float)
    ai_feedback: Mapped[str | None] = mapped_column(Text)
    ai_grader: Mapped[str | None] = mapped_column(String(80))
    ai_graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    final_scores: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # After the late penalty.
    final_total: Mapped[float | None] = mapped_column(Float)
    final_feedback: Mapped[str | None] = mapped_column(Text)
    penalty_pct: Mapped[int] = mapped_column(Integer, default=0)
    # "confirmed" (the AI proposal as it was), "overridden" (edited) or "auto" (a quiz scored itself).
    review: Mapped[str | None] = mapped_column(String(16))
    reviewed_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    passed: Mapped[bool | None] = mapped_column(Boolean)
