"""Building a strategy from stored settings (a channel, a backtest run): one place, one set of errors."""

from __future__ import annotations

from typing import Any

from academy.trading.rules import RuleError, RuleStrategy
from academy.trading.strategy.base import Strategy, StrategyError
from academy.trading.strategy.ml import MLStrategy
from academy.trading.strategy.presets import PRESETS, make

RULE = "rule"
STRATEGIES = (*sorted(PRESETS), MLStrategy.name, RULE)


def build_strategy(name: str, params: dict[str, Any] | None = None, rule: str | None = None) -> Strategy:
    """A preset, the ML strategy or a rule. Raises StrategyError, or RuleError with a position."""
    params = params or {}
    if name == RULE:
        if params:
            raise StrategyError("a rule carries its own numbers; it takes no parameters")
        if not rule or not rule.strip():
            raise RuleError("write the rule, e.g. enter long when close crosses_above sma(50)")
        return RuleStrategy(rule)
    if name == MLStrategy.name:
        return MLStrategy(**params)
    return make(name, **params)
