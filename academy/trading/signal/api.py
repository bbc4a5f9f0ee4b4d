from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from academy.auth.access import public, require, signed_in
from academy.kit.deps import UoW
from academy.kit.pagination import Page, PageParams
from academy.models import Role, User
from academy.trading.signal.schemas import (
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    SignalCorrection,
    SignalRead,
    TrackRecordRead,
)
from academy.trading.signal.service import signal_service

router = APIRouter(tags=["signals"])
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Viewer = Annotated[User | None, Depends(public)]
SignedIn = Annotated[User, Depends(signed_in)]
Author = Annotated[User, Depends(require(Role.curator, Role.admin))]


@router.get("/channels")
async def list_channels(uow: UoW, viewer: Viewer) -> list[ChannelRead]:
    return await signal_service.channels(uow.session, viewer)


@router.post("/channels", status_code=201)
async def create_channel(data: ChannelCreate, uow: UoW, author: Author) -> ChannelRead:
    channel = await signal_service.create_channel(uow.session, author, data)
    return await signal_service.channel_by_id(uow.session, author, channel.id)


@router.get("/channels/{channel_id}")
async def get_channel(channel_id: Id, uow: UoW, viewer: Viewer) -> ChannelRead:
    return await signal_service.channel_by_id(uow.session, viewer, channel_id)


@router.patch("/channels/{channel_id}")
async def update_channel(channel_id: Id, data: ChannelUpdate, uow: UoW, author: Author) -> ChannelRead:
    await signal_service.update_channel(uow.session, author, channel_id, data)
    return await signal_service.channel_by_id(uow.session, author, channel_id)


@router.get("/channels/{channel_id}/track-record")
async def channel_track_record(channel_id: Id, uow: UoW, viewer: Viewer) -> TrackRecordRead:
    return await signal_service.track_record(uow.session, viewer, channel_id)


@router.put("/channels/{channel_id}/subscription", status_code=204)
async def subscribe(channel_id: Id, uow: UoW, user: SignedIn) -> Response:
    await signal_service.subscribe(uow.session, user, channel_id)
    return Response(status_code=204)


@router.delete("/channels/{channel_id}/subscription", status_code=204)
async def unsubscribe(channel_id: Id, uow: UoW, user: SignedIn) -> Response:
    await signal_service.unsubscribe(uow.session, user, channel_id)
    return Response(status_code=204)


@router.get("/signals")
async def list_signals(
    uow: UoW,
    user: SignedIn,
    channel_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    instrument_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    timeframe: Annotated[str | None, Query(max_length=8)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=500, description="page size; charts ask for up to 500")] = 50,
) -> Page[SignalRead]:
    """Current versions of the signals the caller's plan lets them see, newest first."""
    return await signal_service.signals(
        uow.session,
        user,
        PageParams(page=page, size=limit),
        channel_id=channel_id,
        instrument_id=instrument_id,
        timeframe=timeframe,
    )


@router.get("/signals/{signal_id}")
async def get_signal(signal_id: Id, uow: UoW, user: SignedIn) -> SignalRead:
    return await signal_service.signal(uow.session, user, signal_id)


@router.get("/signals/{signal_id}/history")
async def signal_history(signal_id: Id, uow: UoW, user: SignedIn) -> list[SignalRead]:
    return await signal_service.history(uow.session, user, signal_id)


@router.post("/signals/{signal_id}/corrections", status_code=201)
async def correct_signal(signal_id: Id, data: SignalCorrection, uow: UoW, author: Author) -> SignalRead:
    signal = await signal_service.correct(uow.session, author, signal_id, data)
    return await signal_service.signal(uow.session, author, signal.id)
