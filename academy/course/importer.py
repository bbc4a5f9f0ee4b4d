"""Upsert a course spec into the database, keyed by slugs so students' progress survives edits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from academy.course import markdown
from academy.course.content import AttachmentSpec, CourseSpec, FaqSpec, LessonSpec, QuizSpec, TermSpec
from academy.course.repository import CourseRepository
from academy.integrations.storage import Storage
from academy.kit import clock
from academy.models import (
    Course,
    FaqEntry,
    GlossaryTerm,
    Lesson,
    LessonAttachment,
    Module,
    Question,
    Quiz,
    SearchDocument,
)


@dataclass
class ImportReport:
    course_id: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def summary(self) -> str:
        if not self.changed:
            return "nothing changed"
        parts = [f"{len(self.created)} created", f"{len(self.updated)} updated"]
        if self.retired:
            parts.append(f"{len(self.retired)} unpublished (no longer in the folder)")
        return ", ".join(parts)


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only what differs, so an unchanged re-import issues no UPDATE at all."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


@dataclass(frozen=True)
class _Entry:
    key: Any
    values: dict[str, Any]
    label: str
    title: str
    body: str


def term_slug(term: str) -> str:
    return re.sub(r"[^\w]+", "-", term.casefold()).strip("-")[:120] or "term"


class CourseImporter:
    def __init__(self, session: AsyncSession, storage: Storage) -> None:
        self.session = session
        self.repo = CourseRepository(session)
        self.storage = storage
        self.report = ImportReport()

    async def run(self, spec: CourseSpec) -> ImportReport:
        course = await self.repo.by_slug(spec.slug)
        values = {
            "title": spec.title,
            "summary": spec.summary,
            "level": spec.level,
            "published": spec.published,
            "certificate": spec.certificate,
        }
        if course is None:
            course = await self.repo.add(Course(slug=spec.slug, **values))
            self.report.created.append(f"course {spec.slug}")
        else:
            was_published = course.published
            if _assign(course, values):
                self.report.updated.append(f"course {spec.slug}")
            if course.published != was_published:
                await self.repo.reset_document_visibility(course.id)
        self.report.course_id = course.id

        modules = {m.slug: m for m in await self.repo.modules(course.id)}
        lessons = {
            lesson.slug: lesson
            for lesson in await self.repo.lessons(course.id, published_only=False, with_content=True)
        }
        seen: set[str] = set()
        position = 0
        pending_prerequisites: list[tuple[Lesson, list[str]]] = []
        for m_index, module_spec in enumerate(spec.modules):
            module = modules.get(module_spec.slug)
            module_values = {"title": module_spec.title, "summary": module_spec.summary, "position": m_index}
            if module is None:
                module = Module(course_id=course.id, slug=module_spec.slug, **module_values)
                self.session.add(module)
                await self.session.flush()
                self.report.created.append(f"module {module_spec.slug}")
            elif _assign(module, module_values):
                self.report.updated.append(f"module {module_spec.slug}")
            for lesson_spec in module_spec.lessons:
                position += 1
                lesson = await self._lesson(
                    course, module, lessons.get(lesson_spec.slug), lesson_spec, position
                )
                lessons[lesson.slug] = lesson
                seen.add(lesson.slug)
                pending_prerequisites.append((lesson, lesson_spec.prerequisites))
        for lesson, requires in pending_prerequisites:
            if await self.repo.set_prerequisites(lesson.id, [lessons[slug].id for slug in requires]):
                self._updated(f"lesson {lesson.slug}")
        for slug, lesson in lessons.items():
            if slug not in seen and lesson.published:
                lesson.published = False
                await self._index_lesson(lesson, course)
                self.report.retired.append(f"lesson {slug}")
        await self._glossary(course, spec.glossary)
        await self._faq(course, spec.faq)
        if self.report.changed:
            # Moves the version that cached course shapes are keyed by (course.structure).
            course.updated_at = clock.now()
        await self.session.flush()
        return self.report

    def _updated(self, what: str) -> None:
        if what not in self.report.updated and what not in self.report.created:
            self.report.updated.append(what)

    async def _lesson(
        self, course: Course, module: Module, lesson: Lesson | None, spec: LessonSpec, position: int
    ) -> Lesson:
        values = {
            "module_id": module.id,
            "title": spec.title,
            "position": position,
            "content_md": spec.body,
            "video_url": spec.video,
            "duration_minutes": spec.duration,
            "difficulty": spec.difficulty,
            "tags": spec.tags,
            "deadline_days": spec.deadline_days,
            "published": spec.published,
        }
        reindex = False
        if lesson is None:
            lesson = Lesson(
                course_id=course.id, slug=spec.slug, content_html=markdown.render(spec.body), **values
            )
            self.session.add(lesson)
            await self.session.flush()
            self.report.created.append(f"lesson {spec.slug}")
            reindex = True
        else:
            text_changed = lesson.content_md != spec.body or lesson.title != spec.title
            if _assign(lesson, values):
                self._updated(f"lesson {spec.slug}")
                reindex = True
            if text_changed:
                lesson.content_html = markdown.render(spec.body)
        if await self._attachments(lesson, spec.attachments):
            self._updated(f"lesson {spec.slug}")
        if await self._quiz(lesson, spec.quiz):
            self._updated(f"lesson {spec.slug}")
        if reindex:
            await self._index_lesson(lesson, course)
        return lesson

    async def _attachments(self, lesson: Lesson, specs: list[AttachmentSpec]) -> bool:
        current = {a.name: a for a in (await self.repo.lesson(lesson.id) or lesson).attachments}
        changed = False
        wanted = {a.name for a in specs}
        for spec in specs:
            existing = current.get(spec.name)
            if existing is not None and existing.sha256 == spec.sha256:
                continue
            key = f"lessons/{lesson.id}/{spec.sha256[:16]}/{spec.name.rsplit('/', 1)[-1]}"
            await self.storage.put(key, spec.data, spec.content_type)
            values = {
                "storage_key": key,
                "content_type": spec.content_type,
                "size": len(spec.data),
                "sha256": spec.sha256,
            }
            if existing is None:
                self.session.add(LessonAttachment(lesson_id=lesson.id, name=spec.name, **values))
            else:
                _assign(existing, values)
            changed = True
        for name, attachment in current.items():
            if name not in wanted:
                await self.session.delete(attachment)
                changed = True
        return changed

    async def _quiz(self, lesson: Lesson, spec: QuizSpec | None) -> bool:
        quiz = await self.repo.quiz_for_lesson(lesson.id)
        if spec is None:
            if quiz is not None:
                await self.session.delete(quiz)
                return True
            return False
        changed = False
        if quiz is None:
            quiz = Quiz(lesson_id=lesson.id, title=spec.title, pass_mark=spec.pass_mark)
            self.session.add(quiz)
            await self.session.flush()
            existing: list[Question] = []
            changed = True
        else:
            changed = _assign(quiz, {"title": spec.title, "pass_mark": spec.pass_mark})
            existing = list(quiz.questions)
        for position, q in enumerate(spec.questions):
            values = {
                "kind": q.kind,
                "prompt": q.prompt,
                "options": q.options,
                "answer": q.answer,
                "tolerance": q.tolerance,
                "unit": q.unit,
                "explanation": q.explanation,
            }
            if position < len(existing):
                changed = _assign(existing[position], values) or changed
            else:
                self.session.add(Question(quiz_id=quiz.id, position=position, **values))
                changed = True
        if len(existing) > len(spec.questions):
            await self.repo.delete_questions_from(quiz.id, len(spec.questions))
            changed = True
        return changed

    async def _index_lesson(self, lesson: Lesson, course: Course) -> None:
        await self.repo.delete_documents("lesson", [lesson.id])
        for part, chunk in enumerate(markdown.chunks(lesson.content_md)):
            self.session.add(
                SearchDocument(
                    course_id=course.id,
                    kind="lesson",
                    ref_id=lesson.id,
                    part=part,
                    title=lesson.title,
                    heading=chunk.heading,
                    body=chunk.text,
                    # The course's own flag is checked when searching, so (un)publishing a course
                    # needs no reindex, whichever way it happens (import, admin).
                    published=lesson.published,
                )
            )
        await self.session.flush()

    async def _glossary(self, course: Course, specs: list[TermSpec]) -> None:
        entries = [
            _Entry(
                key=term_slug(spec.term),
                values={"term": spec.term, "definition": spec.definition, "see_also": spec.see_also},
                label=f"term {spec.term}",
                title=spec.term,
                body=spec.definition,
            )
            for spec in specs
        ]
        current = {t.slug: t for t in await self.repo.glossary(course.id)}
        await self._entries(course, "glossary", current, entries, lambda e: GlossaryTerm(slug=e.key))

    async def _faq(self, course: Course, specs: list[FaqSpec]) -> None:
        entries = [
            _Entry(
                key=position,
                values={"question": spec.question, "answer": spec.answer, "tags": spec.tags},
                label=f"faq {position + 1}",
                title=spec.question,
                body=markdown.plain_text(spec.answer),
            )
            for position, spec in enumerate(specs)
        ]
        # Curator entries (published from the coach's queue) are not the folder's to change.
        current = {f.position: f for f in await self.repo.faq(course.id, source="content")}
        await self._entries(course, "faq", current, entries, lambda e: FaqEntry(position=e.key))

    async def _entries(
        self,
        course: Course,
        kind: str,
        current: dict[Any, Any],
        entries: list[_Entry],
        make: Callable[[_Entry], Any],
    ) -> None:
        """Upsert glossary terms or FAQ entries by key, index what changed, drop what is gone."""
        for entry in entries:
            row = current.get(entry.key)
            if row is None:
                row = make(entry)
                row.course_id = course.id
                _assign(row, entry.values)
                self.session.add(row)
                await self.session.flush()
                self.report.created.append(entry.label)
            elif _assign(row, entry.values):
                self.report.updated.append(entry.label)
            else:
                continue
            await self._index(kind, row.id, course, entry.title, entry.body)
        keys = {entry.key for entry in entries}
        removed = [row for key, row in current.items() if key not in keys]
        await self.repo.delete_documents(kind, [row.id for row in removed])
        for key, row in current.items():
            if key not in keys:
                await self.session.delete(row)
                self.report.retired.append(f"{kind} {key}")

    async def _index(self, kind: str, ref_id: int, course: Course, title: str, body: str) -> None:
        await self.repo.delete_documents(kind, [ref_id])
        self.session.add(
            SearchDocument(
                course_id=course.id,
                kind=kind,
                ref_id=ref_id,
                part=0,
                title=title,
                body=body,
                published=True,  # glossary and FAQ follow the course, checked when searching
            )
        )
