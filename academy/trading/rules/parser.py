"""Text -> typed `Rule`: a lark LALR parser, then a transformer that resolves names and checks types.

Identifiers are only ever looked up in `FIELDS` and the indicator `REGISTRY`; nothing the user
writes reaches `getattr`, `eval` or an import.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal, cast

import numpy as np
from lark import (
    Lark,
    Token,
    Transformer,
    Tree,
    UnexpectedCharacters,
    UnexpectedInput,
    UnexpectedToken,
    v_args,
)
from lark.exceptions import VisitError
from lark.tree import Meta

from academy.trading.indicators import REGISTRY, IndicatorInfo
from academy.trading.rules.errors import RuleError
from academy.trading.rules.nodes import (
    FIELDS,
    And,
    BinOp,
    Compare,
    Cross,
    Distance,
    Entry,
    Exit,
    Field,
    Indicator,
    Lag,
    Neg,
    Node,
    Not,
    Num,
    Or,
    Pos,
    Rule,
    Side,
    number_text,
)

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_PERIOD = 500
MAX_BARS_AGO = 500
MAX_DEVIATIONS = 10.0

_STATEMENT_START = frozenset({"ENTER", "EXIT", "STOP", "TARGET"})
_OPENERS = frozenset({"_LPAR", "_LSQB"})
_CLOSERS = frozenset({"_RPAR", "_RSQB"})
_TOO_DEEP = f"the rule is nested too deeply (more than {MAX_DEPTH} levels); split it into simpler conditions"


class _Layout:
    """Newlines separate statements only when the next token starts one; elsewhere they are spaces.

    All state lives in the generator, so one parser can serve concurrent callers.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        newline: Token | None = None
        for token in stream:
            if token.type == "_NL":
                if depth == 0 and newline is None:
                    newline = token
                continue
            if newline is not None:
                if token.type in _STATEMENT_START:
                    yield newline
                newline = None
            if token.type in _OPENERS:
                depth += 1
                if depth > MAX_DEPTH:
                    raise RuleError(_TOO_DEEP, token.line or 1, token.column or 1)
            elif token.type in _CLOSERS:
                depth = max(depth - 1, 0)
            yield token


_PARSER = Lark(
    (files("academy.trading.rules") / "grammar.lark").read_text(encoding="utf-8"),
    parser="lalr",
    lexer="basic",
    postlex=_Layout(),
    propagate_positions=True,
    maybe_placeholders=True,
)


# --- syntax errors -------------------------------------------------------------------------------

_VALUE = "a number, a price such as close, or an indicator such as rsi(14)"
_KEYWORDS = {
    "ENTER": "enter",
    "EXIT": "exit",
    "STOP": "stop",
    "TARGET": "target",
    "_WHEN": "when",
    "LONG": "long",
    "SHORT": "short",
    "_AND": "and",
    "_OR": "or",
    "_NOT": "not",
    "CROSSES_ABOVE": "crosses_above",
    "CROSSES_BELOW": "crosses_below",
}
_COMPARISONS = frozenset({"LT", "LE", "GT", "GE", "EQ", "NE", "CROSSES_ABOVE", "CROSSES_BELOW"})
_ARITHMETIC = frozenset({"PLUS", "MINUS", "STAR", "SLASH"})
_ENDS = frozenset({"_SEMI", "_NL", "$END"})


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 2:
        return " or ".join(parts)
    return f"{', '.join(parts[:-1])}, or {parts[-1]}"


def _expected_text(expected: set[str], previous: Token | None) -> str:
    """The set of acceptable terminals, as a phrase a student can act on."""
    parts: list[str] = []
    starts = [f"'{_KEYWORDS[s]}'" for s in ("ENTER", "EXIT", "STOP", "TARGET") if s in expected]
    if starts:
        parts.append("/".join(starts))
    parts.extend(f"'{_KEYWORDS[s]}'" for s in ("LONG", "SHORT", "_WHEN") if s in expected)
    if "NAME" in expected and "NUMBER" in expected:
        parts.append(_VALUE)
    elif "NUMBER" in expected:
        whole = previous is not None and previous.type == "_LSQB"
        parts.append("a whole number of bars" if whole else "a number")
    elif "NAME" in expected:
        parts.append("an output name such as signal or upper")
    if expected & _COMPARISONS:
        parts.append("a comparison (<, >, crosses_above, …)")
    parts.extend(
        shown for name, shown in (("_COMMA", "','"), ("_RPAR", "')'"), ("_RSQB", "']'")) if name in expected
    )
    if {"_AND", "_OR"} <= expected:
        parts.append("'and'/'or'")
    if expected & _ARITHMETIC and "NUMBER" not in expected:
        parts.append("an operator (+, -, *, /)")
    if expected & _ENDS:
        parts.append("the end of the statement")
    return _join(parts) if parts else "something else"


def _shown(token: Token) -> str:
    if token.type == "$END":
        return "the rule ends here"
    if token.type == "_NL":
        return "the line ends here"
    if token.type == "NUMBER":
        return f"found the number {token}"
    return f"found '{token}'"


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _previous_token(text: str, before: int) -> Token | None:
    """The last token before offset `before` (re-lexed; cheap for rules this short)."""
    previous = None
    try:
        for token in _PARSER.lex(text):
            if (token.start_pos or 0) >= before:
                break
            previous = token
    except (UnexpectedInput, RuleError):
        pass  # the lexer stops at the bad spot; the tokens before it are all we need
    return previous


def _syntax_error(error: UnexpectedInput, text: str) -> RuleError:
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream or 0
        char = text[offset] if offset < len(text) else "?"
        if char in ("'", '"'):
            message = "text in quotes is not part of the rule language"
        elif char == "=":
            message = "unexpected '='; to test equality write '=='"
        elif char in ("&", "|"):
            message = f"unexpected '{char}'; join conditions with 'and' or 'or'"
        elif char == "!":
            message = "unexpected '!'; to negate a condition write 'not'"
        else:
            message = f"unexpected character {char!r}"
        return RuleError(message, error.line, error.column)
    if not isinstance(error, UnexpectedToken):
        return RuleError("the rule ends too early", error.line, error.column)
    token = error.token
    if token.type == "$END":
        previous = _previous_token(text, len(text) + 1)
        line, column = (previous.end_line, previous.end_column) if previous else (1, 1)
    else:
        previous = _previous_token(text, token.start_pos or 0)
        line, column = token.line, token.column
    # LALR merges states, so lark's `expected` after a value also lists ')' and ',' where no bracket
    # is open; trying each terminal on a copy of the parser gives the exact set.
    parser = error.interactive_parser
    expected = set(parser.accepts()) if parser is not None else set(error.expected)
    if expected & _STATEMENT_START:
        expected -= _ENDS
    where = f"after '{previous}'" if previous is not None and previous.type != "_NL" else "here"
    if previous is None:
        where = "at the start of the rule"
    message = f"expected {_expected_text(expected, previous)} {where}, but {_shown(token)}"
    if token.type == "NAME" and str(token).lower() == "crosses":
        message += "; write crosses_above or crosses_below, with an underscore"
    elif token.type == "NAME":
        message += _suggest(str(token), [_KEYWORDS[e] for e in expected if e in _KEYWORDS])
    elif token.type in _STATEMENT_START and expected & _ENDS:
        message += "; put ';' or a new line between statements"
    return RuleError(message, line or 1, column or 1)


# --- names, arguments and types ------------------------------------------------------------------


def _pos(item: Meta | Token | Node | Entry | Exit | Distance) -> Pos:
    if isinstance(item, Node | Entry | Exit | Distance):
        return item.pos
    if isinstance(item, Token):
        return Pos(item.line or 1, item.column or 1, item.start_pos or 0, item.end_pos or 0)
    if getattr(item, "empty", True):
        return Pos()
    return Pos(item.line, item.column, item.start_pos, item.end_pos)


def _fail(message: str, at: Meta | Token | Node | Entry | Exit | Distance) -> RuleError:
    pos = _pos(at)
    return RuleError(message, pos.line, pos.column)


def _example(name: str, info: IndicatorInfo) -> str:
    return Indicator(name=name, args=tuple(float(d) for d in info.defaults)).call_text()


_PROBE_BARS = 16


def _probe_columns() -> dict[str, np.ndarray]:
    close = 100.0 + np.arange(_PROBE_BARS) % 5
    return {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": close * 10}


@lru_cache(maxsize=1024)
def _accepted(name: str, args: tuple[float, ...]) -> bool:
    """Whether TA-Lib accepts these settings (some periods start at 2, not 1)."""
    info = REGISTRY[name]
    columns = _probe_columns()
    try:
        info.fn(*(columns[c] for c in info.inputs), *args)
    except Exception:  # TA-Lib reports bad settings as a bare Exception
        return False
    return True


class _Build(Transformer[Token, Rule]):
    """Bottom-up from lark's tree to typed nodes, checking as it goes (the first problem wins)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _source(self, node: Node) -> str:
        snippet = " ".join(self.text[node.pos.start : node.pos.end].split())
        snippet = snippet or node.text()
        return snippet if len(snippet) <= 40 else snippet[:39] + "…"

    def _number(self, node: Node, problem: str) -> Node:
        if node.kind == "multi":
            assert isinstance(node, Indicator)
            outputs = REGISTRY[node.name].outputs
            raise _fail(
                f"{node.name} has several outputs ({', '.join(outputs)}); pick one, "
                f"e.g. {node.call_text()}.{outputs[1] if len(outputs) > 1 else outputs[0]}",
                node,
            )
        if node.kind == "condition":
            source = self._source(node)
            raise _fail(f"{problem}: '{source}' is a condition (true or false), not a number", node)
        return node

    def _condition(self, node: Node, problem: str) -> Node:
        if node.kind == "multi":
            self._number(node, problem)
        if node.kind != "condition":
            raise _fail(
                f"{problem}: '{self._source(node)}' is a number; compare it with something, "
                f"e.g. {node.text()} > 0",
                node,
            )
        return node

    def _deep(self, node: Node) -> Node:
        if node.depth > MAX_DEPTH:
            raise _fail(_TOO_DEEP, node)
        return node

    # values

    def number(self, children: list[Token]) -> Node:
        (token,) = children
        value = float(token)
        if not np.isfinite(value):
            raise _fail("this number is too large", token)
        whole, _, fraction = str(token).partition(".")
        fraction = fraction.rstrip("0")
        source = (whole.lstrip("0") or "0") + (f".{fraction}" if fraction else "")
        return Num(value=value, source=source, pos=_pos(token))

    @v_args(meta=True)
    def name(self, meta: Meta, children: list[Token]) -> Node:
        (token,) = children
        return self._resolve(token, None, _pos(meta))

    @v_args(meta=True)
    def call(self, meta: Meta, children: list[Any]) -> Node:
        token = children[0]
        args: list[Node] = list(children[1].children) if len(children) > 1 else []
        return self._resolve(token, args, _pos(meta))

    def _resolve(self, token: Token, args: list[Node] | None, pos: Pos) -> Node:
        word = str(token).lower()
        if word in FIELDS:
            if args is not None:
                raise _fail(
                    f"{word} is a price and takes no arguments; for an earlier bar write {word}[1]", token
                )
            return Field(name=word, pos=pos)
        if word == "prev":
            return self._prev(token, args, pos)
        info = REGISTRY.get(word)
        if info is None:
            hint = _suggest(word, [*REGISTRY, *FIELDS, "prev"])
            kind = "indicator" if args is not None else "indicator or price"
            raise _fail(f"unknown {kind} '{token}'{hint}", token)
        return self._indicator(word, info, args or [], token, pos)

    def _prev(self, token: Token, args: list[Node] | None, pos: Pos) -> Node:
        if args is None or len(args) != 2:
            got = "none" if not args else str(len(args))
            raise _fail(f"prev takes 2 arguments, e.g. prev(close, 1) for the previous bar; got {got}", token)
        operand, bars = args
        if operand.kind == "multi":
            self._number(operand, "prev")
        if not isinstance(bars, Num):
            raise _fail(
                "prev's second argument must be a plain whole number of bars, e.g. prev(close, 1)", bars
            )
        return self._deep(Lag(operand=operand, bars=self._bars(bars.value, bars), pos=pos))

    def _bars(self, value: float, at: Meta | Token | Node) -> int:
        if not value.is_integer() or not 1 <= value <= MAX_BARS_AGO:
            raise _fail(
                f"bars ago must be a whole number from 1 to {MAX_BARS_AGO}, got {number_text(value)}", at
            )
        return int(value)

    def _indicator(
        self, name: str, info: IndicatorInfo, args: list[Node], token: Token, pos: Pos
    ) -> Indicator:
        if len(args) > len(info.params):
            if not info.params:
                takes = "no arguments"
            else:
                count = f"{len(info.params)} argument{'s' if len(info.params) > 1 else ''}"
                takes = f"at most {count} ({', '.join(info.params)})"
            extra = args[len(info.params)]
            raise _fail(f"{name} takes {takes}, got {len(args)}; e.g. {_example(name, info)}", extra)
        values: list[float] = []
        for param, default, arg in zip(info.params, info.defaults, args, strict=False):
            value = _literal(arg)
            if value is None:
                raise _fail(f"{name}'s {param} must be a plain number, e.g. {_example(name, info)}", arg)
            if isinstance(default, int):
                if not value.is_integer():
                    raise _fail(f"{name}'s {param} must be a whole number, got {number_text(value)}", arg)
                if not 1 <= value <= MAX_PERIOD:
                    raise _fail(
                        f"{name}'s {param} must be between 1 and {MAX_PERIOD}, got {number_text(value)}", arg
                    )
            elif not 0 < value <= MAX_DEVIATIONS:
                raise _fail(
                    f"{name}'s {param} must be above 0 and at most {number_text(MAX_DEVIATIONS)}, "
                    f"got {number_text(value)}",
                    arg,
                )
            values.append(value)
        full = (*values, *(float(d) for d in info.defaults[len(values) :]))
        if not _accepted(name, full):
            raise self._rejected(name, info, full, args, token)
        return Indicator(name=name, args=full, pos=pos)

    def _rejected(
        self, name: str, info: IndicatorInfo, full: tuple[float, ...], args: list[Node], token: Token
    ) -> RuleError:
        for i, arg in enumerate(args):
            swapped = (*full[:i], float(info.defaults[i]), *full[i + 1 :])
            if _accepted(name, swapped):
                for least in range(int(full[i]) + 1, 11):
                    if _accepted(name, (*full[:i], float(least), *full[i + 1 :])):
                        return _fail(
                            f"{name}'s {info.params[i]} must be at least {least}, got {number_text(full[i])}",
                            arg,
                        )
                return _fail(f"{name} does not accept {info.params[i]} {number_text(full[i])}", arg)
        settings = ", ".join(number_text(v) for v in full)
        return _fail(f"{name}({settings}) is not a valid combination of settings", token)

    @v_args(meta=True)
    def output(self, meta: Meta, children: list[Any]) -> Node:
        node, token = children
        word = str(token).lower()
        if not isinstance(node, Indicator):
            raise _fail(
                f"'.{token}' can only follow an indicator with several outputs, "
                "such as macd(12, 26, 9).signal",
                token,
            )
        outputs = REGISTRY[node.name].outputs
        if node.output is not None:
            raise _fail(f"{node.text()} already names an output; remove '.{token}'", token)
        if len(outputs) == 1:
            if word == outputs[0]:
                return node
            raise _fail(
                f"{node.name} has a single output; write {node.call_text()} without '.{token}'", token
            )
        if word not in outputs:
            hint = _suggest(word, outputs)
            names = f"{', '.join(outputs[:-1])} and {outputs[-1]}"
            raise _fail(
                f"{node.name} has no output '{token}'; its outputs are {names}{hint}",
                token,
            )
        pos = Pos(node.pos.line, node.pos.column, node.pos.start, token.end_pos or node.pos.end)
        return Indicator(name=node.name, args=node.args, output=word, pos=pos)

    @v_args(meta=True)
    def lag(self, meta: Meta, children: list[Any]) -> Node:
        node, token = children
        if node.kind == "multi":
            self._number(node, "[n]")
        bars = self._bars(float(token), token)
        return self._deep(Lag(operand=node, bars=bars, pos=_pos(meta)))

    # arithmetic and conditions

    @v_args(meta=True)
    def neg(self, meta: Meta, children: list[Any]) -> Node:
        operand = self._number(children[1], "'-' needs a number")
        return self._deep(Neg(operand=operand, pos=_pos(meta)))

    @v_args(meta=True)
    def pos(self, meta: Meta, children: list[Any]) -> Node:
        return cast(Node, self._number(children[1], "'+' needs a number"))

    @v_args(meta=True)
    def sum(self, meta: Meta, children: list[Any]) -> Node:
        return self._fold(meta, children)

    @v_args(meta=True)
    def product(self, meta: Meta, children: list[Any]) -> Node:
        return self._fold(meta, children)

    def _fold(self, meta: Meta, children: list[Any]) -> Node:
        problem = "arithmetic needs numbers"
        node = self._number(children[0], problem)
        for op, right in zip(children[1::2], children[2::2], strict=True):
            right = self._number(right, problem)
            pos = Pos(node.pos.line, node.pos.column, node.pos.start, right.pos.end)
            node = self._deep(BinOp(op=str(op), left=node, right=right, pos=pos))  # type: ignore[arg-type]
        return node

    @v_args(meta=True)
    def compare(self, meta: Meta, children: list[Any]) -> Node:
        left, op, right = children
        problem = "can't compare a condition with a number"
        left = self._number(left, problem)
        right = self._number(right, problem)
        pos = _pos(meta)
        if op.type.startswith("CROSSES_"):
            direction: Literal["above", "below"] = "above" if op.type == "CROSSES_ABOVE" else "below"
            return self._deep(Cross(direction=direction, left=left, right=right, pos=pos))
        return self._deep(Compare(op=str(op), left=left, right=right, pos=pos))  # type: ignore[arg-type]

    @v_args(meta=True)
    def not_(self, meta: Meta, children: list[Any]) -> Node:
        operand = self._condition(children[0], "'not' needs a condition")
        return self._deep(Not(operand=operand, pos=_pos(meta)))

    @v_args(meta=True)
    def and_expr(self, meta: Meta, children: list[Any]) -> Node:
        items = tuple(self._condition(c, "'and' joins conditions") for c in children)
        return self._deep(And(items=items, pos=_pos(meta)))

    @v_args(meta=True)
    def or_expr(self, meta: Meta, children: list[Any]) -> Node:
        items = tuple(self._condition(c, "'or' joins conditions") for c in children)
        return self._deep(Or(items=items, pos=_pos(meta)))

    # statements

    def side(self, children: list[Token]) -> str:
        return str(children[0]).lower()

    @v_args(meta=True)
    def enter(self, meta: Meta, children: list[Any]) -> Entry:
        _, side, condition = children
        condition = self._condition(condition, f"'enter {side} when' needs a condition such as rsi(14) < 30")
        return Entry(side=side, condition=condition, pos=_pos(meta))

    @v_args(meta=True)
    def exit(self, meta: Meta, children: list[Any]) -> Exit:
        _, side, condition = children
        condition = self._condition(condition, "'exit when' needs a condition such as rsi(14) > 70")
        return Exit(side=side, condition=condition, pos=_pos(meta))

    @v_args(meta=True)
    def stop(self, meta: Meta, children: list[Any]) -> Distance:
        return self._distance("stop", meta, children)

    @v_args(meta=True)
    def target(self, meta: Meta, children: list[Any]) -> Distance:
        return self._distance("target", meta, children)

    def _distance(self, keyword: str, meta: Meta, children: list[Any]) -> Distance:
        _, expr, percent = children
        expr = self._number(expr, f"'{keyword}' needs a distance in price units such as 2 * atr(14)")
        value = _literal(expr)
        if value is not None and value <= 0:
            raise _fail(f"the {keyword} distance must be above 0, got {number_text(value)}", expr)
        return Distance(keyword=keyword, expr=expr, percent=percent is not None, pos=_pos(meta))  # type: ignore[arg-type]

    def start(self, children: list[Any]) -> Rule:
        entries: dict[Side, Entry] = {}
        exits: list[Exit] = []
        distances: dict[str, Distance] = {}
        for statement in children:
            if isinstance(statement, Entry):
                if statement.side in entries:
                    raise _fail(
                        f"a second 'enter {statement.side}' statement; join the conditions with 'or' instead",
                        statement,
                    )
                entries[statement.side] = statement
            elif isinstance(statement, Exit):
                exits.append(statement)
            else:
                if statement.keyword in distances:
                    raise _fail(f"a second '{statement.keyword}'; a rule has at most one", statement)
                distances[statement.keyword] = statement
        if not entries:
            raise RuleError("a rule needs an 'enter long when …' or 'enter short when …' statement", 1, 1)
        for item in exits:
            if item.side is not None and item.side not in entries:
                raise _fail(f"'exit {item.side}' but the rule has no 'enter {item.side}' statement", item)
        return Rule(
            entries=tuple(entries[side] for side in ("long", "short") if side in entries),
            exits=tuple(exits),
            stop=distances.get("stop"),
            target=distances.get("target"),
        )


def _literal(node: Node) -> float | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Neg) and isinstance(node.operand, Num):
        return -node.operand.value
    return None


def _check_tree_depth(tree: Tree[Token]) -> None:
    """Lark's transformer recurses, so refuse deep trees (e.g. 500 unary minuses) before it runs."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH + 3:
            raise _fail(_TOO_DEEP, node.meta)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def parse_rule(text: str) -> Rule:
    """Parse and check a rule; raises `RuleError` with the line, column and an excerpt."""
    if not isinstance(text, str):
        raise RuleError("a rule must be text")
    return _parse(text.replace("\r\n", "\n"))


@lru_cache(maxsize=256)
def _parse(text: str) -> Rule:
    if len(text) > MAX_LENGTH:
        line, column = _position(text, MAX_LENGTH)
        raise RuleError(
            f"the rule is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})",
            line,
            column,
            text,
        )
    try:
        tree = _PARSER.parse(text)
        _check_tree_depth(tree)
        return _Build(text).transform(tree)
    except UnexpectedInput as error:
        raise _syntax_error(error, text).with_source(text) from None
    except VisitError as error:
        if isinstance(error.orig_exc, RuleError):
            raise error.orig_exc.with_source(text) from None
        raise
    except RuleError as error:
        raise error.with_source(text) from None
