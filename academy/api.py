from fastapi import APIRouter

from academy.auth.api import router as auth_router
from academy.kit.schemas import ERROR_RESPONSES
from academy.notification.api import router as notification_router
from academy.user.api import router as user_router

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
router.include_router(auth_router)
router.include_router(user_router)
router.include_router(notification_router)
