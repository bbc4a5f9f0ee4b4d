from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import structlog
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from academy.auth import passwords, telegram, tokens
from academy.auth.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidTelegramData,
    InvalidToken,
    InvalidTotpCode,
    TelegramAlreadyLinked,
    TokenReuseDetected,
    TotpNotAllowed,
    TotpRequired,
)
from academy.auth.repository import EmailTokenRepository, RefreshTokenRepository, WebSessionRepository
from academy.auth.schemas import RegisterIn, TokenPair, TotpSetup
from academy.config import get_settings
from academy.kit import clock
from academy.kit.errors import Forbidden
from academy.kit.security import hash_token, new_token
from academy.models import EmailToken, RefreshToken, Role, User, WebSession
from academy.notification.service import notification_service
from academy.user.service import user_service

log = structlog.get_logger()

VERIFY = "verify"
MFA_SECONDS = 300
RESET = "reset"


@dataclass(frozen=True)
class NewWebSession:
    token: str
    user: User


class AuthService:
    # --- sign-up and email ----------------------------------------------------------------------
    async def register(
        self, session: AsyncSession, data: RegisterIn, *, role: Role = Role.student, verified: bool = False
    ) -> User:
        if await user_service.by_email(session, data.email):
            raise EmailTaken()
        user = await user_service.add(
            session,
            User(
                email=data.email.lower(),
                password_hash=await passwords.hash_password(data.password),
                name=data.name,
                locale=data.locale,
                timezone=data.timezone,
                role=role.value,
                email_verified_at=clock.now() if verified else None,
            ),
        )
        await self.send_verification(session, user)
        log.info("auth.user_registered", user_id=user.id)
        return user

    async def send_verification(self, session: AsyncSession, user: User) -> None:
        if user.email_verified_at or not user.email:
            return
        settings = get_settings()
        token = await self._email_token(session, user, VERIFY, timedelta(hours=settings.email_token_hours))
        await notification_service.send_email(
            session,
            user,
            template="verify",
            kind="account",
            link=settings.url(f"/verify-email?token={token}"),
            hours=settings.email_token_hours,
        )

    async def verify_email(self, session: AsyncSession, token: str) -> User:
        record = await self._use_email_token(session, token, VERIFY)
        user = await user_service.get(session, record.user_id)
        if user.email_verified_at is None:
            user.email_verified_at = clock.now()
        log.info("auth.email_verified", user_id=user.id)
        return user

    async def request_password_reset(self, session: AsyncSession, email: str) -> None:
        """Always succeeds from the caller's view, so the endpoint never reveals who has an account."""
        user = await user_service.by_email(session, email)
        if user is None or not user.is_active:
            log.info("auth.password_reset_unknown_email")
            return
        settings = get_settings()
        await EmailTokenRepository(session).invalidate(user.id, RESET, clock.now())
        token = await self._email_token(
            session, user, RESET, timedelta(minutes=settings.password_reset_minutes)
        )
        await notification_service.send_email(
            session,
            user,
            template="reset",
            kind="account",
            link=settings.url(f"/reset-password?token={token}"),
            minutes=settings.password_reset_minutes,
        )

    async def reset_password(self, session: AsyncSession, token: str, password: str) -> User:
        record = await self._use_email_token(session, token, RESET)
        user = await user_service.get(session, record.user_id)
        user.password_hash = await passwords.hash_password(password)
        # Whoever knew the old password loses every session.
        await self.revoke_everything(session, user)
        if user.email_verified_at is None:
            user.email_verified_at = clock.now()  # the reset link proved the mailbox
        log.info("auth.password_reset", user_id=user.id)
        return user

    async def change_password(self, session: AsyncSession, user: User, current: str, new: str) -> None:
        if not await passwords.verify_password(current, user.password_hash):
            raise InvalidCredentials("Current password is wrong")
        user.password_hash = await passwords.hash_password(new)
        await self.revoke_everything(session, user)

    async def _email_token(self, session: AsyncSession, user: User, purpose: str, ttl: timedelta) -> str:
        token = new_token()
        await EmailTokenRepository(session).add(
            EmailToken(
                user_id=user.id, purpose=purpose, token_hash=hash_token(token), expires_at=clock.now() + ttl
            )
        )
        return token

    async def _use_email_token(self, session: AsyncSession, token: str, purpose: str) -> EmailToken:
        record = await EmailTokenRepository(session).by_hash(hash_token(token), purpose)
        if record is None or record.used_at is not None or record.expires_at < clock.now():
            raise InvalidToken("This link is invalid or has expired")
        record.used_at = clock.now()
        return record

    # --- credentials ----------------------------------------------------------------------------
    async def authenticate(
        self, session: AsyncSession, email: str, password: str, totp_code: str | None = None
    ) -> User:
        user = await user_service.by_email(session, email)
        ok = await passwords.verify_password(password, user.password_hash if user else None)
        if user is None or not ok or not user.is_active:
            log.info("auth.login_failed")
            raise InvalidCredentials()
        if user.totp_enabled_at is not None:
            if not totp_code:
                raise TotpRequired(user.id)
            if not self._totp_ok(user, totp_code):
                raise InvalidCredentials("The authenticator code is wrong")
        user.last_login_at = clock.now()
        log.info("auth.logged_in", user_id=user.id)
        return user

    def mfa_challenge(self, user_id: int) -> str:
        """A short-lived proof that the password was right, so the code step never carries the password."""
        return self._mfa_serializer().dumps(user_id)

    async def complete_mfa(self, session: AsyncSession, challenge: str, code: str) -> User:
        try:
            user_id = int(self._mfa_serializer().loads(challenge, max_age=MFA_SECONDS))
        except (BadSignature, TypeError, ValueError) as exc:
            raise InvalidToken("The sign-in took too long; enter your password again") from exc
        user = await user_service.find(session, user_id)
        if user is None or not user.is_active or user.totp_enabled_at is None:
            raise InvalidCredentials()
        if not self._totp_ok(user, code):
            raise InvalidCredentials("The authenticator code is wrong")
        user.last_login_at = clock.now()
        log.info("auth.logged_in", user_id=user.id, mfa=True)
        return user

    def _mfa_serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(get_settings().secret_key, salt="academy.mfa")

    # --- API tokens -----------------------------------------------------------------------------
    async def issue_tokens(
        self, session: AsyncSession, user: User, family_id: str | None = None
    ) -> TokenPair:
        settings = get_settings()
        raw = new_token()
        await RefreshTokenRepository(session).add(
            RefreshToken(
                user_id=user.id,
                family_id=family_id or new_token(12)[:16],
                token_hash=hash_token(raw),
                expires_at=clock.now() + timedelta(days=settings.refresh_token_days),
            )
        )
        return TokenPair(
            access_token=tokens.create_access_token(user.id, user.role),
            refresh_token=raw,
            expires_in=settings.access_token_minutes * 60,
        )

    async def refresh(self, session: AsyncSession, refresh_token: str) -> TokenPair:
        repo = RefreshTokenRepository(session)
        record = await repo.by_hash(hash_token(refresh_token))
        now = clock.now()
        if record is None or record.revoked_at is not None or record.expires_at < now:
            raise InvalidToken("Invalid refresh token")
        # The conditional update makes two presentations of one token race safely: one wins, one is reuse.
        if record.used_at is not None or not await repo.mark_used(record.id, now):
            # Someone holds a copy of a rotated token: assume theft and end the whole sign-in.
            await repo.revoke_family(record.family_id, now)
            log.warning("auth.refresh_token_reused", user_id=record.user_id, family_id=record.family_id)
            raise TokenReuseDetected()
        user = await user_service.find(session, record.user_id)
        if user is None or not user.is_active:
            raise InvalidToken("Invalid refresh token")
        return await self.issue_tokens(session, user, family_id=record.family_id)

    async def logout(self, session: AsyncSession, refresh_token: str) -> None:
        repo = RefreshTokenRepository(session)
        record = await repo.by_hash(hash_token(refresh_token))
        if record is not None:
            await repo.revoke_family(record.family_id, clock.now())

    async def user_from_access_token(self, session: AsyncSession, token: str) -> User:
        user = await user_service.find(session, tokens.decode_access_token(token))
        if user is None or not user.is_active:
            raise InvalidToken("User no longer exists")
        return user

    async def revoke_everything(self, session: AsyncSession, user: User) -> None:
        now = clock.now()
        await RefreshTokenRepository(session).revoke_user(user.id, now)
        await WebSessionRepository(session).revoke_user(user.id, now)

    # --- cookie sessions for pages --------------------------------------------------------------
    async def start_web_session(self, session: AsyncSession, user: User, user_agent: str = "") -> str:
        raw = new_token()
        await WebSessionRepository(session).add(
            WebSession(
                user_id=user.id,
                token_hash=hash_token(raw),
                expires_at=clock.now() + timedelta(days=get_settings().session_days),
                user_agent=user_agent[:255],
            )
        )
        return raw

    async def user_from_web_session(self, session: AsyncSession, raw: str) -> User | None:
        return await WebSessionRepository(session).active_user(hash_token(raw), clock.now())

    async def end_web_session(self, session: AsyncSession, raw: str) -> None:
        record = await WebSessionRepository(session).by_hash(hash_token(raw))
        if record is not None and record.revoked_at is None:
            record.revoked_at = clock.now()

    # --- Telegram -------------------------------------------------------------------------------
    def _bot_token(self) -> str:
        token = get_settings().telegram_bot_token
        if not token:
            raise InvalidTelegramData("Telegram sign-in is not configured (ACADEMY_TELEGRAM_BOT_TOKEN)")
        return token

    def verify_miniapp(self, init_data: str) -> telegram.TelegramIdentity:
        try:
            return telegram.verify_init_data(
                init_data, self._bot_token(), max_age_seconds=get_settings().telegram_auth_max_age_seconds
            )
        except telegram.InvalidTelegramAuth as exc:
            raise InvalidTelegramData(f"Telegram data rejected: {exc}") from exc

    def verify_widget(self, fields: dict[str, object]) -> telegram.TelegramIdentity:
        try:
            return telegram.verify_login_widget(
                fields, self._bot_token(), max_age_seconds=get_settings().telegram_auth_max_age_seconds
            )
        except telegram.InvalidTelegramAuth as exc:
            raise InvalidTelegramData(f"Telegram data rejected: {exc}") from exc

    async def telegram_sign_in(self, session: AsyncSession, identity: telegram.TelegramIdentity) -> User:
        """The account linked to this Telegram user, or a new student account for it."""
        if not 0 < identity.telegram_id < 2**63:
            raise InvalidTelegramData("Telegram user id is out of range")
        user = await user_service.by_telegram_id(session, identity.telegram_id)
        if user is None:
            name = " ".join(p for p in (identity.first_name, identity.last_name) if p)
            locale = "ru" if (identity.language_code or "").startswith("ru") else "en"
            user = await user_service.add(
                session,
                User(
                    telegram_id=identity.telegram_id,
                    telegram_username=identity.username,
                    name=name[:120],
                    locale=locale,
                    role=Role.student.value,
                ),
            )
            log.info("auth.telegram_user_created", user_id=user.id)
        elif not user.is_active:
            raise InvalidCredentials("This account is disabled")
        user.telegram_username = identity.username or user.telegram_username
        user.last_login_at = clock.now()
        return user

    async def link_telegram(
        self, session: AsyncSession, user: User, identity: telegram.TelegramIdentity
    ) -> User:
        other = await user_service.by_telegram_id(session, identity.telegram_id)
        if other is not None and other.id != user.id:
            raise TelegramAlreadyLinked()
        user.telegram_id = identity.telegram_id
        user.telegram_username = identity.username
        await session.flush()
        log.info("auth.telegram_linked", user_id=user.id)
        return user

    async def unlink_telegram(self, session: AsyncSession, user: User) -> User:
        if user.password_hash is None:
            raise Forbidden("Set a password before unlinking Telegram, or you could not sign in again")
        user.telegram_id = None
        user.telegram_username = None
        return user

    # --- TOTP for staff -------------------------------------------------------------------------
    async def totp_setup(self, session: AsyncSession, user: User) -> TotpSetup:
        if not Role(user.role).is_staff:
            raise TotpNotAllowed()
        if user.totp_enabled_at is not None:
            raise TotpNotAllowed("Two-factor authentication is already on; turn it off first")
        user.totp_secret = pyotp.random_base32()
        setup = self.totp_pending(user)
        assert setup is not None
        return setup

    def totp_pending(self, user: User) -> TotpSetup | None:
        """The key being set up (shown again after a mistyped code), if set-up has started."""
        if not user.totp_secret or user.totp_enabled_at is not None:
            return None
        uri = pyotp.TOTP(user.totp_secret).provisioning_uri(
            name=user.email or str(user.id), issuer_name="Academy"
        )
        return TotpSetup(secret=user.totp_secret, otpauth_uri=uri)

    async def totp_enable(self, session: AsyncSession, user: User, code: str) -> None:
        if not Role(user.role).is_staff:
            raise TotpNotAllowed()
        if not user.totp_secret or not self._totp_ok(user, code):
            raise InvalidTotpCode()
        user.totp_enabled_at = clock.now()
        log.info("auth.totp_enabled", user_id=user.id)

    async def totp_disable(self, session: AsyncSession, user: User, code: str) -> None:
        if user.totp_enabled_at is None:
            return
        if not self._totp_ok(user, code):
            raise InvalidTotpCode()
        user.totp_enabled_at = None
        user.totp_secret = None
        log.info("auth.totp_disabled", user_id=user.id)

    def _totp_ok(self, user: User, code: str) -> bool:
        return bool(user.totp_secret) and pyotp.TOTP(user.totp_secret or "").verify(code, valid_window=1)

    # --- housekeeping ---------------------------------------------------------------------------
    async def purge_expired(self, session: AsyncSession) -> int:
        cutoff = clock.now() - timedelta(days=1)
        return (
            await RefreshTokenRepository(session).purge_expired(cutoff)
            + await EmailTokenRepository(session).purge_expired(cutoff)
            + await WebSessionRepository(session).purge_expired(cutoff)
        )


auth_service = AuthService()
