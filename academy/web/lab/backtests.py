"""Backtest pages: ask for a run, watch it progress, read its result, compare runs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from academy.auth.access import signed_in
from academy.kit import htmx, i18n
from academy.kit.deps import UoW
from academy.kit.errors import AppError, BadRequest
from academy.kit.pagination import PageParams
from academy.models import User
from academy.trading.backtest.optimize import LOWER_IS_BETTER, METRICS
from academy.trading.backtest.schemas import (
    GRID_STRATEGIES,
    MAX_COMBINATIONS,
    BacktestCreate,
    BacktestRead,
    strategy_params,
)
from academy.trading.backtest.service import MAX_COMPARE, RuleInvalid, backtest_service
from academy.trading.market_data.timeframes import TIMEFRAMES
from academy.trading.strategy.build import RULE, STRATEGIES
from academy.web.forms import form_data, parse
from academy.web.templating import is_htmx, render

router = APIRouter(prefix="/backtests")
SignedIn = Annotated[User, Depends(signed_in)]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_ = i18n.gettext

PAGE_SIZE = 20
DEFAULT_FORM = {
    "strategy": "sma_cross",
    "timeframe": "1d",
    "commission_pct": "0.1",
    "slippage_pct": "0.05",
    "sizing": "equity",
    "cash": "10000",
    "folds": "4",
    "metric": "sharpe",
    "anchored": "on",
}


def strategy_catalog() -> list[dict[str, Any]]:
    """Each strategy with its parameters, for the form (a rule takes none)."""
    return [
        {
            "name": name,
            "grid": name in GRID_STRATEGIES,
            "params": [
                {
                    "name": key,
                    "default": spec.default,
                    "minimum": spec.minimum,
                    "maximum": spec.maximum,
                    "help": spec.help,
                    "whole": isinstance(spec.default, int),
                }
                for key, spec in strategy_params(name).items()
            ],
        }
        for name in STRATEGIES
    ]


def _day(value: str, field: str, errors: dict[str, str], *, after: bool = False) -> str | None:
    """A date field as an aware UTC instant; the end date counts in full, so it ends a day later."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        errors[field] = _("Write the date as YYYY-MM-DD")
        return None
    if after:
        day += timedelta(days=1)
    return f"{day.isoformat()}T00:00:00+00:00"


def form_values(data: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's fields as BacktestCreate input, plus errors the form layout itself catches."""
    errors: dict[str, str] = {}
    strategy = data.get("strategy", "")
    kind = "grid" if data.get("kind") == "grid" else "single"
    values: dict[str, Any] = {
        "name": data.get("name", "").strip(),
        "kind": kind,
        "instrument_id": data.get("instrument_id") or None,
        "timeframe": data.get("timeframe", ""),
        "strategy": strategy,
    }
    params: dict[str, str] = {}
    ranges: dict[str, dict[str, str]] = {}
    for key in strategy_params(strategy):
        bounds = [data.get(f"g.{strategy}.{key}.{part}", "").strip() for part in ("start", "stop", "step")]
        if kind == "grid" and any(bounds):
            if not all(bounds):
                errors["ranges"] = _("A range needs a start, a stop and a step")
            ranges[key] = dict(zip(("start", "stop", "step"), bounds, strict=True))
        elif data.get(f"p.{strategy}.{key}", "").strip():
            params[key] = data[f"p.{strategy}.{key}"].strip()
    values["params"] = params
    if ranges:
        values["ranges"] = ranges
    if strategy == RULE:
        values["rule"] = data.get("rule", "")
    for key in ("commission_pct", "slippage_pct", "cash"):
        if data.get(key, "").strip():
            values[key] = data[key].strip()
    sizing = data.get("sizing", "equity")
    if sizing == "fixed":
        values["size"] = data.get("size", "").strip() or None
        if values["size"] is None:
            errors["size"] = _("Give the number of units per trade")
    elif sizing == "risk":
        values["risk_pct"] = data.get("risk_pct", "").strip() or None
        if values["risk_pct"] is None:
            errors["risk_pct"] = _("Give the percent of equity to risk per trade")
    values["start"] = _day(data.get("start", ""), "start", errors)
    values["end"] = _day(data.get("end", ""), "end", errors, after=True)
    if kind == "grid":
        values["folds"] = data.get("folds", "").strip() or 4
        values["metric"] = data.get("metric", "sharpe")
        values["anchored"] = data.get("anchored") == "on"
    return values, errors


async def _index_context(uow: UoW, user: User, page: int) -> dict[str, Any]:
    runs = await backtest_service.page(uow.session, user, PageParams(page=page, size=PAGE_SIZE))
    return {
        "runs": runs,
        "active": any(r.status in ("queued", "running") for r in runs.items),
        "instruments": await backtest_service.form_instruments(uow.session),
        "strategies": strategy_catalog(),
        "timeframes": list(TIMEFRAMES),
        "metrics": METRICS,
        "max_combinations": MAX_COMBINATIONS,
        "max_compare": MAX_COMPARE,
    }


@router.get("", name="lab:backtests")
async def backtests_page(
    request: Request, uow: UoW, user: SignedIn, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> Response:
    context = await _index_context(uow, user, page)
    context |= {"form": DEFAULT_FORM, "errors": {}, "rule_error": None}
    block = "runs" if is_htmx(request) and request.headers.get("hx-target") == "runs" else None
    return render(request, "lab/backtests/index.html", context, block=block)


@router.post("", name="lab:backtest_create")
async def create_backtest(request: Request, uow: UoW, user: SignedIn) -> Response:
    data = await form_data(request)
    values, errors = form_values(data)
    rule_error: dict[str, Any] | None = None
    parsed, parse_errors = parse(BacktestCreate, values) if not errors else (None, {})
    errors |= parse_errors
    if parsed is not None:
        try:
            created = await backtest_service.create(uow.session, user, parsed)
        except RuleInvalid as exc:
            rule_error = exc.position
        except AppError as exc:
            errors["__all__"] = str(exc.detail)
        else:
            target = f"/lab/backtests/{created.id}"
            if is_htmx(request):
                return htmx.redirect(Response(status_code=204), target)
            return RedirectResponse(target, status_code=303)
    context = await _index_context(uow, user, 1)
    # An unticked checkbox is simply absent from the form, so the default must not tick it again.
    shown = {**DEFAULT_FORM, **data, "anchored": data.get("anchored", "")}
    context |= {"form": shown, "errors": errors, "rule_error": rule_error}
    return render(
        request,
        "lab/backtests/index.html",
        context,
        block="form" if is_htmx(request) else None,
        status_code=422,
    )


def _compare_ids(raw: list[str]) -> list[int]:
    ids: list[int] = []
    for part in ",".join(raw).split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) < 2**63:
            raise BadRequest(_("Runs to compare are given by their numbers, e.g. ?ids=1,2"))
        ids.append(int(part))
    return ids


def _curve_series(run: BacktestRead, key: str, label: str) -> dict[str, Any]:
    curve = (run.result or {}).get("curve") or {"t": [], key: []}
    return {"label": label, "t": curve["t"], "v": curve[key]}


def _growth_series(run: BacktestRead) -> dict[str, Any]:
    """The equity curve as percent gained since the start, so runs with other cash line up."""
    curve = (run.result or {}).get("curve") or {"t": [], "equity": []}
    first = next((v for v in curve["equity"] if v), None)
    values = [None if v is None or not first else (v / first - 1.0) * 100.0 for v in curve["equity"]]
    return {"label": f"#{run.id} {run.name}", "t": curve["t"], "v": values}


@router.get("/compare", name="lab:backtests_compare")
async def compare_page(
    request: Request,
    uow: UoW,
    user: SignedIn,
    ids: Annotated[list[str] | None, Query()] = None,
) -> Response:
    runs = await backtest_service.compare(uow.session, user, _compare_ids(ids or []))
    done = [r for r in runs if r.status == "done"]
    context = {
        "runs": runs,
        "growth": [_growth_series(r) for r in done],
        "metric_keys": METRICS,
        "max_compare": MAX_COMPARE,
    }
    return render(request, "lab/backtests/compare.html", context)


def heat_rows(heatmap: dict[str, Any], best: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The heatmap's rows with a colour per cell, red (worst) to green (best) for its metric."""
    grid: list[list[float | None]] = heatmap["values"]
    known = [v for row in grid for v in row if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 0.0)
    lower_is_better = heatmap["metric"] in LOWER_IS_BETTER
    best = best or {}
    rows = []
    for label, row in zip(heatmap["rows"], grid, strict=True):
        cells = []
        for column, value in zip(heatmap["columns"], row, strict=True):
            style = ""
            if value is not None:
                share = 0.5 if high == low else (value - low) / (high - low)
                hue = round((1.0 - share if lower_is_better else share) * 120)
                style = f"background-color: hsl({hue}, 65%, 82%)"
            is_best = best.get(heatmap["x"]) == label and (
                heatmap["y"] is None or best.get(heatmap["y"]) == column
            )
            cells.append({"value": value, "style": style, "best": is_best})
        rows.append({"label": label, "cells": cells})
    return rows


@router.get("/{run_id}", name="lab:backtest")
async def backtest_page(request: Request, run_id: RunId, uow: UoW, user: SignedIn) -> Response:
    run = await backtest_service.get(uow.session, user, run_id)
    context: dict[str, Any] = {"run": run, "result": run.result or {}}
    if run.status == "done":
        context["equity"] = [_curve_series(run, "equity", _("Equity"))]
        context["drawdown"] = [_curve_series(run, "drawdown", _("Drawdown, %"))]
        if run.kind == "grid":
            context["heat"] = heat_rows(context["result"]["heatmap"], context["result"].get("best_params"))
    return render(request, "lab/backtests/run.html", context, block="run" if is_htmx(request) else None)


@router.post("/{run_id}/delete", name="lab:backtest_delete")
async def delete_backtest(request: Request, run_id: RunId, uow: UoW, user: SignedIn) -> Response:
    await backtest_service.delete(uow.session, user, run_id)
    if is_htmx(request):
        return htmx.redirect(Response(status_code=204), "/lab/backtests")
    return RedirectResponse("/lab/backtests", status_code=303)
