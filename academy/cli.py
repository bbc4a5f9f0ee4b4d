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

    if get_settings().jobs_inline:
        return jobs.InlineDispatcher()
    from academy.worker import CeleryDispatcher

    return CeleryDispatcher()


@app.command()
def demo() -> None:
    """Load the demo school (idempotent) and print the demo logins."""

    from academy.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_summary, load_demo

    async def run(session: AsyncSession) -> str:
        await load_demo(session)
        return await demo_summary(session)

    summary = _in_transaction(run)
    settings = get_settings()
    typer.echo("")
    typer.echo(f"Academy demo at {settings.base_url}  (password for every account: {DEMO_PASSWORD})")
    for account in DEMO_ACCOUNTS:
        typer.echo(f"  {account.role.value:<8} {account.email}")
    typer.echo(f"  {summary}")
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
