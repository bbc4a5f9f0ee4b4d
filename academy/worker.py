"""Celery: the app, its queues, and the whole beat schedule in one place.

Tasks are the async functions registered with `academy.kit.jobs.task`; each worker process runs them
on its own event loop with its own database engine (an engine can't cross event loops).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import threading
import time
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init, worker_init, worker_process_init, worker_process_shutdown

from academy.config import Settings, get_settings
from academy.kit import db, jobs
from academy.kit.metrics import JOBS

TASK_MODULES = (
    "academy.auth.tasks",
    "academy.notification.tasks",
    "academy.trading.signal.tasks",
    "academy.trading.backtest.tasks",
    "academy.coach.tasks",
    "academy.homework.tasks",
    "academy.analytics.tasks",
    "academy.retention.tasks",
)

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "auth.purge_expired": {"task": "auth.purge_expired", "schedule": timedelta(hours=1)},
    "notification.retry_emails": {"task": "notification.retry_emails", "schedule": timedelta(minutes=2)},
    "notification.retry_telegram": {"task": "notification.retry_telegram", "schedule": timedelta(minutes=1)},
    # Once a day from the beat's start; a second run finds nothing new, so a restart can't double it.
    "notification.send_digests": {"task": "notification.send_digests", "schedule": timedelta(days=1)},
    # New closed bars for every watched series; the feeds only ever return what closed since.
    "trading.collect": {"task": "trading.collect", "schedule": timedelta(minutes=1)},
    # Embeds only chunks that are new or changed since the last run, so a frequent run is cheap.
    "coach.sync_knowledge": {"task": "coach.sync_knowledge", "schedule": timedelta(minutes=10)},
    # Just after midnight UTC, when yesterday is over; a re-run overwrites that day's rows, never adds.
    "analytics.snapshot": {"task": "analytics.snapshot", "schedule": crontab(hour=0, minute=15)},
    # Learning events rescore their own enrolment; the hourly run catches the ones time alone moved.
    "retention.rescore": {"task": "retention.rescore", "schedule": timedelta(hours=1)},
    "retention.track_returns": {"task": "retention.track_returns", "schedule": timedelta(hours=1)},
}


def load_tasks() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def celery_config(settings: Settings) -> dict[str, Any]:
    common: dict[str, Any] = {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_expires": 3600,
        "beat_schedule": BEAT_SCHEDULE,
        "timezone": "UTC",
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # The data folder is the one place every deployment can write (the image's /app is read-only).
        "beat_schedule_filename": str(settings.data_dir / "celerybeat-schedule"),
    }
    if settings.redis_url:
        return {**common, "broker_url": settings.redis_url, "result_backend": settings.redis_url}
    folder = settings.broker_dir
    for sub in ("queue", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        **common,
        "broker_url": "filesystem://",
        # Every process must read and write the same folder, or messages never meet a worker.
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        "result_backend": f"db+sqlite:///{settings.data_dir / 'celery-results.sqlite'}",
    }


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("academy")
    app.conf.update(celery_config(settings))
    load_tasks()
    for name in jobs.registry():
        app.task(name=name, bind=False)(_runner(name))
    return app


_local = threading.local()


def _loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _local.loop = loop
        loop.run_until_complete(_init_process())
    return loop


async def _init_process() -> None:
    from academy.kit import realtime

    settings = get_settings()
    db.configure(settings.database_url)
    realtime.configure(settings.redis_url)
    # Jobs queued by a job go to the broker like any other.
    jobs.set_dispatcher(CeleryDispatcher())


def _runner(name: str) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = _loop().run_until_complete(jobs.run_task(name, *args, **kwargs))
        except Exception:
            JOBS.labels(name, "error").inc()
            raise
        JOBS.labels(name, "ok").inc()
        return result

    run.__name__ = name.replace(".", "_")
    return run


def _follow_supervisor() -> None:
    """Under `academy serve`, exit when serve is gone, however it went.

    uvicorn re-raises SIGTERM after its graceful shutdown, so serve's own clean-up may never run,
    and Celery's start-up clears the Linux parent-death signal. A watcher thread is what is left.
    """
    supervisor = os.environ.get("ACADEMY_SUPERVISOR_PID")
    if not supervisor:
        return

    def watch() -> None:
        while os.getppid() == int(supervisor):
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(20)
        os.kill(os.getpid(), signal.SIGKILL)  # a warm shutdown that hangs must not outlive the platform

    threading.Thread(target=watch, name="academy-supervisor-watch", daemon=True).start()


@worker_init.connect
def _on_worker_init(**_: Any) -> None:
    _follow_supervisor()


@beat_init.connect
def _on_beat_init(**_: Any) -> None:
    _follow_supervisor()


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    _local.loop = None  # a forked child must not reuse the parent's loop or engine


@worker_process_shutdown.connect
def _on_process_shutdown(**_: Any) -> None:
    loop = getattr(_local, "loop", None)
    if loop is not None and not loop.is_closed():
        loop.run_until_complete(db.close())
        loop.close()


class CeleryDispatcher:
    """Sends a task message to the broker (in a thread: kombu's publish blocks)."""

    async def dispatch(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        await asyncio.to_thread(celery_app().send_task, name, args=list(args), kwargs=kwargs)


_app: Celery | None = None


def celery_app() -> Celery:
    global _app
    if _app is None:
        _app = create_celery()
    return _app


def reset_celery() -> None:
    global _app
    _app = None


def __getattr__(name: str) -> Any:
    # `celery -A academy.worker` looks up `app` / `celery` on this module.
    if name in ("app", "celery"):
        return celery_app()
    raise AttributeError(name)
