"""Evaluate a parsed `Rule` over a bar frame with numpy, and the `RuleStrategy` built on it.

Every node becomes one array over all bars (numbers as float64 with NaN where undefined,
conditions as bool), computed once per distinct node. Values at bar i only ever use bars <= i.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from academy.trading.indicators import REGISTRY
from academy.trading.rules.nodes import (
    And,
    BinOp,
    Compare,
    Cross,
    Distance,
    Field,
    Indicator,
    Lag,
    Neg,
    Node,
    Not,
    Num,
    Or,
    Rule,
)
from academy.trading.rules.parser import parse_rule
from academy.trading.strategy.base import OHLCV, Signals, Strategy

_OSCILLATORS = frozenset({"rsi", "stoch", "adx", "cci", "willr", "roc"})

_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_ARITHMETIC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def _shift(values: np.ndarray, bars: int) -> np.ndarray:
    out = np.full_like(values, False if values.dtype == bool else np.nan)
    if bars < len(values):
        out[bars:] = values[:-bars]
    return out


class Evaluator:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.columns = {c: frame[c].to_numpy(dtype=np.float64) for c in OHLCV}
        self.size = len(frame)
        self._cache: dict[Node, np.ndarray] = {}
        self._indicators: dict[tuple[str, tuple[float, ...]], tuple[np.ndarray, ...]] = {}

    def __call__(self, node: Node) -> np.ndarray:
        cached = self._cache.get(node)
        if cached is None:
            with np.errstate(all="ignore"):
                cached = self._compute(node)
            self._cache[node] = cached
        return cached

    def _indicator(self, node: Indicator) -> np.ndarray:
        key = (node.name, node.args)
        outputs = self._indicators.get(key)
        if outputs is None:
            info = REGISTRY[node.name]
            args = [
                int(a) if isinstance(d, int) else a for a, d in zip(node.args, info.defaults, strict=True)
            ]
            result = info.fn(*(self.columns[c] for c in info.inputs), *args)
            series = result if isinstance(result, tuple) else (result,)
            outputs = tuple(np.asarray(r, dtype=np.float64) for r in series)
            self._indicators[key] = outputs
        return outputs[node.output_index]

    def _compute(self, node: Node) -> np.ndarray:
        if isinstance(node, Num):
            return np.full(self.size, node.value)
        if isinstance(node, Field):
            return self.columns[node.name]
        if isinstance(node, Indicator):
            return self._indicator(node)
        if isinstance(node, Lag):
            return _shift(self(node.operand), node.bars)
        if isinstance(node, Neg):
            return -self(node.operand)
        if isinstance(node, BinOp):
            result = _ARITHMETIC[node.op](self(node.left), self(node.right))
            return np.where(np.isfinite(result), result, np.nan)
        if isinstance(node, Compare):
            left, right = self(node.left), self(node.right)
            defined = ~(np.isnan(left) | np.isnan(right))
            return defined & _COMPARE[node.op](left, right)
        if isinstance(node, Cross):
            left, right = self(node.left), self(node.right)
            before_left, before_right = _shift(left, 1), _shift(right, 1)
            if node.direction == "above":
                return (left > right) & (before_left <= before_right)
            return (left < right) & (before_left >= before_right)
        if isinstance(node, Not):
            return ~self(node.operand)
        if isinstance(node, And):
            return np.logical_and.reduce([self(item) for item in node.items])
        if isinstance(node, Or):
            return np.logical_or.reduce([self(item) for item in node.items])
        raise TypeError(f"unknown rule node {type(node).__name__}")

    def distance(self, item: Distance | None) -> np.ndarray:
        if item is None:
            return np.full(self.size, np.nan)
        with np.errstate(all="ignore"):
            values = self(item.expr)
            if item.percent:
                values = self.columns["close"] * values / 100.0
            return np.where(np.isfinite(values) & (values > 0), values, np.nan)

    # plain-language reasons

    def explain(self, node: Node, i: int) -> str:
        """Why the condition `node` holds at bar i, with the values that made it hold."""
        if isinstance(node, And):
            parts = []
            for item in node.items:
                text = self.explain(item, i)
                parts.append(f"({text})" if isinstance(item, Or) and " or " in text else text)
            return " and ".join(parts)
        if isinstance(node, Or):
            return " or ".join(self.explain(item, i) for item in node.items if self(item)[i])
        if isinstance(node, Lag):
            ago = f"{node.bars} bar{'s' if node.bars > 1 else ''} ago"
            return f"{ago}: {self.explain(node.operand, i - node.bars)}"
        if isinstance(node, Not):
            inner = node.operand
            if isinstance(inner, Compare | Cross):
                return f"not ({self.explain_leaf(inner, i)})"
            return f"not ({inner.text()})"
        return self.explain_leaf(node, i)

    def explain_leaf(self, node: Node, i: int) -> str:
        if isinstance(node, Compare):
            return f"{self.label(node.left, i)} {node.op} {self.label(node.right, i)}"
        if isinstance(node, Cross):
            return f"{self.label(node.left, i)} crossed {node.direction} {self.label(node.right, i)}"
        return node.text()

    def label(self, node: Node, i: int) -> str:
        if isinstance(node, Num):
            return node.text()
        value = _format(self(node)[i], _scale(node))
        name = _title(node)
        return f"{name} {value}" if name else f"{node.text()} (= {value})"


def _title(node: Node) -> str | None:
    """A short display name for simple operands; None for arithmetic."""
    if isinstance(node, Field):
        return node.name
    if isinstance(node, Indicator):
        call = f"{node.name.upper()}({', '.join(_arg(a) for a in node.args)})"
        return f"{call} {node.output}" if node.output else call
    if isinstance(node, Lag):
        inner = _title(node.operand)
        return f"{inner} {node.bars} bar{'s' if node.bars > 1 else ''} ago" if inner else None
    return None


def _arg(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _scale(node: Node) -> str:
    if isinstance(node, Lag):
        return _scale(node.operand)
    if isinstance(node, Indicator):
        if node.name in _OSCILLATORS:
            return "oscillator"
        return "count" if node.name == "obv" else "price"
    if isinstance(node, Field) and node.name == "volume":
        return "count"
    return "price"


def _format(value: float, scale: str) -> str:
    if not np.isfinite(value):
        return "n/a"
    if scale == "oscillator":
        return f"{value:.1f}"
    if scale == "count":
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4g}"


def evaluate(rule: Rule, frame: pd.DataFrame) -> pd.DataFrame:
    """The signal frame (see `Strategy`) of `rule` on `frame`.

    Bars inside the warm-up get no entry, exit, stop or target. A bar where both a long and a short entry fire
    gets no entry. `exit long` / `exit short` apply while the latest earlier entry signal was of
    that side; a plain `exit` always applies. The extra bool columns `exit_long` and `exit_short`
    keep the side-specific exits for consumers that track positions themselves.
    """
    ev = Evaluator(frame)
    signals = Signals(frame.index)
    none = np.zeros(len(frame), dtype=bool)
    fired = {entry.side: ev(entry.condition) for entry in rule.entries}
    long, short = fired.get("long", none), fired.get("short", none)
    entry = np.where(long & ~short, 1, np.where(short & ~long, -1, 0)).astype(np.int8)
    # Masked here, not only in run(), so unsettled warm-up entries never decide which exit applies.
    entry[: rule.warmup] = 0
    signals.entry = entry

    exits: dict[str | None, np.ndarray] = {None: none.copy(), "long": none.copy(), "short": none.copy()}
    for item in rule.exits:
        exits[item.side] = exits[item.side] | ev(item.condition)
    for values in exits.values():
        values[: rule.warmup] = False
    latest = np.maximum.accumulate(np.where(entry != 0, np.arange(len(entry)), -1))
    side = np.where(latest >= 0, entry[latest], 0)
    held = np.concatenate(([0], side[:-1])) if len(side) else side
    signals.exit = exits[None] | (exits["long"] & (held == 1)) | (exits["short"] & (held == -1))

    signals.stop = ev.distance(rule.stop)
    signals.target = ev.distance(rule.target)
    signals.stop[: rule.warmup] = np.nan
    signals.target[: rule.warmup] = np.nan
    conditions = {e.side: e.condition for e in rule.entries}
    for i in np.flatnonzero(entry):
        signals.reason[i] = ev.explain(conditions["long" if entry[i] > 0 else "short"], int(i))
    result = signals.frame()
    result["exit_long"] = exits["long"]
    result["exit_short"] = exits["short"]
    return result


class RuleStrategy(Strategy):
    """A strategy written in the rule language, e.g. `enter long when rsi(14) < 30; stop 2 * atr(14)`."""

    name = "rule"

    def __init__(self, text: str, **values: Any) -> None:
        super().__init__(**values)
        self.text = text
        self.rule = parse_rule(text)

    @property
    def warmup(self) -> int:
        return self.rule.warmup

    def compute(self, frame: pd.DataFrame) -> pd.DataFrame:
        return evaluate(self.rule, frame)

    def describe(self) -> str:
        return self.rule.describe()
