"""Trading lab pages: signal channels, charts, backtests and channel audits."""

from fastapi import APIRouter

router = APIRouter(prefix="/lab")
