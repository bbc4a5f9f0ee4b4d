"""Backtest pages: the form runs a job, the run page polls until done, compare shows runs side by side."""

from __future__ import annotations

import re
from typing import Any

from tests.fixtures.app import api_login, csrf, make_user, page_login


async def signed_in_browser(client: Any) -> Any:
    user = await make_user()
    await page_login(client, user.email)
    return user


def form(market: Any, **extra: str) -> dict[str, str]:
    return {
        "instrument_id": str(market.instrument_id),
        "timeframe": "1d",
        "strategy": "sma_cross",
        "p.sma_cross.fast": "10",
        "p.sma_cross.slow": "30",
        "commission_pct": "0.1",
        "slippage_pct": "0",
        "sizing": "equity",
        "cash": "10000",
        **extra,
    }


async def submit(client: Any, data: dict[str, str], **headers: str) -> Any:
    token = await csrf(client, "/lab/backtests")
    return await client.post("/lab/backtests", data={**data, "csrf_token": token}, headers=headers)


async def test_the_list_page_has_an_empty_state_the_notice_and_the_form(client, market):
    await signed_in_browser(client)
    r = await client.get("/lab/backtests")
    assert r.status_code == 200
    assert 'data-testid="nfa-notice"' in r.text and 'data-testid="no-runs"' in r.text
    assert "BTCUSD-SIM" in r.text and 'name="p.rsi_reversion.period"' in r.text


async def test_the_form_runs_a_backtest_and_its_page_shows_the_result(client, market):
    await signed_in_browser(client)
    r = await submit(client, form(market, name="My first"))
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/lab/backtests/\d+", location)

    page = await client.get(location)
    assert page.status_code == 200
    text = page.text
    assert 'data-status="done"' in text and "My first" in text
    for key in ("total_return_pct", "cagr_pct", "sharpe", "sortino", "max_drawdown_pct", "win_rate_pct"):
        assert f'data-metric="{key}"' in text
    assert (
        'data-chart="line"' in text and 'id="bt-equity-' in text and "/static/vendor/chart.umd.min.js" in text
    )
    assert 'data-testid="nfa-notice"' in text and "bg-purple-lt" in text  # simulated badge
    assert 'data-testid="trades"' in text

    listing = await client.get("/lab/backtests")
    assert 'data-testid="run-row"' in listing.text and "My first" in listing.text
    runs = await client.get("/lab/backtests", headers={"HX-Request": "true", "HX-Target": "runs"})
    assert runs.status_code == 200 and "<html" not in runs.text and 'data-testid="run-row"' in runs.text


async def test_a_broken_rule_comes_back_with_the_error_at_its_position(client, market):
    await signed_in_browser(client)
    data = form(market, strategy="rule", rule="enter long when rsi(14) < < 30")
    r = await submit(client, data, **{"HX-Request": "true"})
    assert r.status_code == 422
    assert 'data-error-line="1"' in r.text and 'data-error-column="27"' in r.text
    assert 'data-testid="rule-excerpt"' in r.text and "^" in r.text
    assert "<html" not in r.text, "an HTMX request gets the form block only"
    assert "enter long when rsi(14) &lt; &lt; 30" in r.text, "what was typed is kept"


async def test_field_errors_and_service_errors_are_shown_on_the_form(client, market):
    await signed_in_browser(client)
    r = await submit(client, form(market, cash="-5", sizing="risk", risk_pct=""))
    assert r.status_code == 422
    assert "Give the percent of equity to risk per trade" in r.text
    r = await submit(client, form(market, timeframe="1h"))
    assert r.status_code == 422
    assert 'data-testid="form-error"' in r.text and "has no 1h bars" in r.text


async def test_a_queued_run_polls_and_a_grid_run_shows_its_heatmap(client, market, recorder):
    await signed_in_browser(client)
    data = form(
        market,
        kind="grid",
        **{
            "g.sma_cross.fast.start": "5",
            "g.sma_cross.fast.stop": "15",
            "g.sma_cross.fast.step": "5",
            "g.sma_cross.slow.start": "30",
            "g.sma_cross.slow.stop": "50",
            "g.sma_cross.slow.step": "10",
            "folds": "3",
            "metric": "sharpe",
            "anchored": "on",
        },
    )
    r = await submit(client, data)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    run_id = int(location.rsplit("/", 1)[1])

    fragment = await client.get(location, headers={"HX-Request": "true"})
    assert 'data-status="queued"' in fragment.text and 'hx-trigger="every 1s"' in fragment.text
    assert "<html" not in fragment.text

    from academy.kit import jobs

    assert await jobs.run_task("backtest.run", run_id) == "done"
    fragment = await client.get(location, headers={"HX-Request": "true"})
    assert 'data-status="done"' in fragment.text and "hx-trigger" not in fragment.text
    assert 'data-testid="heatmap"' in fragment.text and 'data-testid="folds"' in fragment.text
    assert "background-color: hsl(" in fragment.text


async def test_compare_shows_runs_side_by_side(client, market):
    user = await signed_in_browser(client)
    ids = []
    for fast in ("5", "10"):
        r = await submit(client, form(market, **{"p.sma_cross.fast": fast}))
        ids.append(int(r.headers["location"].rsplit("/", 1)[1]))
    r = await client.get("/lab/backtests/compare", params={"ids": f"{ids[0]},{ids[1]}"})
    assert r.status_code == 200
    assert 'data-testid="compare-table"' in r.text and 'id="bt-compare"' in r.text
    for run_id in ids:
        assert f'data-run="{run_id}" data-metric="sharpe"' in r.text
    # The checkbox form sends ids=1&ids=2, which means the same.
    r = await client.get("/lab/backtests/compare", params=[("ids", str(ids[0])), ("ids", str(ids[1]))])
    assert 'data-testid="compare-table"' in r.text
    empty = await client.get("/lab/backtests/compare")
    assert empty.status_code == 200 and 'data-testid="compare-empty"' in empty.text

    other = await make_user()
    headers = await api_login(client, other.email)
    assert headers and user.id != other.id
    await page_login(client, other.email)
    assert (
        await client.get("/lab/backtests/compare", params={"ids": f"{ids[0]},{ids[1]}"})
    ).status_code == 404
    assert (await client.get(f"/lab/backtests/{ids[0]}")).status_code == 404


async def test_deleting_from_the_run_page(client, market):
    await signed_in_browser(client)
    location = (await submit(client, form(market))).headers["location"]
    token = await csrf(client, location)
    r = await client.post(f"{location}/delete", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/lab/backtests"
    assert (await client.get(location)).status_code == 404


async def test_pages_need_a_sign_in(client, market):
    r = await client.get("/lab/backtests")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
