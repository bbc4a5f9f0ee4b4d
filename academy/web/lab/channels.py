"""Signal channel pages: the list, a channel with its live feed and track record, a signal with its
versions, and the forms curators use to open channels and correct signals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from academy.auth.access import public, require, signed_in
from academy.kit import i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError, Unprocessable
from academy.kit.pagination import PageParams
from academy.models import Role, User
from academy.trading.market_data.service import market_data_service
from academy.trading.market_data.timeframes import TIMEFRAMES
from academy.trading.signal.schemas import ChannelCreate, ChannelUpdate, SignalCorrection
from academy.trading.signal.service import live_channel, signal_service
from academy.trading.strategy.build import STRATEGIES
from academy.web.forms import form_data, parse
from academy.web.lab.live import Message, TopicKind, register
from academy.web.templating import render

router = APIRouter()
Viewer = Annotated[User | None, Depends(public)]
SignedIn = Annotated[User, Depends(signed_in)]
Author = Annotated[User, Depends(require(Role.curator, Role.admin))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Slug = Annotated[str, Path(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")]
_ = i18n.gettext

FEED_SIZE = 20


@router.get("/channels", name="lab:channels")
async def channels(request: Request, uow: UoW, viewer: Viewer) -> Response:
    items = await signal_service.channels(uow.session, viewer)
    records = {c.id: await signal_service.track_record(uow.session, viewer, c.id) for c in items}
    return render(request, "lab/channels/list.html", {"channels": items, "records": records})


async def _form_context(request: Request, uow: UoW, **extra: Any) -> dict[str, Any]:
    instruments = await market_data_service.instruments(uow.session)
    return {
        "instruments": instruments,
        "timeframes": list(TIMEFRAMES),
        "strategies": STRATEGIES,
        "errors": {},
        "values": {},
        **extra,
    }


@router.get("/channels/new", name="lab:channel_new")
async def new_channel(request: Request, uow: UoW, author: Author) -> Response:
    return render(request, "lab/channels/new.html", await _form_context(request, uow))


@router.post("/channels/new")
async def create_channel(request: Request, uow: UoW, author: Author) -> Response:
    form = await request.form()
    data = await form_data(request)
    params: dict[str, str] = {}
    for line in data.get("params", "").replace(",", "\n").splitlines():
        key, sep, value = line.partition("=")
        if key.strip():
            params[key.strip()] = value.strip() if sep else ""
    values: dict[str, Any] = {
        "slug": data.get("slug", "").strip().lower(),
        "name": data.get("name", ""),
        "description": data.get("description", ""),
        "instrument_ids": [v for v in form.getlist("instrument_ids") if isinstance(v, str)],
        "timeframe": data.get("timeframe", ""),
        "strategy": data.get("strategy", ""),
        "params": params,
        "rule": data.get("rule") or None,
        "access_tier": data.get("access_tier", "free"),
        "expiry_bars": data.get("expiry_bars") or 20,
        "telegram_chat": data.get("telegram_chat", "").strip() or None,
    }
    parsed, errors = parse(ChannelCreate, values)
    if parsed is not None:
        try:
            channel = await signal_service.create_channel(uow.session, author, parsed)
        except AppError as exc:
            errors = {"__all__": str(exc.detail)}
        else:
            return RedirectResponse(f"/lab/channels/{channel.slug}", status_code=303)
    values["params_text"] = data.get("params", "")
    context = await _form_context(request, uow, errors=errors, values=values)
    return render(request, "lab/channels/new.html", context, status_code=422)


@router.get("/channels/{slug}", name="lab:channel")
async def channel(
    request: Request, slug: Slug, uow: UoW, viewer: Viewer, page: int = Query(1, ge=1, le=10_000)
) -> Response:
    item = await signal_service.channel(uow.session, viewer, slug)
    record = await signal_service.track_record(uow.session, viewer, item.id)
    feed = None
    if viewer is not None and not item.locked:
        feed = await signal_service.signals(
            uow.session, viewer, PageParams(page=page, size=FEED_SIZE), channel_id=item.id
        )
    context = {
        "channel": item,
        "record": record,
        "equity": [[p.time.isoformat(), round(p.r, 4)] for p in record.equity_r],
        "feed": feed,
        "tiers": ("free", "pro", "premium"),
    }
    if request.headers.get("hx-target") == "feed":
        return render(request, "lab/channels/channel.html", context, block="feed")
    return render(request, "lab/channels/channel.html", context)


@router.post("/channels/{slug}/subscription", name="lab:channel_subscription")
async def toggle_subscription(request: Request, slug: Slug, uow: UoW, user: SignedIn) -> Response:
    item = await signal_service.channel(uow.session, user, slug)
    if (await form_data(request)).get("action") == "unsubscribe":
        await signal_service.unsubscribe(uow.session, user, item.id)
    else:
        await signal_service.subscribe(uow.session, user, item.id)
    return RedirectResponse(f"/lab/channels/{slug}", status_code=303)


@router.post("/channels/{slug}/settings", name="lab:channel_settings")
async def channel_settings(request: Request, slug: Slug, uow: UoW, author: Author) -> Response:
    item = await signal_service.channel(uow.session, author, slug)
    data = await form_data(request)
    parsed, errors = parse(
        ChannelUpdate,
        {
            "access_tier": data.get("access_tier") or None,
            "active": data.get("active") == "on",
            "telegram_chat": data.get("telegram_chat", "").strip(),
        },
    )
    if parsed is None:
        raise Unprocessable("; ".join(errors.values()))
    await signal_service.update_channel(uow.session, author, item.id, parsed)
    return RedirectResponse(f"/lab/channels/{slug}", status_code=303)


@router.get("/signals/{signal_id}", name="lab:signal")
async def signal(request: Request, signal_id: Id, uow: UoW, user: SignedIn) -> Response:
    versions = await signal_service.history(uow.session, user, signal_id)
    current = next(v for v in versions if not v.superseded)
    item = await signal_service.channel_by_id(uow.session, user, current.channel_id)
    return render(
        request,
        "lab/channels/signal.html",
        {"signal": current, "versions": versions, "channel": item, "errors": {}, "values": {}},
    )


@router.post("/signals/{signal_id}/corrections", name="lab:signal_correct")
async def correct(request: Request, signal_id: Id, uow: UoW, author: Author) -> Response:
    data = await form_data(request)
    targets_text = data.get("targets", "").strip()
    values: dict[str, Any] = {
        "stop": data.get("stop") or None,
        "targets": [t.strip() for t in targets_text.replace(";", ",").split(",") if t.strip()]
        if targets_text
        else None,
        "note": data.get("note", ""),
    }
    parsed, errors = parse(SignalCorrection, values)
    if parsed is not None:
        try:
            new = await signal_service.correct(uow.session, author, signal_id, parsed)
        except AppError as exc:
            errors = {"__all__": str(exc.detail)}
        else:
            return RedirectResponse(f"/lab/signals/{new.id}", status_code=303)
    versions = await signal_service.history(uow.session, author, signal_id)
    current = next(v for v in versions if not v.superseded)
    item = await signal_service.channel_by_id(uow.session, author, current.channel_id)
    return render(
        request,
        "lab/channels/signal.html",
        {"signal": current, "versions": versions, "channel": item, "errors": errors, "values": data},
        status_code=422,
    )


class ChannelTopic(TopicKind):
    """`channel:<id>`: a channel's new signals and corrections, for those who may read them."""

    @staticmethod
    def _id(key: str) -> int | None:
        return int(key) if key.isdigit() and len(key) <= 18 else None

    def hub_channel(self, key: str) -> str:
        return live_channel(int(key))

    async def authorize(self, session: Any, user: User, key: str) -> bool:
        channel_id = self._id(key)
        return channel_id is not None and await signal_service.may_follow(session, user, channel_id)

    async def catch_up(self, session: Any, user: User, key: str, cursor: Any) -> tuple[list[Message], Any]:
        channel_id = int(key)
        if cursor is None:
            return [], await signal_service.live_cursor(session, channel_id)
        messages = await signal_service.live_since(session, channel_id, cursor)
        return messages, max([cursor, *(int(m["signal_id"]) for m in messages)])

    def seen(self, key: str, cursor: Any, message: Message) -> Any:
        return max(cursor or 0, int(message["signal_id"]))


register("channel", ChannelTopic())
