"""Pages of a signed-in user: dashboard, profile, security, notification centre, sign-out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from academy.auth.access import SESSION_COOKIE, session_token, signed_in, staff
from academy.auth.schemas import TotpCodeIn
from academy.auth.service import auth_service
from academy.config import get_settings
from academy.kit import i18n
from academy.kit.clock import SORTED_TIMEZONES
from academy.kit.deps import UoW
from academy.kit.errors import AppError
from academy.kit.pagination import PageParams
from academy.models import User
from academy.notification.service import notification_service
from academy.user.schemas import ProfileUpdate
from academy.user.service import user_service
from academy.web.forms import form_data, parse
from academy.web.learn import continue_learning
from academy.web.public import set_language_cookie, signed_in_response
from academy.web.templating import is_htmx, render

router = APIRouter()
SignedIn = Annotated[User, Depends(signed_in)]
Staff = Annotated[User, Depends(staff)]
_ = i18n.gettext


@router.get("/dashboard", name="account:dashboard")
async def dashboard(request: Request, uow: UoW, user: SignedIn) -> Response:
    recent = await notification_service.recent(uow.session, user)
    learning = await continue_learning(uow, user)
    return render(
        request,
        "account/dashboard.html",
        {"recent": recent, "welcome": request.query_params.get("welcome") == "1", **learning},
    )


@router.post("/logout", name="account:logout")
async def logout(request: Request, uow: UoW, user: SignedIn) -> Response:
    token = session_token(request.cookies.get(SESSION_COOKIE))
    if token:
        await auth_service.end_web_session(uow.session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _profile_ctx(**extra: object) -> dict[str, object]:
    return {
        "timezones": SORTED_TIMEZONES,
        "errors": {},
        "saved": False,
        "bot_username": get_settings().telegram_bot_username,
        **extra,
    }


@router.get("/profile", name="account:profile")
async def profile(request: Request, user: SignedIn) -> Response:
    return render(request, "account/profile.html", _profile_ctx())


@router.post("/profile")
async def save_profile(request: Request, uow: UoW, user: SignedIn) -> Response:
    data = await form_data(request)
    parsed, errors = parse(ProfileUpdate, data)
    if parsed is not None:
        await user_service.update_profile(uow.session, user, parsed)
    response = render(
        request,
        "account/profile.html",
        _profile_ctx(errors=errors, saved=not errors),
        status_code=422 if errors else 200,
    )
    if parsed is not None and parsed.locale:
        set_language_cookie(response, parsed.locale)
    return response


@router.post("/profile/avatar")
async def save_avatar(request: Request, uow: UoW, user: SignedIn) -> Response:
    form = await request.form()
    upload = form.get("avatar")
    errors: dict[str, str] = {}
    if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
        errors["avatar"] = _("Choose an image file")
    else:
        data = await upload.read(get_settings().max_avatar_bytes + 1)  # type: ignore[union-attr]
        try:
            await user_service.set_avatar(uow.session, user, data)
        except AppError as exc:
            errors["avatar"] = str(exc.detail)
    return render(
        request,
        "account/profile.html",
        _profile_ctx(errors=errors, saved=not errors),
        status_code=422 if errors else 200,
    )


@router.post("/profile/password")
async def change_password(request: Request, uow: UoW, user: SignedIn) -> Response:
    data = await form_data(request)
    errors: dict[str, str] = {}
    new = data.get("new_password", "")
    if len(new) < 8:
        errors["new_password"] = _("At least 8 characters")
    elif new != data.get("new_password_confirm"):
        errors["new_password_confirm"] = _("Passwords do not match")
    else:
        try:
            await auth_service.change_password(uow.session, user, data.get("current_password", ""), new)
        except AppError as exc:
            errors["current_password"] = _(str(exc.detail))
        else:
            # Changing the password signs out everywhere; start a fresh session for this browser.
            token = await auth_service.start_web_session(
                uow.session, user, request.headers.get("user-agent", "")
            )
            return signed_in_response(request, token, user, "/profile?password=changed")
    return render(request, "account/profile.html", _profile_ctx(errors=errors), status_code=422)


@router.get("/profile/security", name="account:security")
async def security(request: Request, user: Staff) -> Response:
    return render(request, "account/security.html", {"setup": None, "errors": {}})


@router.post("/profile/security/totp/setup")
async def totp_setup(request: Request, uow: UoW, user: Staff) -> Response:
    setup = await auth_service.totp_setup(uow.session, user)
    return render(request, "account/security.html", {"setup": setup, "errors": {}})


@router.post("/profile/security/totp/{action}")
async def totp_change(
    request: Request, action: Literal["enable", "disable"], uow: UoW, user: Staff
) -> Response:
    parsed, errors = parse(TotpCodeIn, await form_data(request))
    if parsed is not None:
        change = auth_service.totp_enable if action == "enable" else auth_service.totp_disable
        try:
            await change(uow.session, user, parsed.code)
        except AppError as exc:
            errors["code"] = _(str(exc.detail))
    if errors:
        # A wrong code while enabling keeps the key on screen so the user can try again.
        setup = auth_service.totp_pending(user) if action == "enable" else None
        return render(request, "account/security.html", {"setup": setup, "errors": errors}, status_code=422)
    return RedirectResponse("/profile/security", status_code=303)


@router.get("/notifications", name="account:notifications")
async def notifications(
    request: Request, uow: UoW, user: SignedIn, page: int = 1, unread: bool = False
) -> Response:
    params = PageParams(page=max(1, min(page, 100_000)), size=20)
    items = await notification_service.page(uow.session, user, params, unread_only=unread)
    prefs = await notification_service.preferences(uow.session, user)
    ctx = {"page": items, "prefs": prefs, "unread_only": unread}
    return render(request, "account/notifications.html", ctx, block="list" if is_htmx(request) else None)


@router.post("/notifications/{notification_id}/read")
async def notification_read(
    request: Request, notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)], uow: UoW, user: SignedIn
) -> Response:
    item = await notification_service.mark_read(uow.session, user, notification_id)
    if item.link and not is_htmx(request):
        return RedirectResponse(item.link, status_code=303)
    unread = await notification_service.unread_count(uow.session, user)
    return render(request, "account/notifications.html", {"item": item, "unread": unread}, block="item")


@router.post("/notifications/read-all")
async def notifications_read_all(request: Request, uow: UoW, user: SignedIn) -> Response:
    await notification_service.mark_all_read(uow.session, user)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/preferences")
async def notification_preferences(request: Request, uow: UoW, user: SignedIn) -> Response:
    form = await request.form()
    kinds = [p.kind for p in await notification_service.preferences(uow.session, user)]
    # An unchecked box is absent from the form, so every kind is read on every channel.
    wanted = {
        channel: {kind: form.get(f"{channel}_{kind}") == "on" for kind in kinds}
        for channel in ("email", "telegram", "digest")
    }
    await notification_service.update_preferences(
        uow.session, user, wanted["email"], telegram=wanted["telegram"], digest=wanted["digest"]
    )
    return RedirectResponse("/notifications?saved=1", status_code=303)


@router.post("/profile/resend-verification")
async def resend_verification(request: Request, uow: UoW, user: SignedIn) -> Response:
    await auth_service.send_verification(uow.session, user)
    from academy.kit import htmx

    return htmx.toast(Response(status_code=204), _("A new confirmation link is on its way."), "success")
