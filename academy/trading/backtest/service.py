"""Backtest runs: asked for on a page or the API, run as a job, stored as a compact JSON result.

A run moves queued → running → done | failed. The job writes `running` and its progress each in its
own short unit of work, so other requests see them while the engine is still busy; the result is
written by the job's own unit of work at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit import clock, jobs
from academy.kit.errors import Conflict, NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.kit.uow import UnitOfWork
from academy.models import BacktestRun, Instrument, Role, User
from academy.trading.backtest.engine import STOP_RULE, BacktestError, BacktestResult, Trade, backtest
from academy.trading.backtest.metrics import Metrics, drawdown_pct
from academy.trading.backtest.optimize import OptimizeError, OptimizeResult, combinations, optimize
from academy.trading.backtest.repository import ACTIVE, BacktestRunRepository
from academy.trading.backtest.schemas import (
    BacktestCreate,
    BacktestRead,
    BacktestSummary,
    InstrumentBrief,
    strategy_params,
)
from academy.trading.market_data.errors import MarketDataError
from academy.trading.market_data.service import market_data_service
from academy.trading.rules import RuleError
from academy.trading.strategy.base import Strategy, StrategyError, run
from academy.trading.strategy.build import build_strategy

log = structlog.get_logger()

# The latest this many bars of the asked range are used; older ones are left out (and said so).
MAX_BARS = 100_000
# A grid backtests every combination on every bar about (folds + 1) times; this caps
# combinations × bars so one run stays within minutes on one worker.
GRID_BUDGET = 2_000_000
MAX_ACTIVE_RUNS = 3
MAX_CURVE_POINTS = 1000
MAX_TRADES = 500
MAX_COMPARE = 6
HEADLINE = ("total_return_pct", "sharpe", "max_drawdown_pct", "trades")
INTERNAL_ERROR = "The backtest stopped on an internal error; it has been logged"


class BacktestInvalid(Unprocessable):
    default_detail = "The backtest cannot be run with these settings"


class RuleInvalid(BacktestInvalid):
    """The rule does not parse; the detail carries where (1-based line and column) and an excerpt."""

    def __init__(self, error: RuleError, text: str) -> None:
        located = error.with_source(text)
        self.position: dict[str, Any] = {
            "field": "rule",
            "message": located.message,
            "line": located.line,
            "column": located.column,
            "excerpt": located.excerpt,
        }
        super().__init__(self.position)


class _Cancelled(Exception):
    """The run was deleted while it ran."""


def strategy_for(name: str, params: Mapping[str, Any], rule: str | None) -> Strategy:
    """The strategy of a run, with its mistakes as 422s (a rule's with its position)."""
    accepted = strategy_params(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise BacktestInvalid(f"{name} has no parameter {', '.join(unknown)}; it takes {', '.join(accepted)}")
    try:
        return build_strategy(name, dict(params), rule)
    except RuleError as exc:
        raise RuleInvalid(exc, rule or "") from exc
    except StrategyError as exc:
        raise BacktestInvalid(str(exc)) from exc


def run_single(bars: pd.DataFrame, strategy: Strategy, **settings: Any) -> BacktestResult:
    """One strategy on one series: what the jobs and `academy lab backtest` both run."""
    return backtest(bars, run(strategy, bars), **settings)


def engine_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A run's stored settings (percents) as the engine's keyword arguments (fractions)."""
    return {
        "cash": float(settings.get("cash", 10_000.0)),
        "commission": float(settings.get("commission_pct", 0.0)) / 100.0,
        "slippage": float(settings.get("slippage_pct", 0.0)) / 100.0,
        "size": settings.get("size"),
        "risk_pct": settings.get("risk_pct"),
    }


# --- compact results ---


def _number(value: Any) -> float | None:
    """JSON has no NaN or infinity: a figure that cannot be computed, or is unbounded, is null."""
    number = float(value)
    return number if math.isfinite(number) else None


def _metrics(metrics: Metrics) -> dict[str, float | int | None]:
    return {k: v if isinstance(v, int) else _number(v) for k, v in metrics.as_dict().items()}


def _unbounded(metrics: Metrics) -> list[str]:
    """Metrics that are +infinity (a profit factor with no losing trade), so pages can show ∞."""
    return [k for k, v in metrics.as_dict().items() if isinstance(v, float) and v == math.inf]


def _time(moment: Any) -> str:
    return pd.Timestamp(moment).isoformat()


def sample_positions(drawdown: np.ndarray, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most `limit` bar positions spread evenly, plus the deepest drawdown of each stretch, so a
    downsampled chart still shows the worst fall and the last bar."""
    n = len(drawdown)
    if n <= limit:
        return np.arange(n)
    buckets = (limit - 1) // 2
    edges = np.linspace(0, n, buckets + 1).astype(int)
    picks = {int(e) for e in edges[:-1]} | {n - 1}
    for a, b in itertools.pairwise(edges.tolist()):
        if b > a:
            picks.add(int(a + np.argmax(drawdown[a:b])))
    return np.array(sorted(picks))


def _curve(equity: pd.Series) -> dict[str, list[Any]]:
    drawdown = drawdown_pct(equity).to_numpy(dtype=float)
    positions = sample_positions(drawdown)
    values = equity.to_numpy(dtype=float)
    return {
        "t": [_time(equity.index[i]) for i in positions],
        "equity": [_number(values[i]) for i in positions],
        "drawdown": [_number(drawdown[i]) for i in positions],
    }


def _trade(trade: Trade) -> dict[str, Any]:
    return {
        "side": trade.side_name,
        "units": _number(trade.units),
        "entry_time": _time(trade.entry_time),
        "entry_price": _number(trade.entry_price),
        "exit_time": _time(trade.exit_time),
        "exit_price": _number(trade.exit_price),
        "exit_reason": trade.exit_reason,
        "stop_price": _number(trade.stop_price),
        "target_price": _number(trade.target_price),
        "pnl": _number(trade.pnl),
        "return_pct": _number(trade.return_pct),
        "r_multiple": _number(trade.r_multiple),
    }


def _trades(trades: Sequence[Trade]) -> dict[str, Any]:
    # The latest trades are the ones people look at; the total says how many were left out.
    return {"trades": [_trade(t) for t in trades[-MAX_TRADES:]], "trades_total": len(trades)}


def _bars_info(bars: pd.DataFrame) -> dict[str, Any]:
    return {
        "bars": len(bars),
        "first_bar": _time(bars.index[0]),
        "last_bar": _time(bars.index[-1]),
        "bars_limited": len(bars) >= MAX_BARS,
    }


def single_result(bars: pd.DataFrame, strategy: Strategy, result: BacktestResult) -> dict[str, Any]:
    return {
        "kind": "single",
        "strategy": strategy.describe(),
        **_bars_info(bars),
        "metrics": _metrics(result.metrics),
        "unbounded": _unbounded(result.metrics),
        "curve": _curve(result.equity),
        **_trades(result.trades),
        "skipped": len(result.skipped),
        "skipped_reasons": sorted({s.reason for s in result.skipped}),
        "settings": result.settings,
        "stop_rule": STOP_RULE,
    }


def _plain(value: Any) -> Any:
    """A grid value or score as JSON (numpy scalars to Python, NaN to null)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return _number(value)
    return value


def grid_result(bars: pd.DataFrame, outcome: OptimizeResult, settings: Mapping[str, Any]) -> dict[str, Any]:
    table, heat = outcome.grid, outcome.heatmap
    two_axes = heat.columns.name != "metric"
    best_row = None
    if outcome.best_params is not None:
        mask = np.ones(len(table), dtype=bool)
        for name, value in outcome.best_params.items():
            mask &= (table[name] == value).to_numpy()
        best_row = table[mask].iloc[0]
    metric_names = list(Metrics.__dataclass_fields__)
    return {
        "kind": "grid",
        "strategy": outcome.strategy,
        **_bars_info(bars),
        "metric": outcome.metric,
        "combinations": len(table),
        "rejected": int((table["error"] != "").sum()),
        "first_error": next((e for e in table["error"] if e), ""),
        "best_params": outcome.best_params,
        "best_in_sample": None
        if best_row is None
        else {k: _plain(best_row[k]) if k != "trades" else int(best_row[k]) for k in metric_names},
        "heatmap": {
            "metric": outcome.metric,
            "x": heat.index.name,
            "y": heat.columns.name if two_axes else None,
            "rows": [_plain(v) for v in heat.index.tolist()],
            "columns": [_plain(v) for v in heat.columns.tolist()] if two_axes else [outcome.metric],
            "values": [[_plain(v) for v in row] for row in heat.to_numpy(dtype=float).tolist()],
        },
        "folds": [
            {
                "number": f.number,
                "train_start": _time(f.train_period[0]),
                "train_end": _time(f.train_period[1]),
                "test_start": _time(f.test_period[0]),
                "test_end": _time(f.test_period[1]),
                "params": f.params,
                "in_sample_score": _number(f.in_sample_score),
                "out_of_sample": _metrics(f.out_of_sample),
            }
            for f in outcome.folds
        ],
        # The run's headline figures are the out-of-sample ones: the honest answer of a search.
        "metrics": _metrics(outcome.oos_metrics),
        "unbounded": _unbounded(outcome.oos_metrics),
        "curve": _curve(outcome.oos_equity),
        **_trades(outcome.oos_trades),
        "settings": dict(settings),
        "stop_rule": STOP_RULE,
    }


# --- the job's progress ---


class _Progress:
    """Counts steps in the worker thread; the event loop reads the fraction and writes it."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.cancelled = False

    def step(self) -> None:
        if self.cancelled:
            raise _Cancelled()
        self.done += 1

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 0.99)


@dataclass
class _CountingFactory:
    """A preset factory that counts every strategy the optimizer builds: one per backtested window,
    which makes the count a fair measure of the search's progress."""

    name: str
    progress: _Progress

    def __call__(self, **params: Any) -> Strategy:
        self.progress.step()
        return build_strategy(self.name, params)


class BacktestService:
    # Seconds between progress writes: often enough for a progress bar, rare enough for the database.
    progress_interval = 0.5

    # --- asking ---

    async def create(self, session: AsyncSession, user: User, data: BacktestCreate) -> BacktestRead:
        repo = BacktestRunRepository(session)
        if await repo.active_count(user.id) >= MAX_ACTIVE_RUNS:
            raise Conflict(f"You have {MAX_ACTIVE_RUNS} backtests waiting or running; wait for one to finish")
        instrument = await self._instrument(session, data.instrument_id)
        if data.kind == "grid":
            self._check_grid(data)
            name = f"{data.strategy} grid over {', '.join(data.ranges)}"
        else:
            name = strategy_for(data.strategy, data.params, data.rule).describe()
        await self._check_bars(session, instrument, data)
        settings: dict[str, Any] = {
            "commission_pct": data.commission_pct,
            "slippage_pct": data.slippage_pct,
            "size": data.size,
            "risk_pct": data.risk_pct,
            "cash": data.cash,
            "start": data.start.isoformat() if data.start else None,
            "end": data.end.isoformat() if data.end else None,
        }
        if data.kind == "grid":
            settings |= {
                "ranges": {k: r.model_dump() for k, r in data.ranges.items()},
                "grid": data.grid(),
                "folds": data.folds,
                "metric": data.metric,
                "anchored": data.anchored,
            }
        item = await repo.add(
            BacktestRun(
                user_id=user.id,
                name=(data.name.strip() or name)[:120],
                kind=data.kind,
                instrument_id=instrument.id,
                timeframe=data.timeframe,
                strategy=data.strategy,
                params=dict(data.params),
                rule=data.rule if data.strategy == "rule" else None,
                settings=settings,
                status="queued",
                progress=0.0,
            )
        )
        await session.refresh(item)
        jobs.enqueue(session, "backtest.run", item.id)
        log.info("backtest.run_queued", run_id=item.id, user_id=user.id, kind=data.kind)
        return self._read(item, instrument)

    async def _instrument(self, session: AsyncSession, instrument_id: int) -> Instrument:
        try:
            return await market_data_service.instrument(session, instrument_id)
        except NotFound:
            raise BacktestInvalid(f"There is no instrument {instrument_id}") from None

    def _check_grid(self, data: BacktestCreate) -> None:
        first_error = ""
        for combination in combinations(data.grid()):
            try:
                build_strategy(data.strategy, {**data.params, **combination})
            except StrategyError as exc:
                first_error = first_error or str(exc)
            else:
                return
        raise BacktestInvalid(f"The strategy rejects every combination of the grid; the first: {first_error}")

    async def _check_bars(self, session: AsyncSession, instrument: Instrument, data: BacktestCreate) -> None:
        label = f"{instrument.symbol} ({instrument.venue})"
        count = await market_data_service.bar_count(session, instrument.id, data.timeframe)
        if count == 0:
            raise BacktestInvalid(f"{label} has no {data.timeframe} bars; pick another timeframe")
        if data.start or data.end:
            found = await market_data_service.bars(
                session, instrument.id, data.timeframe, start=data.start, end=data.end, limit=1
            )
            if found.empty:
                raise BacktestInvalid(f"{label} has no {data.timeframe} bars in that date range")
        elif data.kind == "grid":
            _check_budget(data.combinations(), min(count, MAX_BARS))

    # --- reading ---

    async def page(self, session: AsyncSession, user: User, params: PageParams) -> Page[BacktestSummary]:
        rows, total = await BacktestRunRepository(session).for_user(
            user.id, offset=params.offset, limit=params.size
        )
        instruments = await self._instruments(session, rows)
        return Page(
            items=[self._summary(r, instruments.get(r.instrument_id)) for r in rows],
            total=total,
            page=params.page,
            size=params.size,
        )

    async def get(self, session: AsyncSession, user: User, run_id: int) -> BacktestRead:
        item = await self._visible(session, user, run_id)
        return self._read(item, await market_data_service.instrument(session, item.instrument_id))

    async def compare(self, session: AsyncSession, user: User, ids: Sequence[int]) -> list[BacktestRead]:
        """The runs in the order asked; a run the user may not see is a 404, as on its own page."""
        unique = list(dict.fromkeys(ids))
        if len(unique) > MAX_COMPARE:
            raise BacktestInvalid(f"Compare at most {MAX_COMPARE} runs at a time")
        found = {r.id: r for r in await BacktestRunRepository(session).by_ids(unique)}
        for run_id in unique:
            if run_id not in found or not _may_see(user, found[run_id]):
                raise NotFound(f"No backtest {run_id}")
        instruments = await self._instruments(session, list(found.values()))
        return [self._read(found[i], instruments.get(found[i].instrument_id)) for i in unique]

    async def delete(self, session: AsyncSession, user: User, run_id: int) -> None:
        """Deletes the run; a job still running it notices at its next progress write and stops."""
        await self._visible(session, user, run_id)
        await BacktestRunRepository(session).remove(run_id)
        log.info("backtest.run_deleted", run_id=run_id, user_id=user.id)

    async def form_instruments(self, session: AsyncSession) -> list[tuple[InstrumentBrief, list[str]]]:
        """Active instruments with the timeframes they have bars for, for the run form."""
        listed = []
        for instrument in await market_data_service.instruments(session):
            timeframes = await market_data_service.timeframes(session, instrument.id)
            listed.append((InstrumentBrief.model_validate(instrument), timeframes))
        return listed

    async def _visible(self, session: AsyncSession, user: User, run_id: int) -> BacktestRun:
        item = await BacktestRunRepository(session).get(run_id)
        if item is None or not _may_see(user, item):
            raise NotFound(f"No backtest {run_id}")
        return item

    async def _instruments(self, session: AsyncSession, rows: Sequence[BacktestRun]) -> dict[int, Instrument]:
        ids = sorted({r.instrument_id for r in rows})
        return {i: await market_data_service.instrument(session, i) for i in ids}

    def _summary(self, item: BacktestRun, instrument: Instrument | None) -> BacktestSummary:
        return BacktestSummary.model_validate(self._fields(item, instrument))

    def _read(self, item: BacktestRun, instrument: Instrument | None) -> BacktestRead:
        return BacktestRead.model_validate(
            {
                **self._fields(item, instrument),
                "params": item.params or {},
                "rule": item.rule,
                "settings": item.settings or {},
                "result": item.result,
            }
        )

    def _fields(self, item: BacktestRun, instrument: Instrument | None) -> dict[str, Any]:
        metrics = (item.result or {}).get("metrics") or {}
        return {
            "id": item.id,
            "user_id": item.user_id,
            "name": item.name,
            "kind": item.kind,
            "instrument": InstrumentBrief.model_validate(instrument) if instrument else None,
            "timeframe": item.timeframe,
            "strategy": item.strategy,
            "status": item.status,
            "progress": item.progress,
            "error": item.error,
            "created_at": item.created_at,
            "started_at": item.started_at,
            "finished_at": item.finished_at,
            "headline": {k: metrics.get(k) for k in HEADLINE} if item.status == "done" else {},
        }

    # --- running (the job) ---

    async def execute(self, session: AsyncSession, run_id: int) -> str:
        """Run a queued run and store its result. A finished run is left alone, so a redelivered
        message does nothing; a run left `running` by a lost worker is run again from the start."""
        item = await BacktestRunRepository(session).get(run_id)
        if item is None:
            return "gone"
        if item.status not in ACTIVE:
            return item.status
        await self._write(run_id, status="running", progress=0.0, started_at=clock.now(), error=None)
        log.info("backtest.run_started", run_id=run_id, kind=item.kind)
        try:
            bars = await self._bars(session, item)
            work, progress = self._work(item, bars)
            result = await self._in_thread(run_id, work, progress)
        except _Cancelled:
            log.info("backtest.run_cancelled", run_id=run_id)
            return "gone"
        except (BacktestInvalid, MarketDataError) as exc:
            return await self._fail(session, run_id, _detail_text(exc.detail))
        except (StrategyError, RuleError, BacktestError, OptimizeError) as exc:
            return await self._fail(session, run_id, str(exc))
        except Exception:
            log.exception("backtest.run_crashed", run_id=run_id)
            return await self._fail(session, run_id, INTERNAL_ERROR)
        await BacktestRunRepository(session).set_values(
            run_id, status="done", progress=1.0, result=result, error=None, finished_at=clock.now()
        )
        log.info("backtest.run_finished", run_id=run_id)
        return "done"

    async def _fail(self, session: AsyncSession, run_id: int, message: str) -> str:
        await BacktestRunRepository(session).set_values(
            run_id, status="failed", error=message, finished_at=clock.now()
        )
        log.info("backtest.run_failed", run_id=run_id, error=message.splitlines()[0])
        return "failed"

    async def _bars(self, session: AsyncSession, item: BacktestRun) -> pd.DataFrame:
        settings = item.settings or {}
        bars = await market_data_service.bars(
            session,
            item.instrument_id,
            item.timeframe,
            start=_moment(settings.get("start")),
            end=_moment(settings.get("end")),
            limit=MAX_BARS,
        )
        if bars.empty:
            raise BacktestInvalid(f"There are no {item.timeframe} bars for this instrument and date range")
        return bars

    def _work(self, item: BacktestRun, bars: pd.DataFrame) -> tuple[Callable[[], dict[str, Any]], _Progress]:
        """The engine call for the worker thread, and the progress it reports."""
        settings = item.settings or {}
        engine = engine_settings(settings)
        if item.kind == "single":
            strategy = strategy_for(item.strategy, item.params or {}, item.rule)
            progress = _Progress(2)

            def single() -> dict[str, Any]:
                signals = run(strategy, bars)
                progress.step()
                result = backtest(bars, signals, **engine)
                progress.step()
                return single_result(bars, strategy, result)

            return single, progress

        grid: dict[str, list[Any]] = settings["grid"]
        folds, count = int(settings["folds"]), math.prod(len(v) for v in grid.values())
        _check_budget(count, len(bars))
        # Each combination is backtested on the full history and in every fold's window, plus
        # one out-of-sample backtest per fold.
        progress = _Progress(count * (folds + 1) + folds)
        factory = _CountingFactory(item.strategy, progress)

        def search() -> dict[str, Any]:
            outcome = optimize(
                bars,
                factory,
                grid,
                metric=settings["metric"],
                folds=folds,
                anchored=bool(settings["anchored"]),
                fixed=item.params or {},
                **engine,
            )
            return grid_result(bars, outcome, settings)

        return search, progress

    async def _in_thread(
        self, run_id: int, work: Callable[[], dict[str, Any]], progress: _Progress
    ) -> dict[str, Any]:
        """Run the CPU-bound engine off the event loop and write its progress as it goes."""
        future = asyncio.ensure_future(asyncio.to_thread(work))
        written = 0.0
        while True:
            done, _ = await asyncio.wait({future}, timeout=self.progress_interval)
            if done:
                return future.result()
            fraction = progress.fraction
            if fraction - written >= 0.01:
                if not await self._write(run_id, progress=fraction):
                    progress.cancelled = True
                written = fraction

    async def _write(self, run_id: int, **values: Any) -> bool:
        # Its own short unit of work: the job's session commits only at the end, and other
        # requests must see the run start and move while the engine works.
        async with UnitOfWork() as uow:
            return await BacktestRunRepository(uow.session).set_values(run_id, **values)


def _may_see(user: User, item: BacktestRun) -> bool:
    return item.user_id == user.id or user.role == Role.admin.value


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _check_budget(count: int, bars: int) -> None:
    if count * bars > GRID_BUDGET:
        raise BacktestInvalid(
            f"The grid has {count:,} combinations over {bars:,} bars, more than one run may "
            f"compute (combinations × bars at most {GRID_BUDGET:,}); use fewer values or a shorter date range"
        )


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict):
        return str(detail.get("message", detail))
    return str(detail)


backtest_service = BacktestService()
