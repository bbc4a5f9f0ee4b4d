"""`academy lab backtest`: the same figures as the engine called directly, and clear errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from academy.cli import app
from academy.trading.backtest import backtest
from academy.trading.rules import RuleStrategy
from academy.trading.strategy.base import run
from academy.trading.strategy.presets import make

RULE = "enter long when rsi(14) < 30; exit when rsi(14) > 70; stop 2 * atr(14); target 3 * atr(14)"

runner = CliRunner()


@pytest.fixture(scope="module")
def goog_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from backtesting.test import GOOG

    path = tmp_path_factory.mktemp("lab") / "goog.csv"
    GOOG.to_csv(path, index_label="Date")
    return path


def lab(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lab", "backtest", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def as_json(*args: str | Path) -> dict[str, object]:
    code, out, err = lab(*args, "--json")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, "exactly one JSON object"
    document = json.loads(lines[0])
    assert isinstance(document, dict)
    return document


def test_preset_json_matches_the_engine(goog_csv: Path, goog: pd.DataFrame) -> None:
    document = as_json("--csv", goog_csv, "--preset", "sma_cross", "--commission", "0.002")
    expected = backtest(goog, run(make("sma_cross"), goog), commission=0.002).metrics

    assert document["final_equity"] == pytest.approx(expected.final_equity, rel=1e-12)
    assert document["trades"] == expected.trades
    assert document["return_pct"] == pytest.approx(expected.total_return_pct, rel=1e-12)
    assert document["win_rate_pct"] == pytest.approx(expected.win_rate_pct, rel=1e-12)
    assert document["max_drawdown_pct"] == pytest.approx(expected.max_drawdown_pct, rel=1e-12)
    assert document["sharpe"] == pytest.approx(expected.sharpe, rel=1e-12)
    for key in ("cagr_pct", "sortino", "profit_factor", "expectancy_pct", "exposure_pct"):
        assert document[key] == pytest.approx(getattr(expected, key), rel=1e-12)
    # No stops: the expectancy in R cannot be computed, and NaN becomes null.
    assert document["expectancy_r"] is None
    assert document["bars"] == len(goog)


def test_preset_params_and_sizing_reach_the_engine(goog_csv: Path, goog: pd.DataFrame) -> None:
    document = as_json(
        "--csv", goog_csv, "--preset", "sma_cross", "--param", "fast=5", "--param", "slow=30",
        "--size", "10", "--cash", "50000", "--slippage", "0.001",
    )  # fmt: skip
    strategy = make("sma_cross", fast=5, slow=30)
    expected = backtest(goog, run(strategy, goog), cash=50_000, size=10, slippage=0.001).metrics
    assert document["final_equity"] == pytest.approx(expected.final_equity, rel=1e-12)
    assert document["trades"] == expected.trades
    assert "fast=5, slow=30" in str(document["strategy"])


def test_rule_with_risk_sizing(goog_csv: Path, goog: pd.DataFrame) -> None:
    document = as_json("--csv", goog_csv, "--rule", RULE, "--risk", "1", "--commission", "0.001")
    expected = backtest(goog, run(RuleStrategy(RULE), goog), risk_pct=1, commission=0.001).metrics
    assert document["trades"] == expected.trades > 0
    assert document["final_equity"] == pytest.approx(expected.final_equity, rel=1e-12)
    assert document["expectancy_r"] == pytest.approx(expected.expectancy_r, rel=1e-12)


def test_readable_report(goog_csv: Path) -> None:
    code, out, _ = lab("--csv", goog_csv, "--preset", "sma_cross", "--commission", "0.002")
    assert code == 0
    assert "sma_cross(fast=10, slow=20" in out
    assert "2,148 bars, 2004-08-19 to 2013-03-01" in out
    for label in ("final equity", "total return %", "Sharpe", "max drawdown %", "win rate %", "trades"):
        assert label in out
    assert "last 5 of 47 trades" in out
    assert "stop first" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--preset", "nope"), "unknown preset 'nope'; known presets: bollinger_breakout, macd_trend"),
        (("--preset", "sma_cross", "--param", "speed=3"), "sma_cross has no parameter speed; it takes fast"),
        (("--preset", "sma_cross", "--param", "fast"), "write it as name=value"),
        (("--preset", "sma_cross", "--param", "fast=ten"), "'ten' is not a number"),
        (("--preset", "sma_cross", "--param", "fast=30"), "fast must be shorter than slow"),
        (("--rule", RULE, "--param", "fast=3"), "a rule carries its own numbers"),
        (("--preset", "sma_cross", "--rule", RULE), "either --preset NAME or --rule TEXT"),
        ((), "either --preset NAME or --rule TEXT"),
        (("--preset", "sma_cross", "--size", "1", "--risk", "1"), "either --size or --risk"),
        (("--preset", "sma_cross", "--commission", "0.5"), "commission is a fraction"),
        (("--preset", "sma_cross", "--cash", "0"), "cash must be positive"),
    ],
)
def test_bad_input_exits_1_with_a_message(goog_csv: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = lab("--csv", goog_csv, *args)
    assert code == 1
    assert message in err
    assert out == ""


def test_rule_error_prints_the_caret_excerpt(goog_csv: Path) -> None:
    code, _, err = lab("--csv", goog_csv, "--rule", "enter long when rsi(14) < < 30")
    assert code == 1
    assert "line 1, column 27" in err
    lines = err.splitlines()
    source = next(i for i, line in enumerate(lines) if "enter long when rsi(14) < < 30" in line)
    assert lines[source + 1].index("^") == lines[source].index("< 30")


def test_data_source_errors(goog_csv: Path, tmp_path: Path) -> None:
    code, _, err = lab("--preset", "sma_cross")
    assert code == 1 and "either --csv FILE or --instrument SYMBOL --timeframe TF" in err

    both = ("--csv", goog_csv, "--instrument", "GOOG", "--timeframe", "1d")
    code, _, err = lab(*both, "--preset", "sma_cross")
    assert code == 1 and "either --csv FILE or --instrument" in err

    code, _, err = lab("--instrument", "GOOG", "--preset", "sma_cross")
    assert code == 1 and "--instrument needs --timeframe" in err

    code, _, err = lab("--instrument", "GOOG", "--timeframe", "7x", "--preset", "sma_cross")
    assert code == 1 and "Unknown timeframe '7x'" in err

    code, _, err = lab("--csv", tmp_path / "missing.csv", "--preset", "sma_cross")
    assert code == 1 and "missing.csv" in err

    broken = tmp_path / "broken.csv"
    broken.write_text("when,price\nyesterday,1\n")
    code, _, err = lab("--csv", broken, "--preset", "sma_cross")
    assert code == 1 and err.startswith("error: ")


async def test_stored_instrument_bars(settings, goog: pd.DataFrame) -> None:
    from academy.kit import db
    from academy.kit.uow import UnitOfWork
    from academy.trading.market_data.service import market_data_service

    async with UnitOfWork() as uow:
        for venue in ("nasdaq", "xetra"):
            instrument = await market_data_service.ensure_instrument(
                uow.session,
                symbol="GOOG",
                venue=venue,
                asset_class="stock",
                tick_size=0.01,
                quote_currency="usd",
            )
            await market_data_service.upsert_bars(uow.session, instrument, "1d", goog)

    def stored(symbol: str, timeframe: str = "1d") -> tuple[int, str, str]:
        return lab("--instrument", symbol, "--timeframe", timeframe, "--preset", "sma_cross")

    # The command runs its own event loop and database engine, as it does from a shell.
    await db.close()
    try:
        code, out, err = await asyncio.to_thread(stored, "nasdaq:GOOG")
        _, _, ambiguous = await asyncio.to_thread(stored, "goog")
        _, _, unknown = await asyncio.to_thread(stored, "MSFT")
        _, _, empty = await asyncio.to_thread(stored, "xetra:GOOG", "1h")
    finally:
        db.configure(settings.database_url)

    assert code == 0, err
    assert "nasdaq:GOOG 1d: 2,148 bars, 2004-08-19 to 2013-03-01" in out
    expected = backtest(goog, run(make("sma_cross"), goog)).metrics
    assert f"{expected.final_equity:,.2f}" in out
    assert "several venues (nasdaq, xetra); write VENUE:SYMBOL" in ambiguous
    assert "no stored instrument MSFT; stored instruments: nasdaq:GOOG, xetra:GOOG" in unknown
    assert "no 1h bars stored for xetra:GOOG 1h" in empty
