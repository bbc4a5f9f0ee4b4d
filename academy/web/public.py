"""Pages anyone can open: landing, sign-up, login, email verification, password reset, language."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from academy.auth.access import SESSION_COOKIE, encode_session_cookie, public, strict_limit
from academy.auth.errors import InvalidCredentials, InvalidToken, TotpRequired
from academy.auth.schemas import LoginIn, PasswordResetConfirmIn, PasswordResetIn, RegisterIn
from academy.auth.service import auth_service
from academy.config import get_settings
from academy.kit import clock, i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError
from academy.kit.middleware import LANG_COOKIE
from academy.models import User
from academy.user.schemas import ProfileUpdate
from academy.user.service import user_service
from academy.web.forms import form_data, parse
from academy.web.templating import render

router = APIRouter()
Anyone = Annotated[User | None, Depends(public)]
_ = i18n.gettext


def safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form can't be used to bounce users to another site."""
    if not target:
        return "/dashboard"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/dashboard"
    return target


def set_language_cookie(response: Response, locale: str) -> None:
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")


def signed_in_response(request: Request, raw_token: str, user: User, target: str) -> Response:
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        encode_session_cookie(raw_token, user.id),
        max_age=get_settings().session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=get_settings().is_production,
    )
    set_language_cookie(response, user.locale)
    return response


@router.get("/", name="public:landing")
async def landing(request: Request, user: Anyone) -> Response:
    return render(request, "public/landing.html")


@router.get("/signup", name="public:signup")
async def signup_page(request: Request, user: Anyone) -> Response:
    if user:
        return RedirectResponse("/dashboard", status_code=303)
    return render(request, "public/signup.html", {"form": {}, "errors": {}})


@router.post("/signup", dependencies=[Depends(strict_limit("rate_limit_signup"))])
async def signup(request: Request, uow: UoW, user: Anyone) -> Response:
    data = await form_data(request)
    data.setdefault("locale", i18n.get_locale())
    if data.get("timezone") not in clock.TIMEZONES:
        data["timezone"] = "UTC"  # detected by the browser into a hidden field: never block sign-up on it
    parsed, errors = parse(RegisterIn, data)
    if parsed is not None and data.get("password") != data.get("password_confirm"):
        errors["password_confirm"] = _("Passwords do not match")
    if parsed is not None and not errors:
        try:
            new_user = await auth_service.register(uow.session, parsed)
        except AppError as exc:
            errors["email"] = str(exc.detail)
        else:
            token = await auth_service.start_web_session(
                uow.session, new_user, request.headers.get("user-agent", "")
            )
            return signed_in_response(request, token, new_user, "/dashboard?welcome=1")
    data.pop("password", None)
    data.pop("password_confirm", None)
    return render(request, "public/signup.html", {"form": data, "errors": errors}, status_code=422)


@router.get("/login", name="public:login")
async def login_page(request: Request, user: Anyone, next: str = "/dashboard") -> Response:
    if user:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "public/login.html", {"form": {}, "errors": {}, "next": safe_next(next)})


@router.post("/login", dependencies=[Depends(strict_limit("rate_limit_login"))])
async def login(request: Request, uow: UoW, user: Anyone) -> Response:
    data = await form_data(request)
    target = safe_next(data.pop("next", None))
    challenge = data.pop("challenge", "")
    errors: dict[str, str] = {}
    found: User | None = None
    try:
        if challenge:
            # Second step for staff with two-factor on: the password was checked in the first step.
            code = data.get("totp_code", "").strip()
            if not code.isdigit() or len(code) != 6:
                errors["totp_code"] = _("Enter the 6-digit code from your authenticator app")
            else:
                found = await auth_service.complete_mfa(uow.session, challenge, code)
        else:
            data.pop("totp_code", None)
            parsed, errors = parse(LoginIn, data)
            if parsed is not None:
                found = await auth_service.authenticate(uow.session, parsed.email, parsed.password)
    except TotpRequired as exc:
        challenge = auth_service.mfa_challenge(exc.user_id)
        errors["totp_code"] = _("Enter the 6-digit code from your authenticator app")
    except InvalidToken as exc:
        challenge = ""
        errors["__all__"] = _(str(exc.detail))
    except InvalidCredentials as exc:
        errors["__all__"] = _(str(exc.detail))
    if found is not None:
        token = await auth_service.start_web_session(
            uow.session, found, request.headers.get("user-agent", "")
        )
        return signed_in_response(request, token, found, target)
    return render(
        request,
        "public/login.html",
        {"form": {"email": data.get("email", "")}, "errors": errors, "next": target, "challenge": challenge},
        status_code=401 if "__all__" in errors else 422,
    )


@router.get("/verify-email", name="public:verify_email")
async def verify_email(request: Request, uow: UoW, user: Anyone, token: str = "") -> Response:
    try:
        verified = await auth_service.verify_email(uow.session, token)
    except InvalidToken:
        return render(request, "public/verify.html", {"ok": False}, status_code=400)
    return render(request, "public/verify.html", {"ok": True, "verified": verified})


@router.get("/forgot-password", name="public:forgot_password")
async def forgot_page(request: Request, user: Anyone) -> Response:
    return render(request, "public/forgot.html", {"form": {}, "errors": {}, "sent": False})


@router.post("/forgot-password", dependencies=[Depends(strict_limit("rate_limit_reset"))])
async def forgot(request: Request, uow: UoW, user: Anyone) -> Response:
    data = await form_data(request)
    parsed, errors = parse(PasswordResetIn, data)
    if parsed is None:
        return render(
            request, "public/forgot.html", {"form": data, "errors": errors, "sent": False}, status_code=422
        )
    await auth_service.request_password_reset(uow.session, parsed.email)
    return render(request, "public/forgot.html", {"form": {}, "errors": {}, "sent": True})


@router.get("/reset-password", name="public:reset_password")
async def reset_page(request: Request, user: Anyone, token: str = "") -> Response:
    return render(request, "public/reset.html", {"token": token, "errors": {}, "done": False})


@router.post("/reset-password", dependencies=[Depends(strict_limit("rate_limit_reset"))])
async def reset(request: Request, uow: UoW, user: Anyone) -> Response:
    data = await form_data(request)
    parsed, errors = parse(PasswordResetConfirmIn, data)
    if parsed is not None and data.get("password") != data.get("password_confirm"):
        errors["password_confirm"] = _("Passwords do not match")
    if parsed is not None and not errors:
        try:
            await auth_service.reset_password(uow.session, parsed.token, parsed.password)
        except InvalidToken as exc:
            errors["__all__"] = _(str(exc.detail))
        else:
            return render(request, "public/reset.html", {"token": "", "errors": {}, "done": True})
    return render(
        request,
        "public/reset.html",
        {"token": data.get("token", ""), "errors": errors, "done": False},
        status_code=422,
    )


@router.post("/language", name="public:language")
async def language(request: Request, uow: UoW, user: Anyone) -> Response:
    data = await form_data(request)
    locale = data.get("locale", "en")
    if locale not in i18n.LOCALES:
        locale = "en"
    if user is not None:
        await user_service.update_profile(uow.session, user, ProfileUpdate(locale=locale))
    referer = request.headers.get("referer", "/")
    response = RedirectResponse(safe_next(urlparse(referer).path or "/"), status_code=303)
    set_language_cookie(response, locale)
    return response


@router.get("/login/telegram", name="public:telegram_login")
async def telegram_login(request: Request, uow: UoW, user: Anyone) -> Response:
    """Where the Telegram Login Widget sends the browser back with its signed fields."""
    fields: dict[str, object] = dict(request.query_params)
    identity = auth_service.verify_widget(fields)
    if user is not None:
        await auth_service.link_telegram(uow.session, user, identity)
        return RedirectResponse("/profile?telegram=linked", status_code=303)
    found = await auth_service.telegram_sign_in(uow.session, identity)
    token = await auth_service.start_web_session(uow.session, found, request.headers.get("user-agent", ""))
    return signed_in_response(request, token, found, "/dashboard")
