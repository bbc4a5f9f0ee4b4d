from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CertificateRead(BaseModel):
    code: str
    student_name: str
    course_title: str
    course_id: int
    issued_at: datetime
    status: str  # "valid" or "revoked"
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    verify_url: str
    pdf_url: str


class CertificateRevoke(BaseModel):
    reason: str = Field(min_length=3, max_length=300)
