"""Outcome tracking on hand-made bar sequences, the Wilson interval and a channel's track record."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest

from academy.trading.backtest import STOP_RULE as ENGINE_STOP_RULE
from academy.trading.signal import (
    PARTIALS_RULE,
    STOP_RULE,
    Outcome,
    OutcomeError,
    SignalSpec,
    TrackRecord,
    follow,
    follower_return,
    wilson_interval,
)

T0 = pd.Timestamp("2024-03-01 00:00", tz="UTC")
H = pd.Timedelta(hours=1)


def make_bars(*rows: tuple[float, float, float, float], start: pd.Timestamp = T0) -> pd.DataFrame:
    """Hourly bars from (open, high, low, close) rows; the index is each bar's open time."""
    index = pd.date_range(start, periods=len(rows), freq="1h", tz="UTC", name="time")
    return pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)


def long(**kwargs) -> SignalSpec:
    return SignalSpec(side=1, published_at=kwargs.pop("published_at", T0), **kwargs)


def short(**kwargs) -> SignalSpec:
    return SignalSpec(side=-1, published_at=kwargs.pop("published_at", T0), **kwargs)


def test_target_first():
    bars = make_bars((100, 104, 98, 103), (103, 111, 101, 110), (110, 112, 90, 91))
    out = follow(long(stop=95, targets=[110]), bars)
    assert out.status == "won"
    assert (out.fill_price, out.fill_time) == (100, T0)
    assert (out.exit_price, out.exit_time) == (110, T0 + H)
    assert out.targets_hit == 1
    assert out.risk == 5
    assert out.result_r == pytest.approx(2.0)
    assert out.result_pct == pytest.approx(10.0)
    assert out.holding_time == H
    assert out.bars_held == 2
    assert out.mae_r == pytest.approx(-0.4)
    # The exit bar's high beyond the target is not a gain the trade ever had.
    assert out.mfe_r == pytest.approx(2.0)


def test_stop_first():
    bars = make_bars((100, 104, 98, 103), (103, 104, 94, 95), (95, 120, 95, 119))
    out = follow(long(stop=95, targets=[110]), bars)
    assert out.status == "lost"
    assert (out.exit_price, out.exit_time) == (95, T0 + H)
    assert out.result_r == pytest.approx(-1.0)
    assert out.result_pct == pytest.approx(-5.0)
    assert out.mae_r == pytest.approx(-1.0)
    assert out.mfe_r == pytest.approx(0.8)
    assert out.targets_hit == 0


def test_bar_touching_both_is_a_stop():
    bars = make_bars((100, 111, 94, 100))
    out = follow(long(stop=95, targets=[110]), bars)
    assert out.status == "lost"
    assert out.exit_price == 95
    assert out.result_r == pytest.approx(-1.0)
    assert out.targets_hit == 0
    assert out.stop_rule == STOP_RULE == ENGINE_STOP_RULE
    assert STOP_RULE.startswith("stop first")


def test_gap_through_the_stop_fills_at_the_open():
    bars = make_bars((100, 102, 99, 101), (93, 94, 90, 92))
    out = follow(long(stop=95, targets=[110]), bars)
    assert out.status == "lost"
    assert (out.exit_price, out.exit_time) == (93, T0 + H)
    assert out.result_r == pytest.approx(-1.4)
    assert out.result_r < -1
    assert out.result_pct == pytest.approx(-7.0)
    assert out.mae_r == pytest.approx(-1.4)


def test_expiry_in_bars_closes_at_the_expiry_bar_close():
    bars = make_bars((100, 102, 98, 101), (101, 103, 99, 102), (102, 103, 100, 101), (101, 120, 80, 110))
    out = follow(long(stop=95, targets=[110], expiry=3), bars)
    assert out.status == "expired"
    assert (out.exit_price, out.exit_time) == (101, T0 + 2 * H)
    assert out.result_r == pytest.approx(0.2)
    assert out.bars_held == 3
    assert out.exits[-1].reason == "expiry"


def test_expiry_as_a_time_span():
    bars = make_bars((100, 102, 98, 101), (101, 103, 99, 102), (102, 120, 80, 101))
    out = follow(long(stop=95, targets=[110], expiry=timedelta(hours=2)), bars)
    assert out.status == "expired"
    assert (out.exit_price, out.exit_time) == (102, T0 + H)
    # The data ends with the last bar inside the span: its close is the deadline, so it expires.
    out = follow(long(stop=95, targets=[110], expiry=timedelta(hours=2)), bars.iloc[:2])
    assert out.status == "expired"
    out = follow(long(stop=95, targets=[110], expiry=timedelta(hours=3)), bars.iloc[:2])
    assert out.status == "open"


def test_open_when_the_data_ends_before_the_expiry():
    bars = make_bars((100, 102, 98, 101), (101, 104, 99, 103))
    out = follow(long(stop=95, targets=[110], expiry=10), bars)
    assert out.status == "open"
    assert out.exit_price is None and out.exit_time is None
    assert out.result_r == pytest.approx(0.6)  # marked at the last close
    assert out.holding_time == H


def test_not_filled():
    bars = make_bars((100, 102, 99, 101), (101, 103, 96, 100), (100, 101, 96.5, 97), (97, 98, 90, 91))
    out = follow(long(entry=95, stop=92, targets=[105], expiry=3), bars)
    assert out.status == "not_filled"
    assert out.fill_price is None and out.result_r is None and out.result_pct is None
    waiting = follow(long(entry=95, stop=92, targets=[105], expiry=10), bars.iloc[:3])
    assert waiting.status == "open"
    assert waiting.fill_price is None


def test_limit_price_filled_when_touched():
    bars = make_bars((100, 102, 99, 101), (101, 101, 95, 96), (96, 106, 96, 105))
    out = follow(long(entry=96, stop=92, targets=[105]), bars)
    assert (out.fill_price, out.fill_time) == (96, T0 + H)
    assert out.status == "won"
    assert out.result_r == pytest.approx(9 / 4)


def test_zone_entry_filled_at_the_edge_first_touched():
    # From above: the high edge.
    bars = make_bars((100, 101, 99, 100), (100, 100.5, 97.5, 99), (99, 104.5, 98.5, 104))
    out = follow(long(entry=[97, 98], stop=94, targets=[104]), bars)
    assert (out.fill_price, out.fill_time) == (98, T0 + H)
    assert out.status == "won"
    assert out.result_r == pytest.approx(1.5)
    # From below: the low edge.
    bars = make_bars((100, 101, 99, 100), (100, 102.5, 99.5, 102), (102, 108, 101, 107))
    out = follow(long(entry=[103, 102], stop=99, targets=[108]), bars)
    assert (out.fill_price, out.fill_time) == (102, T0 + H)
    assert out.result_r == pytest.approx(2.0)


def test_zone_entry_at_the_open_inside_or_after_a_gap():
    bars = make_bars((100, 101, 99, 100), (100, 104, 99, 103))
    out = follow(long(entry=[99, 101], stop=97, targets=[103]), bars)
    assert (out.fill_price, out.fill_time) == (100, T0)
    bars = make_bars((100, 101, 99, 100), (96, 97, 95.5, 96.5))
    out = follow(long(entry=[97, 98], stop=94, targets=[104], expiry=2), bars)
    assert (out.fill_price, out.fill_time) == (96, T0 + H)
    assert out.risk == 2


def test_fill_inside_a_bar_counts_the_stop_but_not_the_target_on_that_bar():
    bars = make_bars((100, 101, 99, 100), (100, 106, 97.5, 99))
    out = follow(long(entry=[97, 98], stop=94, targets=[105], expiry=2), bars)
    assert out.status == "expired"
    assert out.targets_hit == 0
    assert out.exit_price == 99
    bars = make_bars((100, 101, 99, 100), (100, 101, 93, 95))
    out = follow(long(entry=[97, 98], stop=94, targets=[105]), bars)
    assert out.status == "lost"
    assert (out.fill_price, out.exit_price) == (98, 94)
    assert out.result_r == pytest.approx(-1.0)


def test_market_entry_at_the_next_open_and_earlier_bars_ignored():
    # Published 30 minutes into bar 0: that bar is in progress and never used, even though its
    # low is below the stop and its high above the target.
    bars = make_bars((100, 120, 80, 101), (102, 104, 100, 103), (103, 112, 101, 111))
    out = follow(long(stop=97, targets=[111], published_at=T0 + H / 2), bars)
    assert (out.fill_price, out.fill_time) == (102, T0 + H)
    assert out.status == "won"
    assert out.result_r == pytest.approx(9 / 5)
    assert out.published_at == T0 + H / 2


def test_bars_before_published_at_ignored_for_expiry_and_fills():
    bars = make_bars((95, 96, 94, 95), (100, 102, 99, 101), (101, 103, 100, 102))
    out = follow(long(entry=95, stop=92, targets=[105], published_at=T0 + H, expiry=2), bars)
    assert out.status == "not_filled"


def mirror(bars: pd.DataFrame) -> pd.DataFrame:
    """The same path reflected around 100: highs become lows, a rise becomes a fall."""
    return pd.DataFrame(
        {"open": 200 - bars.open, "high": 200 - bars.low, "low": 200 - bars.high, "close": 200 - bars.close},
        index=bars.index,
    )


SCENARIOS = {
    "target": (dict(stop=95, targets=[110]), [(100, 104, 98, 103), (103, 111, 101, 110)]),
    "stop": (dict(stop=95, targets=[110]), [(100, 104, 98, 103), (103, 104, 94, 95)]),
    "both": (dict(stop=95, targets=[110]), [(100, 111, 94, 100)]),
    "gap": (dict(stop=95, targets=[110]), [(100, 102, 99, 101), (93, 94, 90, 92)]),
    "zone": (
        dict(entry=[97, 98], stop=94, targets=[104]),
        [(100, 101, 99, 100), (100, 100.5, 97.5, 99), (99, 104.5, 98.5, 104)],
    ),
    "partials": (
        dict(stop=95, targets=[105, 110, 115]),
        [(100, 106, 99, 105), (105, 111, 103, 110), (110, 112, 94, 96)],
    ),
    "expiry": (dict(stop=95, targets=[110], expiry=2), [(100, 102, 98, 101), (101, 103, 99, 102)]),
}


def _mirror_level(value):
    if value is None:
        return None
    if isinstance(value, list):
        return [200 - v for v in value]
    return 200 - value


@pytest.mark.parametrize("name", SCENARIOS)
def test_short_mirrors_long(name):
    levels, rows = SCENARIOS[name]
    bars = make_bars(*rows)
    mirrored = {k: v if k == "expiry" else _mirror_level(v) for k, v in levels.items()}
    up = follow(long(**levels), bars)
    down = follow(short(**mirrored), mirror(bars))
    assert down.side == -1
    assert down.status == up.status
    assert down.fill_price == pytest.approx(200 - up.fill_price)
    assert down.exit_price == pytest.approx(200 - up.exit_price)
    assert (down.fill_time, down.exit_time, down.targets_hit) == (up.fill_time, up.exit_time, up.targets_hit)
    for field in ("result_r", "mae_r", "mfe_r"):
        assert getattr(down, field) == pytest.approx(getattr(up, field)), field
    # Entries at 100 make the percent results mirror exactly as well.
    if up.fill_price == 100:
        assert down.result_pct == pytest.approx(up.result_pct)


def test_short_signal_wins_when_price_falls():
    bars = make_bars((100, 101, 97, 98), (98, 99, 89, 90))
    out = follow(short(stop=105, targets=[95, 90]), bars)
    assert out.status == "won"
    assert out.targets_hit == 2
    assert out.result_r == pytest.approx((1 + 2) / 2)
    assert out.result_pct == pytest.approx(7.5)


def test_multiple_targets_with_partials_then_the_stop():
    bars = make_bars((100, 106, 99, 105), (105, 111, 103, 110), (110, 112, 94, 96))
    out = follow(long(stop=95, targets=[105, 110, 115]), bars)
    assert out.status == "lost"
    assert out.targets_hit == 2
    assert [(e.price, e.reason) for e in out.exits] == [(105, "target"), (110, "target"), (95, "stop")]
    assert [e.fraction for e in out.exits] == pytest.approx([1 / 3] * 3)
    assert out.result_r == pytest.approx((1 + 2 - 1) / 3)
    assert out.result_pct == pytest.approx((5 + 10 - 5) / 3)
    assert out.exit_price == pytest.approx((105 + 110 + 95) / 3)
    assert out.exit_time == T0 + 2 * H
    assert out.partials_rule == PARTIALS_RULE


def test_multiple_targets_all_reached():
    bars = make_bars((100, 106, 99, 105), (105, 111, 103, 110), (110, 116, 108, 115))
    out = follow(long(stop=95, targets=[105, 110, 115]), bars)
    assert out.status == "won"
    assert out.targets_hit == 3
    assert out.result_r == pytest.approx(2.0)
    assert out.mfe_r == pytest.approx(3.0)


def test_multiple_targets_without_partials_exit_at_the_first():
    bars = make_bars((100, 106, 99, 105), (105, 111, 103, 110))
    out = follow(long(stop=95, targets=[105, 110, 115]), bars, partials=False)
    assert out.status == "won"
    assert (out.exit_price, out.exit_time) == (105, T0)
    assert out.targets_hit == 1
    assert out.result_r == pytest.approx(1.0)
    assert out.partials_rule is None


def test_gap_through_several_targets_fills_them_at_the_open():
    bars = make_bars((100, 101, 99, 100), (111, 112, 109, 111), (111, 113, 94, 95))
    out = follow(long(stop=95, targets=[105, 110, 115]), bars)
    assert [(e.price, e.reason) for e in out.exits] == [(111, "target"), (111, "target"), (95, "stop")]
    assert out.status == "lost"
    assert out.result_r == pytest.approx((11 / 5 + 11 / 5 - 1) / 3)


def test_a_bar_touching_the_stop_and_the_next_target_after_tp1_is_a_stop():
    bars = make_bars((100, 106, 99, 105), (105, 111, 94, 100))
    out = follow(long(stop=95, targets=[105, 110]), bars)
    assert out.status == "lost"
    assert out.targets_hit == 1
    assert out.result_r == pytest.approx((1 - 1) / 2)


def test_no_stop_is_followed_in_percent_only():
    bars = make_bars((100, 104, 96, 103), (103, 111, 101, 110))
    out = follow(long(targets=[110]), bars)
    assert out.status == "won"
    assert out.risk is None
    assert out.result_r is None and out.mae_r is None and out.mfe_r is None
    assert out.result_pct == pytest.approx(10.0)
    assert out.mae_pct == pytest.approx(-4.0)
    assert out.mfe_pct == pytest.approx(10.0)


def test_market_fill_beyond_the_stop_closes_at_once():
    bars = make_bars((94, 96, 93, 95), (95, 120, 95, 119))
    out = follow(long(stop=95, targets=[110]), bars)
    assert out.status == "lost"
    assert (out.fill_price, out.exit_price) == (94, 94)
    assert out.result_r == 0.0 and out.result_pct == 0.0


@pytest.mark.parametrize(
    "spec",
    [
        dict(side=1, entry=100, stop=101, targets=[110]),
        dict(side=1, entry=100, stop=95, targets=[99]),
        dict(side=1, stop=95, targets=[110, 105]),
        dict(side=-1, entry=[100, 102], stop=101, targets=[90]),
        dict(side=-1, stop=105, targets=[95, 98]),
        dict(side=0, stop=95),
        dict(side=1, entry=[1, 2, 3]),
        dict(side=1, expiry=0),
    ],
)
def test_inconsistent_signals_are_rejected(spec):
    with pytest.raises(OutcomeError):
        SignalSpec(published_at=T0, **spec)


def test_time_zones_must_agree():
    bars = make_bars((100, 104, 98, 103))
    with pytest.raises(OutcomeError):
        follow(long(stop=95, published_at=pd.Timestamp("2024-03-01")), bars)


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        (8, 10, (0.4902, 0.9433)),
        (0, 0, (0.0, 1.0)),
        (0, 5, (0.0, 0.4345)),
        (5, 5, (0.5655, 1.0)),
        (50, 100, (0.4038, 0.5962)),
    ],
)
def test_wilson_interval(successes, n, expected):
    low, high = wilson_interval(successes, n)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_interval_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


def closed(status, r, pct, fill_h, exit_h):
    return Outcome(
        status=status,
        side=1,
        published_at=T0,
        fill_price=100.0,
        fill_time=T0 + fill_h * H,
        exit_price=100.0 + pct,
        exit_time=T0 + exit_h * H,
        risk=None if r is None else 2.0,
        result_r=r,
        result_pct=pct,
        holding_time=(exit_h - fill_h) * H,
    )


OUTCOMES = [
    closed("won", 2.0, 4.0, 0, 2),
    closed("lost", -1.0, -2.0, 1, 3),
    closed("lost", -1.0, -2.0, 4, 5),
    closed("won", 3.0, 6.0, 6, 8),
    closed("lost", -1.5, -3.0, 7, 9),
    closed("won", None, 5.0, 9, 12),
    Outcome(status="not_filled", side=1, published_at=T0),
    Outcome(
        status="open", side=1, published_at=T0, fill_price=100.0, fill_time=T0, result_r=0.5, result_pct=1.0
    ),
]


def test_track_record_figures():
    record = TrackRecord.from_outcomes(OUTCOMES)
    assert (record.signals, record.filled, record.closed, record.open, record.not_filled) == (8, 7, 6, 1, 1)
    assert record.wins == 3
    assert record.win_rate == pytest.approx(0.5)
    assert (record.win_rate_low, record.win_rate_high) == pytest.approx(wilson_interval(3, 6))
    assert record.expectancy_r == pytest.approx((2 - 1 - 1 + 3 - 1.5) / 5)
    assert record.expectancy_pct == pytest.approx((4 - 2 - 2 + 6 - 3 + 5) / 6)
    assert record.profit_factor == pytest.approx(5 / 3.5)
    # Cumulative R: 2, 1, 0, 3, 1.5 -> the fall from 2 to 0 is the deepest.
    assert record.max_drawdown_r == pytest.approx(2.0)
    assert record.equity_r == [
        (T0 + 2 * H, 2.0),
        (T0 + 3 * H, 1.0),
        (T0 + 5 * H, 0.0),
        (T0 + 8 * H, 3.0),
        (T0 + 9 * H, 1.5),
    ]
    assert record.average_holding == pd.Timedelta(hours=(2 + 2 + 1 + 2 + 2 + 3) / 6)


def test_track_record_edge_cases():
    winners = [closed("won", 2.0, 4.0, 0, 1), closed("won", 1.0, 2.0, 1, 2)]
    assert TrackRecord.from_outcomes(winners).profit_factor == math.inf
    assert TrackRecord.from_outcomes(winners).max_drawdown_r == 0.0
    empty = TrackRecord.from_outcomes([])
    assert empty.win_rate is None and empty.expectancy_r is None and empty.profit_factor is None
    assert (empty.win_rate_low, empty.win_rate_high) == (0.0, 1.0)
    assert empty.max_drawdown_r is None and empty.equity_r == []


def test_follower_return_compounds_from_the_equity_at_each_fill():
    # 1 % of the realized equity at each fill; b is taken while a is still open.
    equity = 10_000.0
    stake_a = stake_b = 100.0  # fills at 0h and 1h
    equity += stake_a * 2  # a exits at 2h: 10_200
    equity -= stake_b * 1  # b exits at 3h: 10_100
    equity -= equity * 0.01 * 1  # c, 4h to 5h: 9_999
    stake_d = stake_e = equity * 0.01  # fills at 6h and 7h: 99.99 each
    equity += stake_d * 3 - stake_e * 1.5  # exits at 8h and 9h
    assert equity == pytest.approx(10_148.985)
    result = follower_return(OUTCOMES, risk_pct=1.0, start=10_000)
    assert result.trades == 5
    assert result.final_equity == pytest.approx(10_148.985)
    assert result.return_pct == pytest.approx(1.48985)
    doubled = follower_return(OUTCOMES[:1], risk_pct=2.0, start=1_000)
    assert doubled.final_equity == pytest.approx(1_040.0)


def test_followed_signals_make_a_track_record():
    bars = make_bars((100, 104, 98, 103), (103, 111, 101, 110), (110, 112, 106, 107), (103, 106, 90, 92))
    outcomes = [
        follow(long(stop=95, targets=[110]), bars),
        follow(long(stop=104.5, targets=[115], published_at=T0 + 2 * H), bars),
    ]
    assert [o.status for o in outcomes] == ["won", "lost"]
    record = TrackRecord.from_outcomes(outcomes)
    assert record.expectancy_r == pytest.approx((2.0 + (103 - 110) / 5.5) / 2)
    assert record.equity_r[0] == (T0 + H, pytest.approx(2.0))
