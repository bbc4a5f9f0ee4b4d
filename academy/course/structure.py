"""A course's shape (modules, lessons, prerequisites, quizzes) as immutable values, cached per process.

Every course page, lesson page and progress answer needs the whole shape, which is the same for all
students and changes only when the course is imported or edited. The cache is keyed by the course's
`updated_at`, which every such change moves (the importer and lesson edits touch it), so each web
process sees an edit on its next request without any cross-process invalidation.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class LessonInfo:
    id: int
    course_id: int
    module_id: int
    slug: str
    title: str
    position: int
    duration_minutes: int
    difficulty: str
    deadline_days: int | None
    published: bool


@dataclass(frozen=True)
class ModuleInfo:
    id: int
    slug: str
    title: str
    summary: str
    position: int


@dataclass(frozen=True)
class CourseStructure:
    course_id: int
    version: datetime
    modules: tuple[ModuleInfo, ...]
    all_lessons: tuple[LessonInfo, ...]  # drafts included, in course order
    prerequisites: dict[int, tuple[int, ...]]  # lesson id -> ids it requires
    quiz_by_lesson: dict[int, int]  # lesson id -> quiz id
    by_id: dict[int, LessonInfo] = field(default_factory=dict)

    def lessons(self, *, include_drafts: bool = False) -> tuple[LessonInfo, ...]:
        if include_drafts:
            return self.all_lessons
        return tuple(lesson for lesson in self.all_lessons if lesson.published)

    def quiz_ids(self, *, include_drafts: bool = False) -> set[int]:
        return {
            self.quiz_by_lesson[x.id]
            for x in self.lessons(include_drafts=include_drafts)
            if x.id in self.quiz_by_lesson
        }


class StructureCache:
    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[int, CourseStructure] = OrderedDict()

    def get(self, course_id: int, version: datetime) -> CourseStructure | None:
        found = self._items.get(course_id)
        if found is None or found.version != version:
            return None
        self._items.move_to_end(course_id)
        return found

    def put(self, structure: CourseStructure) -> None:
        self._items[structure.course_id] = structure
        self._items.move_to_end(structure.course_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


structures = StructureCache()
