"""Trading lab pages: signal channels, charts, backtests and channel audits."""

from fastapi import APIRouter

from academy.web.lab import audits, backtests, channels, charts

router = APIRouter(prefix="/lab")
router.include_router(channels.router)
router.include_router(charts.router)
router.include_router(backtests.router)
router.include_router(audits.router)
