"""The one strategy interface: backtests, live signals and (later) paper trading all call it.

A strategy reads a frame of closed OHLCV bars and returns, for every bar, what it would do at
that bar's close. Orders act on the next bar's open; nothing may look at a later bar (the
look-ahead guard in tests checks every strategy on truncated histories).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

OHLCV = ("open", "high", "low", "close", "volume")
SIGNAL_COLUMNS = ("entry", "exit", "stop", "target", "confidence", "reason")


class StrategyError(ValueError):
    """A strategy was configured or called wrongly (bad parameter, missing column, too few bars)."""


@dataclass(frozen=True)
class Param:
    default: float | int
    minimum: float | int | None = None
    maximum: float | int | None = None
    help: str = ""


class Strategy(ABC):
    """Subclasses declare `name`, `params` and `warmup`, and implement `compute`.

    `compute(frame)` gets a DataFrame indexed by bar open time (UTC, ascending) with the columns
    open, high, low, close, volume, and returns a DataFrame on the same index with:

    - `entry`: +1 open a long, -1 open a short, 0 nothing (acted on at the next bar's open);
    - `exit`: True to close an open position at the next bar's open;
    - `stop`, `target`: distances in price units from the entry price (NaN for none);
    - `confidence`: 0..1 (1.0 when the strategy has no notion of it);
    - `reason`: a short plain-language explanation for bars with an entry, "" otherwise.
    """

    name: ClassVar[str]
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise StrategyError(f"{self.name}: unknown parameter(s) {', '.join(unknown)}")
        self.values: dict[str, Any] = {}
        for key, spec in self.params.items():
            value = values.get(key, spec.default)
            if isinstance(spec.default, int) and not isinstance(spec.default, bool):
                if float(value) != int(value):
                    raise StrategyError(f"{self.name}: {key} must be a whole number")
                value = int(value)
            else:
                value = float(value)
            if spec.minimum is not None and value < spec.minimum:
                raise StrategyError(f"{self.name}: {key} must be at least {spec.minimum}")
            if spec.maximum is not None and value > spec.maximum:
                raise StrategyError(f"{self.name}: {key} must be at most {spec.maximum}")
            self.values[key] = value

    @property
    def warmup(self) -> int:
        """Bars needed before the first signal can be trusted."""
        return 0

    @abstractmethod
    def compute(self, frame: pd.DataFrame) -> pd.DataFrame: ...

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"{self.name}({args})"


@dataclass
class Signals:
    """Helper to build the result frame column by column."""

    index: pd.Index
    entry: np.ndarray = field(init=False)
    exit: np.ndarray = field(init=False)
    stop: np.ndarray = field(init=False)
    target: np.ndarray = field(init=False)
    confidence: np.ndarray = field(init=False)
    reason: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.index)
        self.entry = np.zeros(n, dtype=np.int8)
        self.exit = np.zeros(n, dtype=bool)
        self.stop = np.full(n, np.nan)
        self.target = np.full(n, np.nan)
        self.confidence = np.ones(n)
        self.reason = np.full(n, "", dtype=object)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "entry": self.entry,
                "exit": self.exit,
                "stop": self.stop,
                "target": self.target,
                "confidence": self.confidence,
                "reason": self.reason,
            },
            index=self.index,
        )


def check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        raise StrategyError(f"the bars have no {', '.join(missing)} column")
    if not frame.index.is_monotonic_increasing:
        raise StrategyError("bars must be in ascending time order")


def run(strategy: Strategy, frame: pd.DataFrame) -> pd.DataFrame:
    """The safe wrapper every caller uses: validates input and output, never returns NaN entries."""
    check_frame(frame)
    result = strategy.compute(frame)
    missing = [c for c in SIGNAL_COLUMNS if c not in result.columns]
    if missing or len(result) != len(frame) or not result.index.equals(frame.index):
        raise StrategyError(f"{strategy.name} returned a malformed signal frame")
    result = result.copy()
    result["entry"] = result["entry"].fillna(0).astype(np.int8)
    result["exit"] = result["exit"].fillna(False).astype(bool)
    result["confidence"] = result["confidence"].fillna(1.0).clip(0.0, 1.0)
    if strategy.warmup:
        # Nothing a strategy says before its indicators are defined may reach a trade or a reader.
        head = result.index[: strategy.warmup]
        result.loc[head, "entry"] = 0
        result.loc[head, "exit"] = False
        result.loc[head, ["stop", "target"]] = np.nan
        result.loc[head, "reason"] = ""
    return result
