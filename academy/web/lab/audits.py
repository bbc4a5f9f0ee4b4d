"""Channel audit pages: start an audit from an export or pasted messages, read its scorecard, add bars."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

# Request.form() yields Starlette's UploadFile; FastAPI's is only a subclass of it.
from starlette.datastructures import UploadFile

from academy.auth.access import signed_in
from academy.kit import i18n
from academy.kit.clock import SORTED_TIMEZONES
from academy.kit.deps import UoW
from academy.kit.errors import AppError
from academy.kit.pagination import PageParams
from academy.models import ChannelAudit, User
from academy.trading.channel_audit.schemas import ChannelAuditExportCreate, ChannelAuditPaste
from academy.trading.channel_audit.service import MAX_CSV_BYTES, MAX_EXPORT_BYTES, channel_audit_service
from academy.trading.market_data.timeframes import TIMEFRAMES
from academy.web.forms import form_data, parse
from academy.web.templating import render

router = APIRouter(prefix="/audits")
SignedIn = Annotated[User, Depends(signed_in)]
AuditId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_ = i18n.gettext

PAGE_SIZE = 20


async def _index(
    request: Request,
    uow: UoW,
    user: User,
    page: int,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    tab: str,
) -> Response:
    items = await channel_audit_service.page(uow.session, user, PageParams(page=page, size=PAGE_SIZE))
    ctx = {
        "page": items,
        "form": form,
        "errors": errors,
        "tab": tab,
        "timezones": SORTED_TIMEZONES,
        "max_mb": MAX_EXPORT_BYTES // 2**20,
    }
    return render(request, "lab/audits/index.html", ctx, status_code=422 if errors else 200)


@router.get("", name="lab:audits")
async def audits(
    request: Request, uow: UoW, user: SignedIn, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    form = {"timezone": user.timezone or "UTC", "risk_pct": "1", "expiry_days": "7"}
    return await _index(request, uow, user, page, form=form, errors={}, tab="export")


@router.post("/export")
async def create_from_export(request: Request, uow: UoW, user: SignedIn) -> Response:
    form = await request.form()
    data = {k: v for k, v in (await form_data(request)).items() if k in ("title", "risk_pct", "expiry_days")}
    options, errors = parse(ChannelAuditExportCreate, data)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = _("Choose the result.json file of your export")
    if options is not None and not errors:
        assert isinstance(upload, UploadFile)
        content = await upload.read(MAX_EXPORT_BYTES + 1)
        try:
            item = await channel_audit_service.create_from_export(
                uow.session, user, content, options, upload.filename
            )
        except AppError as exc:
            errors["file"] = str(exc.detail)
        else:
            return RedirectResponse(f"/lab/audits/{item.id}", status_code=303)
    return await _index(request, uow, user, 1, form=data, errors=errors, tab="export")


@router.post("/paste")
async def create_from_paste(request: Request, uow: UoW, user: SignedIn) -> Response:
    data = await form_data(request)
    parsed, errors = parse(ChannelAuditPaste, data)
    if parsed is not None:
        try:
            item = await channel_audit_service.create_from_paste(uow.session, user, parsed)
        except AppError as exc:
            errors["text"] = str(exc.detail)
        else:
            return RedirectResponse(f"/lab/audits/{item.id}", status_code=303)
    return await _index(request, uow, user, 1, form=data, errors=errors, tab="paste")


def _audit_page(
    request: Request, item: ChannelAudit, *, errors: dict[str, str] | None = None, notice: str | None = None
) -> Response:
    view = channel_audit_service.read(item)
    card = view.scorecard
    by_id = {row["message_id"]: row for row in card.get("outcomes", [])}
    by_id.update({row["message_id"]: row for row in card.get("no_market_data", [])})
    ctx = {
        "audit": view,
        "card": card,
        "record": card.get("track_record", {}),
        "follower": card.get("follower", {}),
        "rows_by_id": by_id,
        "errors": errors or {},
        "notice": notice,
        "timeframes": list(TIMEFRAMES),
        "max_csv_mb": MAX_CSV_BYTES // 2**20,
        "timezones": SORTED_TIMEZONES,
    }
    return render(request, "lab/audits/audit.html", ctx, status_code=422 if errors else 200)


@router.get("/{audit_id}", name="lab:audit")
async def audit_page(request: Request, audit_id: AuditId, uow: UoW, user: SignedIn) -> Response:
    item = await channel_audit_service.get(uow.session, user, audit_id)
    notice = None
    if request.query_params.get("imported"):
        notice = _("Bars imported and the audit recomputed.")
    elif request.query_params.get("rerun"):
        notice = _("The audit was recomputed on the market data held now.")
    return _audit_page(request, item, notice=notice)


@router.post("/{audit_id}/bars")
async def import_bars(request: Request, audit_id: AuditId, uow: UoW, user: SignedIn) -> Response:
    item = await channel_audit_service.get(uow.session, user, audit_id)
    form = await request.form()
    fields = await form_data(request)
    symbol = fields.get("symbol", "").strip().upper()
    upload = form.get("file")
    key = f"bars-{symbol}"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _audit_page(request, item, errors={key: _("Choose a CSV file with the bars")})
    timeframe = fields.get("timeframe", "")
    if timeframe and timeframe not in TIMEFRAMES:
        return _audit_page(request, item, errors={key: _("Unknown timeframe")})
    content = await upload.read(MAX_CSV_BYTES + 1)
    try:
        await channel_audit_service.import_bars(
            uow.session,
            user,
            audit_id,
            symbol,
            content,
            timeframe=timeframe or None,
            tz=fields.get("tz") or "UTC",
        )
    except AppError as exc:
        return _audit_page(request, item, errors={key: str(exc.detail)})
    return RedirectResponse(f"/lab/audits/{audit_id}?imported={symbol}", status_code=303)


@router.post("/{audit_id}/rerun")
async def rerun(request: Request, audit_id: AuditId, uow: UoW, user: SignedIn) -> Response:
    await channel_audit_service.rerun(uow.session, user, audit_id)
    return RedirectResponse(f"/lab/audits/{audit_id}?rerun=1", status_code=303)


@router.post("/{audit_id}/delete")
async def delete(request: Request, audit_id: AuditId, uow: UoW, user: SignedIn) -> Response:
    await channel_audit_service.delete(uow.session, user, audit_id)
    return RedirectResponse("/lab/audits", status_code=303)
