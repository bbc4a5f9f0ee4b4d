"""The candlestick chart: instrument and timeframe pickers, indicator toggles, signal markers, live bars.

The page's state lives in its address (`/lab/chart/12?tf=1h&ind=sma:20,ema:50,rsi:14,vol`). The
browser reads bars and indicators from the JSON routes below (the API under /api/v1 takes bearer
tokens only, a page has its session cookie) and follows new bars on `/ws/lab`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from academy.auth.access import signed_in
from academy.kit import i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError
from academy.kit.pagination import Page, PageParams
from academy.models import Instrument, User
from academy.trading.indicators import REGISTRY
from academy.trading.market_data.api import DEFAULT_LIMIT, BarsRead, IndicatorRead, indicator_params
from academy.trading.market_data.service import indicator_arguments, market_data_service
from academy.trading.market_data.timeframes import TIMEFRAMES
from academy.trading.signal.schemas import SignalRead
from academy.trading.signal.service import signal_service
from academy.web.templating import render

router = APIRouter()
SignedIn = Annotated[User, Depends(signed_in)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Timeframe = Annotated[str, Query(min_length=1, max_length=8)]
Limit = Annotated[int, Query(ge=1, le=5000)]
_ = i18n.gettext

VOLUME = "vol"
DEFAULT_INDICATORS = "sma:20,ema:50,vol"
OVERLAYS = frozenset({"sma", "ema", "bbands"})  # drawn on the price pane; the rest get panes of their own
TOGGLES = ("sma", "ema", "bbands", "rsi", "macd", VOLUME)  # offered as switches on the page
PREFERRED_TIMEFRAMES = ("1h", "4h", "1d", "15m", "1w", "30m", "5m", "1m")
MAX_INDICATORS = 10


@dataclass(frozen=True)
class ChartIndicator:
    name: str
    args: tuple[float, ...] = ()
    params: dict[str, float] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return ":".join([self.name, *(f"{a:g}" for a in self.args)])

    @property
    def label(self) -> str:
        return " ".join([self.name.upper(), *(f"{a:g}" for a in self.args)])


def parse_indicators(text: str) -> tuple[list[ChartIndicator], list[str]]:
    """The indicators named in the `ind` parameter, and the tokens that were left out (with why)."""
    chosen: list[ChartIndicator] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        name, *values = token.lower().split(":")
        if name == VOLUME and not values:
            item = ChartIndicator(VOLUME)
        elif name in REGISTRY:
            info = REGISTRY[name]
            if len(values) > len(info.params):
                dropped.append(token)
                continue
            try:
                args = indicator_arguments(info, dict(zip(info.params, values, strict=False)))
            except AppError:
                dropped.append(token)
                continue
            item = ChartIndicator(name, args, dict(zip(info.params, args, strict=True)))
        else:
            dropped.append(token)
            continue
        if item.token in seen or len(chosen) >= MAX_INDICATORS:
            continue
        seen.add(item.token)
        chosen.append(item)
    return chosen, dropped


def _form_token(name: str, query: Any) -> str:
    """A toggle of the picker form as an `ind` token (`sma` + `sma.period=20` -> `sma:20`)."""
    if name == VOLUME or name not in REGISTRY:
        return name
    values = [str(query.get(f"{name}.{p}", "")).strip() for p in REGISTRY[name].params]
    while values and not values[-1]:
        values.pop()
    return ":".join([name, *values])


def _default_timeframe(timeframes: list[str]) -> str | None:
    for timeframe in PREFERRED_TIMEFRAMES:
        if timeframe in timeframes:
            return timeframe
    return timeframes[0] if timeframes else None


def _decimals(tick: float) -> int:
    exponent = Decimal(repr(tick)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 2


def chart_url(instrument_id: int, timeframe: str | None, indicators: str) -> str:
    query = {k: v for k, v in (("tf", timeframe), ("ind", indicators)) if v is not None}
    return f"/lab/chart/{instrument_id}" + (f"?{urlencode(query, safe=':,')}" if query else "")


def _groups(instruments: list[Instrument]) -> list[tuple[str, list[Instrument]]]:
    groups: dict[str, list[Instrument]] = {}
    for instrument in sorted(instruments, key=lambda i: (i.simulated, i.asset_class, i.symbol)):
        label = _("Simulated") if instrument.simulated else _asset_label(instrument.asset_class)
        groups.setdefault(label, []).append(instrument)
    return list(groups.items())


def _asset_label(asset_class: str) -> str:
    labels = {
        "crypto": _("Crypto"),
        "forex": _("Forex"),
        "stock": _("Stocks"),
        "index": _("Indices"),
        "commodity": _("Commodities"),
    }
    return labels.get(asset_class, asset_class)


def _texts() -> dict[str, str]:
    return {
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "offline": _("Offline: reconnecting…"),
        "load_failed": _("The chart could not be loaded. Reload the page to try again."),
        "long": _("Long"),
        "short": _("Short"),
        "entry": _("Entry"),
        "stop": _("Stop"),
        "targets": _("Targets"),
        "confidence": _("Confidence"),
        "volume": _("Volume"),
        "signals_none": _("No signals on this chart yet."),
    }


@router.get("/chart", name="lab:chart")
async def chart_home(
    request: Request,
    uow: UoW,
    user: SignedIn,
    instrument: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    tf: Annotated[str | None, Query(max_length=8)] = None,
    ind: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    if instrument is not None:
        # The picker form (GET, works without JavaScript) lands here; send it on to the canonical address.
        if ind is None:
            names = [n for n in request.query_params.getlist("on") if n in TOGGLES]
            ind = ",".join(_form_token(n, request.query_params) for n in names)
        return RedirectResponse(chart_url(instrument, tf, ind), status_code=303)
    return await _chart_page(request, uow, user, None, tf, ind)


@router.get("/chart/{instrument_id}", name="lab:chart_instrument")
async def chart(
    request: Request,
    instrument_id: Id,
    uow: UoW,
    user: SignedIn,
    tf: Annotated[str | None, Query(max_length=8)] = None,
    ind: Annotated[str | None, Query(max_length=300)] = None,
    at: Annotated[int | None, Query(ge=0, le=2**40, description="Centre on this time (Unix seconds)")] = None,
) -> Response:
    return await _chart_page(request, uow, user, instrument_id, tf, ind, at)


async def _chart_page(
    request: Request,
    uow: UoW,
    user: User,
    instrument_id: int | None,
    tf: str | None,
    ind: str | None,
    at: int | None = None,
) -> Response:
    instruments = list(await market_data_service.instruments(uow.session))
    current = None
    if instrument_id is not None:
        current = await market_data_service.instrument(uow.session, instrument_id)
        if current not in instruments:
            instruments.append(current)  # an inactive instrument stays viewable by its address
    timeframes = await market_data_service.timeframes_of(uow.session, [i.id for i in instruments])
    if current is None and instruments:
        current = next((i for i in instruments if timeframes[i.id]), instruments[0])
    available = timeframes[current.id] if current is not None else []
    timeframe = tf if tf in TIMEFRAMES else _default_timeframe(available)
    indicators, dropped = parse_indicators(DEFAULT_INDICATORS if ind is None else ind)
    context: dict[str, Any] = {
        "instruments": instruments,
        "groups": _groups(instruments),
        "instrument": current,
        "timeframe": timeframe,
        "timeframes": available,
        "has_bars": timeframe in available,
        "indicators": indicators,
        "active": {i.name: i for i in reversed(indicators)},
        "dropped": dropped,
        "toggles": [(name, REGISTRY.get(name)) for name in TOGGLES],
        "ind": ",".join(i.token for i in indicators),
    }
    if current is not None and timeframe is not None:
        context["config"] = {
            "instrument": {
                "id": current.id,
                "symbol": current.symbol,
                "simulated": current.simulated,
                "precision": _decimals(current.tick_size),
                "tick": current.tick_size,
            },
            "timeframe": timeframe,
            "intraday": TIMEFRAMES[timeframe] < TIMEFRAMES["1d"],
            "indicators": [
                {
                    "name": i.name,
                    "params": i.params,
                    "label": _("Volume") if i.name == VOLUME else i.label,
                    "overlay": i.name in OVERLAYS,
                    "outputs": list(REGISTRY[i.name].outputs) if i.name in REGISTRY else [],
                }
                for i in indicators
            ],
            "limit": DEFAULT_LIMIT,
            "at": at,
            "urls": {
                "page": f"/lab/chart/{current.id}",
                "bars": f"/lab/chart/{current.id}/bars",
                "indicators": f"/lab/chart/{current.id}/indicators",
                "signals": f"/lab/chart/{current.id}/signals",
                "socket": "/ws/lab",
            },
            "canonical": chart_url(current.id, timeframe, context["ind"]),
            "timezone": user.timezone,
            "locale": i18n.get_locale(),
            "text": _texts(),
        }
    return render(request, "lab/chart.html", context)


@router.get("/chart/{instrument_id}/bars", name="lab:chart_bars")
async def chart_bars(
    instrument_id: Id,
    timeframe: Timeframe,
    uow: UoW,
    user: SignedIn,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> BarsRead:
    """The page's copy of GET /api/v1/instruments/{id}/bars, for the session cookie."""
    await market_data_service.instrument(uow.session, instrument_id)
    frame = await market_data_service.bars(uow.session, instrument_id, timeframe, start, end, limit)
    return BarsRead.of(instrument_id, timeframe, frame)


@router.get("/chart/{instrument_id}/indicators", name="lab:chart_indicators")
async def chart_indicators(
    instrument_id: Id,
    timeframe: Timeframe,
    name: Annotated[str, Query(min_length=1, max_length=20)],
    uow: UoW,
    user: SignedIn,
    params: Annotated[dict[str, str], Depends(indicator_params)],
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> IndicatorRead:
    """The page's copy of GET /api/v1/instruments/{id}/indicators, for the session cookie."""
    await market_data_service.instrument(uow.session, instrument_id)
    series = await market_data_service.indicator(
        uow.session, instrument_id, timeframe, name, params, start=start, end=end, limit=limit
    )
    return IndicatorRead.of(instrument_id, timeframe, series)


@router.get("/chart/{instrument_id}/signals", name="lab:chart_signals")
async def chart_signals(
    instrument_id: Id,
    timeframe: Timeframe,
    uow: UoW,
    user: SignedIn,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
) -> Page[SignalRead]:
    """The page's copy of GET /api/v1/signals for one chart: the signals the viewer may see."""
    return await signal_service.signals(
        uow.session, user, PageParams(page=1, size=limit), instrument_id=instrument_id, timeframe=timeframe
    )
