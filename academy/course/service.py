"""Courses, lessons and their content: catalog, authoring, course-as-code, glossary, search."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import structlog
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession

from academy.course import markdown
from academy.course.content import (
    AttachmentSpec,
    CourseSpec,
    FaqSpec,
    LessonSpec,
    ModuleSpec,
    QuestionSpec,
    QuizSpec,
    TermSpec,
    read_course,
    write_course,
)
from academy.course.importer import CourseImporter, ImportReport
from academy.course.repository import CourseRepository
from academy.course.schemas import (
    AttachmentRead,
    CourseSummary,
    LessonRead,
    LessonSummary,
    LessonUpdate,
    SearchResult,
)
from academy.course.structure import CourseStructure, LessonInfo, ModuleInfo, structures
from academy.integrations.storage import Storage, storage
from academy.kit import clock, jobs
from academy.kit.errors import NotFound
from academy.kit.pagination import Page, PageParams
from academy.models import Course, FaqEntry, GlossaryTerm, Lesson, Module, Quiz, Role, User

log = structlog.get_logger()

SEARCH_KINDS = ("lesson", "glossary", "faq")
CURATOR_FAQ_POSITIONS = 100_000
KNOWLEDGE_SYNC_TASK = "coach.sync_knowledge"


def is_staff(user: User | None) -> bool:
    return user is not None and Role(user.role).is_staff


class CourseService:
    # --- course-as-code ---

    async def import_folder(
        self, session: AsyncSession, folder: Path, *, files: Storage | None = None
    ) -> ImportReport:
        spec = read_course(folder)
        report = await CourseImporter(session, files or storage()).run(spec)
        if report.changed:
            _refresh_knowledge(session)
        log.info("course.imported", course_id=report.course_id, summary=report.summary())
        return report

    async def export(
        self, session: AsyncSession, slug: str, folder: Path, *, files: Storage | None = None
    ) -> Path:
        files = files or storage()
        repo = CourseRepository(session)
        course = await repo.by_slug(slug)
        if course is None:
            raise NotFound(f"No course with slug '{slug}'")
        loaded = await repo.with_outline(course.id)
        assert loaded is not None
        lessons = await repo.lessons(course.id, published_only=False, with_content=True)
        by_id = {lesson.id: lesson for lesson in lessons}
        prerequisites = await repo.prerequisites(course.id)
        quizzes = await repo.quizzes_for_lessons([lesson.id for lesson in lessons])
        modules = []
        for module in loaded.modules:
            specs = []
            for lesson in module.lessons:
                full = await repo.lesson(lesson.id)
                assert full is not None
                attachments = [
                    AttachmentSpec(a.name, await files.get(a.storage_key), a.content_type)
                    for a in full.attachments
                ]
                quiz = quizzes.get(lesson.id)
                specs.append(
                    LessonSpec(
                        slug=lesson.slug,
                        title=lesson.title,
                        body=lesson.content_md,
                        duration=lesson.duration_minutes,
                        difficulty=lesson.difficulty,
                        tags=list(lesson.tags),
                        prerequisites=[by_id[r].slug for r in prerequisites.get(lesson.id, []) if r in by_id],
                        video=lesson.video_url,
                        attachments=attachments,
                        deadline_days=lesson.deadline_days,
                        published=lesson.published,
                        quiz=await self._quiz_spec(session, quiz) if quiz else None,
                    )
                )
            modules.append(ModuleSpec(module.slug, module.title, module.summary, specs))
        spec = CourseSpec(
            slug=course.slug,
            title=course.title,
            summary=course.summary,
            level=course.level,
            published=course.published,
            certificate=course.certificate,
            modules=modules,
            glossary=[
                TermSpec(t.term, t.definition, list(t.see_also)) for t in await repo.glossary(course.id)
            ],
            faq=[
                FaqSpec(f.question, f.answer, list(f.tags))
                for f in await repo.faq(course.id, source="content")
            ],
        )
        return write_course(spec, folder)

    async def _quiz_spec(self, session: AsyncSession, quiz: Quiz) -> QuizSpec:
        full = await CourseRepository(session).quiz(quiz.id)
        assert full is not None
        questions = [
            QuestionSpec(
                kind=q.kind,
                prompt=q.prompt,
                answer=q.answer,
                options=list(q.options),
                tolerance=q.tolerance,
                unit=q.unit,
                explanation=q.explanation,
            )
            for q in full.questions
        ]
        return QuizSpec(title=full.title, pass_mark=full.pass_mark, questions=questions)

    # --- reading ---

    async def catalog(
        self,
        session: AsyncSession,
        params: PageParams,
        viewer: User | None,
        *,
        query: str | None = None,
        level: str | None = None,
    ) -> Page[CourseSummary]:
        repo = CourseRepository(session)
        rows, total = await repo.catalog(
            published_only=not is_staff(viewer),
            query=query,
            level=level,
            offset=params.offset,
            limit=params.size,
        )
        counts = await repo.lesson_counts([c.id for c in rows])
        items = [self.summary(c, counts.get(c.id, 0)) for c in rows]
        return Page(items=items, total=total, page=params.page, size=params.size)

    def summary(self, course: Course, lessons: int) -> CourseSummary:
        return CourseSummary(
            id=course.id,
            slug=course.slug,
            title=course.title,
            summary=course.summary,
            level=course.level,
            published=course.published,
            lessons=lessons,
        )

    async def get(self, session: AsyncSession, course_id: int, viewer: User | None) -> Course:
        course = await CourseRepository(session).get(course_id)
        if course is None or not (course.published or is_staff(viewer)):
            raise NotFound("Course not found")
        return course

    async def find(self, session: AsyncSession, course_id: int) -> Course | None:
        """Any course, published or not: for records that outlive publication, like enrollments."""
        return await CourseRepository(session).get(course_id)

    async def by_slug(self, session: AsyncSession, slug: str) -> Course | None:
        return await CourseRepository(session).by_slug(slug)

    async def all_courses(self, session: AsyncSession) -> Sequence[Course]:
        return await CourseRepository(session).all_courses()

    async def structure(self, session: AsyncSession, course: Course) -> CourseStructure:
        """The course's modules, lessons, prerequisites and quizzes, from the per-process cache."""
        cached = structures.get(course.id, course.updated_at)
        if cached is not None:
            return cached
        repo = CourseRepository(session)
        lessons = await repo.lessons(course.id, published_only=False)
        infos = tuple(
            LessonInfo(
                id=x.id,
                course_id=x.course_id,
                module_id=x.module_id,
                slug=x.slug,
                title=x.title,
                position=x.position,
                duration_minutes=x.duration_minutes,
                difficulty=x.difficulty,
                deadline_days=x.deadline_days,
                published=x.published,
            )
            for x in lessons
        )
        quizzes = await repo.quizzes_for_lessons([x.id for x in lessons])
        built = CourseStructure(
            course_id=course.id,
            version=course.updated_at,
            modules=tuple(
                ModuleInfo(id=m.id, slug=m.slug, title=m.title, summary=m.summary, position=m.position)
                for m in await repo.modules(course.id)
            ),
            all_lessons=infos,
            prerequisites={k: tuple(v) for k, v in (await repo.prerequisites(course.id)).items()},
            quiz_by_lesson={lesson_id: quiz.id for lesson_id, quiz in quizzes.items()},
            by_id={x.id: x for x in infos},
        )
        structures.put(built)
        return built

    async def course_of(self, session: AsyncSession, lesson: Lesson | LessonInfo) -> Course:
        course = await CourseRepository(session).get(lesson.course_id)
        if course is None:
            raise NotFound("Course not found")
        return course

    async def modules(self, session: AsyncSession, course_id: int) -> Sequence[Module]:
        return await CourseRepository(session).modules(course_id)

    async def lessons(
        self, session: AsyncSession, course_id: int, *, include_drafts: bool = False
    ) -> Sequence[Lesson]:
        return await CourseRepository(session).lessons(course_id, published_only=not include_drafts)

    async def quizzes_for_lessons(self, session: AsyncSession, lesson_ids: Sequence[int]) -> dict[int, Quiz]:
        return await CourseRepository(session).quizzes_for_lessons(lesson_ids)

    async def lessons_page(
        self,
        session: AsyncSession,
        course: Course,
        params: PageParams,
        viewer: User | None,
        module_id: int | None,
    ) -> Page[LessonSummary]:
        repo = CourseRepository(session)
        rows, total = await repo.lessons_page(
            course.id,
            published_only=not is_staff(viewer),
            module_id=module_id,
            offset=params.offset,
            limit=params.size,
        )
        quizzes = await repo.quizzes_for_lessons([r.id for r in rows])
        prerequisites = await repo.prerequisites(course.id)
        items = [self.lesson_summary(r, r.id in quizzes, prerequisites.get(r.id, [])) for r in rows]
        return Page(items=items, total=total, page=params.page, size=params.size)

    def lesson_summary(self, lesson: Lesson, has_quiz: bool, prerequisites: list[int]) -> LessonSummary:
        return LessonSummary(
            id=lesson.id,
            course_id=lesson.course_id,
            module_id=lesson.module_id,
            slug=lesson.slug,
            title=lesson.title,
            position=lesson.position,
            duration_minutes=lesson.duration_minutes,
            difficulty=lesson.difficulty,
            tags=list(lesson.tags),
            published=lesson.published,
            has_quiz=has_quiz,
            prerequisites=prerequisites,
        )

    async def lesson(self, session: AsyncSession, lesson_id: int, viewer: User | None) -> Lesson:
        """A lesson the viewer may read: published in a published course, or anything for staff."""
        repo = CourseRepository(session)
        lesson = await repo.lesson(lesson_id)
        if lesson is None:
            raise NotFound("Lesson not found")
        if not is_staff(viewer):
            course = await repo.get(lesson.course_id)
            if not lesson.published or course is None or not course.published:
                raise NotFound("Lesson not found")
        return lesson

    async def read_lesson(self, session: AsyncSession, lesson: Lesson, viewer: User | None) -> LessonRead:
        structure = await self.structure(session, await self.course_of(session, lesson))
        ids = [x.id for x in structure.lessons(include_drafts=is_staff(viewer))]
        index = ids.index(lesson.id) if lesson.id in ids else -1
        quiz_id = structure.quiz_by_lesson.get(lesson.id)
        prerequisites = list(structure.prerequisites.get(lesson.id, ()))
        files = storage()
        return LessonRead(
            **self.lesson_summary(lesson, quiz_id is not None, prerequisites).model_dump(
                exclude={"has_quiz"}
            ),
            has_quiz=quiz_id is not None,
            content_md=lesson.content_md,
            content_html=lesson.content_html,
            video_url=lesson.video_url,
            deadline_days=lesson.deadline_days,
            attachments=[
                AttachmentRead(
                    id=a.id,
                    name=a.name,
                    size=a.size,
                    content_type=a.content_type,
                    url=files.url(a.storage_key),
                )
                for a in lesson.attachments
            ],
            quiz_id=quiz_id,
            previous_id=ids[index - 1] if index > 0 else None,
            next_id=ids[index + 1] if 0 <= index < len(ids) - 1 else None,
        )

    async def quiz(self, session: AsyncSession, quiz_id: int) -> Quiz | None:
        return await CourseRepository(session).quiz(quiz_id)

    async def quiz_for_lesson(self, session: AsyncSession, lesson_id: int) -> Quiz | None:
        return await CourseRepository(session).quiz_for_lesson(lesson_id)

    async def glossary(self, session: AsyncSession, course_id: int) -> Sequence[GlossaryTerm]:
        return await CourseRepository(session).glossary(course_id)

    async def faq(self, session: AsyncSession, course_id: int) -> Sequence[FaqEntry]:
        return await CourseRepository(session).faq(course_id)

    async def publish_faq(
        self, session: AsyncSession, course_id: int, question: str, answer: str
    ) -> FaqEntry:
        """Add a curator's answer to the course FAQ and its search index (so the coach finds it)."""
        course = await self.find(session, course_id)
        if course is None:
            raise NotFound("No such course")
        repo = CourseRepository(session)
        # Above any position a course folder uses, so content imports and curator entries never meet.
        position = max(await repo.last_faq_position(course_id), CURATOR_FAQ_POSITIONS - 1) + 1
        entry = FaqEntry(
            course_id=course_id,
            position=position,
            question=question,
            answer=answer,
            tags=[],
            source="curator",
        )
        session.add(entry)
        await session.flush()
        await CourseImporter(session, storage())._index(
            "faq", entry.id, course, question, markdown.plain_text(answer)
        )
        _refresh_knowledge(session)
        log.info("course.faq_published", course_id=course_id, faq_entry_id=entry.id)
        return entry

    # --- authoring ---

    def preview(self, text: str) -> str:
        return markdown.render(text)

    async def update_lesson(self, session: AsyncSession, lesson_id: int, data: LessonUpdate) -> Lesson:
        repo = CourseRepository(session)
        lesson = await repo.lesson(lesson_id)
        if lesson is None:
            raise NotFound("Lesson not found")
        changes = data.model_dump(exclude_unset=True)
        if "video_url" in changes and changes["video_url"] is not None:
            changes["video_url"] = str(changes["video_url"])
        for name, value in changes.items():
            # None clears only what may be empty (video, deadline); required fields keep their value.
            if value is None and name not in ("video_url", "deadline_days"):
                continue
            setattr(lesson, name, value)
        if "content_md" in changes:
            lesson.content_html = markdown.render(lesson.content_md)
        course = await repo.get(lesson.course_id)
        assert course is not None
        course.updated_at = clock.now()  # a new version of the course's cached shape
        await CourseImporter(session, storage())._index_lesson(lesson, course)
        _refresh_knowledge(session)
        log.info("course.lesson_updated", lesson_id=lesson.id, fields=sorted(changes))
        return lesson

    # --- search ---

    async def search(
        self,
        session: AsyncSession,
        query: str,
        params: PageParams,
        *,
        course_id: int | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Page[SearchResult]:
        hits, total = await CourseRepository(session).search(
            query, course_id=course_id, kinds=kinds, offset=params.offset, limit=params.size
        )
        items = []
        for hit in hits:
            doc = hit.document
            if doc.kind == "lesson":
                url = f"/lessons/{doc.ref_id}"
            elif doc.kind == "glossary":
                url = f"/courses/{doc.course_id}/glossary#term-{doc.ref_id}"
            else:
                url = f"/courses/{doc.course_id}/faq#faq-{doc.ref_id}"
            items.append(
                SearchResult(
                    kind=doc.kind,
                    title=doc.title,
                    heading=doc.heading,
                    snippet=_safe_snippet(hit.snippet),
                    url=url,
                    course_id=doc.course_id,
                    lesson_id=doc.ref_id if doc.kind == "lesson" else None,
                    rank=hit.rank,
                )
            )
        return Page(items=items, total=total, page=params.page, size=params.size)


def _refresh_knowledge(session: AsyncSession) -> None:
    """The coach's vectors follow the search chunks: its task re-embeds only the chunks that changed
    (named, not imported: the coach builds on this domain, not the other way round)."""
    if KNOWLEDGE_SYNC_TASK in jobs.registry():
        jobs.enqueue(session, KNOWLEDGE_SYNC_TASK)


def _safe_snippet(snippet: str) -> str:
    """Escape the stored text but keep the highlight marks the database added."""
    escaped = str(escape(snippet or ""))
    return escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")


course_service = CourseService()
