from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.kit import db

log = structlog.get_logger()

AfterCommit = Callable[[], Awaitable[None]]
_HOOKS = "academy.after_commit"


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the unit of work owning `session` has committed; dropped on rollback."""
    session.info.setdefault(_HOOKS, []).append(hook)


class UnitOfWork:
    """One transaction per request or job. Services flush; only the unit of work commits."""

    def __init__(self, session: AsyncSession | None = None) -> None:
        self.session = session or db.new_session()

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
        hooks: list[AfterCommit] = self.session.info.pop(_HOOKS, [])
        for hook in hooks:
            try:
                await hook()
            except Exception:  # the data is committed; a failed side effect must not undo the response
                log.exception("kit.after_commit_failed", hook=getattr(hook, "__qualname__", repr(hook)))

    async def rollback(self) -> None:
        self.session.info.pop(_HOOKS, None)
        # Detach first: a rollback would expire loaded objects, and the error page still shows the user.
        self.session.expunge_all()
        await self.session.rollback()


async def run_in_uow(fn: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with UnitOfWork() as uow:
        return await fn(uow.session)
