"""Homework: assignments on lessons, submissions (text, file or quiz), the AI pre-grade and the
curators' review. The only entry point to the homework domain (see docs/curator-automation.md)."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.activity.service import ActivityKind, activity_service
from academy.config import get_settings
from academy.course.service import course_service
from academy.enrollment.service import enrollment_service
from academy.homework import files
from academy.homework import grading as g
from academy.homework.repository import HomeworkRepository
from academy.homework.schemas import (
    FILE_TYPES,
    MAX_TEXT_CHARS,
    AgreementRead,
    AssignmentCreate,
    AssignmentRead,
    AssignmentStatus,
    AssignmentUpdate,
    Criterion,
    CriterionAgreement,
    CriterionScore,
    OpenHomework,
    QueueStatus,
    ReviewCreate,
    ReviewItem,
    StoredFile,
    SubmissionRead,
    Upload,
)
from academy.integrations.storage import StoredFileMissing, storage
from academy.kit import clock, i18n, jobs
from academy.kit.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.models import Assignment, Lesson, Role, Submission, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.quiz.service import quiz_service
from academy.user.service import user_service

log = structlog.get_logger()
_ = i18n.gettext

PREGRADE_TASK = "homework.pregrade"


# Curators choose how they hear about new work; students' grades go under "Homework and grades".
SUBMITTED_KIND = "homework_submitted"
GRADED_KIND = "homework"
_QUEUE_STATUSES: dict[str, list[str] | None] = {
    "proposed": ["proposed"],
    "submitted": ["submitted"],
    "final": ["final"],
    "all": None,
}


def _is_admin(user: User) -> bool:
    return Role(user.role) is Role.admin


def _is_staff(user: User) -> bool:
    return Role(user.role) in (Role.curator, Role.admin)


def _read(assignment: Assignment, *, for_staff: bool) -> AssignmentRead:
    return AssignmentRead(
        id=assignment.id,
        course_id=assignment.course_id,
        lesson_id=assignment.lesson_id,
        title=assignment.title,
        kind=assignment.kind,  # type: ignore[arg-type]
        instructions=assignment.instructions,
        rubric=[Criterion.model_validate(c) for c in assignment.rubric],
        model_answer=assignment.model_answer if for_staff else "",
        quiz_id=assignment.quiz_id,
        due_at=assignment.due_at,
        due_days=assignment.due_days,
        late_policy=assignment.late_policy,  # type: ignore[arg-type]
        late_penalty_pct=assignment.late_penalty_pct,
        max_attempts=assignment.max_attempts,
        file_types=list(assignment.file_types),
        max_file_bytes=assignment.max_file_bytes,
        pass_pct=assignment.pass_pct,
        published=assignment.published,
        created_by_id=assignment.created_by_id,
        created_at=assignment.created_at,
        max_points=g.max_points(assignment),
    )


def _scores(rows: list[dict[str, Any]] | None) -> list[CriterionScore] | None:
    return None if rows is None else [CriterionScore.model_validate(r) for r in rows]


def _submission(row: Submission, *, for_staff: bool, superseded: bool = False) -> SubmissionRead:
    # An AI proposal is not a grade: the student sees it only as part of the final grade.
    show_ai = for_staff or row.status == "final"
    return SubmissionRead(
        id=row.id,
        assignment_id=row.assignment_id,
        course_id=row.course_id,
        user_id=row.user_id,
        attempt=row.attempt,
        submitted_at=row.submitted_at,
        due_at=row.due_at,
        late_days=row.late_days,
        text=row.text,
        file_name=row.file_name,
        file_type=row.file_type,
        file_size=row.file_size,
        file_url=f"/homework/submissions/{row.id}/file" if row.file_key else None,
        quiz_attempt_id=row.quiz_attempt_id,
        status=row.status,  # type: ignore[arg-type]
        max_points=row.max_points,
        ai_scores=_scores(row.ai_scores) if show_ai else None,
        ai_total=row.ai_total if show_ai else None,
        ai_feedback=row.ai_feedback if show_ai else None,
        ai_grader=row.ai_grader if show_ai else None,
        ai_graded_at=row.ai_graded_at if show_ai else None,
        final_scores=_scores(row.final_scores),
        final_total=row.final_total,
        final_feedback=row.final_feedback,
        penalty_pct=row.penalty_pct,
        review=row.review,  # type: ignore[arg-type]
        reviewed_by_id=row.reviewed_by_id,
        reviewed_at=row.reviewed_at,
        passed=row.passed,
        superseded=superseded,
    )


class HomeworkService:
    # --- scope ---

    async def _scope(self, session: AsyncSession, viewer: User) -> set[int] | None:
        """The courses whose homework the viewer manages: None for every course (admins)."""
        if _is_admin(viewer):
            return None
        if Role(viewer.role) is Role.curator:
            return await enrollment_service.curated_course_ids(session, viewer)
        return set()

    async def _manages(self, session: AsyncSession, viewer: User, course_id: int) -> bool:
        scope = await self._scope(session, viewer)
        return scope is None or course_id in scope

    async def _check_course_filter(self, session: AsyncSession, viewer: User, course_id: int | None) -> None:
        if course_id is not None and not await self._manages(session, viewer, course_id):
            raise Forbidden("That course is not one of yours")

    # --- assignments ---

    async def create_assignment(
        self, session: AsyncSession, actor: User, data: AssignmentCreate
    ) -> AssignmentRead:
        lesson = await course_service.lesson(session, data.lesson_id, actor)
        if not await self._manages(session, actor, lesson.course_id):
            raise Forbidden("Only the course's curators and admins can add homework to it")
        assignment = Assignment(
            course_id=lesson.course_id,
            lesson_id=lesson.id,
            created_by_id=actor.id,
            **data.model_dump(exclude={"lesson_id", "rubric"}),
            rubric=[c.model_dump() for c in data.rubric],
        )
        await self._validate(session, assignment)
        await HomeworkRepository(session).add(assignment)
        log.info("homework.assignment_created", assignment_id=assignment.id, course_id=assignment.course_id)
        return _read(assignment, for_staff=True)

    async def update_assignment(
        self, session: AsyncSession, actor: User, assignment_id: int, data: AssignmentUpdate
    ) -> AssignmentRead:
        assignment = await self._managed(session, actor, assignment_id)
        changes = data.model_dump(exclude_unset=True)
        if "rubric" in changes:
            changes["rubric"] = [c.model_dump() for c in data.rubric or []]
        for required in ("title", "instructions", "model_answer", "late_policy", "late_penalty_pct",
                         "max_attempts", "file_types", "pass_pct", "published"):  # fmt: skip
            if required in changes and changes[required] is None:
                raise Unprocessable(f"{required} cannot be empty")
        for field, value in changes.items():
            setattr(assignment, field, value)
        await self._validate(session, assignment)
        await session.flush()
        log.info("homework.assignment_updated", assignment_id=assignment.id, fields=sorted(changes))
        return _read(assignment, for_staff=True)

    async def _validate(self, session: AsyncSession, assignment: Assignment) -> None:
        kind = assignment.kind
        if kind == "text" and not assignment.rubric:
            raise Unprocessable("A text assignment needs a rubric: at least one criterion")
        if kind == "quiz":
            if assignment.rubric:
                raise Unprocessable("A quiz assignment has no rubric: the quiz scores itself")
            quiz = await course_service.quiz(session, assignment.quiz_id) if assignment.quiz_id else None
            lessons = await course_service.lessons(session, assignment.course_id, include_drafts=True)
            if quiz is None or quiz.lesson_id not in {lesson.id for lesson in lessons}:
                raise Unprocessable("A quiz assignment needs a quiz of the same course (quiz_id)")
        elif assignment.quiz_id is not None:
            raise Unprocessable("Only a quiz assignment takes a quiz_id")
        if kind == "file":
            if not assignment.file_types:
                raise Unprocessable(f"A file assignment needs file_types, some of: {', '.join(FILE_TYPES)}")
        elif assignment.file_types:
            raise Unprocessable("Only a file assignment takes file_types")

    async def _assignment(self, session: AsyncSession, viewer: User, assignment_id: int) -> Assignment:
        """An assignment the viewer may see: published in a visible lesson, or any in their scope."""
        assignment = await HomeworkRepository(session).assignment(assignment_id)
        if assignment is None:
            raise NotFound("Assignment not found")
        if _is_staff(viewer) and await self._manages(session, viewer, assignment.course_id):
            return assignment
        if not assignment.published:
            raise NotFound("Assignment not found")
        try:
            await course_service.lesson(session, assignment.lesson_id, None)
        except NotFound:
            raise NotFound("Assignment not found") from None
        return assignment

    async def _managed(self, session: AsyncSession, actor: User, assignment_id: int) -> Assignment:
        assignment = await HomeworkRepository(session).assignment(assignment_id)
        if assignment is None or not await self._manages(session, actor, assignment.course_id):
            raise NotFound("Assignment not found")
        return assignment

    async def assignment(self, session: AsyncSession, viewer: User, assignment_id: int) -> AssignmentRead:
        assignment = await self._assignment(session, viewer, assignment_id)
        return _read(assignment, for_staff=await self._sees_model_answer(session, viewer, assignment))

    async def _sees_model_answer(self, session: AsyncSession, viewer: User, assignment: Assignment) -> bool:
        return _is_staff(viewer) and await self._manages(session, viewer, assignment.course_id)

    async def assignments(
        self,
        session: AsyncSession,
        viewer: User,
        *,
        course_id: int | None = None,
        lesson_id: int | None = None,
    ) -> list[AssignmentRead]:
        scope = await self._scope(session, viewer)
        rows = await HomeworkRepository(session).assignments(
            course_id=course_id, lesson_id=lesson_id, staff_course_ids=scope or (), all_courses=scope is None
        )
        return [_read(a, for_staff=scope is None or a.course_id in scope) for a in rows]

    # --- the student's view ---

    async def _due(self, session: AsyncSession, assignment: Assignment, user: User) -> datetime | None:
        if assignment.due_at is not None:
            return assignment.due_at
        enrollment = await enrollment_service.find(session, user.id, assignment.course_id)
        if enrollment is None:
            return None
        if assignment.due_days is not None:
            return enrollment.created_at + timedelta(days=assignment.due_days)
        lesson = await course_service.lesson(session, assignment.lesson_id, user)
        if lesson.deadline_days is not None:
            return enrollment.created_at + timedelta(days=lesson.deadline_days)
        return None

    async def status(self, session: AsyncSession, user: User, assignment_id: int) -> AssignmentStatus:
        assignment = await self._assignment(session, user, assignment_id)
        return await self._status(session, user, assignment)

    async def lesson_statuses(
        self, session: AsyncSession, user: User, lesson_id: int
    ) -> list[AssignmentStatus]:
        lesson: Lesson = await course_service.lesson(session, lesson_id, user)
        rows = await HomeworkRepository(session).assignments(
            lesson_id=lesson.id, staff_course_ids=(), all_courses=False
        )
        return [await self._status(session, user, a) for a in rows]

    async def _status(self, session: AsyncSession, user: User, assignment: Assignment) -> AssignmentStatus:
        repo = HomeworkRepository(session)
        attempts = await repo.attempts(assignment.id, user.id)
        due = await self._due(session, assignment, user)
        latest = attempts[-1] if attempts else None
        now = clock.now()
        why_not = await self._why_not(session, user, assignment, attempts, due, now)
        if latest is not None:
            state = (
                "final"
                if latest.status == "final"
                else "proposed"
                if latest.status == "proposed"
                else "submitted"
            )
        else:
            state = "overdue" if due is not None and now > due else "open"
        return AssignmentStatus(
            assignment=_read(assignment, for_staff=await self._sees_model_answer(session, user, assignment)),
            due_at=due,
            attempts_used=len(attempts),
            attempts_left=max(0, assignment.max_attempts - len(attempts)),
            state=state,  # type: ignore[arg-type]
            latest=_submission(latest, for_staff=False) if latest else None,
            can_submit=why_not is None,
            why_not=why_not,
        )

    async def _why_not(
        self,
        session: AsyncSession,
        user: User,
        assignment: Assignment,
        attempts: list[Submission],
        due: datetime | None,
        now: datetime,
    ) -> str | None:
        """Why the student cannot submit now, in their words; None when they can."""
        if not assignment.published:
            return _("This homework is not published yet.")
        if await enrollment_service.find(session, user.id, assignment.course_id) is None:
            return _("Enrol in the course to submit homework.")
        if any(s.status == "final" and s.passed for s in attempts):
            return _("This homework is graded and passed.")
        if len(attempts) >= assignment.max_attempts:
            return _("No attempts left.")
        if assignment.late_policy == "reject" and due is not None and now > due:
            return _("The deadline has passed and this homework does not accept late work.")
        return None

    async def open_graded_items(self, session: AsyncSession, user: User) -> list[OpenHomework]:
        """Written homework in the user's courses not passed yet, worded as the task the student sees."""
        rows = await HomeworkRepository(session).open_text_assignments(user.id)
        return [
            OpenHomework(
                prompt=f"{a.title}. {a.instructions}".strip(),
                assignment_id=a.id,
                lesson_id=lesson.id,
                lesson_title=lesson.title,
                course_id=a.course_id,
            )
            for a, lesson in rows
        ]

    # --- submitting ---

    async def submit(
        self,
        session: AsyncSession,
        user: User,
        assignment_id: int,
        *,
        text: str | None = None,
        upload: Upload | None = None,
        answers: dict[Any, Any] | None = None,
    ) -> SubmissionRead:
        assignment = await self._assignment(session, user, assignment_id)
        if not assignment.published:
            raise NotFound("Assignment not found")
        if await enrollment_service.find(session, user.id, assignment.course_id) is None:
            raise Forbidden("Enrol in the course to submit homework")
        self._check_payload(assignment, text, upload, answers)
        repo = HomeworkRepository(session)
        attempts = await repo.attempts(assignment.id, user.id)
        if any(s.status == "final" and s.passed for s in attempts):
            raise Conflict("This homework is already graded and passed; no new attempt is needed")
        if len(attempts) >= assignment.max_attempts:
            raise Conflict(f"No attempts left: all {assignment.max_attempts} have been used")
        now = clock.now()
        due = await self._due(session, assignment, user)
        days_late = g.late_days(due, now)
        if days_late and assignment.late_policy == "reject":
            raise Conflict(
                f"The deadline was {due:%Y-%m-%d %H:%M} UTC; this homework does not accept late work"
            )
        row = Submission(
            assignment_id=assignment.id,
            course_id=assignment.course_id,
            user_id=user.id,
            attempt=(attempts[-1].attempt + 1) if attempts else 1,
            submitted_at=now,
            due_at=due,
            late_days=days_late,
            penalty_pct=g.penalty_pct(assignment, days_late),
            max_points=g.max_points(assignment),
            status="submitted",
        )
        if assignment.kind == "quiz":
            return await self._submit_quiz(session, user, assignment, row, answers or {})
        if assignment.kind == "text":
            row.text = (text or "").strip()
        else:
            assert upload is not None
            await self._store(assignment, row, upload)
        try:
            await self._record_submission(session, user, assignment, row)
        except BaseException:
            # The row is not written, so the stored file would belong to nobody.
            if row.file_key is not None:
                await storage().delete(row.file_key)
            raise
        jobs.enqueue(session, PREGRADE_TASK, row.id)
        log.info(
            "homework.submitted", submission_id=row.id, assignment_id=assignment.id, user_id=user.id,
            attempt=row.attempt, late_days=days_late,
        )  # fmt: skip
        return _submission(row, for_staff=False)

    async def _record_submission(
        self, session: AsyncSession, user: User, assignment: Assignment, row: Submission
    ) -> None:
        await HomeworkRepository(session).add(row)
        await activity_service.record(
            session,
            user.id,
            ActivityKind.homework_submitted,
            course_id=assignment.course_id,
            lesson_id=assignment.lesson_id,
            at=row.submitted_at,
            assignment_id=assignment.id,
            submission_id=row.id,
            attempt=row.attempt,
            late_days=row.late_days,
        )
        await self._notify_curators(session, user, assignment, row)

    def _check_payload(
        self, assignment: Assignment, text: str | None, upload: Upload | None, answers: dict[Any, Any] | None
    ) -> None:
        if assignment.kind == "text":
            if upload is not None or answers is not None:
                raise Unprocessable("This homework takes a written answer (text)")
            if text is None or not text.strip():
                raise Unprocessable("Write your answer: it is empty")
            if len(text.strip()) > MAX_TEXT_CHARS:
                raise Unprocessable(
                    f"The answer is {len(text.strip()):,} characters long; the limit is {MAX_TEXT_CHARS:,}"
                )
        elif assignment.kind == "file":
            if upload is None:
                raise Unprocessable("This homework takes a file upload (multipart field 'file')")
            if text is not None or answers is not None:
                raise Unprocessable("This homework takes a file only")
        else:
            if answers is None or text is not None or upload is not None:
                raise Unprocessable("This homework is a quiz: send the quiz answers ('answers')")

    async def _store(self, assignment: Assignment, row: Submission, upload: Upload) -> None:
        limit = get_settings().homework_max_file_bytes
        if assignment.max_file_bytes is not None:
            limit = min(limit, assignment.max_file_bytes)
        size = len(upload.data)
        if size > limit:
            raise PayloadTooLarge(f"The file is larger than the limit of {_size(limit)}")
        if size == 0:
            raise Unprocessable("The file is empty")
        found = files.sniff(upload.data)
        if found.kind not in assignment.file_types:
            allowed = ", ".join(t.upper() for t in assignment.file_types)
            raise Unprocessable(f"The file is {found.label}; this homework accepts: {allowed}")
        assert found.kind is not None
        # A random key: names are the student's to choose and must not collide or be guessed.
        key = f"homework/{assignment.id}/{secrets.token_urlsafe(18)}.{found.kind}"
        await storage().put(key, upload.data, files.CONTENT_TYPES[found.kind])
        row.file_key = key
        row.file_name = files.safe_filename(upload.filename, found.kind)
        row.file_type = found.kind
        row.file_size = size

    async def _submit_quiz(
        self,
        session: AsyncSession,
        user: User,
        assignment: Assignment,
        row: Submission,
        answers: dict[Any, Any],
    ) -> SubmissionRead:
        assert assignment.quiz_id is not None
        try:
            parsed = {int(k): v for k, v in answers.items()}
        except (TypeError, ValueError):
            raise Unprocessable("Quiz answers are keyed by question id (a number)") from None
        attempt = await quiz_service.attempt(session, user, assignment.quiz_id, parsed)
        now = row.submitted_at
        row.quiz_attempt_id = attempt.id
        total = g.final_total(float(attempt.score), row.penalty_pct)
        with i18n.use_locale(user.locale):
            feedback = _("%(correct)s of %(total)s questions right.") % {
                "correct": attempt.correct,
                "total": attempt.total,
            }
            title = _("Quiz")
        row.final_scores = [
            CriterionScore(
                key="quiz", title=title, points=float(attempt.score), max=100.0, feedback=feedback
            ).model_dump()
        ]
        row.final_total = total
        row.final_feedback = feedback
        row.status = "final"
        row.review = "auto"
        row.reviewed_at = now
        row.passed = g.passed(total, row.max_points, assignment.pass_pct)
        await HomeworkRepository(session).add(row)
        for kind in (ActivityKind.homework_submitted, ActivityKind.homework_graded):
            await activity_service.record(
                session, user.id, kind, course_id=assignment.course_id, lesson_id=assignment.lesson_id,
                at=now, assignment_id=assignment.id, submission_id=row.id, score=total,
            )  # fmt: skip
        await self._notify_student(session, user, assignment, row)
        log.info("homework.quiz_scored", submission_id=row.id, score=total, passed=row.passed)
        return _submission(row, for_staff=False)

    async def _notify_curators(
        self, session: AsyncSession, student: User, assignment: Assignment, row: Submission
    ) -> None:
        recipients = await enrollment_service.curator_ids(session, assignment.course_id)
        if not recipients:
            admins = await user_service.search(session, PageParams(page=1, size=100), role=Role.admin)
            recipients = [a.id for a in admins.items]
        for curator_id in recipients:
            curator = await user_service.get(session, curator_id)
            with i18n.use_locale(curator.locale):
                title = _("%(student)s submitted “%(assignment)s”") % {
                    "student": student.display_name,
                    "assignment": assignment.title,
                }
                body = _("Attempt %(attempt)s; the AI pre-grade will be ready shortly.") % {
                    "attempt": row.attempt
                }
            await notification_service.notify(
                session,
                curator_id,
                NotificationPayload(
                    kind=SUBMITTED_KIND, title=title[:200], body=body, link=f"/curator/reviews/{row.id}"
                ),
            )

    async def _notify_student(
        self, session: AsyncSession, student: User, assignment: Assignment, row: Submission
    ) -> None:
        with i18n.use_locale(student.locale):
            title = _("“%(assignment)s” is graded: %(points)s of %(max)s") % {
                "assignment": assignment.title,
                "points": f"{row.final_total or 0:g}",
                "max": f"{row.max_points:g}",
            }
            body = _("Passed.") if row.passed else _("Not passed yet.")
            if row.final_feedback:
                body = f"{body} {row.final_feedback}"
        await notification_service.notify(
            session,
            student.id,
            NotificationPayload(
                kind=GRADED_KIND, title=title[:200], body=body[:5000], link=f"/homework/{assignment.id}"
            ),
        )

    # --- the AI pre-grade ---

    async def pregrade(self, session: AsyncSession, submission_id: int) -> None:
        repo = HomeworkRepository(session)
        row = await repo.submission(submission_id)
        # Redelivered or late jobs find the row already proposed or graded and leave it alone.
        if row is None or row.status != "submitted":
            return
        assignment = await repo.assignment(row.assignment_id)
        if assignment is None or assignment.kind == "quiz":
            return
        student = await user_service.get(session, row.user_id)
        answer = row.text
        if row.file_key is not None:
            try:
                data = await storage().get(row.file_key)
            except StoredFileMissing:
                data = b""
            answer = files.text_of(row.file_type, data)
        result = await g.propose(assignment, answer, row.file_type, student.locale)
        row.ai_scores = g.scores_from(assignment, result)
        row.ai_total = result.total
        row.ai_feedback = result.feedback
        row.ai_grader = result.grader[:80]
        row.ai_graded_at = clock.now()
        row.status = "proposed"
        await session.flush()
        log.info(
            "homework.pregraded", submission_id=row.id, grader=result.grader, total=result.total,
            fallback_reasons=result.notes,
        )  # fmt: skip

    # --- review ---

    async def _visible_submission(
        self, session: AsyncSession, viewer: User, submission_id: int
    ) -> Submission:
        row = await HomeworkRepository(session).submission(submission_id)
        if row is None:
            raise NotFound("Submission not found")
        if row.user_id == viewer.id:
            return row
        if _is_staff(viewer) and await self._manages(session, viewer, row.course_id):
            return row
        raise NotFound("Submission not found")

    async def submission(self, session: AsyncSession, viewer: User, submission_id: int) -> SubmissionRead:
        row = await self._visible_submission(session, viewer, submission_id)
        superseded = await HomeworkRepository(session).is_superseded(row)
        return _submission(row, for_staff=row.user_id != viewer.id, superseded=superseded)

    async def submissions(
        self, session: AsyncSession, viewer: User, assignment_id: int, params: PageParams
    ) -> Page[SubmissionRead]:
        """The viewer's own attempts, newest first; the course's curators and admins see everyone's."""
        assignment = await self._assignment(session, viewer, assignment_id)
        staff = _is_staff(viewer) and await self._manages(session, viewer, assignment.course_id)
        rows, total = await HomeworkRepository(session).submissions(
            assignment.id, user_id=None if staff else viewer.id, offset=params.offset, limit=params.size
        )
        return Page(
            items=[_submission(r, for_staff=staff) for r in rows],
            total=total,
            page=params.page,
            size=params.size,
        )

    async def file(self, session: AsyncSession, viewer: User, submission_id: int) -> StoredFile:
        row = await self._visible_submission(session, viewer, submission_id)
        if row.file_key is None or row.file_type is None:
            raise NotFound("This submission has no file")
        try:
            data = await storage().get(row.file_key)
        except StoredFileMissing:
            raise NotFound("The file is no longer stored") from None
        return StoredFile(
            data=data,
            content_type=files.CONTENT_TYPES[row.file_type],
            filename=row.file_name or f"submission-{row.id}.{row.file_type}",
        )

    async def review(
        self, session: AsyncSession, curator: User, submission_id: int, data: ReviewCreate
    ) -> SubmissionRead:
        row = await HomeworkRepository(session).submission(submission_id)
        if row is None or not _is_staff(curator) or not await self._manages(session, curator, row.course_id):
            raise NotFound("Submission not found")
        if row.status == "final":
            raise Conflict("This submission already has a final grade")
        assignment = await HomeworkRepository(session).assignment(row.assignment_id)
        assert assignment is not None
        if data.scores is None:
            if row.ai_scores is None:
                raise Unprocessable("There is no AI proposal to confirm yet: give the scores")
            final = [dict(s) for s in row.ai_scores]
        else:
            final = g.edited_scores(assignment, data.scores, row.ai_scores)
        comment = (data.feedback or "").strip()
        # Points or words that differ from the proposal make it an override; the same ones confirm it.
        edited = data.scores is not None and not g.same_scores(final, row.ai_scores)
        edited = edited or bool(comment and comment != (row.ai_feedback or ""))
        review = "overridden" if edited else "confirmed"
        feedback = comment or row.ai_feedback
        row.final_scores = final
        row.final_total = g.final_total(sum(float(s["points"]) for s in final), row.penalty_pct)
        row.final_feedback = feedback
        row.passed = g.passed(row.final_total, row.max_points, assignment.pass_pct)
        row.review = review
        row.reviewed_by_id = curator.id
        row.reviewed_at = clock.now()
        row.status = "final"
        await session.flush()
        student = await user_service.get(session, row.user_id)
        # The curator acted, not the student: the event carries no course, so it never counts as the
        # student's activity (a grade must not make a silent student look active or "returned").
        await activity_service.record(
            session, student.id, ActivityKind.homework_graded, course=row.course_id,
            lesson_id=assignment.lesson_id, at=row.reviewed_at, assignment_id=assignment.id,
            submission_id=row.id, score=row.final_total, passed=row.passed,
        )  # fmt: skip
        activity_service.request_rescore(session, student.id, row.course_id)
        await self._notify_student(session, student, assignment, row)
        log.info("homework.reviewed", submission_id=row.id, review=review, curator_id=curator.id)
        return _submission(row, for_staff=True)

    async def review_queue(
        self,
        session: AsyncSession,
        curator: User,
        params: PageParams,
        *,
        course_id: int | None = None,
        status: QueueStatus = "proposed",
    ) -> Page[ReviewItem]:
        await self._check_course_filter(session, curator, course_id)
        scope = await self._scope(session, curator)
        rows, total = await HomeworkRepository(session).queue(
            scope,
            course_id=course_id,
            statuses=_QUEUE_STATUSES[status],
            offset=params.offset,
            limit=params.size,
        )
        now = clock.now()
        items = [
            ReviewItem(
                submission=_submission(s, for_staff=True),
                assignment=_read(a, for_staff=True),
                student_id=u.id,
                student_name=u.display_name,
                course_title=title,
                waiting_hours=round(max(0.0, (now - s.submitted_at).total_seconds() / 3600), 1),
            )
            for s, a, u, title in rows
        ]
        return Page(items=items, total=total, page=params.page, size=params.size)

    async def pending_review_count(self, session: AsyncSession, viewer: User) -> int:
        if not _is_staff(viewer):
            return 0
        return await HomeworkRepository(session).pending_count(await self._scope(session, viewer))

    async def agreement(
        self,
        session: AsyncSession,
        viewer: User,
        *,
        course_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> AgreementRead:
        """How often the curators kept the AI's points, per criterion and pooled, over the reviewed
        submissions that had a proposal (reviewed in [start, end))."""
        await self._check_course_filter(session, viewer, course_id)
        # Zone-less bounds are read as UTC, like every stored moment.
        start = start.replace(tzinfo=UTC) if start is not None and start.tzinfo is None else start
        end = end.replace(tzinfo=UTC) if end is not None and end.tzinfo is None else end
        rows = await HomeworkRepository(session).reviewed_with_proposal(
            await self._scope(session, viewer), course_id=course_id, start=start, end=end
        )
        diffs: dict[str, list[float]] = defaultdict(list)
        titles: dict[str, str] = {}
        for row, _assignment in rows:
            ai = {str(s["key"]): s for s in row.ai_scores or []}
            for score in row.final_scores or []:
                key = str(score["key"])
                if key in ai:
                    titles.setdefault(key, str(score.get("title", key)))
                    diffs[key].append(abs(float(score["points"]) - float(ai[key]["points"])))
        pooled = [d for values in diffs.values() for d in values]
        return AgreementRead(
            reviewed=len(rows),
            exact_rate=_exact_rate(pooled),
            mean_abs_diff=_mean(pooled),
            criteria=[
                CriterionAgreement(
                    key=key,
                    title=titles[key],
                    n=len(values),
                    exact_rate=_exact_rate(values),
                    mean_abs_diff=_mean(values),
                )
                for key, values in sorted(diffs.items())
            ],
        )


def _exact_rate(diffs: list[float]) -> float | None:
    return round(sum(1 for d in diffs if d < 1e-9) / len(diffs), 4) if diffs else None


def _mean(diffs: list[float]) -> float | None:
    return round(sum(diffs) / len(diffs), 4) if diffs else None


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


homework_service = HomeworkService()
