from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from academy.auth.access import LoginRequired, is_api
from academy.config import Settings, check_production, get_settings
from academy.course.structure import structures as course_structures
from academy.kit import db, htmx, i18n, jobs, ratelimit, realtime
from academy.kit import logging as kit_logging
from academy.kit.errors import AppError
from academy.kit.middleware import RequestContextMiddleware
from academy.kit.routes import undeclared
from academy.web.templating import CSRF_COOKIE, is_htmx, render

log = structlog.get_logger()
STATIC_DIR = Path(__file__).parent / "web" / "static"

# The admin area's session factory exists before the database is configured; startup binds it.
admin_sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(expire_on_commit=False)


async def startup(settings: Settings) -> None:
    """Everything a process needs before serving: used by the app, the CLI and the tests."""
    from academy.worker import load_tasks

    load_tasks()
    database = db.configure(settings.database_url)
    # Cached course shapes belong to the database they came from.
    course_structures.clear()
    admin_sessionmaker.configure(bind=database.engine)
    ratelimit.configure(settings.redis_url, enabled=settings.rate_limit_enabled)
    hub = realtime.configure(settings.redis_url)
    await hub.start()
    if settings.jobs_inline:
        jobs.set_dispatcher(jobs.InlineDispatcher())
    else:
        from academy.worker import CeleryDispatcher

        jobs.set_dispatcher(CeleryDispatcher())


async def shutdown() -> None:
    await realtime.hub().stop()
    await db.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_production(settings)
    json_logs = settings.log_json if settings.log_json is not None else settings.is_production
    kit_logging.configure(json=json_logs, level=settings.log_level)
    if settings.sentry_dsn:
        import sentry_sdk

        sentry_sdk.init(dsn=settings.sentry_dsn, environment=settings.environment.value)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await startup(settings)
        log.info("app.started", environment=settings.environment.value)
        yield
        await shutdown()

    app = FastAPI(
        title="Academy",
        version="0.1.0",
        description="AI-run online school platform. JSON API; pages are served next to it.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        max_body_size=settings.max_request_bytes,
    )
    app.add_middleware(
        RequestContextMiddleware, csrf_cookie=CSRF_COOKIE, secure_cookies=settings.is_production
    )
    _install_error_handlers(app)

    from academy.api import router as api_router
    from academy.web import router as web_router
    from academy.web.admin import mount_admin

    app.include_router(api_router)
    app.include_router(web_router)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "media").mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.mount("/media", StaticFiles(directory=settings.data_dir / "media", check_dir=False), name="media")
    mount_admin(app, admin_sessionmaker)
    missing = undeclared(app)
    if missing:
        raise RuntimeError(f"routes without an access rule (use public/require(...)): {missing}")
    return app


def _error_body(exc_name: str, detail: object) -> dict[str, object]:
    return {"error": exc_name, "detail": detail}


def _page_error(request: Request, status: int, title: str, detail: object) -> Response:
    if is_htmx(request):
        return htmx.toast(Response(status_code=status), str(detail))
    return render(
        request, "errors/error.html", {"status": status, "title": title, "detail": detail}, status_code=status
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if is_api(request):
            return JSONResponse(
                _error_body(type(exc).__name__, exc.detail), status_code=exc.status_code, headers=exc.headers
            )
        # Only "sign in first" sends a browser to the login page; a rejected credential shows its error.
        if isinstance(exc, LoginRequired):
            target = f"/login?next={request.url.path}"
            if is_htmx(request):
                return htmx.redirect(Response(status_code=204), target)
            return RedirectResponse(target, status_code=303)
        response = _page_error(request, exc.status_code, i18n.gettext("Something is not right"), exc.detail)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if is_api(request):
            return JSONResponse(_error_body("ValidationError", errors), status_code=422)
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors)
        return _page_error(request, 422, i18n.gettext("Please check the form"), text)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        names = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized", 403: "Forbidden"}
        name = names.get(exc.status_code, "HTTPError")
        if is_api(request) or request.url.path.startswith(("/static/", "/media/")):
            return JSONResponse(
                _error_body(name, exc.detail), status_code=exc.status_code, headers=exc.headers or None
            )
        titles = {404: i18n.gettext("Page not found"), 403: i18n.gettext("Access denied")}
        return _page_error(request, exc.status_code, titles.get(exc.status_code, name), exc.detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("app.unhandled_error", path=request.url.path)
        detail = "Internal error; it has been logged"
        if is_api(request):
            return JSONResponse(_error_body("InternalError", detail), status_code=500)
        return _page_error(request, 500, i18n.gettext("Something went wrong on our side"), detail)
