from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from academy.auth.access import signed_in
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import User
from academy.trading.backtest.schemas import BacktestCreate, BacktestRead, BacktestSummary
from academy.trading.backtest.service import backtest_service

router = APIRouter(prefix="/backtests", tags=["backtests"])
SignedIn = Annotated[User, Depends(signed_in)]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("", status_code=201)
async def create_backtest(data: BacktestCreate, uow: UoW, user: SignedIn) -> BacktestRead:
    """Queue a backtest (or a walk-forward grid search); poll the run until it is done or failed."""
    return await backtest_service.create(uow.session, user, data)


@router.get("")
async def list_backtests(
    uow: UoW, user: SignedIn, params: Annotated[PageParams, Depends(page_params)]
) -> Page[BacktestSummary]:
    return await backtest_service.page(uow.session, user, params)


@router.get("/{run_id}")
async def get_backtest(run_id: RunId, uow: UoW, user: SignedIn) -> BacktestRead:
    return await backtest_service.get(uow.session, user, run_id)


@router.delete("/{run_id}", status_code=204)
async def delete_backtest(run_id: RunId, uow: UoW, user: SignedIn) -> Response:
    await backtest_service.delete(uow.session, user, run_id)
    return Response(status_code=204)
