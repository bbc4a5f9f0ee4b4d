from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from academy.kit.repository import Repository
from academy.models import ChannelAudit


class ChannelAuditRepository(Repository[ChannelAudit]):
    model = ChannelAudit

    async def page(self, user_id: int | None, offset: int, limit: int) -> Sequence[Any]:
        """Rows of (audit columns…, summary) for a listing. The stored result also holds the
        messages, so only its small "summary" member is read."""
        stmt = self._listing(user_id).order_by(ChannelAudit.created_at.desc(), ChannelAudit.id.desc())
        return list((await self.session.execute(stmt.offset(offset).limit(limit))).all())

    async def total(self, user_id: int | None) -> int:
        stmt = select(func.count()).select_from(ChannelAudit)
        if user_id is not None:
            stmt = stmt.where(ChannelAudit.user_id == user_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def delete(self, audit: ChannelAudit) -> None:
        await self.session.delete(audit)
        await self.session.flush()

    def _listing(self, user_id: int | None) -> Select[Any]:
        stmt = select(
            ChannelAudit.id,
            ChannelAudit.title,
            ChannelAudit.source,
            ChannelAudit.messages,
            ChannelAudit.created_at,
            ChannelAudit.result["summary"].label("summary"),
        )
        return stmt if user_id is None else stmt.where(ChannelAudit.user_id == user_id)
