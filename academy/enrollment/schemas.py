from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from academy.kit.schemas import Id


class EnrollmentCreate(BaseModel):
    course_id: Id


class EnrollmentRead(BaseModel):
    id: int
    course_id: int
    course_title: str
    enrolled_at: datetime
    completed_at: datetime | None
    last_seen_at: datetime | None
    lessons_done: int
    lessons_total: int
    progress_pct: int
    next_lesson_id: int | None = None
    next_lesson_title: str | None = None


class LessonState(BaseModel):
    id: int
    title: str
    position: int
    duration_minutes: int
    difficulty: str
    status: str  # done | open | locked
    locked_by: list[str] = []
    has_quiz: bool = False
    quiz_passed: bool = False
    due_at: datetime | None = None
    overdue: bool = False


class ModuleOutline(BaseModel):
    id: int
    title: str
    summary: str
    lessons: list[LessonState]
    done: int
    total: int


class CourseOutline(BaseModel):
    course_id: int
    title: str
    summary: str
    level: str
    enrolled: bool
    enrolled_at: datetime | None
    completed_at: datetime | None
    lessons_done: int
    lessons_total: int
    quizzes_passed: int
    quizzes_total: int
    progress_pct: int
    next_lesson_id: int | None
    certificate_code: str | None = None
    modules: list[ModuleOutline]


class CompletionRead(BaseModel):
    lesson_id: int
    completed_at: datetime
    xp_gained: int
    level_up: int | None = None
    achievements: list[str] = []
    course_completed: bool = False
    certificate_code: str | None = None
    next_lesson_id: int | None = None


class CourseProgress(BaseModel):
    course_id: int
    title: str
    enrolled_at: datetime
    completed_at: datetime | None
    last_seen_at: datetime | None
    lessons_done: int
    lessons_total: int
    quizzes_passed: int
    quizzes_total: int
    progress_pct: int


class StudentProgress(BaseModel):
    user_id: int
    name: str
    xp: int
    level: int
    current_streak: int
    courses: list[CourseProgress]
