from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

# Shared definitions (docs/curator-automation.md): every part classifies students with these.
ACTIVE_WITHIN_DAYS = 7
DROPPED_AFTER_DAYS = 21
RETURN_WINDOW_DAYS = 7
NUDGE_MESSAGE_MAX = 1000

Status = Literal["active", "idle", "at_risk", "dropped", "completed"]
STATUSES: tuple[Status, ...] = ("at_risk", "active", "idle", "dropped", "completed")
Level = Literal["low", "medium", "high"]
Channel = Literal["email", "telegram", "in_app"]


class Reason(BaseModel):
    """One cause of a risk score. `code` + `value` (+ `count`) are the facts; `text` is them in English
    words, and `reason_text(reason, locale)` builds the same words in the viewer's language."""

    code: str
    text: str
    value: float
    weight: float
    # A second number some reasons need ("over 4 attempts"); None for the rest.
    count: int | None = None


class RiskRead(BaseModel):
    enrollment_id: int
    user_id: int
    course_id: int
    score: int
    level: Level
    at_risk: bool
    reasons: list[Reason]
    scorer: str
    computed_at: datetime
    at_risk_since: datetime | None


class HomeworkCounts(BaseModel):
    assigned: int = 0
    submitted: int = 0
    awaiting_review: int = 0
    overdue: int = 0
    failed: int = 0


class StudentRow(BaseModel):
    enrollment_id: int
    user_id: int
    name: str
    email: str | None
    course_id: int
    course_title: str
    enrolled_at: datetime
    lessons_done: int
    lessons_total: int
    progress_pct: int
    last_activity_at: datetime | None
    status: Status
    risk: RiskRead | None
    homework: HomeworkCounts
    last_nudge_at: datetime | None


class RosterQuery(BaseModel):
    status: Literal["all", "at_risk", "active", "idle", "dropped", "completed"] = "all"
    q: str = Field(default="", max_length=200)
    course_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    sort: Literal["risk", "name", "progress", "last_activity", "enrolled"] = "risk"
    order: Literal["asc", "desc"] = "desc"

    @field_validator("q")
    @classmethod
    def _clean(cls, value: str) -> str:
        # PostgreSQL text cannot hold NUL, and a search term never needs one.
        return value.replace("\x00", "").strip()


class NudgeCreate(BaseModel):
    channel: Literal["auto", "email", "telegram"] = "auto"
    # None: the friendly default naming the course and the next lesson, in the student's language.
    message: str | None = Field(default=None, max_length=NUDGE_MESSAGE_MAX)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.replace("\x00", "").strip()
        if not value:
            raise ValueError("Write a message, or leave it out for the default one")
        return value


class NudgeRead(BaseModel):
    id: int
    enrollment_id: int
    user_id: int
    course_id: int
    episode_id: int | None
    mode: Literal["manual", "auto"]
    channel: Channel
    message: str
    sent_by_id: int | None
    sent_by_name: str | None
    sent_at: datetime
    score: int | None
    returned_at: datetime | None


class EpisodeRead(BaseModel):
    id: int
    started_at: datetime
    ended_at: datetime | None
    score: int
    grp: Literal["treatment", "holdout"]
    returned_at: datetime | None


class StudentDetail(BaseModel):
    row: StudentRow
    # The scored features (features.FEATURES) as of the last rescoring; {} before the first one.
    features: dict[str, Any]
    nudges: list[NudgeRead]
    episodes: list[EpisodeRead] = []
    # When the nudge cap allows the next nudge (None: now).
    next_nudge_at: datetime | None = None


class RescoreReport(BaseModel):
    scored: int
    crossed: int  # crossed into "at risk" in this run
    nudged: int  # automatic nudges sent in this run
    held_out: int  # new episodes drawn into the hold-out group
    scorer: str


class TrainingReport(BaseModel):
    trained: bool
    reason: str | None  # why nothing was trained, or why the model was not activated
    n_train: int
    n_test: int
    auc: float | None
    rule_auc: float | None
    active: bool
    model_id: int | None = None


class RiskModelRead(BaseModel):
    id: int
    kind: str
    features: list[str]
    n_train: int
    n_test: int
    auc: float
    rule_auc: float
    active: bool
    created_at: datetime
    details: dict[str, Any]


class ModelStatus(BaseModel):
    """Which scorer rescoring uses now, and the models trained so far (newest first)."""

    scorer: str
    active: RiskModelRead | None
    models: list[RiskModelRead]
    scored: int  # enrolments with a current score
    at_risk: int
    last_computed_at: datetime | None
