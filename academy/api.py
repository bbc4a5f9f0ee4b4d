from fastapi import APIRouter

from academy.activity.api import router as activity_router
from academy.analytics.api import router as analytics_router
from academy.auth.api import router as auth_router
from academy.billing.api import router as billing_router
from academy.certificate.api import router as certificate_router
from academy.coach.api import router as coach_router
from academy.course.api import router as course_router
from academy.enrollment.api import router as enrollment_router
from academy.gamification.api import router as gamification_router
from academy.homework.api import router as homework_router
from academy.kit.schemas import ERROR_RESPONSES
from academy.notification.api import router as notification_router
from academy.quiz.api import router as quiz_router
from academy.retention.api import router as retention_router
from academy.trading.backtest.api import router as backtest_router
from academy.trading.channel_audit.api import router as channel_audit_router
from academy.trading.market_data.api import router as market_data_router
from academy.trading.signal.api import router as signal_router
from academy.user.api import router as user_router

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
router.include_router(auth_router)
router.include_router(user_router)
router.include_router(notification_router)
router.include_router(course_router)
router.include_router(enrollment_router)
router.include_router(quiz_router)
router.include_router(activity_router)
router.include_router(gamification_router)
router.include_router(certificate_router)
router.include_router(market_data_router)
router.include_router(signal_router)
router.include_router(billing_router)
router.include_router(backtest_router)
router.include_router(channel_audit_router)
router.include_router(coach_router)
router.include_router(homework_router)
router.include_router(analytics_router)
router.include_router(retention_router)
