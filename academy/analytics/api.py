from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from academy.analytics.schemas import (
    ComparisonRead,
    MetricsQuery,
    RetentionRead,
    SnapshotRead,
    SummaryRead,
)
from academy.analytics.service import DEFAULT_WEEKS, MAX_WEEKS, metrics_service
from academy.auth.access import require
from academy.kit.deps import UoW
from academy.models import Role, User

router = APIRouter(prefix="/metrics", tags=["metrics"])
# Students get 403 on every metrics route; curators see their courses only (the service decides).
Staff = Annotated[User, Depends(require(Role.curator, Role.admin))]


def metrics_query(
    start: Annotated[date | None, Query(description="first day (UTC), inclusive")] = None,
    end: Annotated[date | None, Query(description="last day (UTC), inclusive; today by default")] = None,
    course_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> MetricsQuery:
    return MetricsQuery.build(start, end, course_id)


Range = Annotated[MetricsQuery, Depends(metrics_query)]


@router.get("/summary")
async def summary(uow: UoW, viewer: Staff, query: Range) -> SummaryRead:
    """The school's figures for [start, end] (the last 30 days by default)."""
    return await metrics_service.summary(uow.session, viewer, query)


@router.get("/retention")
async def retention(
    uow: UoW,
    viewer: Staff,
    query: Range,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS)] = DEFAULT_WEEKS,
) -> RetentionRead:
    """Weekly retention of the cohorts that enrolled in [start, end]."""
    return await metrics_service.retention(uow.session, viewer, query, weeks=weeks)


@router.get("/comparison")
async def comparison(uow: UoW, viewer: Staff, query: Range) -> ComparisonRead:
    """The range against the equally long period right before it."""
    return await metrics_service.comparison(uow.session, viewer, query)


@router.get("/snapshots")
async def snapshots(uow: UoW, viewer: Staff, query: Range) -> list[SnapshotRead]:
    """The nightly snapshots stored for days in [start, end]."""
    return await metrics_service.snapshots(uow.session, viewer, query)
