"""Background jobs: tasks are async functions `fn(session, *ids)`; enqueue only after commit.

Celery (academy.worker) is the normal dispatcher. Tests may switch to the inline dispatcher,
which runs the same task code right after the commit in its own unit of work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit.uow import UnitOfWork, after_commit

log = structlog.get_logger()

TaskFn = Callable[..., Awaitable[Any]]
_registry: dict[str, TaskFn] = {}
_paused: ContextVar[frozenset[str]] = ContextVar("academy_jobs_paused", default=frozenset())


def task(name: str) -> Callable[[TaskFn], TaskFn]:
    def register(fn: TaskFn) -> TaskFn:
        if name in _registry and _registry[name] is not fn:
            raise RuntimeError(f"task {name!r} registered twice")
        _registry[name] = fn
        return fn

    return register


def registry() -> dict[str, TaskFn]:
    return dict(_registry)


class Dispatcher(Protocol):
    async def dispatch(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None: ...


class InlineDispatcher:
    async def dispatch(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        await run_task(name, *args, **kwargs)


_dispatcher: Dispatcher = InlineDispatcher()


def set_dispatcher(dispatcher: Dispatcher) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def enqueue(session: AsyncSession, name: str, *args: Any, **kwargs: Any) -> None:
    """Queue `name(*args)` to be sent once the session's unit of work commits."""
    if name not in _registry:
        raise KeyError(f"unknown task {name!r}")
    if name in _paused.get():
        return

    async def send() -> None:
        await _dispatcher.dispatch(name, args, kwargs)
        log.debug("jobs.enqueued", task=name)

    after_commit(session, send)


async def run_task(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run a registered task in a fresh unit of work (what a worker does with a message)."""
    fn = _registry[name]
    async with UnitOfWork() as uow:
        return await fn(uow.session, *args, **kwargs)


@contextlib.contextmanager
def paused(*names: str) -> Iterator[None]:
    """Drop these tasks instead of queueing them, for code that does their work itself at the right
    moment (the demo replays months of history and scores it as it goes; the same jobs sent after
    its commit would only repeat that work and keep a fresh worker busy for minutes)."""
    token = _paused.set(_paused.get() | frozenset(names))
    try:
        yield
    finally:
        _paused.reset(token)
