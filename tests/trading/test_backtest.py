"""The backtest engine: parity with the `backtesting` package, determinism, fills and metrics."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from academy.trading import indicators as ind
from academy.trading.backtest import STOP_RULE, BacktestError, backtest
from academy.trading.backtest import metrics as m
from academy.trading.strategy.base import Param, Signals, Strategy, run

COMMISSION = 0.002


class SmaCross(Strategy):
    """Long on a strict cross above, short on a strict cross below: `backtesting.lib.crossover`."""

    name = "sma_cross_parity"
    params = {"fast": Param(10, 1), "slow": Param(20, 2)}

    @property
    def warmup(self) -> int:
        return int(self.values["slow"])

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        close = frame["close"].to_numpy(dtype=float)
        fast = ind.sma(close, self.values["fast"])
        slow = ind.sma(close, self.values["slow"])
        prev_fast = np.concatenate(([np.nan], fast[:-1]))
        prev_slow = np.concatenate(([np.nan], slow[:-1]))
        signals = Signals(frame.index)
        signals.entry[(prev_fast < prev_slow) & (fast > slow)] = 1
        signals.entry[(prev_fast > prev_slow) & (fast < slow)] = -1
        return signals.frame()


def run_oracle() -> pd.Series:
    from backtesting import Backtest
    from backtesting import Strategy as OracleStrategy
    from backtesting.lib import crossover
    from backtesting.test import GOOG, SMA

    class OracleSmaCross(OracleStrategy):
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, 10)
            self.slow = self.I(SMA, self.data.Close, 20)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    # trade_on_close=False: market orders fill at the next bar's open, our rule.
    # exclusive_orders=False: the strategy closes the old position itself before the new order,
    # exactly like our reversal; with True the package would do the same close implicitly.
    # finalize_trades=False: with True the package closes the last trade at the last bar's OPEN
    # (it re-runs the last bar's broker step), which no engine that marks at the close can
    # match. With False it leaves that trade open, marks it at the last close without an exit
    # commission and keeps it out of "# Trades" and "Win Rate"; the test accounts for that below.
    bt = Backtest(
        GOOG,
        OracleSmaCross,
        cash=10_000,
        commission=COMMISSION,
        spread=0.0,
        margin=1.0,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return bt.run()


def test_parity_with_backtesting_package_reporting_the_last_trade_open(goog: pd.DataFrame) -> None:
    """Both engines leave the last position open: the headline figures match exactly."""
    oracle = run_oracle()
    signals = run(SmaCross(), goog)
    result = backtest(goog, signals, cash=10_000, commission=COMMISSION, whole_units=True, close_at_end=False)

    assert not result.closed_at_end and result.open_position is not None
    assert result.metrics.final_equity == pytest.approx(oracle["Equity Final [$]"], rel=1e-12)
    assert result.metrics.total_return_pct == pytest.approx(oracle["Return [%]"], rel=1e-12)
    assert result.metrics.trades == oracle["# Trades"] == 93
    assert result.metrics.win_rate_pct == pytest.approx(oracle["Win Rate [%]"], abs=1e-12)
    # The open position is the reversal of the oracle's last closed trade.
    assert result.open_position.side == -int(np.sign(oracle["_trades"]["Size"].iloc[-1]))


def test_parity_with_backtesting_package_on_goog(goog: pd.DataFrame) -> None:
    oracle = run_oracle()
    signals = run(SmaCross(), goog)
    result = backtest(goog, signals, cash=10_000, commission=COMMISSION, whole_units=True)

    trades = result.trades_frame()
    assert result.closed_at_end
    assert trades["exit_reason"].iloc[-1] == "end"
    closed = trades.iloc[:-1]
    assert (closed["exit_reason"] == "reversal").all()

    assert len(closed) == oracle["# Trades"]
    assert (closed["pnl"] > 0).mean() * 100 == pytest.approx(oracle["Win Rate [%]"], abs=1e-12)

    expected = oracle["_trades"]
    np.testing.assert_array_equal(closed["units"] * closed["side"], expected["Size"])
    np.testing.assert_array_equal(closed["entry_bar"], expected["EntryBar"])
    np.testing.assert_array_equal(closed["exit_bar"], expected["ExitBar"])
    np.testing.assert_allclose(closed["entry_price"], expected["EntryPrice"], rtol=0, atol=0)
    np.testing.assert_allclose(closed["exit_price"], expected["ExitPrice"], rtol=0, atol=0)
    np.testing.assert_allclose(closed["pnl"], expected["PnL"], rtol=1e-12)
    np.testing.assert_allclose(closed["return_pct"], expected["ReturnPct"] * 100, rtol=1e-9, atol=1e-12)

    # Every bar but the last: the oracle's last bar holds the open trade without its exit cost.
    np.testing.assert_allclose(
        result.equity.to_numpy()[:-1], oracle["_equity_curve"]["Equity"].to_numpy()[:-1], rtol=1e-12
    )
    end = result.trades[-1]
    exit_commission = end.units * goog["close"].iloc[-1] * COMMISSION
    assert result.metrics.final_equity == pytest.approx(
        oracle["Equity Final [$]"] - exit_commission, rel=1e-12
    )
    assert result.metrics.total_return_pct == pytest.approx(
        oracle["Return [%]"] - exit_commission / 10_000 * 100, rel=1e-12
    )
    assert result.metrics.max_drawdown_pct == pytest.approx(-oracle["Max. Drawdown [%]"], rel=1e-9)


def test_same_input_gives_identical_result(goog: pd.DataFrame) -> None:
    signals = run(SmaCross(fast=5, slow=30), goog)
    atr = ind.atr(goog["high"].to_numpy(), goog["low"].to_numpy(), goog["close"].to_numpy(), 14)
    signals["stop"] = np.where(signals["entry"] != 0, 2 * atr, np.nan)
    signals["target"] = np.where(signals["entry"] != 0, 3 * atr, np.nan)
    bars_before, signals_before = goog.copy(), signals.copy()

    first = backtest(goog, signals, commission=0.001, slippage=0.0005, risk_pct=2.0)
    second = backtest(goog, signals, commission=0.001, slippage=0.0005, risk_pct=2.0)

    assert first.equity.equals(second.equity)
    assert first.trades_frame().equals(second.trades_frame())
    assert pd.Series(first.metrics.as_dict()).equals(pd.Series(second.metrics.as_dict()))
    assert first.skipped == second.skipped
    assert {t.exit_reason for t in first.trades} >= {"stop", "target"}
    pd.testing.assert_frame_equal(goog, bars_before)
    pd.testing.assert_frame_equal(signals, signals_before)


def make_bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(rows), freq="1D", tz="UTC")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1.0
    return frame


def make_signals(
    bars: pd.DataFrame,
    entries: dict[int, tuple[int, float, float]] | None = None,
    exits: tuple[int, ...] = (),
) -> pd.DataFrame:
    signals = Signals(bars.index)
    for bar, (side, stop, target) in (entries or {}).items():
        signals.entry[bar] = side
        signals.stop[bar] = stop
        signals.target[bar] = target
    for bar in exits:
        signals.exit[bar] = True
    return signals.frame()


FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)


@pytest.mark.parametrize(("side", "stop_price"), [(1, 95.0), (-1, 105.0)])
def test_bar_touching_stop_and_target_takes_the_stop(side: int, stop_price: float) -> None:
    bars = make_bars([FLAT, QUIET, (100.0, 106.0, 94.0, 100.0), FLAT])
    result = backtest(bars, make_signals(bars, {0: (side, 5.0, 5.0)}), size=10)

    (trade,) = result.trades
    assert (trade.exit_reason, trade.exit_bar, trade.exit_price) == ("stop", 2, stop_price)
    assert trade.pnl == -50.0
    assert trade.r_multiple == -1.0
    assert result.equity.iloc[-1] == 9_950.0
    assert result.stop_rule == STOP_RULE
    assert "stop first" in STOP_RULE


@pytest.mark.parametrize(
    ("side", "gap_open", "slippage"), [(1, 90.0, 0.0), (-1, 110.0, 0.0), (1, 90.0, 0.01)]
)
def test_gap_through_the_stop_fills_at_the_open(side: int, gap_open: float, slippage: float) -> None:
    bars = make_bars([FLAT, FLAT, QUIET, (gap_open, gap_open + 2, gap_open - 2, gap_open), FLAT])
    result = backtest(bars, make_signals(bars, {0: (side, 5.0, np.nan)}), size=10, slippage=slippage)

    (trade,) = result.trades
    entry_fill = 100.0 * (1 + side * slippage)
    exit_fill = gap_open * (1 - side * slippage)
    assert trade.entry_price == pytest.approx(entry_fill)
    assert (trade.exit_reason, trade.exit_bar) == ("stop", 3)
    assert trade.exit_price == pytest.approx(exit_fill)
    assert trade.pnl == pytest.approx(side * 10 * (exit_fill - entry_fill))
    assert trade.r_multiple == pytest.approx(side * (exit_fill - entry_fill) / 5.0)


def test_target_hit_fills_at_the_target_and_a_gap_beyond_it_at_the_open() -> None:
    bars = make_bars([FLAT, QUIET, (101.0, 106.0, 100.5, 105.5), FLAT])
    (trade,) = backtest(bars, make_signals(bars, {0: (1, 5.0, 4.0)}), size=10, slippage=0.01).trades
    assert (trade.exit_reason, trade.exit_bar) == ("target", 2)
    # A target is a limit order: its price, without slippage.
    assert trade.exit_price == pytest.approx(101.0 + 4.0)

    bars = make_bars([FLAT, QUIET, (97.0, 98.0, 96.0, 97.0), FLAT])
    (trade,) = backtest(bars, make_signals(bars, {0: (-1, 5.0, 2.0)}), size=10).trades
    assert (trade.exit_reason, trade.exit_price) == ("target", 97.0)
    assert trade.pnl == 30.0
    assert trade.r_multiple == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("stop", "commission", "slippage", "units"),
    [
        # 1 % of 10,000 = 100 at risk; per unit: 2 stop + 0.100 + 0.098 commission = 2.198 -> 45.
        (2.0, 0.001, 0.0, 45),
        # fill 101, stop 99, stop fill 98.01: 2.99 + (101 + 98.01) * 0.001 = 3.18901 -> 31.
        (2.0, 0.001, 0.01, 31),
        # 0.5 + 0.1 + 0.0995 per unit would allow 142, but 10,000 buys only 99 at 100.1.
        (0.5, 0.001, 0.0, 99),
    ],
)
def test_risk_pct_sizing(stop: float, commission: float, slippage: float, units: int) -> None:
    bars = make_bars([FLAT, FLAT, (100.0, 100.0, 90.0, 95.0), (95.0, 95.0, 95.0, 95.0)])
    result = backtest(
        bars,
        make_signals(bars, {0: (1, stop, np.nan)}),
        risk_pct=1.0,
        commission=commission,
        slippage=slippage,
    )
    (trade,) = result.trades
    assert trade.units == units
    assert trade.exit_reason == "stop"
    assert trade.pnl >= -100.0


def test_risk_pct_loss_at_the_stop_and_skipped_entries_without_a_stop() -> None:
    bars = make_bars([FLAT, FLAT, (100.0, 100.0, 90.0, 95.0), FLAT, FLAT, FLAT])
    signals = make_signals(bars, {0: (1, 2.0, np.nan), 3: (1, np.nan, np.nan)})
    result = backtest(bars, signals, risk_pct=1.0, commission=0.001)

    (trade,) = result.trades
    assert trade.pnl == pytest.approx(45 * (98 - 100) - 45 * 100 * 0.001 - 45 * 98 * 0.001)
    assert trade.pnl == pytest.approx(-98.91)
    assert trade.r_multiple == pytest.approx(-98.91 / 90)
    assert result.metrics.final_equity == pytest.approx(9_901.09)
    assert [(s.bar, s.reason) for s in result.skipped] == [(3, "no stop for risk sizing")]


FIVE_BARS = [(o, o + 1, o - 1, o + 0.5) for o in (100.0, 101.0, 102.0, 103.0, 104.0)]


@pytest.mark.parametrize(
    ("commission", "slippage", "final"),
    [
        (0.0, 0.0, 10_020.0),
        # 0.1 % of 1,010 in and of 1,030 out.
        (0.001, 0.0, 10_020.0 - 1.01 - 1.03),
        # in at 102.01, out at 101.97: 10 * -0.04.
        (0.0, 0.01, 9_999.6),
        (0.001, 0.01, 9_999.6 - 1.0201 - 1.0197),
    ],
)
def test_commission_and_slippage_cost_exactly_what_they_should(
    commission: float, slippage: float, final: float
) -> None:
    bars = make_bars(FIVE_BARS)
    signals = make_signals(bars, {0: (1, np.nan, np.nan)}, exits=(2,))
    result = backtest(bars, signals, size=10, commission=commission, slippage=slippage)

    entry = 101.0 * (1 + slippage)
    entry_cost = 10 * entry * commission
    expected_curve = [
        10_000.0,
        10_000.0 - entry_cost + 10 * (101.5 - entry),
        10_000.0 - entry_cost + 10 * (102.5 - entry),
        final,
        final,
    ]
    np.testing.assert_allclose(result.equity.to_numpy(), expected_curve, rtol=1e-12)
    (trade,) = result.trades
    assert (trade.exit_reason, trade.exit_bar) == ("signal", 3)
    assert trade.commission == pytest.approx(10_000.0 + 10 * (103 * (1 - slippage) - entry) - final)
    assert result.metrics.final_equity == pytest.approx(final, rel=1e-12)
    assert result.metrics.exposure_pct == 60.0


def test_reversal_end_of_data_and_no_shorts() -> None:
    bars = make_bars(FIVE_BARS)
    signals = make_signals(bars, {0: (1, np.nan, np.nan), 1: (1, np.nan, np.nan), 2: (-1, np.nan, np.nan)})
    result = backtest(bars, signals, size=1)
    assert [(t.side, t.entry_bar, t.exit_bar, t.exit_reason) for t in result.trades] == [
        (1, 1, 3, "reversal"),
        (-1, 3, 4, "end"),
    ]
    assert result.trades[-1].exit_price == 104.5
    assert result.closed_at_end

    longs_only = backtest(bars, signals, size=1, allow_short=False)
    assert [(t.side, t.exit_bar, t.exit_reason) for t in longs_only.trades] == [(1, 3, "signal")]
    assert not longs_only.closed_at_end


def test_fraction_sizing_uses_equity_after_costs() -> None:
    bars = make_bars(FIVE_BARS)
    signals = make_signals(bars, {0: (1, np.nan, np.nan)})
    (trade,) = backtest(bars, signals, commission=0.002, fraction=0.5).trades
    assert trade.units == math.floor(5_000 / (101 * 1.002))
    (trade,) = backtest(bars, signals, commission=0.002, whole_units=False).trades
    assert trade.units == pytest.approx(10_000 / (101 * 1.002))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 1, "risk_pct": 1}, "either size or risk_pct"),
        ({"cash": 0}, "cash"),
        ({"commission": -0.1}, "commission"),
        ({"fraction": 0}, "fraction"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    bars = make_bars(FIVE_BARS)
    with pytest.raises(BacktestError, match=message):
        backtest(bars, make_signals(bars), **kwargs)  # type: ignore[arg-type]


def test_malformed_signals_are_refused() -> None:
    bars = make_bars(FIVE_BARS)
    with pytest.raises(BacktestError, match="index"):
        backtest(bars, make_signals(bars).iloc[1:])
    with pytest.raises(BacktestError, match="positive"):
        backtest(bars, make_signals(bars, {0: (1, -1.0, np.nan)}))


@dataclass(frozen=True)
class FakeTrade:
    pnl: float
    return_pct: float
    r_multiple: float
    entry_bar: int
    exit_bar: int


def test_metrics_on_a_hand_made_curve() -> None:
    index = pd.date_range("2024-01-01", periods=7, freq="1D", tz="UTC")
    equity = pd.Series([100.0, 110.0, 99.0, 120.0, 90.0, 95.0, 130.0], index=index)
    trades = [
        FakeTrade(10.0, 1.0, 1.0, 0, 1),
        FakeTrade(-5.0, -0.5, -0.5, 1, 2),
        FakeTrade(20.0, 2.0, 2.0, 4, 4),
        FakeTrade(-10.0, -1.0, -1.0, 4, 4),
        FakeTrade(5.0, 0.5, math.nan, 4, 4),
    ]
    result = m.summarize(equity, trades)

    assert result.max_drawdown_pct == pytest.approx(25.0)  # 120 -> 90
    assert result.total_return_pct == pytest.approx(30.0)
    assert result.final_equity == 130.0
    assert result.trades == 5
    assert result.win_rate_pct == pytest.approx(60.0)
    assert result.profit_factor == pytest.approx(35 / 15)
    assert result.expectancy_r == pytest.approx((1 - 0.5 + 2 - 1) / 4)
    assert result.expectancy_pct == pytest.approx(0.4)
    assert result.exposure_pct == pytest.approx(4 / 7 * 100)

    returns = np.array([0.1, -0.1, 120 / 99 - 1, -0.25, 95 / 90 - 1, 130 / 95 - 1])
    bars_per_year = 6 / (6 / 365.25)
    assert m.periods_per_year(index) == pytest.approx(bars_per_year)
    assert result.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(bars_per_year))
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert result.sortino == pytest.approx(returns.mean() / downside * math.sqrt(bars_per_year))
    assert result.cagr_pct == pytest.approx(((1.3) ** (365.25 / 6) - 1) * 100)


def test_metric_edge_cases() -> None:
    start = pd.Timestamp("2020-01-01", tz="UTC")
    two_years = pd.DatetimeIndex([start, start + pd.Timedelta(days=730.5)])
    assert m.cagr_pct(pd.Series([100.0, 121.0], index=two_years)) == pytest.approx(10.0)
    assert m.profit_factor([1.0, 2.0]) == math.inf
    assert math.isnan(m.profit_factor([]))
    assert math.isnan(m.win_rate_pct([]))
    assert math.isnan(m.expectancy_r([math.nan]))
    flat = pd.Series([100.0, 100.0, 100.0])
    assert math.isnan(m.sharpe(flat))
    assert math.isnan(m.cagr_pct(flat))
    assert m.max_drawdown_pct(flat) == 0.0
