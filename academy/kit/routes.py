"""Walks the app's routes; used to refuse to start when a route has no declared access rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    route: APIRoute | APIWebSocketRoute
    access: Any


def _access(dependant: Dependant) -> Any:
    call = dependant.call
    if call is not None and hasattr(call, "access"):
        return call.access
    for sub in dependant.dependencies:
        found = _access(sub)
        if found is not None:
            return found
    return None


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    for top in app.router.routes:
        contexts = top.effective_route_contexts() if hasattr(top, "effective_route_contexts") else [top]
        for ctx in contexts:
            route = getattr(ctx, "original_route", ctx)
            if not isinstance(route, APIRoute | APIWebSocketRoute):
                continue
            path = getattr(ctx, "path", "") or route.path
            methods = frozenset(getattr(route, "methods", None) or {"WEBSOCKET"})
            yield RouteInfo(path, methods, route, _access(route.dependant))


def undeclared(app: FastAPI) -> list[str]:
    return [f"{sorted(r.methods)} {r.path}" for r in iter_routes(app) if r.access is None]
