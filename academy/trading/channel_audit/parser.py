"""Extract a trade call (direction, symbol, entry, stop, targets) from one channel message.

The parser is rule-based and deliberately conservative: it reports what it could not read in
`problems` instead of guessing silently.

Symbols are normalized as follows:

- gold (GOLD, XAU, XAUUSD, XAU/USD, ЗОЛОТО) -> XAUUSD; silver (SILVER, XAG, СЕРЕБРО) -> XAGUSD;
- a pair written with a separator (EUR/USD, BTC/USDT, ETH-USDT, BTC_USDT) -> joined (EURUSD,
  BTCUSDT); the quote is kept as written, so BTC/USD stays BTCUSD;
- exchange prefixes (BINANCE:BTCUSDT) and perpetual suffixes (BTCUSDT.P, BTCUSDTPERP) are dropped;
- a crypto coin named alone (BTC, #ETH, $SOL, "биткоин") -> coin + USDT, the quote crypto channels
  trade against by default;
- six letters made of two ISO currencies (EURUSD, gbpjpy) -> upper case;
- index and oil aliases: NASDAQ/NAS100/US100/USTEC/НАСДАК -> NAS100, DOW/US30 -> US30,
  S&P 500/SPX/US500 -> SPX500, DAX/GER40/DE40 -> GER40, WTI/USOIL -> USOIL, BRENT/UKOIL -> UKOIL,
  and "нефть" alone -> UKOIL (Russian channels quote Brent);
- a few Moscow Exchange names (Сбер -> SBER, Газпром -> GAZP, Лукойл -> LKOH);
- otherwise a cashtag ($AAPL) or an upper-case ticker next to the direction (TSLA short) as is.

Entry is `[low, high]`: a single price gives `[p, p]`, a zone or several entry prices give their
range. "At market", "now", "по рынку" with no price give None; when a price is written next to
"now" ("sell now @ 2034") the written price is kept, because it is what the channel claims.

Numbers: a comma is a decimal mark in Russian text and whenever it is not followed by exactly
three digits; "64,200" in English text is a thousands separator; "71 200" is one number in
Russian text; "64.5k" is 64500. Values in parentheses, percentages and pip counts are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Side = Literal["long", "short"]

__all__ = ["ParsedSignal", "Side", "parse_message"]


@dataclass
class ParsedSignal:
    is_signal: bool
    side: Side | None = None
    symbol: str | None = None
    entry: list[float] | None = None
    stop: float | None = None
    targets: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_I = re.IGNORECASE

_FIAT = "EUR|USD|GBP|JPY|CHF|AUD|NZD|CAD|SEK|NOK|DKK|PLN|TRY|ZAR|MXN|SGD|HKD|CNH|HUF|CZK|RUB"
_COINS = (
    "BTC|ETH|SOL|XRP|DOGE|ADA|LINK|AVAX|NEAR|DOT|MATIC|POL|BNB|LTC|TRX|TON|ATOM|ARB|OP|APT|SUI|"
    "PEPE|SHIB|UNI|AAVE|FIL|INJ|WIF|ETC|BCH|XLM|TIA|SEI|RNDR|RENDER|FET|LDO|ICP|HBAR|VET|ALGO"
)
_CRYPTO_QUOTES = "USDT|USDC|BUSD|FDUSD|USD|BTC|ETH"
_EXCHANGES = (
    "BINANCE|BYBIT|OKX|BITGET|COINBASE|KRAKEN|OANDA|FXCM|FX|PEPPERSTONE|CAPITALCOM|TVC|NASDAQ|NYSE|MOEX"
)

# (pattern, symbol) in order of preference when two match at the same place.
_ALIASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\w])(?:евро[\s-]?доллар\w*|fiber)(?![\w])", _I), "EURUSD"),
    (re.compile(r"(?<![\w])(?:фунт\w*|cable)(?![\w])", _I), "GBPUSD"),
    (re.compile(r"(?<![\w])(?:xau\s?[/\-_]?\s?usd|xau|gold|золот\w*)(?![\w])", _I), "XAUUSD"),
    (re.compile(r"(?<![\w])(?:xag\s?[/\-_]?\s?usd|xag|silver|серебр\w*)(?![\w])", _I), "XAGUSD"),
    (
        re.compile(r"(?<![\w])(?:nas\s?100|nasdaq(?:\s?100)?|us\s?100|ustec|nq|насдак\w*)(?![\w])", _I),
        "NAS100",
    ),
    (re.compile(r"(?<![\w])(?:us\s?30|dow(?:\s+jones)?|dji|доу)(?![\w])", _I), "US30"),
    (re.compile(r"(?<![\w])(?:spx\s?500|sp\s?500|s\s?&\s?p(?:\s?500)?|us\s?500|spx)(?![\w])", _I), "SPX500"),
    (re.compile(r"(?<![\w])(?:dax(?:\s?40)?|ger\s?40|ger\s?30|de\s?40|de\s?30)(?![\w])", _I), "GER40"),
    (re.compile(r"(?<![\w])(?:brent|ukoil)(?![\w])", _I), "UKOIL"),
    (re.compile(r"(?<![\w])(?:wti|usoil|crude(?:\s+oil)?)(?![\w])", _I), "USOIL"),
    (re.compile(r"(?<![\w])(?:bitcoin|биткоин\w*|биток\w*)(?![\w])", _I), "BTCUSDT"),
    (re.compile(r"(?<![\w])ethereum(?![\w])", _I), "ETHUSDT"),
    (re.compile(r"(?<![\w])сбер\w*(?![\w])", _I), "SBER"),
    (re.compile(r"(?<![\w])газпром\w*(?![\w])", _I), "GAZP"),
    (re.compile(r"(?<![\w])лукойл\w*(?![\w])", _I), "LKOH"),
]
# Words with another meaning ("эфир" is also a broadcast) or a vaguer one ("нефть" without WTI/Brent):
# used only when nothing more specific is named.
_WEAK_ALIASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\w])нефт\w*(?![\w])", _I), "UKOIL"),
    (re.compile(r"(?<![\w])эфир\w*(?![\w])", _I), "ETHUSDT"),
]
_FOREX = re.compile(rf"(?<![\w])({_FIAT})\s?[/\-_]?\s?({_FIAT})(?![\w])", _I)
_CRYPTO_PAIR = re.compile(
    rf"(?<![\w])[#$]?([A-Z0-9]{{2,10}}|(?i:{_COINS}))\s?[/\-_]\s?((?i:{_CRYPTO_QUOTES}))"
    r"(?:\.P|PERP)?(?![\w])"
)
_CRYPTO_JOINED = re.compile(
    r"(?<![\w])[#$]?([A-Z0-9]{2,10}?|(?i:[a-z0-9]{2,10}?))((?i:USDT|USDC|BUSD|FDUSD))(?:\.P|PERP)?(?![\w])"
)
# Coins that are also English words (NEAR, LINK, TON, DOT) count only in capitals or as #/$ tags.
_COIN = re.compile(
    rf"(?<![\w])(?:[#$]((?i:{_COINS}))|({_COINS})|((?i:btc|eth|xrp|doge|bnb|ltc|avax)))(?![\w])"
)
_CASHTAG = re.compile(r"(?<![\w])\$([A-Za-z]{1,6})(?![\w])")
_TICKER = re.compile(r"(?<![\w#$@])#?([A-Z]{2,6})(?![\w])")
_EXCHANGE_PREFIX = re.compile(rf"(?<![\w])(?:{_EXCHANGES}):(?=[A-Za-z])", _I)

# Upper-case words that are never tickers.
_NOT_TICKER_WORDS = """
    BUY SELL LONG SHORT NOW TP SL SIGNAL VIP ENTRY STOP LOSS TAKE PROFIT LIMIT ZONE TARGET TARGETS
    OPEN CLOSE RR NFP CPI FOMC ECB FED GDP PMI USA UK EU DM PM AM UTC GMT MSK ATH ATL EMA SMA RSI
    MACD ATR TF AND OR THE AT BE NEW HOT FREE TG ID OK CMP MARKET RISK LOT PIPS PIP RUN HIT NB FYI
    ALL USD USDT EUR GBP JPY TRADE TYPE PAIR UPDATE ALERT SETUP SCALP SWING BUYING SELLING ABOVE
    BELOW CLOSED ORDER PRICE
"""
_NOT_TICKERS = frozenset(_NOT_TICKER_WORDS.split())

_LONG_WORD = re.compile(
    r"(?<![\w])(?:buy(?:_stop|_limit|ing)?|bought|long(?![\s-]+term)|лонг\w*|покупк\w*|покупа\w*|купи\w*|купл\w*)(?![\w])",
    _I,
)
_SHORT_WORD = re.compile(
    r"(?<![\w])(?:sell(?:_stop|_limit|ing)?|sold|short(?![\s-]+term)|шорт\w*|продаж\w*|прода[ёеюйт]\w*)(?![\w])",
    _I,
)
_LONG_EMOJI = re.compile("[🟢📈⬆🔼💹]")
_SHORT_EMOJI = re.compile("[🔴📉⬇🔽🔻]")
_MARKET = re.compile(
    r"(?<![\w])(?:now|at\s+market|market\s+(?:price|order|execution)|cmp|по\s+рынку|по\s+текущ\w*|сейчас)(?![\w])",
    _I,
)

_UPDATE = re.compile(
    r"(?<![\w])(?:hit|reached|achieved|smashed|closed?|closing|stopped(?:\s+out)?|break[\s-]?even|"
    r"move\s+(?:the\s+)?(?:sl|stop)|in\s+profit|booked|secured?|running|взят\w*|достигнут\w*|"
    r"cancel\w*|отмен\w*|забрал\w*|закры\w*|выбил\w*|сработал\w*|перенос\w*|безубыт\w*|бу|фиксир\w*|отработал\w*)(?![\w])"
    r"|(?:tp|target|тейк|цель)\s*\d*[^\n\d]{0,3}✅",
    _I,
)
_CONDITIONAL = re.compile(r"(?<![\w])(?:if|when|wait\w*|если|когда|жд[её]м|ожида\w*)(?![\w])", _I)
_RECAP = re.compile(
    r"(?<![\w])(?:results?|итоги|итог|statistics|статистик\w*|report|отч[её]т\w*|win\s?rate|винрейт|"
    r"за\s+(?:неделю|месяц|день)|this\s+(?:week|month))(?![\w])",
    _I,
)

_LABEL = re.compile(
    r"(?<![\w])(?:"
    r"(?P<target>(?:take[\s-]*profit|tp|t\s*/\s*p|targets?|tgt|t(?=\d)|тейк[\s-]*профит|тейк\w*|тп|цел[ьияе]\w*)"
    r"(?:\d{1,2})?(?![\w]))"
    r"|(?P<stop>(?:stop[\s-]*loss|stoploss|stops?|s\s*/\s*l|s\.l\.?|sl|invalidation|стоп[\s-]*лосс|стоп\w*|сл)"
    r"(?![\w]))"
    r"|(?P<entry>(?:entry(?:\s*(?:zone|price|point|area))?|enter(?:\s+at)?|open(?:\s*price)?(?=\s*[:=@-]|\s+\d)"
    r"|buy\s*zone|sell\s*zone|(?:точк[аи]|цен[аы]|зон[аы])\s+входа|вход\w*|твх|цена)(?![\w]))"
    r"|(?P<side_long>(?:buy|long|лонг|покупка)\s*:)"
    r"|(?P<side_short>(?:sell|short|шорт|продажа)\s*:)"
    # Only when a value follows, so "a lot of" or "risk management" stay plain words.
    r"|(?P<ignore>(?:leverage|lev|плечо|risk|риск|rr|r\s*[:/]\s*r|lots?|лот\w*|volume|объ[её]м|margin|маржа"
    r"|timeframe|tf|таймфрейм|pair|пара|direction|направление)(?![\w])(?=\s*[:=]|\s+[\dxх.]))"
    r")",
    _I,
)
_IGNORED_VALUE_END = re.compile(r"\n|\||,\s|;")

_NUMBER = re.compile(r"(?<![\w.,])\d[\w.,]*")
_INDEX = re.compile(r"^\s*[#№]?\s*(?:[1-9]|10)(?![\d.,]\d)\s*(?:[:=).\-]\s*|\s+(?=\d))")
_LIST_INDEX = re.compile(r"(?<![\w.,])(?:[1-9]|10)\)")
_UNIT_AFTER = re.compile(r"\s*(?:%|(?:pips?|pts|points?|пп|пункт\w*)(?![\w])|п\.)", _I)
_PARENS = re.compile(r"\([^()\n]*\)|\[[^\[\]\n]*\]")
_TIME_OR_DATE = re.compile(
    r"(?<![\w.,:])(?:\d{1,2}:\d{2}(?::\d{2})?|\d{1,2}[./]\d{1,2}[./]\d{2,4})(?![\w.,:]?\d)"
)
# Risk:reward like "1:2.6"; "Тейк 1: 2338" is an index and a price, so no spaces and small numbers.
_RATIO = re.compile(r"(?<![\w.,])\d{1,2}(?:[.,]\d+)?:\d{1,2}(?:[.,]\d+)?(?![\w.,]?\d)")
_SPACED_THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\w]|[.,]\d)")
_NARROW_THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:[\u00a0\u202f]\d{3})+(?![\w]|[.,]\d)")
_MISTYPED_NUMBER = re.compile(r"\d[\d.,OoОо]*")
_CYRILLIC = re.compile("[а-яё]", _I)
_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class _Segment:
    kind: str  # "free", "entry", "stop", "target", "side_long", "side_short", "ignore"
    label: str
    text: str


def parse_message(text: str) -> ParsedSignal:
    clean = _normalize(text)
    if not clean.strip():
        return ParsedSignal(is_signal=False)
    russian = bool(_CYRILLIC.search(clean))

    symbol, symbol_spans = _find_symbol(clean)
    side, side_from_emoji = _find_side(clean)
    masked = _mask(clean, symbol_spans)
    masked = _mask(masked, [m.span() for m in _TIME_OR_DATE.finditer(masked)])
    masked = _mask(masked, [m.span() for m in _RATIO.finditer(masked)])
    masked = _mask(masked, [m.span() for m in _PARENS.finditer(masked)])
    masked = (_SPACED_THOUSANDS if russian else _NARROW_THOUSANDS).sub(
        lambda m: re.sub(r"\s", "", m.group()), masked
    )

    problems: list[str] = []
    entry_prices: list[float] = []
    free_prices: list[float] = []
    stops: list[float] = []
    targets: list[float] = []
    stop_labelled = target_labelled = False
    for segment in _segments(masked):
        kind = segment.kind
        if kind == "ignore":
            continue
        if kind in ("side_long", "side_short"):
            same = side is None or (kind == "side_long") == (side == "long")
            kind = "entry" if same else "target"
        body = segment.text
        if kind == "target":
            target_labelled = True
            body = _LIST_INDEX.sub(" ", _INDEX.sub(" ", body, count=1))
        elif kind == "stop":
            stop_labelled = True
        values, bad = _numbers(body, russian)
        if kind == "free":
            # "1H", "M15", "10x" are not prices; "19O5" (letter O) or "1.085.0" are mistyped ones.
            bad = [token for token in bad if _MISTYPED_NUMBER.fullmatch(token)]
            where = ""
        else:
            where = f" after {segment.label.strip()!r}"
        problems.extend(f"unparseable number {token!r}{where}" for token in bad)
        {"entry": entry_prices, "stop": stops, "target": targets, "free": free_prices}[kind].extend(values)

    market = bool(_MARKET.search(clean))
    entry_values = entry_prices or free_prices
    entry = [min(entry_values), max(entry_values)] if entry_values else None
    stop = stops[0] if stops else None
    has_levels = entry is not None or stop is not None or bool(targets)

    if _RECAP.search(clean) and not (stop is not None and targets):
        return ParsedSignal(is_signal=False, problems=["results recap, not a trade call"])
    if _UPDATE.search(clean) and not (stop is not None and targets):
        looked_like = side is not None or symbol is not None or stop_labelled or target_labelled
        why = "update to an earlier signal" if looked_like else "status message, not a trade call"
        return ParsedSignal(is_signal=False, problems=[why])

    if side is None:
        side = _infer_side(entry, stop, targets)
        if side is None:
            if has_levels and (symbol is not None or stop_labelled or target_labelled):
                return ParsedSignal(is_signal=False, problems=["prices without a direction (long or short)"])
            return ParsedSignal(is_signal=False)
        problems.append("direction not stated; inferred from the stop and targets")
    elif side_from_emoji:
        problems.append("direction taken from an emoji only")

    if not has_levels and not market:
        if "?" in clean:
            return ParsedSignal(is_signal=False, problems=["a question, not a trade call"])
        if symbol is None:
            return ParsedSignal(is_signal=False, problems=["direction without an instrument or prices"])

    if stop is None and not targets and _CONDITIONAL.search(clean):
        return ParsedSignal(is_signal=False, problems=["conditional idea without a stop or targets"])
    if symbol is None:
        problems.append("symbol missing")
    if entry is None and not market:
        problems.append("no entry price; treated as at market")
    problems.extend(_level_problems(side, entry, stop, targets, stop_labelled, target_labelled))
    return ParsedSignal(
        is_signal=True,
        side=side,
        symbol=symbol,
        entry=entry,
        stop=stop,
        targets=targets,
        problems=problems,
    )


def _normalize(text: str) -> str:
    # NFKC turns the "𝐁𝐔𝐘"-style maths letters some channels use into plain ASCII.
    text = unicodedata.normalize("NFKC", text)
    text = re.sub("[\u200b-\u200d\u2060\ufe0e\ufe0f]", "", text)
    text = re.sub("[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"➡|→|⇒|=>|->|👉|⏩|📍|▶|•|\*|`|~", " ", text)
    text = re.sub("🎯", " TP ", text)
    text = re.sub("[🛑⛔🚫]", " SL ", text)
    return re.sub(r"(?<![\w])(buy|sell)[\s-]+(stop|limit)(?![\w])", r"\1_\2", text, flags=_I)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _find_symbol(text: str) -> tuple[str | None, list[tuple[int, int]]]:
    text = _EXCHANGE_PREFIX.sub(lambda m: " " * len(m.group()), text)
    candidates: list[tuple[int, int, int, str]] = []  # (start, -length, rank, symbol)

    def add(match: re.Match[str], rank: int, symbol: str) -> None:
        candidates.append((match.start(), -(match.end() - match.start()), rank, symbol))

    for rank, (pattern, symbol) in enumerate(_ALIASES):
        for m in pattern.finditer(text):
            add(m, rank, symbol)
    for m in _FOREX.finditer(text):
        if m.group(1).upper() != m.group(2).upper():
            add(m, 20, (m.group(1) + m.group(2)).upper())
    for m in _CRYPTO_PAIR.finditer(text):
        add(m, 21, (m.group(1) + m.group(2)).upper())
    for m in _CRYPTO_JOINED.finditer(text):
        add(m, 22, (m.group(1) + m.group(2)).upper())
    for m in _COIN.finditer(text):
        add(m, 23, next(g for g in m.groups() if g).upper() + "USDT")
    for m in _CASHTAG.finditer(text):
        if m.group(1).upper() not in _NOT_TICKERS:
            add(m, 24, m.group(1).upper())
    if not candidates:
        for rank, (pattern, symbol) in enumerate(_WEAK_ALIASES):
            for m in pattern.finditer(text):
                add(m, 30 + rank, symbol)
    spans = [(start, start - neg_len) for start, neg_len, _, _ in candidates]
    if candidates:
        return min(candidates)[3], spans
    ticker = _ticker_near_side(text)
    if ticker is not None:
        return ticker.group(1), [ticker.span()]
    return None, spans


def _ticker_near_side(text: str) -> re.Match[str] | None:
    for line in _lines_with_offsets(text):
        offset, content = line
        if not (_LONG_WORD.search(content) or _SHORT_WORD.search(content)):
            continue
        for m in _TICKER.finditer(content):
            if m.group(1) not in _NOT_TICKERS:
                return _TICKER.match(text, offset + m.start())
    return None


def _lines_with_offsets(text: str) -> list[tuple[int, str]]:
    out, offset = [], 0
    for line in text.split("\n"):
        out.append((offset, line))
        offset += len(line) + 1
    return out


def _find_side(text: str) -> tuple[Side | None, bool]:
    long_m, short_m = _LONG_WORD.search(text), _SHORT_WORD.search(text)
    if long_m and (not short_m or long_m.start() < short_m.start()):
        return "long", False
    if short_m:
        return "short", False
    long_e, short_e = _LONG_EMOJI.search(text), _SHORT_EMOJI.search(text)
    if long_e and not short_e:
        return "long", True
    if short_e and not long_e:
        return "short", True
    return None, False


def _segments(text: str) -> list[_Segment]:
    segments: list[_Segment] = []
    pos, kind, label = 0, "free", ""
    for m in _LABEL.finditer(text):
        segments.extend(_split_off_free(kind, label, text[pos : m.start()]))
        kind = next(name for name, value in m.groupdict().items() if value is not None)
        label, pos = m.group(), m.end()
    segments.extend(_split_off_free(kind, label, text[pos:]))
    return segments


def _split_off_free(kind: str, label: str, body: str) -> list[_Segment]:
    """A labelled segment runs to the next label, or to the first later line that has words."""
    if kind == "free":
        return [_Segment(kind, label, body)]
    if kind == "ignore":
        end = _IGNORED_VALUE_END.search(body)
        if end is None:
            return [_Segment(kind, label, body)]
        return [_Segment(kind, label, body[: end.start()]), _Segment("free", "", body[end.start() :])]
    first, *rest = body.split("\n")
    for i, line in enumerate(rest):
        if _LETTER.search(line):
            kept = "\n".join([first, *rest[:i]])
            return [_Segment(kind, label, kept), _Segment("free", "", "\n".join(rest[i:]))]
    return [_Segment(kind, label, body)]


def _numbers(text: str, russian: bool) -> tuple[list[float], list[str]]:
    values: list[float] = []
    bad: list[str] = []
    for m in _NUMBER.finditer(text):
        # Pip counts, percentages and "+80" are results, not price levels.
        if _UNIT_AFTER.match(text, m.end()) or text[m.start() - 1 : m.start()] == "+":
            continue
        token = m.group().rstrip(".,")
        value = _to_float(token, russian)
        if value is None:
            bad.append(token)
        else:
            values.append(value)
    return values, bad


def _to_float(token: str, russian: bool) -> float | None:
    multiplier = 1.0
    if token[-1:] in ("k", "K", "к", "К"):
        token, multiplier = token[:-1], 1000.0
    if not re.fullmatch(r"\d[\d.,]*", token) or re.search(r"[.,]{2}", token):
        return None
    commas, dots = token.count(","), token.count(".")
    if commas and dots:
        if token.rfind(".") > token.rfind(","):
            token = token.replace(",", "")
        else:
            token = token.replace(".", "").replace(",", ".")
        if token.count(".") > 1:
            return None
    elif commas == 1:
        head, tail = token.split(",")
        thousands = not russian and len(tail) == 3 and len(head) <= 3
        token = head + tail if thousands else f"{head}.{tail}"
    elif commas > 1 or dots > 1:
        sep = "," if commas else "."
        head, *groups = token.split(sep)
        if len(head) > 3 or any(len(g) != 3 for g in groups):
            return None
        token = head + "".join(groups)
    return float(token) * multiplier


def _infer_side(entry: list[float] | None, stop: float | None, targets: list[float]) -> Side | None:
    if stop is None or not targets:
        return None
    if entry is None:
        if stop < min(targets):
            return "long"
        return "short" if stop > max(targets) else None
    low, high = entry
    if stop < low and all(t > high for t in targets):
        return "long"
    if stop > high and all(t < low for t in targets):
        return "short"
    return None


def _level_problems(
    side: Side,
    entry: list[float] | None,
    stop: float | None,
    targets: list[float],
    stop_labelled: bool,
    target_labelled: bool,
) -> list[str]:
    problems: list[str] = []
    if stop is None:
        if stop_labelled:
            problems.append("stop given without a price")
        problems.append("targets without a stop" if targets else "no stop")
    if not targets:
        problems.append("target given without a price" if target_labelled else "no targets")
    if entry is not None:
        low, high = entry
        if stop is not None and side == "long" and stop >= low:
            problems.append(f"stop {stop:g} is not below the entry {low:g} for a long")
        if stop is not None and side == "short" and stop <= high:
            problems.append(f"stop {stop:g} is not above the entry {high:g} for a short")
        for t in targets:
            if side == "long" and t <= high:
                problems.append(f"target {t:g} is not above the entry {high:g} for a long")
            if side == "short" and t >= low:
                problems.append(f"target {t:g} is not below the entry {low:g} for a short")
    elif stop is not None:
        for t in targets:
            if side == "long" and t <= stop:
                problems.append(f"target {t:g} is not above the stop {stop:g} for a long")
            if side == "short" and t >= stop:
                problems.append(f"target {t:g} is not below the stop {stop:g} for a short")
    return problems
