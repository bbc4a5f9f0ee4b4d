from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from academy.kit.repository import Repository
from academy.models import Certificate


class CertificateRepository(Repository[Certificate]):
    model = Certificate

    async def by_code(self, code: str) -> Certificate | None:
        return await self.one_or_none(select(Certificate).where(Certificate.code == code))

    async def for_user_course(self, user_id: int, course_id: int) -> Certificate | None:
        stmt = select(Certificate).where(Certificate.user_id == user_id, Certificate.course_id == course_id)
        return await self.one_or_none(stmt)

    async def for_user(self, user_id: int) -> Sequence[Certificate]:
        stmt = (
            select(Certificate).where(Certificate.user_id == user_id).order_by(Certificate.issued_at.desc())
        )
        return await self.all(stmt)
