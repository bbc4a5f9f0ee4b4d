"""The rule language: valid rules against hand-computed numpy, every error class with its position,
no way to run code, and the look-ahead guard."""

from __future__ import annotations

import builtins
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from academy.trading import indicators as ind
from academy.trading.indicators import REGISTRY
from academy.trading.rules import MAX_DEPTH, MAX_LENGTH, RuleError, RuleStrategy, parse_rule
from academy.trading.rules.nodes import FIELDS
from academy.trading.strategy.base import Strategy, run

# A close path (found by search) on which rsi(14) < 30 while close crosses above sma(50): the
# example rule from the issue is otherwise almost never true on random walks.
ANCHORS = ((0, 53.9), (73, 131.4), (90, 73.2), (96, 58.2), (150, 59.6))
HEAD = 150


def make_bars(n: int = 420, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    xs, ys = zip(*ANCHORS, strict=True)
    head = np.interp(np.arange(HEAD), xs, ys)
    drift = 0.006 * np.sin(np.arange(n - HEAD) / 9)
    tail = head[-1] * np.exp(np.cumsum(rng.normal(0, 0.015, n - HEAD) + drift))
    close = np.r_[head, tail]
    open_ = np.r_[close[0], close[:-1]]
    spread = close * np.abs(rng.normal(0, 0.004, n)) + 0.01
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(1_000, 5_000, n).astype(float),
        },
        index=pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"),
    )


BARS = make_bars()
OP, H, L, C, V = (BARS[c].to_numpy() for c in ("open", "high", "low", "close", "volume"))


def shift(values: np.ndarray, bars: int = 1) -> np.ndarray:
    out = np.full(len(values), np.nan) if values.dtype != bool else np.zeros(len(values), dtype=bool)
    out[bars:] = values[:-bars]
    return out


def crosses_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a > b) & (shift(a) <= shift(b))


def crosses_below(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a < b) & (shift(a) >= shift(b))


def positive(values: np.ndarray, warmup: int) -> np.ndarray:
    out = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    out[:warmup] = np.nan
    return out


def signals(text: str, frame: pd.DataFrame = BARS) -> pd.DataFrame:
    return run(RuleStrategy(text), frame)


# --- valid rules --------------------------------------------------------------------------------

EXAMPLE = (
    "enter long when rsi(14) < 30 and close crosses_above sma(50); exit when rsi(14) > 70; "
    "stop 2 * atr(14); target 3 * atr(14)"
)


def test_example_rule_matches_numpy() -> None:
    r, s, a = ind.rsi(C, 14), ind.sma(C, 50), ind.atr(H, L, C, 14)
    warmup = max(REGISTRY["rsi"].warmup(14), REGISTRY["sma"].warmup(50) + 1, REGISTRY["atr"].warmup(14))
    entry = (r < 30) & crosses_above(C, s)
    exit_ = r > 70
    entry[:warmup] = False
    exit_[:warmup] = False

    strategy = RuleStrategy(EXAMPLE)
    out = run(strategy, BARS)

    assert strategy.name == "rule" and strategy.warmup == warmup
    assert entry.sum() >= 1 and exit_.sum() >= 1
    np.testing.assert_array_equal(out["entry"].to_numpy(), entry.astype(np.int8))
    np.testing.assert_array_equal(out["exit"].to_numpy(), exit_)
    np.testing.assert_allclose(out["stop"].to_numpy(), positive(2 * a, warmup), equal_nan=True)
    np.testing.assert_allclose(out["target"].to_numpy(), positive(3 * a, warmup), equal_nan=True)
    assert (out["confidence"] == 1.0).all()
    for i in range(len(BARS)):
        expected = (
            f"RSI(14) {r[i]:.1f} < 30 and close {C[i]:.2f} crossed above SMA(50) {s[i]:.2f}"
            if entry[i]
            else ""
        )
        assert out["reason"].iloc[i] == expected


LONG_SHORT = """
# both sides, side-specific exits
enter long when close crosses_above bbands(20, 2).upper or macd(12, 26, 9).macd crosses_above macd.signal
enter short when close < prev(low, 2) and rsi(10) > 55
exit long when close < ema(10)
exit short when close[1] > ema(10)
stop 1.5 %
target 2 * atr
"""


def test_long_and_short_entries_with_side_exits() -> None:
    upper = ind.bbands(C, 20, 2.0)[0]
    line, signal_line, _ = ind.macd(C, 12, 26, 9)
    e = ind.ema(C, 10)
    long_ = crosses_above(C, upper) | crosses_above(line, signal_line)
    short = (shift(L, 2) > C) & (ind.rsi(C, 10) > 55)
    exit_long, exit_short = e > C, shift(C, 1) > e
    warmup = RuleStrategy(LONG_SHORT).warmup
    assert warmup == max(
        REGISTRY["bbands"].warmup(20, 2) + 1,
        REGISTRY["macd"].warmup(12, 26, 9) + 1,
        REGISTRY["rsi"].warmup(10),
        2,
        REGISTRY["ema"].warmup(10) + 1,
        REGISTRY["atr"].warmup(14),
    )

    entry = np.where(long_ & ~short, 1, np.where(short & ~long_, -1, 0))
    entry[:warmup] = 0
    exit_ = np.zeros(len(C), dtype=bool)
    held = 0
    for i in range(len(C)):
        if i >= warmup:
            exit_[i] = (held == 1 and exit_long[i]) or (held == -1 and exit_short[i])
        if entry[i]:
            held = entry[i]

    out = signals(LONG_SHORT)
    assert (entry == 1).sum() >= 3 and (entry == -1).sum() >= 3 and exit_.sum() >= 3
    np.testing.assert_array_equal(out["entry"].to_numpy(), entry)
    np.testing.assert_array_equal(out["exit"].to_numpy(), exit_)
    np.testing.assert_allclose(out["stop"].to_numpy(), positive(C * 1.5 / 100, warmup), equal_nan=True)
    target = positive(2 * ind.atr(H, L, C, 14), warmup)
    np.testing.assert_allclose(out["target"].to_numpy(), target, equal_nan=True)
    i = int(np.flatnonzero(entry == -1)[0])
    rsi10 = ind.rsi(C, 10)[i]
    reason = f"close {C[i]:.2f} < low 2 bars ago {L[i - 2]:.2f} and RSI(10) {rsi10:.1f} > 55"
    assert out["reason"].iloc[i] == reason


def test_long_and_short_on_the_same_bar_cancel() -> None:
    up, busy = C > OP, V > 3000
    assert (up & busy).any()
    out = signals("enter long when close > open; enter short when volume > 3000")
    expected = np.where(up & ~busy, 1, np.where(busy & ~up, -1, 0))
    np.testing.assert_array_equal(out["entry"].to_numpy(), expected)
    assert (out.loc[out["entry"] == 0, "reason"] == "").all()
    assert out["reason"].iloc[int(np.flatnonzero(expected == -1)[0])].startswith("volume ")


def test_arithmetic_precedence_and_logic() -> None:
    text = "enter long when close - open * 2 > -high / 4 + 1 or not close < open and volume >= 2000"
    expected = (C - OP * 2 > -H / 4 + 1) | (~(C < OP) & (V >= 2000))
    np.testing.assert_array_equal(signals(text)["entry"].to_numpy(), expected.astype(np.int8))
    grouped = "enter long when ((close - open) * 2 > 1 or not close < open) and volume >= 2000"
    expected = (((C - OP) * 2 > 1) | ~(C < OP)) & (V >= 2000)
    np.testing.assert_array_equal(signals(grouped)["entry"].to_numpy(), expected.astype(np.int8))
    divided = "enter short when (high - low) / (close - close) > 1 or close / open != 1"
    expected = np.abs(C / OP - 1) > 0
    np.testing.assert_array_equal(signals(divided)["entry"].to_numpy(), -expected.astype(np.int8))


def test_lags_and_outputs() -> None:
    text = "enter long when prev(stoch.k, 3) < 20 and stoch(14, 3, 3).d[1] <= close[4] - open[4] + 30"
    k, d = ind.stoch(H, L, C, 14, 3, 3)
    expected = (shift(k, 3) < 20) & (shift(d, 1) <= shift(C, 4) - shift(OP, 4) + 30)
    warmup = REGISTRY["stoch"].warmup(14, 3, 3) + 3
    expected[:warmup] = False
    assert RuleStrategy(text).warmup == warmup
    assert expected.sum() >= 3
    np.testing.assert_array_equal(signals(text)["entry"].to_numpy(), expected.astype(np.int8))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("enter long when rsi < 30", "ENTER LONG WHEN RSI() < 30.0 # oversold"),
        ("enter long when rsi < 30", "Enter Long When rsi(14) < 30"),
        ("enter long when prev(close, 2) > close", "enter long when close[2] > close"),
        ("enter short when bbands.upper < high", "enter short when bbands(20, 2.0).upper < high"),
        ("enter short when rsi(14).value > 70", "enter short when rsi > 70"),
        (
            "enter long when close > open and volume > 2000; exit when close < open; stop 2 * atr(14)",
            "\n\nenter long when\n  close > open   # a comment\n  and volume > 2000\n\n"
            "exit when close\n  < open ;\nstop 2 *\n  atr(14)\n",
        ),
    ],
)
def test_equivalent_forms(first: str, second: str) -> None:
    assert parse_rule(first) == parse_rule(second)
    pd.testing.assert_frame_equal(signals(first), signals(second))


def test_describe_is_normalized_and_round_trips() -> None:
    messy = (
        "  ENTER Long WHEN (RSI < 30.50) AND ((close crosses_above SMA(50)))  ;EXIT when rsi>70;"
        "STOP 2*ATR;target 003.0 * atr(14);exit when not (close - (open - low) > 1 or -close[1] < 0)"
    )
    rule = parse_rule(messy)
    text = rule.describe()
    assert text == (
        "enter long when rsi(14) < 30.5 and close crosses_above sma(50); exit when rsi(14) > 70; "
        "exit when not (close - (open - low) > 1 or -close[1] < 0); stop 2 * atr(14); target 3 * atr(14)"
    )
    assert parse_rule(text) == rule
    assert RuleStrategy(messy).describe() == text
    both = parse_rule("stop 1 %; enter short when close < open\nenter long when close > open")
    assert both.describe() == "enter long when close > open; enter short when close < open; stop 1 %"
    assert parse_rule(both.describe()) == both


def test_strategy_interface() -> None:
    strategy = RuleStrategy("enter short when close crosses_below sma(20); stop 2 %")
    assert isinstance(strategy, Strategy)
    out = strategy.compute(BARS)
    assert list(out.columns[:6]) == ["entry", "exit", "stop", "target", "confidence", "reason"]
    assert not out["entry"].iloc[: strategy.warmup].any()
    assert out["target"].isna().all()
    assert set(np.unique(out["entry"])) <= {-1, 0}
    assert (out.loc[out["entry"] == 0, "reason"] == "").all()
    with pytest.raises(RuleError):
        RuleStrategy("enter sideways when close > 1")


# --- errors --------------------------------------------------------------------------------------

ERRORS = [
    # unexpected token / character
    (
        "enter long when rsi(14) < and close > 1",
        1,
        27,
        "expected a number, a price such as close, or an indicator such as rsi(14) after '<', "
        "but found 'and'",
    ),
    ("enter long rsi < 30", 1, 12, "expected 'when' after 'long', but found 'rsi'"),
    ("enter when rsi < 30", 1, 7, "expected 'long' or 'short' after 'enter'"),
    ("enter long when close > open\nstop 2 *\ntarget 3", 2, 9, "after '*', but the line ends here"),
    ("enter long when rsi(14) < 30 and", 1, 33, "after 'and', but the rule ends here"),
    ("enter long when close > 1 stop 2", 1, 27, "put ';' or a new line between statements"),
    ("enter long when rsi(14) < 30 adn close > 1", 1, 30, "did you mean 'and'?"),
    ("entr long when close > 1", 1, 1, "expected 'enter'/'exit'/'stop'/'target' at the start of the rule"),
    ("enter long when (close > open", 1, 30, "expected"),
    ("enter long when close[1.5] > 1", 1, 23, "bars ago must be a whole number"),
    ("enter long when close[-1] > 1", 1, 23, "expected a whole number of bars after '['"),
    ("enter long when close crosses above sma(50)", 1, 23, "crosses_above or crosses_below"),
    ("enter long when close = 1", 1, 23, "to test equality write '=='"),
    ("enter long when close > 1 && open > 1", 1, 27, "join conditions with 'and' or 'or'"),
    ("enter long when close > 1 $", 1, 27, "unexpected character '$'"),
    ("enter long when rsi(14) < 30 and close > 1 > 2", 1, 44, "expected"),
    # names, arguments, outputs
    ("enter long when rsx(14) < 30", 1, 17, "unknown indicator 'rsx'; did you mean 'rsi'?"),
    ("enter long when\n  closed > 1", 2, 3, "unknown indicator or price 'closed'; did you mean 'close'?"),
    ("enter long when rsi(14, 3) < 30", 1, 25, "rsi takes at most 1 argument (period), got 2"),
    ("enter long when obv(3) > 0", 1, 21, "obv takes no arguments, got 1"),
    ("enter long when rsi(close) < 30", 1, 21, "rsi's period must be a plain number, e.g. rsi(14)"),
    ("enter long when close(1) > 0", 1, 17, "close is a price and takes no arguments; for an earlier bar"),
    ("enter long when prev(close) > 0", 1, 17, "prev takes 2 arguments"),
    ("enter long when prev(close, open) > 0", 1, 29, "prev's second argument must be a plain whole number"),
    (
        "enter long when macd.sig > 0",
        1,
        22,
        "macd has no output 'sig'; its outputs are macd, signal and hist; did you mean 'signal'?",
    ),
    ("enter long when macd > 0", 1, 17, "macd has several outputs (macd, signal, hist); pick one"),
    ("enter long when rsi.upper > 0", 1, 21, "rsi has a single output"),
    ("enter long when macd.signal.hist > 0", 1, 29, "already names an output"),
    ("enter long when close.high > 0", 1, 23, "can only follow an indicator with several outputs"),
    # ranges
    ("enter long when rsi(1000) < 30", 1, 21, "rsi's period must be between 1 and 500, got 1000"),
    ("enter long when sma(0) < close", 1, 21, "sma's period must be between 1 and 500, got 0"),
    ("enter long when sma(2.5) < close", 1, 21, "sma's period must be a whole number, got 2.5"),
    ("enter long when rsi(1) < 30", 1, 21, "rsi's period must be at least 2, got 1"),
    ("enter long when bbands(20, 50).upper < close", 1, 28, "deviations must be above 0 and at most 10"),
    ("enter long when close[0] > 1", 1, 23, "bars ago must be a whole number from 1 to 500, got 0"),
    ("enter long when prev(close, 600) > 1", 1, 29, "got 600"),
    # types
    ("enter long when (rsi < 30) > 5", 1, 18, "can't compare a condition with a number: 'rsi < 30' is a"),
    ("enter long when 5 <= (close > open)", 1, 23, "can't compare a condition with a number"),
    ("enter long when (close > open) + 1 > 0", 1, 18, "arithmetic needs numbers: 'close > open' is a"),
    ("enter long when rsi(14)", 1, 17, "needs a condition such as rsi(14) < 30: 'rsi(14)' is a number"),
    ("enter long when close > open and rsi", 1, 34, "'and' joins conditions: 'rsi' is a number"),
    ("enter long when not close", 1, 21, "'not' needs a condition"),
    ("enter long when close > 1; stop close > open", 1, 33, "'stop' needs a distance in price units"),
    ("enter long when close > 1; target 0", 1, 35, "the target distance must be above 0, got 0"),
    ("enter long when close > 1; stop -1.5 %", 1, 33, "the stop distance must be above 0, got -1.5"),
    # statements
    ("exit when rsi > 70; stop 2", 1, 1, "a rule needs an 'enter long when …' or 'enter short when …'"),
    ("# nothing but a comment\n", 1, 1, "a rule needs an 'enter long when"),
    ("enter long when close > open\nstop 1\nstop 2", 3, 1, "a second 'stop'; a rule has at most one"),
    ("enter long when close > open; target 1;  target 2", 1, 42, "a second 'target'"),
    ("enter long when close > open\nenter long when rsi < 30", 2, 1, "a second 'enter long'"),
    (
        "enter long when open > 1\nexit short when rsi < 30",
        2,
        1,
        "'exit short' but the rule has no 'enter short'",
    ),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), ERRORS, ids=[e[0][:40] for e in ERRORS])
def test_error_positions(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    error = caught.value
    assert message in error.message
    assert (error.line, error.column) == (line, column), error.message
    source_line = text.split("\n")[line - 1]
    assert error.excerpt == f"  {source_line}\n  {' ' * (column - 1)}^"
    assert str(error).startswith(f"line {line}, column {column}: {error.message}\n")


def test_error_message_reads_well() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("enter long when rsi(14) < and close > 1")
    assert str(caught.value) == (
        "line 1, column 27: expected a number, a price such as close, or an indicator such as rsi(14) "
        "after '<', but found 'and'\n"
        "  enter long when rsi(14) < and close > 1\n"
        "                            ^"
    )
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.column == 27


def test_too_long_and_too_deep() -> None:
    long_rule = "enter long when " + " and ".join(["close > 1"] * 200)
    with pytest.raises(RuleError, match="too long") as caught:
        parse_rule(long_rule)
    assert (caught.value.line, caught.value.column) == (1, MAX_LENGTH + 1)
    assert len(caught.value.excerpt.split("\n")[0]) < 100

    deep = "enter long when " + "(" * (MAX_DEPTH + 1) + "close > 1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(RuleError, match="nested too deeply") as caught:
        parse_rule(deep)
    assert caught.value.column == len("enter long when ") + MAX_DEPTH + 1
    for text in (
        "enter long when " + "-" * 300 + "close > 1",
        "enter long when " + "not " * 300 + "close > 1",
        "enter long when close" + "[1]" * 300 + " > 1",
        "enter long when close " + "+ 1 " * 200 + "> 1",
    ):
        with pytest.raises(RuleError, match="nested too deeply"):
            parse_rule(text)
    fine = "enter long when " + "(" * 10 + "close > 1" + ")" * 10
    assert parse_rule(fine).describe() == "enter long when close > 1"


# --- no code execution ---------------------------------------------------------------------------

ATTACKS = [
    "enter long when __import__('os').system('touch /tmp/pwned') > 0",
    "enter long when __import__ > 0",
    "enter long when close.__class__ > 0",
    "enter long when close.__class__.__bases__[0] > 0",
    "enter long when open.__globals__ > 0",
    "enter long when rsi.__init__.__globals__ > 0",
    'enter long when exec("import os") > 0',
    "enter long when eval(1) > 0",
    "enter long when lambda: 1",
    "enter long when (lambda x: x)(1) > 0",
    "enter long when globals() > 0",
    "enter long when getattr(close, 1) > 0",
    "enter long when 'close' > 1",
    'enter long when f"{close}" > 1',
    "enter long when [close][0] > 1",
    "enter long when {} > 1",
    "enter long when close > 1; import os",
    "import os\nenter long when close > 1",
    "enter long when close > 1 # ok\n__import__('os')",
    "enter long when close > 1\x00",
    "enter long when close > 1e3",
    "enter long when `close` > 1",
    "enter long when close > 1 if True else 0",
    "enter long when close ** 2 > 1",
    "enter long when close @ open > 1",
    "enter long when close > 1; stop " + "9" * 400,
    "enter long when " + "x" * 3000,
]


@pytest.mark.parametrize("text", ATTACKS, ids=range(len(ATTACKS)))
def test_attacks_are_rule_errors(text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text)


@pytest.mark.parametrize("name", sorted(n for n in dir(builtins) if n not in FIELDS))
def test_no_builtin_is_reachable(name: str) -> None:
    for text in (
        f"enter long when {name} > 0",
        f"enter long when {name}(1) > 0",
        f"enter long when rsi.{name} > 0",
    ):
        with pytest.raises(RuleError):
            parse_rule(text)


def test_open_is_the_price_column_not_the_builtin() -> None:
    expected = (shift(C, 1) < OP).astype(np.int8)
    expected[:1] = 0
    np.testing.assert_array_equal(signals("enter long when open > close[1]")["entry"].to_numpy(), expected)


def test_parsing_and_running_never_evaluate_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rule language must not evaluate code")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    text = "enter long when rsi(13) < 45 or macd(11, 25, 8).hist crosses_above 0; stop 2.5 * atr(13)"
    out = signals(text)
    assert (out["entry"] != 0).any()
    with pytest.raises(RuleError):
        parse_rule("enter long when __import__('os') > 1")


def test_package_source_has_no_dynamic_execution() -> None:
    package = Path(__file__).resolve().parents[2] / "academy" / "trading" / "rules"
    source = "\n".join(p.read_text() for p in package.glob("*.py"))
    assert not re.search(r"\b(eval|exec|compile|__import__|importlib\.import_module)\s*\(", source)


# --- look-ahead guard ----------------------------------------------------------------------------

GUARDED = [
    EXAMPLE,
    LONG_SHORT,
    "enter short when stoch.k crosses_below stoch.d and adx > 20 or cci(20)[2] > 100\n"
    "exit when willr < -80 or roc(5) > 3; stop 0.5 * atr(7) + 0.1; target 4 %",
]


@pytest.mark.parametrize("text", GUARDED, ids=["example", "long-short", "oscillators"])
def test_truncated_history_gives_the_same_signals(text: str) -> None:
    strategy = RuleStrategy(text)
    full = run(strategy, BARS)
    assert (full["entry"] != 0).any()
    for cut in (strategy.warmup + 1, HEAD - 9, HEAD, 233, len(BARS) - 1):
        part = run(strategy, BARS.iloc[:cut])
        pd.testing.assert_frame_equal(part, full.iloc[:cut])
