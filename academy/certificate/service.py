"""Certificates of completion: issued once per student and course, verifiable by code, revocable."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.activity.service import ActivityKind, activity_service
from academy.certificate.pdf import render_certificate
from academy.certificate.repository import CertificateRepository
from academy.certificate.schemas import CertificateRead
from academy.config import get_settings
from academy.kit import clock
from academy.kit.errors import Conflict, NotFound
from academy.models import Certificate, Course, User

log = structlog.get_logger()

# No 0/O or 1/I/L: the code is read off paper and typed in by hand.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PATTERN = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_code(code: str) -> str:
    compact = re.sub(r"[^A-Za-z0-9]", "", code).upper()
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}" if len(compact) == 12 else code.strip().upper()


class CertificateService:
    async def issue(self, session: AsyncSession, user: User, course: Course) -> Certificate:
        repo = CertificateRepository(session)
        existing = await repo.for_user_course(user.id, course.id)
        if existing is not None:
            return existing
        certificate = await repo.add(
            Certificate(
                code=new_code(),
                user_id=user.id,
                course_id=course.id,
                student_name=user.name or user.display_name,
                course_title=course.title,
                issued_at=clock.now(),
            )
        )
        await activity_service.record(
            session, user.id, ActivityKind.certificate_issued, course_id=course.id, code=certificate.code
        )
        log.info("certificate.issued", user_id=user.id, course_id=course.id, code=certificate.code)
        return certificate

    async def get(self, session: AsyncSession, code: str) -> Certificate:
        certificate = await CertificateRepository(session).by_code(normalize_code(code))
        if certificate is None:
            raise NotFound("No certificate has this code")
        return certificate

    async def find(self, session: AsyncSession, code: str) -> Certificate | None:
        return await CertificateRepository(session).by_code(normalize_code(code))

    async def for_user(self, session: AsyncSession, user: User) -> Sequence[Certificate]:
        return await CertificateRepository(session).for_user(user.id)

    async def for_user_course(
        self, session: AsyncSession, user_id: int, course_id: int
    ) -> Certificate | None:
        return await CertificateRepository(session).for_user_course(user_id, course_id)

    def read(self, certificate: Certificate) -> CertificateRead:
        settings = get_settings()
        return CertificateRead(
            code=certificate.code,
            student_name=certificate.student_name,
            course_title=certificate.course_title,
            course_id=certificate.course_id,
            issued_at=certificate.issued_at,
            status="revoked" if certificate.revoked_at else "valid",
            revoked_at=certificate.revoked_at,
            revoked_reason=certificate.revoked_reason,
            verify_url=settings.url(f"/certificates/{certificate.code}"),
            pdf_url=settings.url(f"/certificates/{certificate.code}.pdf"),
        )

    async def revoke(self, session: AsyncSession, code: str, reason: str, by: User) -> Certificate:
        certificate = await self.get(session, code)
        if certificate.revoked_at is not None:
            raise Conflict("This certificate is already revoked")
        certificate.revoked_at = clock.now()
        certificate.revoked_reason = reason.strip()
        log.info("certificate.revoked", code=certificate.code, by=by.id)
        return certificate

    async def pdf(self, certificate: Certificate) -> bytes:
        read = self.read(certificate)
        # fpdf2 is CPU-bound; keep the event loop free for other requests.
        return await asyncio.to_thread(
            render_certificate,
            student_name=certificate.student_name,
            course_title=certificate.course_title,
            issued_on=certificate.issued_at.date(),
            code=certificate.code,
            verify_url=read.verify_url,
            revoked=certificate.revoked_at is not None,
        )


certificate_service = CertificateService()
