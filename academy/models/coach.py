from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from academy.kit import clock
from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime, VectorType


class CoachConversation(IdMixin, CreatedMixin, Base):
    __tablename__ = "coach_conversations"
    __table_args__ = (Index("ix_coach_conversations_user_id_updated_at", "user_id", "updated_at"),)

    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    # Where the student was when the conversation started (the lesson panel sets both).
    course_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="SET NULL"))
    lesson_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("lessons.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class CoachMessage(IdMixin, CreatedMixin, Base):
    """One turn: the student's question, the coach's answer, or a curator's answer."""

    __tablename__ = "coach_messages"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'curator')", name="role"),
        Index("ix_coach_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_coach_messages_role_created_at", "role", "created_at"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("coach_conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # [{"n": 1, "document_id": …, "kind": "lesson", "title": …, "heading": …, "url": …}]
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Assistant turns: retrieval confidence 0..1, what answered, and how ("answer", "hint",
    # "refusal", "uncovered").
    confidence: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str | None] = mapped_column(String(80))
    mode: Mapped[str | None] = mapped_column(String(16))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    first_token_ms: Mapped[int | None] = mapped_column(Integer)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[int | None] = mapped_column(SmallInteger)  # +1 / -1
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))


class CoachEscalation(IdMixin, CreatedMixin, Base):
    """A question for the curators: the coach was not confident, or the student asked for a human."""

    __tablename__ = "coach_escalations"
    __table_args__ = (
        CheckConstraint("reason IN ('low_confidence', 'asked_human')", name="reason"),
        CheckConstraint("status IN ('open', 'answered')", name="status"),
        Index("ix_coach_escalations_status_created_at", "status", "created_at"),
    )

    conversation_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("coach_conversations.id", ondelete="CASCADE"), index=True
    )
    question_message_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("coach_messages.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    lesson_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("lessons.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    answer_message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("coach_messages.id", ondelete="SET NULL")
    )
    answered_by_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    faq_entry_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("faq_entries.id", ondelete="SET NULL")
    )


class ChunkEmbedding(Base):
    """The vector of one knowledge chunk (a search document), for the coach's hybrid retrieval.

    Search documents are rewritten when their content changes, so a missing row (or another model)
    is what the sync job re-embeds; `content_hash` guards against a chunk changed in place."""

    __tablename__ = "coach_chunk_embeddings"

    document_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("search_documents.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(120), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[Any] = mapped_column(VectorType())
