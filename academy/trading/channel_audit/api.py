from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile

from academy.auth.access import signed_in
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams, page_params
from academy.models import User
from academy.trading.channel_audit.schemas import (
    BarsImportResult,
    ChannelAuditExportCreate,
    ChannelAuditPaste,
    ChannelAuditRead,
    ChannelAuditSummary,
)
from academy.trading.channel_audit.service import MAX_CSV_BYTES, MAX_EXPORT_BYTES, channel_audit_service

router = APIRouter(prefix="/channel-audits", tags=["channel audits"])
SignedIn = Annotated[User, Depends(signed_in)]
AuditId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("")
async def list_audits(
    uow: UoW,
    user: SignedIn,
    params: Annotated[PageParams, Depends(page_params)],
    everyone: Annotated[bool, Query(description="all users' audits (admins only)")] = False,
) -> Page[ChannelAuditSummary]:
    return await channel_audit_service.page(uow.session, user, params, everyone=everyone)


@router.post("/export", status_code=201)
async def create_from_export(
    uow: UoW,
    user: SignedIn,
    file: Annotated[UploadFile, File(description="Telegram Desktop result.json (JSON format)")],
    title: Annotated[str, Form(max_length=200)] = "",
    risk_pct: Annotated[float, Form(gt=0, le=100)] = 1.0,
    expiry_days: Annotated[float, Form(gt=0, le=365)] = 7.0,
) -> ChannelAuditRead:
    data = await file.read(MAX_EXPORT_BYTES + 1)
    options = ChannelAuditExportCreate(title=title, risk_pct=risk_pct, expiry_days=expiry_days)
    item = await channel_audit_service.create_from_export(uow.session, user, data, options, file.filename)
    return channel_audit_service.read(item)


@router.post("/paste", status_code=201)
async def create_from_paste(uow: UoW, user: SignedIn, data: ChannelAuditPaste) -> ChannelAuditRead:
    return channel_audit_service.read(await channel_audit_service.create_from_paste(uow.session, user, data))


@router.get("/{audit_id}")
async def get_audit(audit_id: AuditId, uow: UoW, user: SignedIn) -> ChannelAuditRead:
    return channel_audit_service.read(await channel_audit_service.get(uow.session, user, audit_id))


@router.delete("/{audit_id}", status_code=204)
async def delete_audit(audit_id: AuditId, uow: UoW, user: SignedIn) -> Response:
    await channel_audit_service.delete(uow.session, user, audit_id)
    return Response(status_code=204)


@router.post("/{audit_id}/rerun")
async def rerun_audit(audit_id: AuditId, uow: UoW, user: SignedIn) -> ChannelAuditRead:
    return channel_audit_service.read(await channel_audit_service.rerun(uow.session, user, audit_id))


@router.post("/{audit_id}/bars")
async def import_bars(
    audit_id: AuditId,
    uow: UoW,
    user: SignedIn,
    symbol: Annotated[str, Form(min_length=1, max_length=40)],
    file: Annotated[UploadFile, File(description="OHLCV bars as CSV")],
    timeframe: Annotated[str, Form(max_length=8)] = "",
    tz: Annotated[str, Form(max_length=64, description="time zone of times without an offset")] = "UTC",
) -> BarsImportResult:
    """Import bars for a symbol the audit trades (kept for the audit's owner only) and recompute."""
    data = await file.read(MAX_CSV_BYTES + 1)
    item, instrument, counts, report = await channel_audit_service.import_bars(
        uow.session, user, audit_id, symbol, data, timeframe=timeframe or None, tz=tz
    )
    return BarsImportResult(
        symbol=instrument.symbol,
        venue=instrument.venue,
        timeframe=report.timeframe or "",
        inserted=counts.inserted,
        updated=counts.updated,
        report=report.summary(),
        audit=channel_audit_service.read(item),
    )
