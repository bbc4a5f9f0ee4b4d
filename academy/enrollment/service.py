"""Enrollment and progress: who studies what, how far they are, what is locked and what is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.activity.service import ActivityKind, activity_service
from academy.certificate.service import certificate_service
from academy.course.service import course_service, is_staff
from academy.course.structure import CourseStructure, LessonInfo
from academy.enrollment.repository import EnrollmentRepository
from academy.enrollment.schemas import (
    CompletionRead,
    CourseOutline,
    CourseProgress,
    EnrollmentRead,
    LessonState,
    ModuleOutline,
    StudentProgress,
)
from academy.gamification.service import gamification_service
from academy.kit import clock
from academy.kit.errors import Forbidden, NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.models import Course, Enrollment, Lesson, LessonProgress, Role, User

log = structlog.get_logger()

# Opening the same lesson again within this gap counts as the same visit.
VISIT_GAP = timedelta(minutes=30)


def _pct(done: int, total: int) -> int:
    return int(100 * done / total) if total else 0


class EnrollmentService:
    async def enroll(self, session: AsyncSession, user: User, course_id: int) -> Enrollment:
        course = await course_service.get(session, course_id, user)
        if not course.published:
            raise Unprocessable("This course is not published yet")
        repo = EnrollmentRepository(session)
        enrollment = await repo.find(user.id, course.id)
        if enrollment is not None:
            return enrollment
        enrollment = await repo.add(Enrollment(user_id=user.id, course_id=course.id, created_at=clock.now()))
        await activity_service.record(session, user.id, ActivityKind.enrolled, course_id=course.id)
        log.info("enrollment.created", user_id=user.id, course_id=course.id)
        return enrollment

    async def find(self, session: AsyncSession, user_id: int, course_id: int) -> Enrollment | None:
        return await EnrollmentRepository(session).find(user_id, course_id)

    async def enrollments(
        self, session: AsyncSession, user: User, params: PageParams
    ) -> Page[EnrollmentRead]:
        repo = EnrollmentRepository(session)
        rows, total = await repo.for_user(user.id, offset=params.offset, limit=params.size)
        items = [await self.read(session, user, enrollment) for enrollment in rows]
        return Page(items=items, total=total, page=params.page, size=params.size)

    async def read(self, session: AsyncSession, user: User, enrollment: Enrollment) -> EnrollmentRead:
        # Not `get`: a course withdrawn after enrolling must not break the student's list.
        course = await course_service.find(session, enrollment.course_id)
        if course is None:
            raise NotFound("Course not found")
        structure = await course_service.structure(session, course)
        lessons = structure.lessons()
        progress = await EnrollmentRepository(session).progress(user.id, [lesson.id for lesson in lessons])
        done = sum(1 for lesson in lessons if progress.get(lesson.id) and progress[lesson.id].completed_at)
        next_lesson = self._next_lesson(structure, lessons, progress, enrollment)
        return EnrollmentRead(
            id=enrollment.id,
            course_id=course.id,
            course_title=course.title,
            enrolled_at=enrollment.created_at,
            completed_at=enrollment.completed_at,
            last_seen_at=enrollment.last_seen_at,
            lessons_done=done,
            lessons_total=len(lessons),
            progress_pct=_pct(done, len(lessons)),
            next_lesson_id=next_lesson.id if next_lesson else None,
            next_lesson_title=next_lesson.title if next_lesson else None,
        )

    def _next_lesson(
        self,
        structure: CourseStructure,
        lessons: Sequence[LessonInfo],
        progress: dict[int, LessonProgress],
        enrollment: Enrollment | None,
    ) -> LessonInfo | None:
        """Where to continue: the last opened lesson if unfinished, else the first open unfinished one."""
        prerequisites = structure.prerequisites
        done = {lid for lid, p in progress.items() if p.completed_at}
        if enrollment is not None and enrollment.last_lesson_id and enrollment.last_lesson_id not in done:
            for lesson in lessons:
                if lesson.id == enrollment.last_lesson_id:
                    return lesson
        for lesson in lessons:
            if lesson.id not in done and all(r in done for r in prerequisites.get(lesson.id, ())):
                return lesson
        return None

    async def outline(self, session: AsyncSession, user: User | None, course: Course) -> CourseOutline:
        structure = await course_service.structure(session, course)
        lessons = structure.lessons(include_drafts=is_staff(user))
        modules = structure.modules
        prerequisites = structure.prerequisites
        quizzes = {x.id: structure.quiz_by_lesson[x.id] for x in lessons if x.id in structure.quiz_by_lesson}
        repo = EnrollmentRepository(session)
        enrollment = await repo.find(user.id, course.id) if user else None
        progress = await repo.progress(user.id, [lesson.id for lesson in lessons]) if user else {}
        passed = await repo.passed_quiz_ids(user.id, course.id) if user else set()
        done = {lid for lid, p in progress.items() if p.completed_at}
        titles = {lesson.id: lesson.title for lesson in lessons}
        zone_now = clock.now()
        by_module: dict[int, list[LessonState]] = {}
        for lesson in lessons:
            missing = [r for r in prerequisites.get(lesson.id, ()) if r not in done]
            status = "done" if lesson.id in done else ("locked" if missing else "open")
            due_at = (
                enrollment.created_at + timedelta(days=lesson.deadline_days)
                if enrollment is not None and lesson.deadline_days
                else None
            )
            quiz = quizzes.get(lesson.id)
            by_module.setdefault(lesson.module_id, []).append(
                LessonState(
                    id=lesson.id,
                    title=lesson.title,
                    position=lesson.position,
                    duration_minutes=lesson.duration_minutes,
                    difficulty=lesson.difficulty,
                    status=status,
                    locked_by=[titles.get(r, "") for r in missing],
                    has_quiz=quiz is not None,
                    quiz_passed=quiz is not None and quiz in passed,
                    due_at=due_at,
                    overdue=bool(due_at and status != "done" and due_at < zone_now),
                )
            )
        outline_modules = [
            ModuleOutline(
                id=m.id,
                title=m.title,
                summary=m.summary,
                lessons=by_module[m.id],
                done=sum(1 for s in by_module[m.id] if s.status == "done"),
                total=len(by_module[m.id]),
            )
            for m in modules
            if by_module.get(m.id)
        ]
        next_lesson = self._next_lesson(structure, lessons, progress, enrollment) if user else None
        certificate = await certificate_service.for_user_course(session, user.id, course.id) if user else None
        return CourseOutline(
            course_id=course.id,
            title=course.title,
            summary=course.summary,
            level=course.level,
            enrolled=enrollment is not None,
            enrolled_at=enrollment.created_at if enrollment else None,
            completed_at=enrollment.completed_at if enrollment else None,
            lessons_done=len(done & set(titles)),
            lessons_total=len(lessons),
            quizzes_passed=len(passed & set(quizzes.values())),
            quizzes_total=len(quizzes),
            progress_pct=_pct(len(done & set(titles)), len(lessons)),
            next_lesson_id=next_lesson.id
            if next_lesson
            else (lessons[0].id if lessons and not user else None),
            certificate_code=certificate.code if certificate else None,
            modules=outline_modules,
        )

    async def check_access(self, session: AsyncSession, user: User, lesson: Lesson) -> Enrollment | None:
        """Students need an enrollment and the lesson's prerequisites; staff may read anything."""
        if is_staff(user):
            return await EnrollmentRepository(session).find(user.id, lesson.course_id)
        repo = EnrollmentRepository(session)
        enrollment = await repo.find(user.id, lesson.course_id)
        if enrollment is None:
            raise Forbidden("Enroll in the course to open its lessons")
        missing = await self.missing_prerequisites(session, user, lesson)
        if missing:
            raise Forbidden("Finish these lessons first: " + ", ".join(m.title for m in missing))
        return enrollment

    async def missing_prerequisites(
        self, session: AsyncSession, user: User, lesson: Lesson
    ) -> list[LessonInfo]:
        structure = await course_service.structure(session, await course_service.course_of(session, lesson))
        requires = structure.prerequisites.get(lesson.id, ())
        if not requires:
            return []
        progress = await EnrollmentRepository(session).progress(user.id, requires)
        missing = [r for r in requires if not (progress.get(r) and progress[r].completed_at)]
        return [structure.by_id[r] for r in missing if r in structure.by_id]

    async def open_lesson(self, session: AsyncSession, user: User, lesson: Lesson) -> LessonProgress | None:
        enrollment = await self.check_access(session, user, lesson)
        if enrollment is None:
            return None
        now = clock.now()
        repo = EnrollmentRepository(session)
        progress = await repo.lesson_progress(user.id, lesson.id)
        first_open = progress is None
        if progress is None:
            progress = await repo.add_progress(
                LessonProgress(user_id=user.id, lesson_id=lesson.id, opened_at=now)
            )
        # A refresh or a quick look back is not a new visit: no event, and no write at all, so
        # reading stays cheap and the activity stream stays meaningful for risk scoring.
        same_visit = (
            enrollment.last_lesson_id == lesson.id
            and enrollment.last_seen_at is not None
            and now - enrollment.last_seen_at < VISIT_GAP
        )
        if first_open or not same_visit:
            enrollment.last_lesson_id = lesson.id
            enrollment.last_seen_at = now
            await activity_service.record(
                session, user.id, ActivityKind.lesson_opened, course_id=lesson.course_id, lesson_id=lesson.id
            )
        return progress

    async def complete_lesson(self, session: AsyncSession, user: User, lesson_id: int) -> CompletionRead:
        lesson = await course_service.lesson(session, lesson_id, user)
        enrollment = await self.check_access(session, user, lesson)
        if enrollment is None:
            raise Forbidden("Enroll in the course to track your progress")
        repo = EnrollmentRepository(session)
        now = clock.now()
        progress = await repo.lesson_progress(user.id, lesson.id)
        if progress is None:
            progress = await repo.add_progress(
                LessonProgress(user_id=user.id, lesson_id=lesson.id, opened_at=now)
            )
        award = None
        if progress.completed_at is None:
            progress.completed_at = now
            enrollment.last_seen_at = now
            await activity_service.record(
                session,
                user.id,
                ActivityKind.lesson_completed,
                course_id=lesson.course_id,
                lesson_id=lesson.id,
            )
            award = await gamification_service.lesson_completed(session, user, lesson.id, now)
        completion = await self.check_completion(session, user, lesson.course_id)
        structure = await course_service.structure(session, await course_service.course_of(session, lesson))
        lessons = structure.lessons()
        all_progress = await repo.progress(user.id, [x.id for x in lessons])
        next_lesson = self._next_lesson(structure, lessons, all_progress, None)
        return CompletionRead(
            lesson_id=lesson.id,
            completed_at=progress.completed_at,
            xp_gained=(award.xp if award else 0) + (completion[1] if completion else 0),
            level_up=award.level_up if award else None,
            achievements=([a.title for a in award.achievements] if award else [])
            + (completion[2] if completion else []),
            course_completed=completion is not None,
            certificate_code=completion[0] if completion else None,
            next_lesson_id=next_lesson.id if next_lesson else None,
        )

    async def check_completion(
        self, session: AsyncSession, user: User, course_id: int
    ) -> tuple[str | None, int, list[str]] | None:
        """Complete the course once every published lesson is done and every quiz passed.

        Returns (certificate code, XP gained, achievements unlocked) when this call completed it,
        else None.
        """
        repo = EnrollmentRepository(session)
        enrollment = await repo.find(user.id, course_id)
        if enrollment is None or enrollment.completed_at is not None:
            return None
        course = await course_service.find(session, course_id)
        if course is None:
            return None
        structure = await course_service.structure(session, course)
        lessons = structure.lessons()
        if not lessons:
            return None
        progress = await repo.progress(user.id, [lesson.id for lesson in lessons])
        if not all(progress.get(lesson.id) and progress[lesson.id].completed_at for lesson in lessons):
            return None
        passed = await repo.passed_quiz_ids(user.id, course_id)
        if not structure.quiz_ids() <= passed:
            return None
        now = clock.now()
        enrollment.completed_at = now
        await activity_service.record(session, user.id, ActivityKind.course_completed, course_id=course_id)
        award = await gamification_service.course_completed(session, user, course_id, now)
        code = None
        if course.certificate:
            code = (await certificate_service.issue(session, user, course)).code
        log.info("enrollment.completed", user_id=user.id, course_id=course_id)
        return code, award.xp, [a.title for a in award.achievements]

    async def can_view_student(
        self, session: AsyncSession, viewer: User, student_id: int, course_id: int | None
    ) -> bool:
        if viewer.id == student_id or viewer.role == Role.admin:
            return True
        if viewer.role != Role.curator:
            return False
        repo = EnrollmentRepository(session)
        curated = await repo.curated_course_ids(viewer.id)
        if course_id is not None:
            return course_id in curated and await repo.find(student_id, course_id) is not None
        enrollments, _ = await repo.for_user(student_id)
        return any(e.course_id in curated for e in enrollments)

    async def student_progress(
        self, session: AsyncSession, viewer: User, student: User, course_id: int | None = None
    ) -> StudentProgress:
        # Another student's progress answers 404, not 403: its existence is private too.
        if not await self.can_view_student(session, viewer, student.id, course_id):
            raise NotFound("Student not found")
        repo = EnrollmentRepository(session)
        enrollments, _ = await repo.for_user(student.id)
        curated = await repo.curated_course_ids(viewer.id) if viewer.role == Role.curator else None
        courses = []
        for enrollment in enrollments:
            if course_id is not None and enrollment.course_id != course_id:
                continue
            if curated is not None and viewer.id != student.id and enrollment.course_id not in curated:
                continue
            course = await course_service.find(session, enrollment.course_id)
            if course is None:
                continue
            outline = await self.outline(session, student, course)
            courses.append(
                CourseProgress(
                    course_id=course.id,
                    title=course.title,
                    enrolled_at=enrollment.created_at,
                    completed_at=enrollment.completed_at,
                    last_seen_at=enrollment.last_seen_at,
                    lessons_done=outline.lessons_done,
                    lessons_total=outline.lessons_total,
                    quizzes_passed=outline.quizzes_passed,
                    quizzes_total=outline.quizzes_total,
                    progress_pct=outline.progress_pct,
                )
            )
        stats = await gamification_service.progress(session, student)
        return StudentProgress(
            user_id=student.id,
            name=student.display_name,
            xp=stats.xp,
            level=stats.level,
            current_streak=stats.current_streak,
            courses=courses,
        )

    async def assign_curator(self, session: AsyncSession, curator: User, course_id: int) -> None:
        if curator.role not in (Role.curator, Role.admin):
            raise Unprocessable("Only curators can be assigned to a course")
        await EnrollmentRepository(session).assign_curator(curator.id, course_id)

    async def is_curator(self, session: AsyncSession, user: User, course_id: int) -> bool:
        return await EnrollmentRepository(session).is_curator(user.id, course_id)

    async def curator_ids(self, session: AsyncSession, course_id: int) -> list[int]:
        return await EnrollmentRepository(session).curator_ids(course_id)

    async def curated_course_ids(self, session: AsyncSession, user: User) -> set[int]:
        return await EnrollmentRepository(session).curated_course_ids(user.id)


enrollment_service = EnrollmentService()
