"""Backtests as jobs through the JSON API: the stored result is the engine's, progress shows while the
job runs, mistakes are clear 422s, and nobody sees anybody else's runs."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from academy.kit import jobs
from academy.models import Role
from academy.trading.backtest import backtest
from academy.trading.backtest.optimize import optimize
from academy.trading.backtest.service import MAX_CURVE_POINTS, backtest_service, sample_positions
from academy.trading.rules import RuleStrategy
from academy.trading.strategy.base import run
from academy.trading.strategy.presets import make
from tests.fixtures.app import api_login, make_user

URL = "/api/v1/backtests"


def body(market: Any, **extra: Any) -> dict[str, Any]:
    return {
        "instrument_id": market.instrument_id,
        "timeframe": "1d",
        "strategy": "sma_cross",
        "params": {"fast": 10, "slow": 30},
        **extra,
    }


def assert_same_metrics(stored: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if isinstance(value, float) and not math.isfinite(value):
            assert stored[key] is None, key
        else:
            assert stored[key] == pytest.approx(value, rel=1e-12), key


async def signed_in_headers(client: Any, role: Role = Role.student) -> tuple[Any, dict[str, str]]:
    user = await make_user(role=role)
    return user, await api_login(client, user.email)


async def test_a_run_stores_what_the_engine_computes(client, market):
    _, headers = await signed_in_headers(client)
    r = await client.post(URL, json=body(market, commission_pct=0.1, slippage_pct=0.05), headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "queued" and created["instrument"]["simulated"] is True

    # Jobs run inline in tests, right after the request's commit.
    r = await client.get(f"{URL}/{created['id']}", headers=headers)
    run_ = r.json()
    assert run_["status"] == "done", run_["error"]
    assert run_["progress"] == 1.0 and run_["started_at"] and run_["finished_at"]

    bars = market.bars
    expected = backtest(
        bars, run(make("sma_cross", fast=10, slow=30), bars), cash=10_000, commission=0.001, slippage=0.0005
    )
    result = run_["result"]
    assert_same_metrics(result["metrics"], expected.metrics.as_dict())
    assert result["trades_total"] == len(expected.trades) == len(result["trades"]) > 0
    first = expected.trades[0]
    assert result["trades"][0]["entry_price"] == pytest.approx(first.entry_price, rel=1e-12)
    assert result["trades"][0]["pnl"] == pytest.approx(first.pnl, rel=1e-12)
    assert result["bars"] == len(bars)
    curve = result["curve"]
    assert len(curve["t"]) == len(curve["equity"]) == len(curve["drawdown"]) == len(bars)
    assert curve["equity"][-1] == pytest.approx(expected.metrics.final_equity, rel=1e-12)
    assert max(curve["drawdown"]) == pytest.approx(expected.metrics.max_drawdown_pct, rel=1e-12)
    assert run_["headline"]["trades"] == expected.metrics.trades


async def test_a_rule_runs_and_a_broken_rule_is_a_422_with_its_position(client, market):
    _, headers = await signed_in_headers(client)
    text = "enter long when close crosses_above sma(20); exit when close crosses_below sma(20)"
    r = await client.post(URL, json=body(market, strategy="rule", params={}, rule=text), headers=headers)
    assert r.status_code == 201, r.text
    stored = (await client.get(f"{URL}/{r.json()['id']}", headers=headers)).json()
    expected = backtest(market.bars, run(RuleStrategy(text), market.bars))
    assert_same_metrics(stored["result"]["metrics"], expected.metrics.as_dict())

    broken = "enter long when rsi(14) < < 30"
    r = await client.post(URL, json=body(market, strategy="rule", params={}, rule=broken), headers=headers)
    assert r.status_code == 422
    error = r.json()
    assert error["error"] == "RuleInvalid"
    detail = error["detail"]
    assert (detail["field"], detail["line"], detail["column"]) == ("rule", 1, 27)
    source, caret = detail["excerpt"].splitlines()
    assert caret.index("^") == source.index("< 30")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "moon_phase"}, "unknown strategy 'moon_phase'"),
        ({"params": {"speed": 3}}, "sma_cross has no parameter speed; it takes fast"),
        ({"params": {"fast": 30, "slow": 20}}, "fast must be shorter than slow"),
        ({"params": {"fast": 0}}, "fast must be at least 1"),
        ({"timeframe": "7x"}, "unknown timeframe '7x'"),
        ({"timeframe": "1h"}, "has no 1h bars"),
        ({"instrument_id": 999_999}, "There is no instrument 999999"),
        ({"size": 1, "risk_pct": 1}, "either a fixed size or a risk percent"),
        ({"commission_pct": 20}, "less than 10"),
        (
            {"strategy": "rule", "params": {"fast": 3}, "rule": "enter long when close > 1"},
            "takes no parameters",
        ),
        ({"start": "2021-01-01T00:00:00Z", "end": "2020-01-01T00:00:00Z"}, "must be after its start"),
        ({"start": "2030-01-01T00:00:00Z"}, "no 1d bars in that date range"),
        ({"kind": "grid"}, "needs a range for at least one parameter"),
        ({"ranges": {"fast": {"start": 5, "stop": 10, "step": 5}}}, "ranges are for a grid search"),
        (
            {"kind": "grid", "params": {}, "ranges": {"fast": {"start": 20, "stop": 5, "step": 5}}},
            "stop must not be below start",
        ),
        (
            {"kind": "grid", "params": {}, "ranges": {"fast": {"start": 1, "stop": 5, "step": 0.5}}},
            "fast takes whole numbers",
        ),
        (
            {
                "kind": "grid",
                "params": {},
                "ranges": {
                    "fast": {"start": 1, "stop": 30, "step": 1},
                    "slow": {"start": 31, "stop": 60, "step": 1},
                },
            },
            "900 combinations; at most 400",
        ),
        (
            {
                "kind": "grid",
                "params": {},
                "ranges": {
                    "fast": {"start": 30, "stop": 40, "step": 5},
                    "slow": {"start": 10, "stop": 20, "step": 5},
                },
            },
            "rejects every combination",
        ),
        (
            {
                "kind": "grid",
                "strategy": "ml_gbm",
                "params": {},
                "ranges": {"horizon": {"start": 1, "stop": 3, "step": 1}},
            },
            "grid search takes a preset",
        ),
    ],
)
async def test_bad_requests_are_clear_422s(client, market, change, message):
    _, headers = await signed_in_headers(client)
    r = await client.post(URL, json=body(market, **change), headers=headers)
    assert r.status_code == 422, r.text
    assert message in r.text
    listing = (await client.get(URL, headers=headers)).json()
    assert listing["total"] == 0


async def test_a_grid_too_large_for_the_bars_is_refused(client, market, monkeypatch):
    from academy.trading.backtest import service

    monkeypatch.setattr(service, "GRID_BUDGET", 10 * len(market.bars))
    _, headers = await signed_in_headers(client)
    grid = {"fast": {"start": 5, "stop": 15, "step": 5}, "slow": {"start": 30, "stop": 60, "step": 10}}
    r = await client.post(URL, json=body(market, kind="grid", params={}, ranges=grid), headers=headers)
    assert r.status_code == 422
    assert "12 combinations over 600 bars" in r.json()["detail"]


async def test_progress_is_written_and_visible_while_the_job_runs(
    client, market, recorder, monkeypatch, no_rate_limit
):
    monkeypatch.setattr(backtest_service, "progress_interval", 0.005)
    _, headers = await signed_in_headers(client)
    grid = {"fast": {"start": 2, "stop": 12, "step": 2}, "slow": {"start": 25, "stop": 50, "step": 5}}
    r = await client.post(URL, json=body(market, kind="grid", params={}, ranges=grid), headers=headers)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    assert recorder.sent == [("backtest.run", (run_id,))]
    assert (await client.get(f"{URL}/{run_id}", headers=headers)).json()["status"] == "queued"

    job = asyncio.create_task(jobs.run_task("backtest.run", run_id))
    seen: list[tuple[str, float]] = []
    while not job.done():
        state = (await client.get(f"{URL}/{run_id}", headers=headers)).json()
        seen.append((state["status"], state["progress"]))
        await asyncio.sleep(0.01)
    assert await job == "done"
    final = (await client.get(f"{URL}/{run_id}", headers=headers)).json()
    assert (final["status"], final["progress"]) == ("done", 1.0)

    midway = [p for status, p in seen if status == "running" and 0 < p < 1]
    assert midway, f"no progress seen while running: {seen[:5]}…"
    progress = [p for _, p in seen]
    assert progress == sorted(progress), "progress never goes back"


async def test_a_grid_run_stores_the_heatmap_and_the_out_of_sample_result(client, market):
    _, headers = await signed_in_headers(client)
    grid = {"fast": {"start": 5, "stop": 15, "step": 5}, "slow": {"start": 30, "stop": 50, "step": 10}}
    r = await client.post(
        URL,
        json=body(
            market, kind="grid", params={"stop_atr": 2}, ranges=grid, folds=3, metric="total_return_pct"
        ),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    stored = (await client.get(f"{URL}/{r.json()['id']}", headers=headers)).json()
    assert stored["status"] == "done", stored["error"]
    result = stored["result"]

    expected = optimize(
        market.bars,
        "sma_cross",
        {"fast": [5, 10, 15], "slow": [30, 40, 50]},
        metric="total_return_pct",
        folds=3,
        fixed={"stop_atr": 2},
    )
    heat = result["heatmap"]
    assert (heat["x"], heat["y"], heat["rows"], heat["columns"]) == (
        "fast",
        "slow",
        [5, 10, 15],
        [30, 40, 50],
    )
    assert heat["values"] == [
        [pytest.approx(v, rel=1e-12) for v in row] for row in expected.heatmap.to_numpy()
    ]
    assert result["best_params"] == expected.best_params
    assert_same_metrics(result["metrics"], expected.oos_metrics.as_dict())
    assert len(result["folds"]) == 3
    assert [f["params"] for f in result["folds"]] == [f.params for f in expected.folds]
    assert result["trades_total"] == len(expected.oos_trades)
    assert result["combinations"] == 9


async def test_a_run_that_cannot_work_fails_with_a_readable_error(client, market):
    _, headers = await signed_in_headers(client)
    grid = {"fast": {"start": 2, "stop": 4, "step": 1}}
    r = await client.post(
        URL,
        json=body(market, instrument_id=market.short_id, kind="grid", params={}, ranges=grid, folds=10),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    stored = (await client.get(f"{URL}/{r.json()['id']}", headers=headers)).json()
    assert stored["status"] == "failed"
    assert "15 bars are too few for 10 folds" in stored["error"]
    assert stored["result"] is None


async def test_a_finished_run_is_not_run_again_on_redelivery(client, market):
    _, headers = await signed_in_headers(client)
    run_id = (await client.post(URL, json=body(market), headers=headers)).json()["id"]
    before = (await client.get(f"{URL}/{run_id}", headers=headers)).json()
    assert before["status"] == "done"
    assert await jobs.run_task("backtest.run", run_id) == "done"
    after = (await client.get(f"{URL}/{run_id}", headers=headers)).json()
    assert after["finished_at"] == before["finished_at"] and after["result"] == before["result"]


async def test_deleting_a_running_run_stops_its_job(client, market, recorder, monkeypatch, no_rate_limit):
    monkeypatch.setattr(backtest_service, "progress_interval", 0.005)
    _, headers = await signed_in_headers(client)
    grid = {"fast": {"start": 2, "stop": 12, "step": 2}, "slow": {"start": 25, "stop": 50, "step": 5}}
    run_id = (
        await client.post(URL, json=body(market, kind="grid", params={}, ranges=grid), headers=headers)
    ).json()["id"]
    job = asyncio.create_task(jobs.run_task("backtest.run", run_id))
    while (await client.get(f"{URL}/{run_id}", headers=headers)).json()["status"] == "queued":
        await asyncio.sleep(0.002)
    assert (await client.delete(f"{URL}/{run_id}", headers=headers)).status_code == 204
    assert await job == "gone"
    assert (await client.get(f"{URL}/{run_id}", headers=headers)).status_code == 404


async def test_people_see_only_their_own_runs(client, market):
    owner, owner_headers = await signed_in_headers(client)
    _, other_headers = await signed_in_headers(client)
    _, admin_headers = await signed_in_headers(client, Role.admin)
    run_id = (await client.post(URL, json=body(market), headers=owner_headers)).json()["id"]

    assert (await client.get(f"{URL}/{run_id}", headers=other_headers)).status_code == 404
    assert (await client.delete(f"{URL}/{run_id}", headers=other_headers)).status_code == 404
    assert (await client.get(URL, headers=other_headers)).json()["total"] == 0
    mine = (await client.get(URL, headers=owner_headers)).json()
    assert [item["id"] for item in mine["items"]] == [run_id] and "result" not in mine["items"][0]
    assert (await client.get(f"{URL}/{run_id}", headers=admin_headers)).json()["user_id"] == owner.id
    assert (await client.get(f"{URL}/{run_id}")).status_code == 401

    assert (await client.delete(f"{URL}/{run_id}", headers=owner_headers)).status_code == 204
    assert (await client.get(f"{URL}/{run_id}", headers=owner_headers)).status_code == 404


async def test_the_list_is_paginated_newest_first(client, market, recorder):
    _, headers = await signed_in_headers(client)
    ids = []
    for fast in (5, 6, 7):
        r = await client.post(URL, json=body(market, params={"fast": fast, "slow": 30}), headers=headers)
        ids.append(r.json()["id"])
    # Three runs are waiting: a fourth is refused until one finishes.
    r = await client.post(URL, json=body(market), headers=headers)
    assert r.status_code == 409
    page = (await client.get(URL, params={"page": 2, "size": 2}, headers=headers)).json()
    assert (page["total"], page["page"], [i["id"] for i in page["items"]]) == (3, 2, [ids[0]])


def test_downsampling_keeps_the_deepest_drawdown_and_the_last_bar():
    drawdown = [0.0] * 5000
    drawdown[1234] = 40.0
    positions = sample_positions(__import__("numpy").array(drawdown))
    assert len(positions) <= MAX_CURVE_POINTS
    assert 1234 in positions and 4999 in positions and 0 in positions
