"""The channel-audit parser on a hand-labelled set of channel messages, and `academy lab parse-signals`.

Per field, a value counts as predicted when the parser gives one (not null, not an empty list; for
is_signal: True) and as expected when the label has one. A hit is predicted, expected and equal
(prices within a relative 1e-9, targets as ordered lists). Precision = hits / predicted,
recall = hits / expected; "exact" is the share of messages where output and label agree, nulls
included (so an at-market entry left null counts there). Run with -s to see the table.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from academy.cli import app
from academy.trading.channel_audit import parse_message, read_messages

DATA = Path(__file__).parent.parent / "data"
LABELLED = DATA / "signal_messages.jsonl"
EXPORT = DATA / "telegram_export" / "result.json"
FIELDS = ("is_signal", "side", "symbol", "entry", "stop", "targets")
MINIMUM = {"is_signal": 0.9, "side": 0.9, "symbol": 0.9, "entry": 0.9, "stop": 0.9, "targets": 0.9}


def _same(got, expected):
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(_same(g, e) for g, e in zip(got, expected, strict=True))
    numbers = (int, float)
    if isinstance(got, numbers) and isinstance(expected, numbers) and not isinstance(got, bool):
        return abs(got - expected) <= 1e-9 * max(1.0, abs(expected))
    return got == expected


def _present(field, value):
    return value is True if field == "is_signal" else value not in (None, [], False)


def _labelled():
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_labelled_set_is_large_and_varied():
    rows = _labelled()
    texts = [row["text"] for row in rows]
    signals = [row for row in rows if row["expected"]["is_signal"]]
    assert len(rows) >= 70
    assert len(rows) - len(signals) >= 15
    assert len(set(texts)) == len(texts), "no duplicates"
    assert sum(any("а" <= ch.lower() <= "я" for ch in text) for text in texts) >= 20, "Russian messages"
    assert {row["expected"]["side"] for row in signals} == {"long", "short"}
    assert sum(row["expected"]["entry"] is None for row in signals) >= 5, "market entries"
    assert sum(len(row["expected"]["targets"]) >= 3 for row in signals) >= 10, "several targets"
    for row in rows:
        assert set(row["expected"]) == set(FIELDS)


def test_precision_and_recall_per_field():
    rows = _labelled()
    hits = dict.fromkeys(FIELDS, 0)
    predicted = dict.fromkeys(FIELDS, 0)
    expected = dict.fromkeys(FIELDS, 0)
    exact = dict.fromkeys(FIELDS, 0)
    misses = []
    for row in rows:
        got = parse_message(row["text"]).to_dict()
        for field in FIELDS:
            want = row["expected"][field]
            p, e, same = _present(field, got[field]), _present(field, want), _same(got[field], want)
            predicted[field] += p
            expected[field] += e
            hits[field] += p and e and same
            exact[field] += same
            if not same:
                misses.append(f"{field}: got {got[field]!r}, label {want!r} in {row['text'][:60]!r}")

    precision = {f: hits[f] / predicted[f] if predicted[f] else 1.0 for f in FIELDS}
    recall = {f: hits[f] / expected[f] if expected[f] else 1.0 for f in FIELDS}
    print(f"\nsignal parser on {len(rows)} labelled messages")
    print(f"{'field':<10} {'precision':>9} {'recall':>7} {'exact':>7} {'hits':>5} {'pred':>5} {'label':>5}")
    for f in FIELDS:
        print(
            f"{f:<10} {precision[f]:>9.3f} {recall[f]:>7.3f} {exact[f] / len(rows):>7.3f} "
            f"{hits[f]:>5} {predicted[f]:>5} {expected[f]:>5}"
        )
    for miss in misses:
        print("  miss", miss)

    for f in FIELDS:
        assert precision[f] >= MINIMUM[f], f"{f} precision {precision[f]:.3f}"
        assert recall[f] >= MINIMUM[f], f"{f} recall {recall[f]:.3f}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("XAUUSD BUY 2350 SL 2358 TP 2365", "stop 2358 is not below the entry 2350 for a long"),
        ("BTCUSDT SHORT 65000 SL 64000 TP 63000", "stop 64000 is not above the entry 65000 for a short"),
        ("EURUSD ЛОНГ от 1,0850 до 1,0870\nстоп 1,0860\nцель 1,0900", "not below the entry 1.085"),
        ("GOLD SELL NOW\nSL 2330\nTP 2340", "target 2340 is not below the stop 2330 for a short"),
        ("USDJPY long 150.20 sl 149.80 tp 149.50", "target 149.5 is not above the entry 150.2 for a long"),
        ("EURUSD SELL 1.0900 TP 1.0850 TP 1.0800", "targets without a stop"),
        ("Покупаем золото 2300, цели 2320 / 2340", "targets without a stop"),
        ("Buy XAUUSD", "no stop"),
        ("GBPUSD BUY 1.2650 SL 1.2610", "no targets"),
        ("BUY 1925 SL 1915 TP 1940", "symbol missing"),
        ("GOLD SELL 2040 SL 2048 TP 2030 TP 2,02O", "unparseable number '2,02O' after 'TP'"),
        ("XAUUSD BUY 2350 SL — TP 2360", "stop given without a price"),
        ("BUY GOLD 23O5 SL 2290 TP 2320", "unparseable number '23O5'"),
        ("XAUUSD\nSL 2290\nTP 2320", "direction not stated; inferred from the stop and targets"),
        ("XAUUSD 2300\nSL 2310\nTP 2280", "direction not stated; inferred from the stop and targets"),
    ],
)
def test_problems_are_flagged(text, problem):
    parsed = parse_message(text)
    assert parsed.is_signal
    assert any(problem in p for p in parsed.problems), parsed.problems


def test_clean_signal_has_no_problems():
    parsed = parse_message("🟢 XAUUSD BUY 1920-1925\n🛑 SL 1912\n🎯 TP1 1930\n🎯 TP2 1938")
    assert parsed.problems == []
    assert (parsed.entry, parsed.stop, parsed.targets) == ([1920, 1925], 1912, [1930, 1938])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("TP1 hit ✅ +30 pips on XAUUSD 🔥", "update to an earlier signal"),
        ("Переносим стоп в БУ по EURUSD", "update to an earlier signal"),
        ("📊 Results of the week: 14 wins, 3 losses, +1,240 pips 💰", "results recap"),
        ("Should we buy bitcoin here? Vote 👇", "a question"),
        ("ECB keeps rates at 4.50%. EUR/USD drops to 1.0820.", "prices without a direction"),
    ],
)
def test_non_signals_say_why_when_they_looked_like_one(text, why):
    parsed = parse_message(text)
    assert not parsed.is_signal
    assert parsed.side is parsed.symbol is parsed.entry is parsed.stop is None and parsed.targets == []
    assert any(why in p for p in parsed.problems), parsed.problems


def test_plain_chatter_is_not_a_signal_and_has_no_problems():
    assert parse_message("Good morning traders! ☀️").problems == []
    assert parse_message("").is_signal is False


def test_telegram_export_entities_edits_and_service_messages():
    messages = list(read_messages(EXPORT))
    raw = json.loads(EXPORT.read_text(encoding="utf-8"))["messages"]
    assert [m.id for m in messages] == [m["id"] for m in raw if m["type"] != "service"]
    first = messages[0]
    assert first.text.startswith("🟢 XAUUSD BUY 2330-2334\n🛑 SL 2322")
    assert first.text.endswith("#gold #signal")
    assert (first.date, first.date_unixtime, first.edited) == ("2024-05-13T09:31:02", 1715585462, None)
    edited = next(m for m in messages if m.edited)
    assert (edited.id, edited.edited, edited.edited_unixtime) == (3, "2024-05-13T11:45:09", 1715593509)
    assert "График · @goldpipsvip" in messages[3].text


def test_cli_parses_a_telegram_export_in_input_order():
    result = CliRunner().invoke(app, ["lab", "parse-signals", str(EXPORT)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    raw = json.loads(EXPORT.read_text(encoding="utf-8"))["messages"]
    assert [r["id"] for r in rows] == [m["id"] for m in raw if m["type"] != "service"]
    for row in rows:
        assert {"id", "date", *FIELDS, "problems"} <= set(row)
    by_id = {r["id"]: r for r in rows}
    assert by_id[2] | {"problems": []} == {
        "id": 2,
        "date": "2024-05-13T09:31:02",
        "is_signal": True,
        "side": "long",
        "symbol": "XAUUSD",
        "entry": [2330, 2334],
        "stop": 2322,
        "targets": [2340, 2348],
        "problems": [],
    }
    assert any("not above the entry" in p for p in by_id[3]["problems"])
    assert by_id[5]["is_signal"] is False and by_id[5]["problems"] == ["update to an earlier signal"]
    assert by_id[6]["symbol"] == "BTCUSDT"
    assert (by_id[6]["entry"], by_id[6]["targets"]) == ([61800, 62300], [63500, 65000])
    assert by_id[7]["is_signal"] is False
    assert (by_id[8]["side"], by_id[8]["entry"], by_id[8]["stop"]) == ("short", None, 2361)


def test_cli_parses_json_lines_in_input_order(tmp_path):
    texts = ["SELL EURUSD 1.0900 SL 1.0930 TP 1.0850", "hello", "ЛОНГ BTC по рынку, стоп 60000, цель 70000"]
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts) + "\n\n")
    result = CliRunner().invoke(app, ["lab", "parse-signals", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["is_signal"] for r in rows] == [True, False, True]
    assert [r["symbol"] for r in rows] == ["EURUSD", None, "BTCUSDT"]
    assert "id" not in rows[0] and rows[2]["entry"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("", "is empty"),
        ('{"text": "ok"}\nnot json\n', "line 2 is not valid JSON"),
        ('{"message": "no text"}\n{"message": "no text"}\n', 'line 1 is not an object with a "text" key'),
        ('{"name": "channel", "type": "public_channel"}', 'no "messages" list'),
        ('{"messages": [{"id": 1, "type": "message", "text": 42}]}', "text is int"),
    ],
)
def test_cli_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(app, ["lab", "parse-signals", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr
