"""The typed syntax tree of a rule.

Nodes compare and hash by content, not by position, so the evaluator computes `rsi(14)` once
however often a rule mentions it. `text()` renders the normalized form used by `Rule.describe()`:
lower case, every indicator argument spelled out, parentheses only where the tree needs them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from academy.trading.indicators import REGISTRY

Kind = Literal["number", "condition", "multi"]

FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Pos:
    line: int = 1
    column: int = 1
    start: int = 0
    end: int = 0


def number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, kw_only=True)
class Node(ABC):
    pos: Pos = field(default=Pos(), compare=False, repr=False)
    depth: int = field(default=1, init=False, compare=False, repr=False)
    precedence: ClassVar[int] = 9

    def __post_init__(self) -> None:
        object.__setattr__(self, "depth", 1 + max((c.depth for c in self.children()), default=0))

    @property
    def kind(self) -> Kind:
        return "number"

    def children(self) -> Iterator[Node]:
        return iter(())

    @abstractmethod
    def text(self) -> str:
        """The node written back in the rule language (what `Rule.describe()` prints)."""

    def wrapped(self, below: int) -> str:
        """`text()` in parentheses when this node binds looser than `below` requires."""
        return f"({self.text()})" if self.precedence < below else self.text()


@dataclass(frozen=True)
class Num(Node):
    value: float
    source: str = ""

    def text(self) -> str:
        return self.source or number_text(self.value)


@dataclass(frozen=True)
class Field(Node):
    name: str

    def text(self) -> str:
        return self.name


@dataclass(frozen=True)
class Indicator(Node):
    name: str
    args: tuple[float, ...]
    output: str | None = None

    @property
    def kind(self) -> Kind:
        return "multi" if self.output is None and len(REGISTRY[self.name].outputs) > 1 else "number"

    @property
    def output_index(self) -> int:
        return REGISTRY[self.name].outputs.index(self.output) if self.output else 0

    def call_text(self) -> str:
        return f"{self.name}({', '.join(number_text(a) for a in self.args)})"

    def text(self) -> str:
        return f"{self.call_text()}.{self.output}" if self.output else self.call_text()


@dataclass(frozen=True)
class Lag(Node):
    """The value `bars` bars before the current one (`prev(x, n)` or `x[n]`)."""

    operand: Node
    bars: int

    @property
    def kind(self) -> Kind:
        return self.operand.kind

    def children(self) -> Iterator[Node]:
        yield self.operand

    def text(self) -> str:
        return f"{self.operand.wrapped(9)}[{self.bars}]"


@dataclass(frozen=True)
class Neg(Node):
    operand: Node
    precedence: ClassVar[int] = 7

    def children(self) -> Iterator[Node]:
        yield self.operand

    def text(self) -> str:
        return f"-{self.operand.wrapped(7)}"


@dataclass(frozen=True)
class BinOp(Node):
    op: Literal["+", "-", "*", "/"]
    left: Node
    right: Node

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return 5 if self.op in "+-" else 6

    def children(self) -> Iterator[Node]:
        yield self.left
        yield self.right

    def text(self) -> str:
        return f"{self.left.wrapped(self.precedence)} {self.op} {self.right.wrapped(self.precedence + 1)}"


@dataclass(frozen=True)
class Compare(Node):
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    left: Node
    right: Node
    precedence: ClassVar[int] = 4

    @property
    def kind(self) -> Kind:
        return "condition"

    def children(self) -> Iterator[Node]:
        yield self.left
        yield self.right

    def text(self) -> str:
        return f"{self.left.wrapped(5)} {self.op} {self.right.wrapped(5)}"


@dataclass(frozen=True)
class Cross(Node):
    direction: Literal["above", "below"]
    left: Node
    right: Node
    precedence: ClassVar[int] = 4

    @property
    def kind(self) -> Kind:
        return "condition"

    def children(self) -> Iterator[Node]:
        yield self.left
        yield self.right

    def text(self) -> str:
        return f"{self.left.wrapped(5)} crosses_{self.direction} {self.right.wrapped(5)}"


@dataclass(frozen=True)
class Not(Node):
    operand: Node
    precedence: ClassVar[int] = 3

    @property
    def kind(self) -> Kind:
        return "condition"

    def children(self) -> Iterator[Node]:
        yield self.operand

    def text(self) -> str:
        return f"not {self.operand.wrapped(3)}"


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]
    precedence: ClassVar[int] = 2

    @property
    def kind(self) -> Kind:
        return "condition"

    def children(self) -> Iterator[Node]:
        yield from self.items

    def text(self) -> str:
        return " and ".join(item.wrapped(3) for item in self.items)


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]
    precedence: ClassVar[int] = 1

    @property
    def kind(self) -> Kind:
        return "condition"

    def children(self) -> Iterator[Node]:
        yield from self.items

    def text(self) -> str:
        return " or ".join(item.wrapped(2) for item in self.items)


def warmup(node: Node) -> int:
    """Bars before `node` has a settled value: the indicator's own warm-up plus look-backs."""
    if isinstance(node, Indicator):
        return REGISTRY[node.name].warmup(*node.args)
    inner = max((warmup(c) for c in node.children()), default=0)
    if isinstance(node, Lag):
        return inner + node.bars
    if isinstance(node, Cross):
        return inner + 1
    return inner


Side = Literal["long", "short"]


@dataclass(frozen=True)
class Entry:
    side: Side
    condition: Node
    pos: Pos = field(default=Pos(), compare=False)

    def text(self) -> str:
        return f"enter {self.side} when {self.condition.text()}"


@dataclass(frozen=True)
class Exit:
    side: Side | None
    condition: Node
    pos: Pos = field(default=Pos(), compare=False)

    def text(self) -> str:
        side = f" {self.side}" if self.side else ""
        return f"exit{side} when {self.condition.text()}"


@dataclass(frozen=True)
class Distance:
    """A stop or target distance in price units, or in percent of the signal bar's close."""

    keyword: Literal["stop", "target"]
    expr: Node
    percent: bool
    pos: Pos = field(default=Pos(), compare=False)

    def text(self) -> str:
        return f"{self.keyword} {self.expr.text()}{' %' if self.percent else ''}"


@dataclass(frozen=True)
class Rule:
    entries: tuple[Entry, ...]  # long before short
    exits: tuple[Exit, ...] = ()
    stop: Distance | None = None
    target: Distance | None = None

    def statements(self) -> list[Entry | Exit | Distance]:
        items: list[Entry | Exit | Distance] = [*self.entries]
        items.extend(self.exits)
        items.extend(d for d in (self.stop, self.target) if d is not None)
        return items

    def describe(self) -> str:
        """The normalized rule text; parsing it again gives an equal rule."""
        return "; ".join(s.text() for s in self.statements())

    @property
    def warmup(self) -> int:
        nodes = [e.condition for e in self.entries] + [e.condition for e in self.exits]
        nodes += [d.expr for d in (self.stop, self.target) if d is not None]
        return max((warmup(n) for n in nodes), default=0)
