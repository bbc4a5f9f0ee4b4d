"""Trading lab speed, in-process: the backtest engine, a parameter grid and a signal scan.

Three measurements, each next to the `backtesting` package doing the same work in the same run
where it can (the package is AGPL and a development-only dependency: only tests and benches
import it):

  (a) backtest: an SMA 10/20 cross that reverses long/short, next-open fills, on 1,000,000
      synthetic 1-minute bars. Ours = `run(make("sma_cross", allow_short=1), bars)` (signals)
      plus `backtest(...)` (engine and metrics); the package = `Backtest(...).run()` with the
      same strategy (TA-Lib SMAs, `backtesting.lib.crossover`). Both leave the last position
      open, so their final equity and trade count must agree, and the table says whether they do.
  (b) grid: 10 x 10 fast/slow SMA periods on GOOG daily with a 0.2 % commission, every
      combination backtested and the best picked by final equity. Ours = `grid_search(...)` in
      one process; the package = `Backtest.optimize(...)` with its default process pool (all
      cores) and, for the CPU cost, again with one worker.
  (c) signal scan: 500 instruments x 5,000 bars: the 10 indicators computed per instrument
      (SMA, EMA, RSI, MACD, Bollinger Bands, ATR, Stochastic, ADX, OBV, ROC) and one rule using
      all ten evaluated per instrument through `RuleStrategy`, reading the last bar's signal.
      The package has no scanner, so there is no ratio here.

Data generation is not timed. Times are wall-clock seconds of a single run by default
(`--repeat N` keeps the best of N).

    python bench/trading_bench.py [--bars 1000000] [--instruments 500] [--scan-bars 5000]
                                  [--repeat 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import multiprocessing.dummy
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import talib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from academy.trading import indicators as ind
from academy.trading.backtest import backtest
from academy.trading.backtest.optimize import best_params, grid_search
from academy.trading.rules import RuleStrategy
from academy.trading.strategy.base import run
from academy.trading.strategy.presets import make

COMMISSION_GRID = 0.002
FAST = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
SLOW = [60, 80, 100, 120, 140, 160, 180, 200, 220, 240]
# One rule reading all ten indicators, so evaluating it computes each of them once.
SCAN_RULE = """
enter long when close crosses_above sma(50) and rsi(14) < 70 and macd(12, 26, 9).macd > macd(12, 26, 9).signal
    and adx(14) > 20 and stoch(14, 3, 3).k < 80 and roc(10) > 0 and obv() > obv()[5]
    and close > bbands(20, 2).middle and ema(20) > ema(20)[1]
exit when close crosses_below ema(20) or rsi(14) > 80
stop 2 * atr(14)
target 3 * atr(14)
"""

T = TypeVar("T")

try:
    import backtesting
    from backtesting import Backtest
    from backtesting.lib import crossover
except ImportError:  # a development-only dependency: without it the bench measures ours alone
    backtesting = None
else:
    # At module level: Backtest.optimize pickles the strategy class to its worker processes.
    class PackageSmaCross(backtesting.Strategy):
        fast = 10
        slow = 20

        def init(self) -> None:
            self.sma_fast = self.I(talib.SMA, self.data.Close, self.fast)
            self.sma_slow = self.I(talib.SMA, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.sma_fast, self.sma_slow):
                self.position.close()
                self.buy()
            elif crossover(self.sma_slow, self.sma_fast):
                self.position.close()
                self.sell()


@dataclass
class Row:
    section: str
    what: str
    seconds: float
    per_unit: str = ""
    ratio: str = ""
    result: str = ""


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    value: T | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    assert value is not None
    return best, value


def random_walk(n: int, seed: int, volatility: float, freq: str, start: float = 100.0) -> pd.DataFrame:
    """OHLCV bars of a geometric random walk with gapped opens and wicks (like the test bars)."""
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, volatility, n)))
    prev_close = np.concatenate(([start], close[:-1]))
    open_ = prev_close * np.exp(rng.normal(0.0, volatility / 3, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, volatility / 2, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, volatility / 2, n)))
    volume = np.round(rng.lognormal(13.0, 0.5, n))
    index = pd.date_range("2020-01-01", periods=n, freq=freq, tz="UTC", name="time")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def package_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """The package's column names and a zone-free index (it warns about zones)."""
    frame = bars.rename(columns=str.title)
    frame.index = frame.index.tz_localize(None)
    return frame


def goog() -> pd.DataFrame:
    from backtesting.test import GOOG

    frame = GOOG.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]].astype(float)
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("UTC").rename("time")
    return frame


def package_backtest(data: pd.DataFrame, cash: float, commission: float) -> Any:
    # Next-open fills, the strategy closes before it reverses, the last position stays open:
    # the settings under which the parity test matches the package exactly.
    return Backtest(
        data,
        PackageSmaCross,
        cash=cash,
        commission=commission,
        trade_on_close=False,
        exclusive_orders=False,
        finalize_trades=False,
    )


# --- (a) one backtest on many bars ---


def bench_backtest(bars_count: int, repeat: int, with_package: bool) -> list[Row]:
    bars = random_walk(bars_count, seed=1, volatility=0.001, freq="1min")
    cash = 1_000_000.0
    strategy = make("sma_cross", fast=10, slow=20, allow_short=1)
    signals_s, signals = best_of(repeat, lambda: run(strategy, bars))
    engine_s, result = best_of(repeat, lambda: backtest(bars, signals, cash=cash, close_at_end=False))
    ours = signals_s + engine_s
    per_bar = f"{ours / bars_count * 1e6:.2f} µs/bar"
    ours_result = f"{result.metrics.trades:,} trades, equity {result.metrics.final_equity:,.2f}"
    rows = [
        Row("(a) backtest", f"ours: signals (TA-Lib SMAs, crosses, reasons), {bars_count:,} bars", signals_s),
        Row("(a) backtest", "ours: engine + metrics", engine_s),
        Row("(a) backtest", "ours: total", ours, per_bar, "1.00", ours_result),
    ]
    if with_package:
        data = package_frame(bars)

        def package_run() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return package_backtest(data, cash, 0.0).run()

        package_s, stats = best_of(repeat, package_run)
        same = (
            stats["# Trades"] == result.metrics.trades
            and abs(stats["Equity Final [$]"] - result.metrics.final_equity) <= 1e-6 * cash
        )
        rows.append(
            Row(
                "(a) backtest",
                "backtesting: Backtest.run",
                package_s,
                f"{package_s / bars_count * 1e6:.2f} µs/bar",
                f"{package_s / ours:.2f}",
                f"{stats['# Trades']:,} trades, equity {stats['Equity Final [$]']:,.2f}"
                + (" (same)" if same else " (DIFFERENT)"),
            )
        )
    return rows


# --- (b) a 10 x 10 grid ---


def bench_grid(repeat: int, with_package: bool) -> list[Row]:
    bars = goog()
    grid = {"fast": FAST, "slow": SLOW}
    combos = len(FAST) * len(SLOW)

    def ours() -> pd.DataFrame:
        return grid_search(
            bars,
            "sma_cross",
            grid,
            fixed={"allow_short": 1},
            metric="final_equity",
            commission=COMMISSION_GRID,
        )

    ours_s, table = best_of(repeat, ours)
    best = best_params(table, grid, "final_equity") or {}
    ours_best = (
        f"best fast={best.get('fast')} slow={best.get('slow')}, equity {table['final_equity'].max():,.2f}"
    )
    rows = [
        Row(
            "(b) grid",
            f"ours: grid_search, {combos} combinations on GOOG ({len(bars):,} bars), 1 process",
            ours_s,
            f"{ours_s / combos * 1e3:.1f} ms/run",
            "1.00",
            ours_best,
        )
    ]
    if not with_package:
        return rows
    data = package_frame(bars)

    def package_optimize() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bt = package_backtest(data, 10_000, COMMISSION_GRID)
            return bt.optimize(fast=FAST, slow=SLOW, maximize="Equity Final [$]")

    default_pool = backtesting.Pool
    for label, pool in (
        (
            f"backtesting: Backtest.optimize, its process pool ({multiprocessing.cpu_count()} cores)",
            default_pool,
        ),
        ("backtesting: Backtest.optimize, 1 worker", lambda *a, **k: multiprocessing.dummy.Pool(1)),
    ):
        backtesting.Pool = pool
        try:
            package_s, stats = best_of(repeat, package_optimize)
        finally:
            backtesting.Pool = default_pool
        strategy = stats["_strategy"]
        rows.append(
            Row(
                "(b) grid",
                label,
                package_s,
                f"{package_s / combos * 1e3:.1f} ms/run",
                f"{package_s / ours_s:.2f}",
                f"best fast={strategy.fast} slow={strategy.slow}",
            )
        )
    return rows


# --- (c) a signal scan ---


def bench_scan(instruments: int, bars_count: int, repeat: int) -> tuple[list[Row], int]:
    universe = [
        random_walk(bars_count, seed=100 + i, volatility=0.01 + 0.01 * (i % 5) / 4, freq="1h")
        for i in range(instruments)
    ]
    strategy = RuleStrategy(SCAN_RULE)

    def indicators_only() -> int:
        for frame in universe:
            h, lo, c, v = (frame[k].to_numpy() for k in ("high", "low", "close", "volume"))
            ind.sma(c, 50)
            ind.ema(c, 20)
            ind.rsi(c, 14)
            ind.macd(c, 12, 26, 9)
            ind.bbands(c, 20, 2.0)
            ind.atr(h, lo, c, 14)
            ind.stoch(h, lo, c, 14, 3, 3)
            ind.adx(h, lo, c, 14)
            ind.obv(c, v)
            ind.roc(c, 10)
        return len(universe)

    def scan() -> int:
        firing = 0
        for frame in universe:
            signals = run(strategy, frame)
            firing += int(signals["entry"].iloc[-1] != 0)
        return firing

    indicators_s, _ = best_of(repeat, indicators_only)
    scan_s, firing = best_of(repeat, scan)
    label = f"{instruments} instruments x {bars_count:,} bars"
    rows = [
        Row(
            "(c) scan",
            f"10 indicators only (TA-Lib), {label}",
            indicators_s,
            f"{indicators_s / instruments * 1e3:.2f} ms/instr.",
        ),
        Row(
            "(c) scan",
            "scan: rule with the 10 indicators, signal frame per instrument",
            scan_s,
            f"{scan_s / instruments * 1e3:.2f} ms/instr.",
            "",
            f"{firing} entries on the last bar",
        ),
    ]
    return rows, firing


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first two columns left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 or i == len(cells) - 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars for the backtest (default 1000000)")
    parser.add_argument("--instruments", type=int, default=500, help="instruments in the scan (default 500)")
    parser.add_argument(
        "--scan-bars", type=int, default=5000, help="bars per scanned instrument (default 5000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per measurement, the best is kept (default 1)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args()
    if args.bars < 100 or args.instruments < 1 or args.scan_bars < 100 or args.repeat < 1:
        parser.error("--bars and --scan-bars must be at least 100, --instruments and --repeat at least 1")
    try:
        import backtesting  # noqa: F401
    except ImportError:
        with_package = False
        print(
            "the `backtesting` package is not installed: no comparison (pip install -e '.[dev]')",
            file=sys.stderr,
        )
    else:
        with_package = True
    if not with_package:
        print("(b) needs GOOG from the `backtesting` package: skipped", file=sys.stderr)

    print(f"(a) backtest on {args.bars:,} bars ...", file=sys.stderr, flush=True)
    rows = bench_backtest(args.bars, args.repeat, with_package)
    if with_package:
        print("(b) 10 x 10 grid on GOOG ...", file=sys.stderr, flush=True)
        rows += bench_grid(args.repeat, with_package)
    print(f"(c) scan of {args.instruments} x {args.scan_bars:,} bars ...", file=sys.stderr, flush=True)
    scan_rows, _ = bench_scan(args.instruments, args.scan_bars, args.repeat)
    rows += scan_rows

    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    print(
        f"\nTrading lab, in-process, Python {sys.version.split()[0]}, {multiprocessing.cpu_count()} cores; "
        f"best of {args.repeat}; `x ours` = the row's seconds over ours for the same work\n"
    )
    print(
        table(
            ["section", "what", "seconds", "per unit", "x ours", "result"],
            [[r.section, r.what, f"{r.seconds:.3f}", r.per_unit, r.ratio, r.result] for r in rows],
        )
    )
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
