"""Channel audit scorecard on a hand-made export over hand-made hourly gold bars."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from academy.cli import app
from academy.trading.channel_audit import ChannelMessage, Scorecard, audit, read_messages
from academy.trading.signal import wilson_interval

T0 = datetime(2024, 3, 1, tzinfo=UTC)

# (open, high, low, close) of the hourly bars opening at T0 + i hours.
BARS = [
    (2000, 2002, 1998, 2000),  # 0  A's move starts: its zone 2000-2001 is filled at this open
    (2000, 2008, 1999, 2007),  # 1
    (2007, 2016, 2006, 2015),  # 2  ... and its target 2015 is reached before A is posted
    (2015, 2020, 2012, 2018),  # 3
    (2018, 2019, 2010, 2012),  # 4  A posted at 04:10, inside this bar: not counted
    (2012, 2013, 2000, 2002),  # 5  A fills at its zone's high edge 2001
    (2002, 2003, 1988, 1989),  # 6  A stopped at 1990: -1 R
    (1990, 1992, 1986, 1991),  # 7  B fills at the open 1990
    (1991, 2001, 1990, 2000),  # 8  B reaches 2000: +1 R
    (2000, 2004, 1996, 2003),  # 9  C (short) fills at the open 2000
    (2003, 2012, 2002, 2008),  # 10 C stopped at 2010: -1 R
    (2008, 2010, 2004, 2006),  # 11 D waits for 1950 ...
    (2006, 2008, 2002, 2004),  # 12
    (2004, 2006, 2000, 2002),  # 13
    (2002, 2004, 1998, 2000),  # 14
    (2000, 2002, 1998, 2000),  # 15 ... and expires unfilled after 5 bars
    (2000, 2004, 1999, 2003),  # 16 E at market fills at 2000
    (2003, 2011, 2002, 2009),  # 17 E reaches 2010 (no stop: no R)
    (2010, 2012, 2004, 2005),  # 18 F (short) fills at the open 2010
    (2005, 2006, 1988, 1992),  # 19 F reaches 1990: +2 R
    (1992, 1995, 1990, 1994),  # 20
    (1994, 1996, 1992, 1995),  # 21
]


def hour(i: float) -> datetime:
    return T0 + timedelta(hours=i)


def message(mid: int, at: datetime, text: str, edited: datetime | None = None) -> dict[str, object]:
    item: dict[str, object] = {
        "id": mid,
        "type": "message",
        "date": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(int(at.timestamp())),
        "text": text,
    }
    if edited is not None:
        item["edited"] = edited.strftime("%Y-%m-%dT%H:%M:%S")
        item["edited_unixtime"] = str(int(edited.timestamp()))
    return item


MESSAGES = [
    message(1, hour(4 + 1 / 6), "BUY XAUUSD 2000-2001\nSL 1990\nTP 2015"),  # A: posted after the move
    message(2, hour(7), "BUY XAUUSD @ 1990\nSL 1980\nTP 2000"),  # B: win
    message(3, hour(9), "SELL XAUUSD 2000 SL 2010 TP 1980"),  # C: loss
    message(4, hour(11), "BUY LIMIT XAUUSD 1950 SL 1940 TP 1970"),  # D: not filled
    message(5, hour(16), "BUY XAUUSD now TP 2010"),  # E: target without a stop
    message(6, hour(18), "SELL XAUUSD 2010 SL 2020 TP 1990", edited=hour(20.5)),  # F: edited after the exit
    message(7, hour(20), "BUY BTC/USDT 60000 SL 59000 TP 62000"),  # no market data
    message(8, hour(20), "BUY XAUUSD 2000 SL 2005 TP 2020"),  # stop on the wrong side
    message(9, hour(21), "Good morning! Markets open soon."),
    {"id": 10, "type": "service", "action": "pin_message", "date": "2024-03-01T21:00:00", "text": ""},
    message(11, hour(21), "XAUUSD TP1 hit ✅"),
]

# Closed results in %: A, B, C, E, F.
PCTS = [-11 / 2001 * 100, 10 / 1990 * 100, -0.5, 0.5, 20 / 2010 * 100]
# Follower at 1 %: A -1 R on 10,000, B +1 R on 9,900, C -1 R on 9,999, F +2 R on 9,899.01.
FINAL = 9_899.01 * 1.02


def bar_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([hour(i) for i in range(len(BARS))], name="open_time")
    return pd.DataFrame(BARS, columns=["open", "high", "low", "close"], index=index, dtype=float)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "result.json"
    document = {"name": "Gold Signals VIP", "type": "public_channel", "id": 1, "messages": MESSAGES}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def card(export: Path) -> Scorecard:
    return audit(read_messages(export), {"xauusd": bar_frame()}, expiry_bars=5, lookback_bars=5)


def test_counts_and_parse_rate(card: Scorecard) -> None:
    assert card.messages == 10  # the service message is not one
    assert card.signal_like == 8
    assert card.signals == 7
    assert card.parse_rate == pytest.approx(7 / 8)
    assert [u.message_id for u in card.unparsed] == [8]
    assert card.unparsed[0].reasons == ["stop 2005 is not below the entry 2000 for a long"]
    assert [(r.message_id, r.symbol) for r in card.no_market_data] == [(7, "BTCUSDT")]
    assert card.no_market_data[0].outcome is None


def test_outcomes(card: Scorecard) -> None:
    rows = {r.message_id: r.outcome for r in card.rows}
    assert list(rows) == [1, 2, 3, 4, 5, 6]
    expected = {
        1: ("lost", 2001.0, 1990.0, -1.0, hour(5), hour(6)),
        2: ("won", 1990.0, 2000.0, 1.0, hour(7), hour(8)),
        3: ("lost", 2000.0, 2010.0, -1.0, hour(9), hour(10)),
        4: ("not_filled", None, None, None, None, None),
        5: ("won", 2000.0, 2010.0, None, hour(16), hour(17)),
        6: ("won", 2010.0, 1990.0, 2.0, hour(18), hour(19)),
    }
    for mid, (status, fill, exit_price, r, fill_time, exit_time) in expected.items():
        o = rows[mid]
        assert o is not None
        assert (o.status, o.fill_price, o.exit_price, o.fill_time, o.exit_time) == (
            status,
            fill,
            exit_price,
            None if fill_time is None else pd.Timestamp(fill_time),
            None if exit_time is None else pd.Timestamp(exit_time),
        ), mid
        assert o.result_r == (None if r is None else pytest.approx(r)), mid
    assert rows[1] is not None and rows[1].published_at == pd.Timestamp(hour(4 + 1 / 6))


def test_track_record_and_follower(card: Scorecard) -> None:
    r = card.record
    assert (r.signals, r.filled, r.closed, r.not_filled, r.open, r.wins) == (6, 5, 5, 1, 0, 3)
    assert r.win_rate == pytest.approx(0.6)
    low, high = wilson_interval(3, 5)
    assert (r.win_rate_low, r.win_rate_high) == (pytest.approx(low), pytest.approx(high))
    assert (round(low, 4), round(high, 4)) == (0.2307, 0.8824)
    assert r.expectancy_r == pytest.approx(0.25)  # (-1 + 1 - 1 + 2) / 4: E has no stop, so no R
    assert r.expectancy_pct == pytest.approx(sum(PCTS) / 5)
    assert r.profit_factor == pytest.approx(1.5)
    assert r.max_drawdown_r == pytest.approx(1.0)
    assert r.average_holding == pd.Timedelta(hours=1)
    f = card.follower
    assert f.trades == 4
    assert f.final_equity == pytest.approx(FINAL)
    assert f.final_equity == pytest.approx(10_096.9902)
    assert f.return_pct == pytest.approx(0.969902)


def test_red_flags(card: Scorecard) -> None:
    assert [(f.kind, f.message_id) for f in card.red_flags] == [
        ("posted_after_move", 1),
        ("targets_without_stop", 5),
        ("edited", 6),
        ("stop_wrong_side", 8),
    ]
    edited = card.red_flags[2]
    assert edited.detail == "edited 2024-03-01T20:30:00+00:00, after the trade's exit"
    assert "2015" in card.red_flags[0].detail


def test_posted_after_move_needs_closed_bars() -> None:
    text = MESSAGES[0]["text"]
    assert isinstance(text, str)

    def flags(posted: datetime) -> list[str]:
        messages = [ChannelMessage(text=text, id=1, date_unixtime=int(posted.timestamp()))]
        return [f.kind for f in audit(messages, {"XAUUSD": bar_frame()}, lookback_bars=5).red_flags]

    # At 02:30 the touch of 2015 is in the bar still in progress: it may have come after the message.
    assert flags(hour(2.5)) == []
    assert flags(hour(3)) == ["posted_after_move"]


def test_naive_bars_are_read_as_utc(export: Path, card: Scorecard) -> None:
    naive = bar_frame().tz_localize(None)
    again = audit(read_messages(export), {"XAUUSD": naive}, expiry_bars=5, lookback_bars=5)
    assert again.to_dict() == card.to_dict()


def test_to_dict_is_json(card: Scorecard) -> None:
    document = json.loads(json.dumps(card.to_dict(), allow_nan=False))
    assert document["track_record"]["average_holding_hours"] == 1.0
    assert document["outcomes"][3]["status"] == "not_filled"


runner = CliRunner()


def lab_audit(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lab", "audit", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def gold_csv(tmp_path: Path) -> Path:
    path = tmp_path / "gold.csv"
    bar_frame().assign(volume=0.0).to_csv(path, index_label="Date")
    return path


def test_cli_json(export: Path, gold_csv: Path) -> None:
    code, out, err = lab_audit(
        export, "--bars", f"XAUUSD={gold_csv}", "--json", "--expiry", "5", "--lookback", "5", "--risk", "1"
    )
    assert code == 0, err
    document = json.loads(out)
    assert (document["messages"], document["signal_like"], document["signals"]) == (10, 8, 7)
    assert document["parse_rate"] == pytest.approx(0.875)
    record = document["track_record"]
    assert (record["closed"], record["wins"], record["not_filled"]) == (5, 3, 1)
    assert record["win_rate"] == pytest.approx(0.6)
    assert record["win_rate_low"] == pytest.approx(wilson_interval(3, 5)[0])
    assert record["win_rate_high"] == pytest.approx(wilson_interval(3, 5)[1])
    assert record["expectancy_r"] == pytest.approx(0.25)
    assert record["profit_factor"] == pytest.approx(1.5)
    assert record["max_drawdown_r"] == pytest.approx(1.0)
    assert record["average_holding_hours"] == pytest.approx(1.0)
    assert document["follower"]["final_equity"] == pytest.approx(FINAL)
    assert document["follower"]["return_pct"] == pytest.approx(0.969902)
    assert [(f["kind"], f["message_id"]) for f in document["red_flags"]] == [
        ("posted_after_move", 1),
        ("targets_without_stop", 5),
        ("edited", 6),
        ("stop_wrong_side", 8),
    ]
    assert document["no_market_data"][0]["symbol"] == "BTCUSDT"
    assert [u["message_id"] for u in document["unparsed"]] == [8]
    assert math.isclose(document["outcomes"][0]["result_r"], -1.0)


def test_cli_readable(export: Path, gold_csv: Path) -> None:
    code, out, err = lab_audit(export, "--bars", f"xauusd={gold_csv}", "--expiry", "5", "--lookback", "5")
    assert code == 0, err
    assert "10 messages, 8 look like signals" in out
    assert "parsed cleanly 7 (87.5 %)" in out
    assert "60.0 % (95 % interval 23.1 % to 88.2 %)" in out
    assert "#1 posted after move" in out
    assert "#7 BTCUSDT" in out


@pytest.mark.parametrize(
    ("bars", "message"),
    [
        ("XAUUSD", "write it as SYMBOL=CSV"),
        ("=gold.csv", "write it as SYMBOL=CSV"),
        ("XAUUSD=missing.csv", "Cannot read"),
    ],
)
def test_cli_bad_bars(export: Path, tmp_path: Path, bars: str, message: str) -> None:
    code, out, err = lab_audit(export, "--bars", bars.replace("missing.csv", str(tmp_path / "missing.csv")))
    assert code == 1
    assert message in err
    assert out == ""


def test_cli_needs_bars(export: Path) -> None:
    code, _, err = lab_audit(export)
    assert code == 1
    assert "--bars SYMBOL=CSV" in err
