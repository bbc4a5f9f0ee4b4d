from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from academy.kit.schemas import Id

FileType = Literal["pdf", "png", "jpeg", "gif", "txt", "csv", "docx", "xlsx", "zip"]
FILE_TYPES: tuple[str, ...] = ("pdf", "png", "jpeg", "gif", "txt", "csv", "docx", "xlsx", "zip")
Kind = Literal["text", "file", "quiz"]
LatePolicy = Literal["accept", "penalty", "reject"]
SubmissionStatus = Literal["submitted", "proposed", "final", "failed"]
QueueStatus = Literal["proposed", "submitted", "final", "all"]
MAX_TEXT_CHARS = 20_000
# A quiz assignment is scored in percent.
QUIZ_MAX_POINTS = 100.0

Key = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Points = Annotated[float, Field(gt=0, le=1000)]


def _aware(value: datetime | None) -> datetime | None:
    # A deadline without a zone is read as UTC rather than refused: forms send local-free ISO strings.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Criterion(BaseModel):
    key: Key
    title: str = Field(min_length=1, max_length=200)
    points: Points
    description: str = Field(default="", max_length=2000)
    # Key ideas that earn the points; "a|b" lists equivalent wordings, "1–2 %" any value in range.
    concepts: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(default=[], max_length=30)


def _unique_keys(rubric: list[Criterion] | None) -> list[Criterion] | None:
    if rubric is not None:
        keys = [c.key for c in rubric]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"Criterion keys must be unique; repeated: {', '.join(repeated)}")
    return rubric


class AssignmentCreate(BaseModel):
    lesson_id: Id
    title: str = Field(min_length=1, max_length=200)
    kind: Kind
    instructions: str = Field(default="", max_length=MAX_TEXT_CHARS)
    rubric: list[Criterion] = Field(default=[], max_length=30)
    model_answer: str = Field(default="", max_length=MAX_TEXT_CHARS)
    quiz_id: Id | None = None
    due_at: datetime | None = None
    due_days: int | None = Field(default=None, ge=0, le=3650)
    late_policy: LatePolicy = "accept"
    late_penalty_pct: int = Field(default=10, ge=0, le=100)
    max_attempts: int = Field(default=3, ge=1, le=100)
    file_types: list[FileType] = Field(default=[], max_length=len(FILE_TYPES))
    max_file_bytes: int | None = Field(default=None, ge=1, le=2**31 - 1)
    pass_pct: int = Field(default=60, ge=0, le=100)
    published: bool = True

    _keys = field_validator("rubric")(_unique_keys)
    _zone = field_validator("due_at")(_aware)


class AssignmentUpdate(BaseModel):
    """Every field optional; a field sent as null clears it where that makes sense (due_at, due_days,
    max_file_bytes, quiz_id). The lesson and the kind are fixed once students may have submitted."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    instructions: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    rubric: list[Criterion] | None = Field(default=None, max_length=30)
    model_answer: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    quiz_id: Id | None = None
    due_at: datetime | None = None
    due_days: int | None = Field(default=None, ge=0, le=3650)
    late_policy: LatePolicy | None = None
    late_penalty_pct: int | None = Field(default=None, ge=0, le=100)
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    file_types: list[FileType] | None = Field(default=None, max_length=len(FILE_TYPES))
    max_file_bytes: int | None = Field(default=None, ge=1, le=2**31 - 1)
    pass_pct: int | None = Field(default=None, ge=0, le=100)
    published: bool | None = None

    _keys = field_validator("rubric")(_unique_keys)
    _zone = field_validator("due_at")(_aware)


class AssignmentRead(BaseModel):
    id: int
    course_id: int
    lesson_id: int
    title: str
    kind: Kind
    instructions: str
    rubric: list[Criterion]
    # Empty for students: the model answer is the grader's, not a hint.
    model_answer: str
    quiz_id: int | None
    due_at: datetime | None
    due_days: int | None
    late_policy: LatePolicy
    late_penalty_pct: int
    max_attempts: int
    file_types: list[str]
    max_file_bytes: int | None
    pass_pct: int
    published: bool
    created_by_id: int | None
    created_at: datetime
    max_points: float


class CriterionScore(BaseModel):
    key: str
    title: str
    points: float
    max: float
    feedback: str


class SubmissionRead(BaseModel):
    id: int
    assignment_id: int
    course_id: int
    user_id: int
    attempt: int
    submitted_at: datetime
    due_at: datetime | None
    late_days: int
    text: str | None
    file_name: str | None
    file_type: str | None
    file_size: int | None
    file_url: str | None
    quiz_attempt_id: int | None
    status: SubmissionStatus
    max_points: float
    # For the student these stay None until the grade is final: an AI proposal is not a grade.
    ai_scores: list[CriterionScore] | None
    ai_total: float | None
    ai_feedback: str | None
    ai_grader: str | None
    ai_graded_at: datetime | None
    final_scores: list[CriterionScore] | None
    final_total: float | None
    final_feedback: str | None
    penalty_pct: int
    review: Literal["confirmed", "overridden", "auto"] | None
    reviewed_by_id: int | None
    reviewed_at: datetime | None
    passed: bool | None
    # True when the student has sent a newer attempt: this one has left the review queue.
    superseded: bool = False


class AssignmentStatus(BaseModel):
    assignment: AssignmentRead
    due_at: datetime | None  # for this student, UTC
    attempts_used: int
    attempts_left: int
    state: Literal["open", "submitted", "proposed", "final", "overdue"]
    latest: SubmissionRead | None
    can_submit: bool
    why_not: str | None


class ReviewItem(BaseModel):
    submission: SubmissionRead
    assignment: AssignmentRead
    student_id: int
    student_name: str
    course_title: str
    waiting_hours: float


class ScoreEdit(BaseModel):
    key: Key
    points: float = Field(ge=0, le=1000)
    # Left out or empty: the AI's feedback on this criterion stays.
    feedback: str | None = Field(default=None, max_length=5000)


class ReviewCreate(BaseModel):
    # None confirms the AI proposal as it is.
    scores: list[ScoreEdit] | None = Field(default=None, max_length=30)
    feedback: str | None = Field(default=None, max_length=5000)


class CriterionAgreement(BaseModel):
    key: str
    title: str
    n: int
    exact_rate: float | None
    mean_abs_diff: float | None


class AgreementRead(BaseModel):
    reviewed: int
    exact_rate: float | None
    mean_abs_diff: float | None
    criteria: list[CriterionAgreement]


class OpenHomework(BaseModel):
    """Written homework the student has not passed yet: the coach hints at it instead of answering.
    The same fields as the quiz domain's GradedItem, with the assignment in place of the quiz."""

    prompt: str
    assignment_id: int
    lesson_id: int
    lesson_title: str
    course_id: int


class SubmissionCreate(BaseModel):
    """The JSON body of a submission: `text` for a text assignment, `answers` for a quiz one
    (question id -> answer, as the quiz API takes them). Files go as multipart form data."""

    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS * 2)
    answers: dict[str, Any] | None = Field(default=None, max_length=500)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str
    filename: str
