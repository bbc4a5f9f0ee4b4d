from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from academy.auth.access import public, signed_in, staff, strict_limit
from academy.auth.schemas import (
    LoginIn,
    Message,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    RegisterIn,
    TelegramMiniAppIn,
    TelegramWidgetIn,
    TokenPair,
    TokenToIn,
    TotpCodeIn,
    TotpSetup,
    UserRead,
)
from academy.auth.service import auth_service
from academy.kit.deps import UoW
from academy.models import User
from academy.user.service import user_service

router = APIRouter(prefix="/auth", tags=["auth"])
Anyone = Annotated[User | None, Depends(public)]
SignedIn = Annotated[User, Depends(signed_in)]
Staff = Annotated[User, Depends(staff)]


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(strict_limit("rate_limit_signup"))],
)
async def register(data: RegisterIn, uow: UoW, _: Anyone) -> UserRead:
    """Create a student account; a verification link is emailed."""
    return user_service.read(await auth_service.register(uow.session, data))


@router.post("/login", dependencies=[Depends(strict_limit("rate_limit_login"))])
async def login(data: LoginIn, uow: UoW, _: Anyone) -> TokenPair:
    """Email + password (and the TOTP code for staff who turned it on) for an access/refresh pair."""
    user = await auth_service.authenticate(uow.session, data.email, data.password, data.totp_code)
    return await auth_service.issue_tokens(uow.session, user)


@router.post("/refresh")
async def refresh(data: RefreshIn, uow: UoW, _: Anyone) -> TokenPair:
    """Rotate: the old refresh token stops working; presenting it again revokes the whole family."""
    return await auth_service.refresh(uow.session, data.refresh_token)


@router.post("/logout")
async def logout(data: RefreshIn, uow: UoW, _: Anyone) -> Message:
    await auth_service.logout(uow.session, data.refresh_token)
    return Message(detail="Signed out")


@router.post("/verify-email")
async def verify_email(data: TokenToIn, uow: UoW, _: Anyone) -> UserRead:
    return user_service.read(await auth_service.verify_email(uow.session, data.token))


@router.post("/verify-email/resend")
async def resend_verification(uow: UoW, user: SignedIn) -> Message:
    await auth_service.send_verification(uow.session, user)
    return Message(detail="If your email is not verified yet, a new link is on its way")


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(strict_limit("rate_limit_reset"))],
)
async def password_reset(data: PasswordResetIn, uow: UoW, _: Anyone) -> Message:
    """Email a reset link if the account exists; the answer is the same either way."""
    await auth_service.request_password_reset(uow.session, data.email)
    return Message(detail="If an account exists for this email, a reset link is on its way")


@router.post("/password-reset/confirm", dependencies=[Depends(strict_limit("rate_limit_reset"))])
async def password_reset_confirm(data: PasswordResetConfirmIn, uow: UoW, _: Anyone) -> Message:
    await auth_service.reset_password(uow.session, data.token, data.password)
    return Message(detail="Password changed; sign in with the new password")


@router.post("/telegram/miniapp", dependencies=[Depends(strict_limit("rate_limit_login"))])
async def telegram_miniapp(data: TelegramMiniAppIn, uow: UoW, _: Anyone) -> TokenPair:
    """Sign in from the Telegram Mini App with its `initData`."""
    identity = auth_service.verify_miniapp(data.init_data)
    user = await auth_service.telegram_sign_in(uow.session, identity)
    return await auth_service.issue_tokens(uow.session, user)


@router.post("/telegram/widget", dependencies=[Depends(strict_limit("rate_limit_login"))])
async def telegram_widget(data: TelegramWidgetIn, uow: UoW, _: Anyone) -> TokenPair:
    """Sign in with the fields the Telegram Login Widget returns."""
    identity = auth_service.verify_widget(data.model_dump(exclude_none=True))
    user = await auth_service.telegram_sign_in(uow.session, identity)
    return await auth_service.issue_tokens(uow.session, user)


@router.post("/telegram/link")
async def telegram_link(data: TelegramWidgetIn, uow: UoW, user: SignedIn) -> UserRead:
    """Attach a Telegram identity (Login Widget fields) to the signed-in account."""
    identity = auth_service.verify_widget(data.model_dump(exclude_none=True))
    return user_service.read(await auth_service.link_telegram(uow.session, user, identity))


@router.delete("/telegram/link")
async def telegram_unlink(uow: UoW, user: SignedIn) -> UserRead:
    """Detach Telegram; refused when it is the only way this account can sign in."""
    return user_service.read(await auth_service.unlink_telegram(uow.session, user))


@router.get("/me")
async def me(user: SignedIn) -> UserRead:
    return user_service.read(user)


@router.post("/totp/setup")
async def totp_setup(uow: UoW, user: Staff) -> TotpSetup:
    """Start two-factor set-up (staff only); confirm with a code from the app via /totp/enable."""
    return await auth_service.totp_setup(uow.session, user)


@router.post("/totp/enable")
async def totp_enable(data: TotpCodeIn, uow: UoW, user: Staff) -> UserRead:
    await auth_service.totp_enable(uow.session, user, data.code)
    return user_service.read(user)


@router.post("/totp/disable")
async def totp_disable(data: TotpCodeIn, uow: UoW, user: Staff) -> UserRead:
    await auth_service.totp_disable(uow.session, user, data.code)
    return user_service.read(user)
