from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.kit import clock
from academy.models.base import Base, BigIntId, CreatedMixin, IdMixin, UTCDateTime
from academy.models.user import User


class Course(IdMixin, CreatedMixin, Base):
    __tablename__ = "courses"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(16), default="beginner")
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    certificate: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)

    modules: Mapped[list[Module]] = relationship(
        back_populates="course", lazy="raise", order_by="Module.position", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.title


class Module(IdMixin, Base):
    __tablename__ = "course_modules"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    course: Mapped[Course] = relationship(back_populates="modules", lazy="raise")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", lazy="raise", order_by="Lesson.position", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.title


class Lesson(IdMixin, CreatedMixin, Base):
    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("course_id", "slug"), Index("ix_lessons_module_id", "module_id"))

    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("course_modules.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    # position is course-wide so "next lesson" and ordering never need the module.
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_md: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    video_url: Mapped[str | None] = mapped_column(String(500))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=10)
    difficulty: Mapped[str] = mapped_column(String(16), default="beginner")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now, onupdate=clock.now)

    module: Mapped[Module] = relationship(back_populates="lessons", lazy="raise")
    attachments: Mapped[list[LessonAttachment]] = relationship(
        lazy="raise", order_by="LessonAttachment.name", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.title


class LessonPrerequisite(Base):
    __tablename__ = "lesson_prerequisites"

    lesson_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )
    requires_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True
    )


class LessonAttachment(IdMixin, Base):
    __tablename__ = "lesson_attachments"
    __table_args__ = (UniqueConstraint("lesson_id", "name"),)

    lesson_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("lessons.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class Quiz(IdMixin, Base):
    __tablename__ = "quizzes"

    lesson_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("lessons.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    pass_mark: Mapped[int] = mapped_column(Integer, default=80)

    questions: Mapped[list[Question]] = relationship(
        lazy="raise", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(IdMixin, Base):
    __tablename__ = "quiz_questions"
    __table_args__ = (UniqueConstraint("quiz_id", "position"),)

    quiz_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("quizzes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # single: int; multiple: list[int]; numeric: float; text: list[str] of accepted answers
    answer: Mapped[Any] = mapped_column(JSON)
    tolerance: Mapped[float] = mapped_column(Float, default=0.0)
    unit: Mapped[str | None] = mapped_column(String(20))
    explanation: Mapped[str] = mapped_column(Text, default="")


class QuizAttempt(IdMixin, CreatedMixin, Base):
    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_user_id_quiz_id", "user_id", "quiz_id"),)

    quiz_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)


class GlossaryTerm(IdMixin, Base):
    __tablename__ = "glossary_terms"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(120))
    term: Mapped[str] = mapped_column(String(120))
    definition: Mapped[str] = mapped_column(Text)
    see_also: Mapped[list[str]] = mapped_column(JSON, default=list)


class FaqEntry(IdMixin, Base):
    __tablename__ = "faq_entries"
    __table_args__ = (UniqueConstraint("course_id", "position"),)

    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "content" entries come from the course folder (the importer owns them); "curator" entries are
    # answers curators published from the coach's queue, which an import never touches.
    source: Mapped[str] = mapped_column(String(16), default="content", server_default="content")


class SearchDocument(IdMixin, Base):
    """One searchable chunk: a lesson section, a glossary term or an FAQ entry.

    The full-text index lives beside it (FTS5 on SQLite, a tsvector expression index on
    PostgreSQL); the AI coach reads the same chunks.
    """

    __tablename__ = "search_documents"
    __table_args__ = (UniqueConstraint("kind", "ref_id", "part"),)

    course_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(BigIntId)
    part: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    heading: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=True)


class CourseCurator(Base):
    """Curators assigned to a course: they see its students' progress and work."""

    __tablename__ = "course_curators"

    course_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # For the admin area's pickers; services never load these.
    course: Mapped[Course] = relationship(lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")
