"""Quizzes: what a student sees, grading an attempt with instant feedback, and attempt history."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.activity.service import ActivityKind, activity_service
from academy.course.service import course_service, is_staff
from academy.enrollment.service import enrollment_service
from academy.gamification.service import gamification_service
from academy.kit import clock
from academy.kit.errors import NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.models import Question, Quiz, QuizAttempt, Role, User
from academy.quiz import grading
from academy.quiz.repository import QuizRepository
from academy.quiz.schemas import (
    AttemptRead,
    GradedItem,
    QuestionFeedback,
    QuestionRead,
    QuizRead,
    RecentResult,
)

log = structlog.get_logger()


def _correct_answer(question: Question) -> Any:
    if question.kind == "text":
        return question.answer[0] if question.answer else ""
    return question.answer


class QuizService:
    async def get(self, session: AsyncSession, quiz_id: int, user: User) -> Quiz:
        quiz = await course_service.quiz(session, quiz_id)
        if quiz is None:
            raise NotFound("Quiz not found")
        # Reading the quiz follows the lesson's rules: published, enrolled, prerequisites done.
        lesson = await course_service.lesson(session, quiz.lesson_id, user)
        await enrollment_service.check_access(session, user, lesson)
        return quiz

    async def read(self, session: AsyncSession, quiz: Quiz, user: User) -> QuizRead:
        best = await QuizRepository(session).best(quiz.id, user.id)
        return QuizRead(
            id=quiz.id,
            lesson_id=quiz.lesson_id,
            title=quiz.title,
            pass_mark=quiz.pass_mark,
            questions=[
                QuestionRead(
                    id=q.id, position=q.position, kind=q.kind, prompt=q.prompt, options=q.options, unit=q.unit
                )
                for q in quiz.questions
            ],
            best_score=best.score if best else None,
            passed=bool(best and best.passed),
        )

    async def attempt(
        self, session: AsyncSession, user: User, quiz_id: int, answers: dict[int, Any]
    ) -> AttemptRead:
        quiz = await self.get(session, quiz_id, user)
        known = {q.id for q in quiz.questions}
        unknown = sorted(set(answers) - known)
        if unknown:
            raise Unprocessable(f"These questions are not in this quiz: {', '.join(map(str, unknown))}")
        problems: dict[str, str] = {}
        feedback = []
        recorded = []
        for question in quiz.questions:
            try:
                correct, given = grading.check(
                    question.kind,
                    question.answer,
                    question.tolerance,
                    len(question.options),
                    answers.get(question.id),
                )
            except grading.InvalidAnswer as exc:
                problems[str(question.id)] = str(exc)
                continue
            recorded.append({"question_id": question.id, "given": given, "correct": correct})
            feedback.append(
                QuestionFeedback(
                    question_id=question.id,
                    correct=correct,
                    given=given,
                    explanation=question.explanation,
                    correct_answer=_correct_answer(question),
                )
            )
        if problems:
            # Nothing is recorded for a malformed submission: the student fixes it and resubmits.
            raise Unprocessable({"message": "Some answers need fixing", "questions": problems})
        correct_count = sum(1 for f in feedback if f.correct)
        total = len(quiz.questions)
        score = round(100 * correct_count / total) if total else 0
        passed = score >= quiz.pass_mark
        repo = QuizRepository(session)
        failed_before = await repo.has_failed(quiz.id, user.id)
        now = clock.now()
        attempt = await repo.add(
            QuizAttempt(
                quiz_id=quiz.id,
                user_id=user.id,
                score=score,
                correct=correct_count,
                total=total,
                passed=passed,
                answers=recorded,
                created_at=now,
            )
        )
        lesson = await course_service.lesson(session, quiz.lesson_id, user)
        for kind in (
            ActivityKind.quiz_attempted,
            ActivityKind.quiz_passed if passed else ActivityKind.quiz_failed,
        ):
            await activity_service.record(
                session,
                user.id,
                kind,
                course_id=lesson.course_id,
                lesson_id=lesson.id,
                quiz_id=quiz.id,
                at=now,
                score=score,
            )
        award = await gamification_service.quiz_attempted(
            session, user, quiz.id, score=score, passed=passed, failed_before=failed_before, at=now
        )
        completion = (
            await enrollment_service.check_completion(session, user, lesson.course_id) if passed else None
        )
        log.info("quiz.attempted", user_id=user.id, quiz_id=quiz.id, score=score, passed=passed)
        return self._attempt(attempt).model_copy(
            update={
                "feedback": feedback,
                "xp_gained": award.xp + (completion[1] if completion else 0),
                "achievements": [a.title for a in award.achievements] + (completion[2] if completion else []),
                "course_completed": completion is not None,
                "certificate_code": completion[0] if completion else None,
            }
        )

    def _attempt(self, attempt: QuizAttempt) -> AttemptRead:
        return AttemptRead(
            id=attempt.id,
            quiz_id=attempt.quiz_id,
            user_id=attempt.user_id,
            score=attempt.score,
            correct=attempt.correct,
            total=attempt.total,
            passed=attempt.passed,
            created_at=attempt.created_at,
        )

    async def attempts(
        self,
        session: AsyncSession,
        viewer: User,
        quiz_id: int,
        params: PageParams,
        *,
        user_id: int | None = None,
    ) -> Page[AttemptRead]:
        """A student sees only their own attempts; curators of the course and admins see any."""
        quiz = await course_service.quiz(session, quiz_id)
        if quiz is None:
            raise NotFound("Quiz not found")
        lesson = await course_service.lesson(session, quiz.lesson_id, viewer)
        target = user_id if user_id is not None else (None if is_staff(viewer) else viewer.id)
        if target != viewer.id:
            allowed = viewer.role == Role.admin or (
                viewer.role == Role.curator
                and await enrollment_service.is_curator(session, viewer, lesson.course_id)
            )
            if not allowed:
                raise NotFound("No attempts found")
        rows, total = await QuizRepository(session).attempts(
            quiz.id, target, offset=params.offset, limit=params.size
        )
        return Page(items=[self._attempt(a) for a in rows], total=total, page=params.page, size=params.size)

    async def open_graded_items(self, session: AsyncSession, user: User) -> list[GradedItem]:
        """Quiz questions in the user's courses whose quiz they have not passed yet."""
        rows = await QuizRepository(session).unpassed_questions(user.id)
        return [
            GradedItem(
                prompt=q.prompt,
                quiz_id=q.quiz_id,
                lesson_id=lesson.id,
                lesson_title=lesson.title,
                course_id=lesson.course_id,
            )
            for q, lesson in rows
        ]

    async def recent_results(self, session: AsyncSession, user: User, limit: int = 3) -> list[RecentResult]:
        rows = await QuizRepository(session).recent(user.id, limit)
        return [
            RecentResult(lesson_title=lesson.title, score=a.score, passed=a.passed, at=a.created_at)
            for a, lesson in rows
        ]


quiz_service = QuizService()
