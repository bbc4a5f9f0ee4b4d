"""The trading rule language: `enter long when rsi(14) < 30 and close crosses_above sma(50); ...`.

`parse_rule(text)` gives a typed `Rule` (or raises `RuleError` with line, column and excerpt);
`RuleStrategy(text)` runs it through the common strategy interface.
"""

from academy.trading.rules.compiler import Evaluator, RuleStrategy, evaluate
from academy.trading.rules.errors import RuleError
from academy.trading.rules.nodes import Rule
from academy.trading.rules.parser import MAX_DEPTH, MAX_LENGTH, MAX_PERIOD, parse_rule

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_PERIOD",
    "Evaluator",
    "Rule",
    "RuleError",
    "RuleStrategy",
    "evaluate",
    "parse_rule",
]
