from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from academy.auth.access import admin_only, public, signed_in
from academy.certificate.schemas import CertificateRead, CertificateRevoke
from academy.certificate.service import certificate_service
from academy.kit.deps import UoW
from academy.models import User

router = APIRouter(prefix="/certificates", tags=["certificates"])
Code = Annotated[str, Path(min_length=4, max_length=40)]


@router.get("")
async def my_certificates(uow: UoW, user: Annotated[User, Depends(signed_in)]) -> list[CertificateRead]:
    return [certificate_service.read(c) for c in await certificate_service.for_user(uow.session, user)]


@router.get("/{code}")
async def verify_certificate(
    code: Code, uow: UoW, _: Annotated[User | None, Depends(public)]
) -> CertificateRead:
    return certificate_service.read(await certificate_service.get(uow.session, code))


@router.post("/{code}/revoke")
async def revoke_certificate(
    code: Code, data: CertificateRevoke, uow: UoW, admin: Annotated[User, Depends(admin_only)]
) -> CertificateRead:
    return certificate_service.read(await certificate_service.revoke(uow.session, code, data.reason, admin))
