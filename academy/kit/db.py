from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        if url.startswith("sqlite"):
            engine_kwargs.setdefault("connect_args", {"timeout": 30})
        else:
            engine_kwargs.setdefault("pool_pre_ping", True)
        self.engine: AsyncEngine = create_async_engine(url, **engine_kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web process read while the worker writes; busy_timeout waits instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_database: Database | None = None


def configure(url: str, **engine_kwargs: Any) -> Database:
    global _database
    _database = Database(url, **engine_kwargs)
    return _database


def database() -> Database:
    if _database is None:
        raise RuntimeError("database is not configured; call academy.kit.db.configure() first")
    return _database


async def ping() -> None:
    async with database().engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def close() -> None:
    global _database
    if _database is not None:
        await _database.dispose()
        _database = None


def new_session() -> AsyncSession:
    return database().sessionmaker()
