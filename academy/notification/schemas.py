from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Kinds other domains send; the user chooses per kind: email (or a daily digest email) and Telegram.
KINDS: dict[str, str] = {
    "account": "Account and security",
    "system": "Announcements",
    "learning": "Learning reminders",
    "homework": "Homework and grades",
    "homework_submitted": "Homework waiting for review",
    "student_at_risk": "Students at risk of dropping out",
    "nudge": "Reminders from your curator",
    "coach": "Answers from the coach and curators",
    "signals": "Trading signals",
}
# What only curators and admins receive; students are not offered a preference for them.
STAFF_KINDS = frozenset({"homework_submitted", "student_at_risk"})


class NotificationPayload(BaseModel):
    kind: str = "system"
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(max_length=5000)] = ""
    link: Annotated[str, Field(max_length=500)] | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"kind must be one of: {', '.join(KINDS)}")
        return value


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class PreferenceRead(BaseModel):
    kind: str
    label: str
    email: bool
    telegram: bool
    # Emailed once a day with the other digest kinds instead of one email each.
    digest: bool


class PreferenceUpdate(BaseModel):
    """Only the kinds named change; a channel left out keeps its current settings."""

    email: dict[str, bool] = {}
    telegram: dict[str, bool] = {}
    digest: dict[str, bool] = {}


class EmailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    to_address: str
    subject: str
    body_text: str
    status: str
    created_at: datetime


class TelegramMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int | None
    chat_id: str
    kind: str
    text: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    # `text` cleaned down to the HTML Telegram renders, safe to put in a page.
    preview: str = ""
