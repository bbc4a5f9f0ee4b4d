"""The admin area (sqladmin) at /admin, for admins only, behind the same cookie session as the pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from academy.auth.access import SESSION_COOKIE, user_from_cookie
from academy.config import get_settings
from academy.kit.security import same_origin
from academy.kit.uow import UnitOfWork
from academy.models import (
    AccessGrant,
    Assignment,
    Certificate,
    Course,
    CourseCurator,
    Email,
    Enrollment,
    Notification,
    Nudge,
    QuizAttempt,
    RiskModel,
    Role,
    Signal,
    SignalChannel,
    Submission,
    User,
)


class AdminAuth(AuthenticationBackend):
    async def login(self, request: Request) -> bool:
        return False

    async def logout(self, request: Request) -> Response:
        return RedirectResponse("/", status_code=303)

    async def authenticate(self, request: Request) -> Response | bool:
        async with UnitOfWork() as uow:
            user = await user_from_cookie(uow.session, request.cookies.get(SESSION_COOKIE))
        if user is None:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if user.role != Role.admin.value:
            return Response("Admins only", status_code=403)
        # sqladmin's forms carry no CSRF token; SameSite=Lax cookies plus a same-origin check cover them.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("origin") or request.headers.get("referer")
            if not same_origin(origin, request.url.netloc):
                return Response("Cross-site request refused", status_code=403)
        return True


class UserAdmin(ModelView, model=User):
    column_list = [User.id, User.email, User.name, User.role, User.is_active, User.created_at]
    column_searchable_list = [User.email, User.name]
    column_sortable_list = [User.id, User.email, User.created_at]
    form_excluded_columns = [User.password_hash, User.totp_secret]
    column_details_exclude_list = [User.password_hash, User.totp_secret]
    icon = "fa-solid fa-user"


class NotificationAdmin(ModelView, model=Notification):
    column_list = [
        Notification.id,
        Notification.user_id,
        Notification.kind,
        Notification.title,
        Notification.created_at,
    ]
    can_edit = False


class EmailAdmin(ModelView, model=Email):
    column_list = [Email.id, Email.to_address, Email.subject, Email.status, Email.created_at]
    can_edit = False
    can_create = False


class CourseAdmin(ModelView, model=Course):
    # Lesson text is edited in the studio (/studio) with a preview and re-indexing for search;
    # structure comes from course folders (`academy content import`).
    column_list = [Course.id, Course.slug, Course.title, Course.level, Course.published, Course.certificate]
    form_columns = [Course.title, Course.summary, Course.level, Course.published, Course.certificate]
    can_create = False


class CourseCuratorAdmin(ModelView, model=CourseCurator):
    name_plural = "Course curators"
    column_list = [CourseCurator.course_id, CourseCurator.user_id]


class EnrollmentAdmin(ModelView, model=Enrollment):
    column_list = [
        Enrollment.id,
        Enrollment.user_id,
        Enrollment.course_id,
        Enrollment.created_at,
        Enrollment.completed_at,
    ]
    can_create = False
    can_edit = False


class QuizAttemptAdmin(ModelView, model=QuizAttempt):
    column_list = [
        QuizAttempt.id,
        QuizAttempt.user_id,
        QuizAttempt.quiz_id,
        QuizAttempt.score,
        QuizAttempt.passed,
    ]
    can_create = False
    can_edit = False


class CertificateAdmin(ModelView, model=Certificate):
    # Revoking goes through the certificate page so the reason and time are recorded.
    column_list = [
        Certificate.code,
        Certificate.student_name,
        Certificate.course_title,
        Certificate.revoked_at,
    ]
    can_create = False
    can_edit = False
    can_delete = False


class AccessGrantAdmin(ModelView, model=AccessGrant):
    """Comped plans: a grant gives a user a tier (free, pro, premium) until it expires."""

    name_plural = "Access grants"
    column_list = [
        AccessGrant.id,
        AccessGrant.user_id,
        AccessGrant.tier,
        AccessGrant.source,
        AccessGrant.expires_at,
        AccessGrant.created_at,
    ]
    form_columns = [AccessGrant.user, AccessGrant.tier, AccessGrant.expires_at]


class SignalChannelAdmin(ModelView, model=SignalChannel):
    name_plural = "Signal channels"
    column_list = [
        SignalChannel.id,
        SignalChannel.slug,
        SignalChannel.name,
        SignalChannel.timeframe,
        SignalChannel.strategy,
        SignalChannel.access_tier,
        SignalChannel.active,
    ]
    # Strategy and instruments are set when the channel opens (/lab/channels/new), so its record
    # always belongs to one strategy.
    form_columns = [
        SignalChannel.name,
        SignalChannel.description,
        SignalChannel.access_tier,
        SignalChannel.active,
    ]
    can_create = False
    can_delete = False


class SignalAdmin(ModelView, model=Signal):
    # Published signals are append-only: corrections are new versions, made on the signal's page.
    column_list = [
        Signal.id,
        Signal.channel_id,
        Signal.instrument_id,
        Signal.bar_time,
        Signal.version,
        Signal.side,
        Signal.stop,
        Signal.created_at,
    ]
    can_create = False
    can_edit = False
    can_delete = False


class AssignmentAdmin(ModelView, model=Assignment):
    # Assignments are edited in /curator/assignments, where the rubric is validated.
    column_list = [
        Assignment.id,
        Assignment.course_id,
        Assignment.lesson_id,
        Assignment.title,
        Assignment.kind,
        Assignment.published,
    ]
    can_create = False
    can_edit = False


class SubmissionAdmin(ModelView, model=Submission):
    # Grades change only through the review queue, so the AI/curator agreement stays truthful.
    column_list = [
        Submission.id,
        Submission.assignment_id,
        Submission.user_id,
        Submission.attempt,
        Submission.status,
        Submission.ai_total,
        Submission.final_total,
        Submission.submitted_at,
    ]
    can_create = False
    can_edit = False


class RiskModelAdmin(ModelView, model=RiskModel):
    name_plural = "Risk models"
    column_list = [
        RiskModel.id,
        RiskModel.kind,
        RiskModel.n_train,
        RiskModel.n_test,
        RiskModel.auc,
        RiskModel.rule_auc,
        RiskModel.active,
        RiskModel.created_at,
    ]
    column_details_exclude_list = [RiskModel.blob]
    can_create = False
    can_edit = False


class NudgeAdmin(ModelView, model=Nudge):
    column_list = [
        Nudge.id,
        Nudge.user_id,
        Nudge.course_id,
        Nudge.mode,
        Nudge.channel,
        Nudge.sent_at,
        Nudge.returned_at,
    ]
    can_create = False
    can_edit = False
    can_delete = False


def mount_admin(app: FastAPI, session_maker: async_sessionmaker[AsyncSession]) -> Any:
    admin = Admin(
        app,
        session_maker=session_maker,
        authentication_backend=AdminAuth(secret_key=get_settings().secret_key),
        title="Academy admin",
        base_url="/admin",
    )
    for view in (
        UserAdmin,
        CourseAdmin,
        CourseCuratorAdmin,
        EnrollmentAdmin,
        QuizAttemptAdmin,
        CertificateAdmin,
        NotificationAdmin,
        EmailAdmin,
        AccessGrantAdmin,
        SignalChannelAdmin,
        SignalAdmin,
        AssignmentAdmin,
        SubmissionAdmin,
        RiskModelAdmin,
        NudgeAdmin,
    ):
        admin.add_view(view)
    return admin
