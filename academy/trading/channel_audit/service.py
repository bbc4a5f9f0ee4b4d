"""Stored channel audits: create from an export or pasted text, recompute on the market data we hold.

The stored `result` keeps the audited messages ("input") next to the scorecard, so an audit can be
recomputed when bars arrive for a symbol it could not follow, or when the parser improves.

Market data for a symbol comes from stored, non-simulated instruments whose symbol is written the
same way (separators ignored): the owner's own uploads first (venue "upload:<user id>"), then shared
venues. Simulated prices are never used to judge a real channel. Within an instrument the finest
timeframe whose bars span the signals wins, as long as the window stays under `MAX_BARS`;
otherwise the candidate spanning most signals.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit import clock
from academy.kit.errors import NotFound
from academy.kit.pagination import Page, PageParams
from academy.models import ChannelAudit, Instrument, Role, User
from academy.trading.channel_audit.errors import ChannelAuditError
from academy.trading.channel_audit.parser import parse_message
from academy.trading.channel_audit.paste import split_pasted
from academy.trading.channel_audit.repository import ChannelAuditRepository
from academy.trading.channel_audit.schemas import (
    AuditOptions,
    ChannelAuditExportCreate,
    ChannelAuditPaste,
    ChannelAuditRead,
    ChannelAuditSummary,
    SymbolData,
)
from academy.trading.channel_audit.scorecard import DEFAULT_LOOKBACK_BARS, audit, published_at
from academy.trading.channel_audit.telegram_export import (
    ChannelMessage,
    ExportError,
    export_name,
    parse_messages,
)
from academy.trading.market_data.csv_import import CsvReport, read_bars_csv
from academy.trading.market_data.errors import UnknownTimeframe
from academy.trading.market_data.service import UPLOAD_VENUE_PREFIX, UpsertCounts, market_data_service
from academy.trading.market_data.timeframes import timeframe_delta

log = structlog.get_logger()

MAX_EXPORT_BYTES = 8 * 1024 * 1024
MAX_CSV_BYTES = 8 * 1024 * 1024
MAX_MESSAGES = 50_000
MAX_BARS = 200_000
EXCERPT_CHARS = 280
UNPARSED_CHARS = 1000
RESULT_VERSION = 1

_SEPARATORS = re.compile(r"[^A-Z0-9]")
_FIAT = {"EUR", "USD", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "PLN", "TRY", "ZAR"}
_FIAT |= {"MXN", "SGD", "HKD", "CNH", "HUF", "CZK", "RUB"}
_STABLE_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD")
_INDICES = {"NAS100": "USD", "US30": "USD", "SPX500": "USD", "GER40": "EUR"}
_COMMODITIES = {"XAUUSD": "USD", "XAGUSD": "USD", "UKOIL": "USD", "USOIL": "USD"}
_MOEX = {"SBER", "GAZP", "LKOH"}


def upload_venue(user_id: int) -> str:
    return f"{UPLOAD_VENUE_PREFIX}{user_id}"


class ChannelAuditService:
    # --- create ---

    async def create_from_export(
        self,
        session: AsyncSession,
        user: User,
        data: bytes,
        options: ChannelAuditExportCreate,
        filename: str | None = None,
    ) -> ChannelAudit:
        """Audit a Telegram Desktop export (result.json) or JSON lines of {"text": ...}."""
        if len(data) > MAX_EXPORT_BYTES:
            raise ChannelAuditError(f"The file is larger than {MAX_EXPORT_BYTES // 2**20} MB")
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ChannelAuditError(
                "The file is not UTF-8 text: export the chat from Telegram Desktop in JSON format"
            ) from None
        name = (filename or "").strip() or "The file"
        try:
            messages = list(parse_messages(raw, name))
        except ExportError as exc:
            raise ChannelAuditError(str(exc)) from None
        title = options.title.strip() or export_name(raw) or (filename or "").strip() or "Telegram export"
        return await self._create(session, user, title, "export", messages, options)

    async def create_from_paste(
        self, session: AsyncSession, user: User, data: ChannelAuditPaste
    ) -> ChannelAudit:
        messages = split_pasted(data.text, ZoneInfo(data.timezone))
        title = data.title.strip() or "Pasted messages"
        return await self._create(session, user, title, "paste", messages, data)

    async def _create(
        self,
        session: AsyncSession,
        user: User,
        title: str,
        source: str,
        messages: list[ChannelMessage],
        options: AuditOptions,
    ) -> ChannelAudit:
        if not messages:
            raise ChannelAuditError("No messages found: nothing to audit")
        if len(messages) > MAX_MESSAGES:
            raise ChannelAuditError(f"At most {MAX_MESSAGES:,} messages per audit; split the export")
        messages = _with_ids(messages)
        options = AuditOptions(risk_pct=options.risk_pct, expiry_days=options.expiry_days)
        result = await self._compute(session, user.id, messages, options)
        item = await ChannelAuditRepository(session).add(
            ChannelAudit(
                user_id=user.id, title=title[:200], source=source, messages=len(messages), result=result
            )
        )
        log.info(
            "channel_audit.created", audit_id=item.id, user_id=user.id, source=source, messages=len(messages)
        )
        return item

    # --- read ---

    async def get(self, session: AsyncSession, user: User, audit_id: int) -> ChannelAudit:
        """The audit, for its owner or an admin; anyone else is told it does not exist."""
        item = await ChannelAuditRepository(session).get(audit_id)
        if item is None or (item.user_id != user.id and user.role != Role.admin):
            raise NotFound(f"No channel audit {audit_id}")
        return item

    async def page(
        self, session: AsyncSession, user: User, params: PageParams, *, everyone: bool = False
    ) -> Page[ChannelAuditSummary]:
        """The user's audits, newest first; `everyone` (admins only) lists all users' audits."""
        owner = None if everyone and user.role == Role.admin else user.id
        repo = ChannelAuditRepository(session)
        rows = await repo.page(owner, params.offset, params.size)
        items = [
            _summary(
                r.id,
                r.title,
                r.source,
                r.messages,
                r.created_at,
                r.summary if isinstance(r.summary, dict) else {},
            )
            for r in rows
        ]
        return Page(items=items, total=await repo.total(owner), page=params.page, size=params.size)

    def read(self, item: ChannelAudit) -> ChannelAuditRead:
        result = item.result or {}
        summary = _summary(
            item.id, item.title, item.source, item.messages, item.created_at, result.get("summary", {})
        )
        return ChannelAuditRead(
            **summary.model_dump(),
            user_id=item.user_id,
            options=AuditOptions(**result.get("options", {})),
            scorecard=result.get("scorecard", {}),
            market_data=[SymbolData(**m) for m in result.get("market_data", [])],
        )

    # --- change ---

    async def delete(self, session: AsyncSession, user: User, audit_id: int) -> None:
        item = await self.get(session, user, audit_id)
        await ChannelAuditRepository(session).delete(item)
        log.info("channel_audit.deleted", audit_id=audit_id, user_id=user.id)

    async def rerun(self, session: AsyncSession, user: User, audit_id: int) -> ChannelAudit:
        """Recompute the scorecard from the stored messages on the market data held now."""
        item = await self.get(session, user, audit_id)
        result = item.result or {}
        messages = [ChannelMessage(**m) for m in result.get("input", [])]
        options = AuditOptions(**result.get("options", {}))
        item.result = await self._compute(session, item.user_id, messages, options)
        await session.flush()
        log.info("channel_audit.recomputed", audit_id=item.id, user_id=user.id)
        return item

    async def import_bars(
        self,
        session: AsyncSession,
        user: User,
        audit_id: int,
        symbol: str,
        data: bytes,
        *,
        timeframe: str | None = None,
        tz: str = "UTC",
    ) -> tuple[ChannelAudit, Instrument, UpsertCounts, CsvReport]:
        """Store the owner's bars CSV for one of the audit's symbols, then recompute the audit."""
        item = await self.get(session, user, audit_id)
        symbol = symbol.strip().upper()
        traded = {m["symbol"] for m in (item.result or {}).get("market_data", [])}
        if symbol not in traded:
            raise ChannelAuditError(f"This audit has no signals on {symbol or 'that symbol'}")
        if not data:
            raise ChannelAuditError("Choose a CSV file with the bars")
        if len(data) > MAX_CSV_BYTES:
            raise ChannelAuditError(f"The file is larger than {MAX_CSV_BYTES // 2**20} MB")
        frame, report = read_bars_csv(data, timeframe=timeframe or None, tz=tz)
        if report.timeframe is None:
            raise ChannelAuditError("Cannot tell the timeframe from the bar spacing; choose it explicitly")
        if frame.empty:
            raise ChannelAuditError("The file holds no valid bars")
        asset_class, quote, base = _instrument_guess(symbol)
        # Uploads are the owner's: bars someone else typed in must never change a shared instrument.
        instrument = await market_data_service.ensure_instrument(
            session,
            symbol=symbol,
            venue=upload_venue(item.user_id),
            asset_class=asset_class,
            tick_size=_tick_size(frame),
            quote_currency=quote,
            base_currency=base,
        )
        counts = await market_data_service.upsert_bars(session, instrument, report.timeframe, frame)
        log.info(
            "channel_audit.bars_imported",
            audit_id=item.id,
            instrument_id=instrument.id,
            timeframe=report.timeframe,
            inserted=counts.inserted,
        )
        return await self.rerun(session, user, audit_id), instrument, counts, report

    # --- computing ---

    async def _compute(
        self, session: AsyncSession, owner_id: int, messages: Sequence[ChannelMessage], options: AuditOptions
    ) -> dict[str, Any]:
        expiry = timedelta(days=options.expiry_days)
        times: dict[str, list[datetime]] = defaultdict(list)
        for message in messages:
            parsed = parse_message(message.text)
            moment = published_at(message)
            if parsed.is_signal and parsed.symbol and moment is not None:
                times[parsed.symbol.upper()].append(moment)

        instruments = [
            i
            for i in await market_data_service.instruments(
                session, active_only=False, simulated=False, uploads=True
            )
            if not i.venue.startswith(UPLOAD_VENUE_PREFIX) or i.venue == upload_venue(owner_id)
        ]
        frames: dict[str, pd.DataFrame] = {}
        coverage: dict[str, SymbolData] = {}
        for symbol, moments in sorted(times.items()):
            frame, data = await self._bars_for(
                session, owner_id, symbol, sorted(moments), instruments, expiry
            )
            coverage[symbol] = data
            if frame is not None:
                frames[symbol] = frame

        card = audit(
            messages, frames, risk_pct=options.risk_pct, expiry=expiry, lookback_bars=DEFAULT_LOOKBACK_BARS
        )
        scorecard = card.to_dict()
        texts = {m.id: m.text for m in messages}
        for row in (*scorecard["outcomes"], *scorecard["no_market_data"]):
            row["excerpt"] = _excerpt(texts.get(row["message_id"], ""), EXCERPT_CHARS)
        for row in scorecard["unparsed"]:
            row["text"] = _excerpt(row["text"], UNPARSED_CHARS)

        left_out: dict[str, int] = defaultdict(int)
        for row in card.no_market_data:
            left_out[row.symbol.upper()] += 1
        market_data = []
        for symbol, data in coverage.items():
            # The scorecard decides per signal; a symbol with bars may still leave some signals out.
            uncovered = left_out.get(symbol, 0)
            status = "missing" if data.bars == 0 else ("partial" if uncovered else "ok")
            market_data.append(data.model_copy(update={"uncovered": uncovered, "status": status}))
        summary = {
            "signals": card.signals,
            "parse_rate": scorecard["parse_rate"],
            "followed": card.record.signals,
            "missing_symbols": [d.symbol for d in market_data if d.status != "ok"],
            "computed_at": clock.now().isoformat(),
        }
        return {
            "version": RESULT_VERSION,
            "options": options.model_dump(),
            "summary": summary,
            "scorecard": scorecard,
            "market_data": [d.model_dump(mode="json") for d in market_data],
            "input": [_message_dict(m) for m in messages],
        }

    async def _bars_for(
        self,
        session: AsyncSession,
        owner_id: int,
        symbol: str,
        moments: list[datetime],
        instruments: Sequence[Instrument],
        expiry: timedelta,
    ) -> tuple[pd.DataFrame | None, SymbolData]:
        compact = _compact(symbol)
        own = upload_venue(owner_id)
        candidates = sorted(
            (i for i in instruments if _compact(i.symbol) == compact),
            key=lambda i: (i.venue != own, i.venue, i.symbol),
        )
        best: tuple[int, pd.DataFrame, Instrument, str] | None = None
        for instrument in candidates:
            steps = []
            for name in await market_data_service.timeframes(session, instrument.id):
                try:
                    steps.append((timeframe_delta(name), name))
                except UnknownTimeframe:
                    continue
            for delta, name in sorted(steps):
                start = moments[0] - delta * (DEFAULT_LOOKBACK_BARS + 1)
                end = moments[-1] + expiry + delta * 2
                if (end - start) / delta > MAX_BARS:
                    continue
                frame = await market_data_service.bars(session, instrument.id, name, start=start, end=end)
                if frame.empty:
                    continue
                covered = _covered(frame, moments, delta)
                if best is None or covered > best[0]:
                    best = (covered, frame, instrument, name)
                if covered == len(moments):
                    break
            if best is not None and best[0] == len(moments):
                break
        data = SymbolData(
            symbol=symbol,
            signals=len(moments),
            status="missing",
            first_signal=moments[0],
            last_signal=moments[-1],
        )
        if best is None or best[0] == 0:
            return None, data
        _, frame, instrument, name = best
        index = frame.index
        return frame, data.model_copy(
            update={
                "venue": instrument.venue,
                "timeframe": name,
                "first": index[0].to_pydatetime(),
                "last": index[-1].to_pydatetime(),
                "bars": len(frame),
            }
        )


def _summary(
    audit_id: int, title: str, source: str, messages: int, created_at: datetime, summary: dict[str, Any]
) -> ChannelAuditSummary:
    computed = summary.get("computed_at")
    return ChannelAuditSummary(
        id=audit_id,
        title=title,
        source=source,
        messages=messages,
        signals=summary.get("signals"),
        parse_rate=summary.get("parse_rate"),
        followed=summary.get("followed"),
        missing_symbols=summary.get("missing_symbols", []),
        created_at=created_at,
        computed_at=datetime.fromisoformat(computed) if computed else None,
    )


def _with_ids(messages: list[ChannelMessage]) -> list[ChannelMessage]:
    """Every message gets an id, so flags and rows can point at it; missing ones continue the numbering."""
    next_id = max((m.id for m in messages if m.id is not None), default=0) + 1
    numbered = []
    for message in messages:
        if message.id is None:
            message = dataclasses.replace(message, id=next_id)
            next_id += 1
        numbered.append(message)
    return numbered


def _message_dict(message: ChannelMessage) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(message).items() if v is not None}


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _compact(symbol: str) -> str:
    return _SEPARATORS.sub("", symbol.upper())


def _covered(frame: pd.DataFrame, moments: list[datetime], delta: timedelta) -> int:
    first, last = frame.index[0], frame.index[-1] + delta
    return sum(1 for m in moments if first <= pd.Timestamp(m) < last)


def _instrument_guess(symbol: str) -> tuple[str, str, str | None]:
    """(asset class, quote, base) for a symbol as the parser writes it; they label the upload only."""
    for quote in _STABLE_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return "crypto", quote, symbol[: -len(quote)]
    if symbol in _COMMODITIES:
        return "commodity", _COMMODITIES[symbol], symbol[:3] if symbol.startswith("X") else None
    if symbol in _INDICES:
        return "index", _INDICES[symbol], None
    if len(symbol) == 6 and symbol[:3] in _FIAT and symbol[3:] in _FIAT:
        return "forex", symbol[3:], symbol[:3]
    if symbol in _MOEX:
        return "stock", "RUB", None
    return "stock", "USD", None


def _tick_size(frame: pd.DataFrame) -> float:
    """The coarsest decimal step all the prices are written in (at most 8 decimals)."""
    prices = frame[["open", "high", "low", "close"]].to_numpy(dtype=float).ravel()
    for decimals in range(9):
        scaled = prices * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.abs(scaled) + 1e-7):
            return float(10.0**-decimals)
    return 1e-8


channel_audit_service = ChannelAuditService()
