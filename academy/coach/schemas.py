from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from academy.kit.schemas import Id


class MessageCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    # None starts a new conversation; the lesson panel passes where the student is.
    conversation_id: Id | None = None
    course_id: Id | None = None
    lesson_id: Id | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Write a question")
        return value


class CitationRead(BaseModel):
    n: int
    document_id: int
    kind: str
    title: str
    heading: str
    url: str


class MessageRead(BaseModel):
    id: int
    conversation_id: int
    role: Literal["user", "assistant", "curator"]
    text: str
    citations: list[CitationRead]
    confidence: float | None
    provider: str | None
    mode: str | None  # assistant turns: "answer", "hint", "refusal" or "uncovered"
    escalated: bool
    feedback: int | None
    author_name: str | None  # curator turns
    created_at: datetime


class ConversationSummary(BaseModel):
    id: int
    title: str
    course_id: int | None
    lesson_id: int | None
    messages: int
    waiting_for_curator: bool
    updated_at: datetime


class ConversationRead(BaseModel):
    id: int
    title: str
    course_id: int | None
    lesson_id: int | None
    waiting_for_curator: bool
    created_at: datetime
    updated_at: datetime
    messages: list[MessageRead]


class FeedbackCreate(BaseModel):
    value: Literal[1, -1]
    comment: str | None = Field(default=None, max_length=1000)


class EscalationRead(BaseModel):
    id: int
    conversation_id: int
    student_name: str
    question: str
    reason: Literal["low_confidence", "asked_human"]
    status: Literal["open", "answered"]
    course_id: int | None
    course_title: str | None
    lesson_id: int | None
    lesson_title: str | None
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    answered_by_name: str | None
    faq_entry_id: int | None
    # The conversation up to the question, so the curator answers in context.
    conversation: list[MessageRead]


class EscalationAnswer(BaseModel):
    answer: str = Field(min_length=3, max_length=5000)
    # Publish to the knowledge base as an FAQ entry of the course, so the coach answers it next time.
    publish: bool = False
    # The question as it should read in the FAQ; the student's wording when left out.
    faq_question: str | None = Field(default=None, min_length=5, max_length=500)


class TopicCount(BaseModel):
    topic: str  # a lesson title, else the course title, else "General"
    lesson_id: int | None
    course_id: int | None
    escalations: int


class QuestionCluster(BaseModel):
    """Similar questions the coach could not answer: what authors should write next."""

    label: str  # the most representative question
    size: int
    examples: list[str]


class CoachStats(BaseModel):
    start: datetime
    end: datetime
    questions: int
    answered_by_ai: int  # answered without going to a human
    resolution_rate: float | None
    median_ms: float | None
    p95_ms: float | None
    first_token_median_ms: float | None
    feedback_up: int
    feedback_down: int
    escalations: int
    open_escalations: int
    escalations_by_topic: list[TopicCount]
    unanswered_clusters: list[QuestionCluster]
