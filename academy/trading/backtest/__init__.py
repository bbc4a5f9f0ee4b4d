"""Backtests: the engine that replays a strategy's signals on bars, and the metrics of a run."""

from academy.trading.backtest.engine import (
    STOP_RULE,
    BacktestError,
    BacktestResult,
    SkippedEntry,
    Trade,
    backtest,
)
from academy.trading.backtest.metrics import Metrics, summarize

__all__ = [
    "STOP_RULE",
    "BacktestError",
    "BacktestResult",
    "Metrics",
    "SkippedEntry",
    "Trade",
    "backtest",
    "summarize",
]
