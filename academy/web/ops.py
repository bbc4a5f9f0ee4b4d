from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from academy.auth.access import probe
from academy.config import get_settings
from academy.kit import db
from academy.kit.errors import Unauthorized
from academy.kit.security import same

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[Depends(probe)])
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


async def _check_database() -> str:
    await db.ping()
    return "ok"


async def _check_broker() -> str:
    settings = get_settings()
    if settings.jobs_inline:
        return "inline"
    if settings.redis_url:
        from redis import asyncio as aioredis

        client = aioredis.from_url(settings.redis_url)
        try:
            await client.ping()
        finally:
            await client.aclose()
        return "ok"
    folder = settings.broker_dir
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".ready"
    await asyncio.to_thread(probe.write_text, "ok")
    return "ok"


@router.get("/readyz", dependencies=[Depends(probe)])
async def readyz() -> Response:
    """Ready to serve: the database answers and the job broker accepts messages."""
    checks: dict[str, str] = {}
    ok = True
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = await asyncio.wait_for(check(), timeout=3)
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
            ok = False
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics", dependencies=[Depends(probe)], include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics; protected by a bearer token when ACADEMY_METRICS_TOKEN is set."""
    token = get_settings().metrics_token
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not same(sent, token):
            raise Unauthorized()
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)
