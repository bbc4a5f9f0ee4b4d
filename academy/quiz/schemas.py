from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class QuestionRead(BaseModel):
    id: int
    position: int
    kind: str
    prompt: str
    options: list[str]
    unit: str | None = None


class QuizRead(BaseModel):
    id: int
    lesson_id: int
    title: str
    pass_mark: int
    questions: list[QuestionRead]
    best_score: int | None = None
    passed: bool = False


class AttemptCreate(BaseModel):
    # question id -> answer: an option index (single), a list of indexes (multiple), a number or
    # numeric text (numeric), or text (text).
    answers: dict[int, Any] = Field(max_length=200)


class QuestionFeedback(BaseModel):
    question_id: int
    correct: bool
    given: Any
    explanation: str
    correct_answer: Any


class AttemptRead(BaseModel):
    id: int
    quiz_id: int
    user_id: int
    score: int
    correct: int
    total: int
    passed: bool
    created_at: datetime
    feedback: list[QuestionFeedback] = []
    xp_gained: int = 0
    achievements: list[str] = []
    course_completed: bool = False
    certificate_code: str | None = None


class GradedItem(BaseModel):
    """A graded question the student has not finished: the coach hints at it instead of answering."""

    prompt: str
    quiz_id: int
    lesson_id: int
    lesson_title: str
    course_id: int


class RecentResult(BaseModel):
    lesson_title: str
    score: int
    passed: bool
    at: datetime
