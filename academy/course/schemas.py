from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, HttpUrl

Level = Literal["beginner", "intermediate", "advanced"]


class CourseSummary(BaseModel):
    id: int
    slug: str
    title: str
    summary: str
    level: str
    published: bool
    lessons: int


class AttachmentRead(BaseModel):
    id: int
    name: str
    size: int
    content_type: str
    url: str


class LessonSummary(BaseModel):
    id: int
    course_id: int
    module_id: int
    slug: str
    title: str
    position: int
    duration_minutes: int
    difficulty: str
    tags: list[str]
    published: bool
    has_quiz: bool = False
    prerequisites: list[int] = []


class LessonRead(LessonSummary):
    content_md: str
    content_html: str
    video_url: str | None
    deadline_days: int | None
    attachments: list[AttachmentRead] = []
    quiz_id: int | None = None
    previous_id: int | None = None
    next_id: int | None = None


class LessonUpdate(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    content_md: Annotated[str, Field(max_length=200_000)] | None = None
    video_url: HttpUrl | None = None
    duration_minutes: Annotated[int, Field(ge=1, le=600)] | None = None
    difficulty: Level | None = None
    tags: list[Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=40)]] | None = None
    deadline_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    published: bool | None = None


class MarkdownPreview(BaseModel):
    markdown: Annotated[str, Field(max_length=200_000)]


class SearchResult(BaseModel):
    kind: str
    title: str
    heading: str
    snippet: str
    url: str
    course_id: int
    lesson_id: int | None = None
    rank: float


class GlossaryTermRead(BaseModel):
    id: int
    term: str
    definition: str
    see_also: list[str]


class FaqRead(BaseModel):
    id: int
    question: str
    answer: str
    tags: list[str]


class ImportResult(BaseModel):
    course_id: int
    created: list[str]
    updated: list[str]
    retired: list[str]
    imported_at: datetime
