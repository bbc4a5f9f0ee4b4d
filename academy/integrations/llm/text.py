"""Text analysis for the grounded answerer: words, light stemming, stop words, question concepts.

English and Russian. Course content is English while many students ask in Russian, so Russian
trading vocabulary is mapped onto the English terms the lessons use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[0-9a-zа-яё]+(?:'[a-z]+)?", re.IGNORECASE)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)

STOP_EN = wordlist(
    """
    a an the is are was were be been being am do does did doing done what whats which who whom whose
    when where why how i me my mine we us our you your yours it its itself this that these those they
    them their he him his she her of in on at to for from by with about as into onto than then so if
    or and but not no nor can cant could should would will wont shall may might must there here any
    some all also just only very really please tell explain explained mean means meaning meant define
    definition know understand get gets got difference differences between thing things like s t don
    doesn isn aren one way help need needs want let lesson lessons course question questions hi hello
    hey thanks thank alex much many more most use used uses using work works working good make makes
    made does say says said someone something anything actually exactly kind sort ok okay right
    other another each every same such own again still even else maybe probably example call called
    important importance matter matters best better main possible necessary should
    calculate calculated calculates calculating calculation compute computed computing
    """
)

STOP_RU = wordlist(
    """
    что такое это как какой какая какое какие каков какова почему зачем когда где кто ли и а но или в
    во на с со о об обо про по для к ко от до из у за при же бы не ни да нет то так там тут я мне меня
    мы нас нам ты тебя вы вас вам он она оно они его ее её их им ими этот эта эти этого этой этом этих
    чем чтобы если можно нужно надо есть быть был была было были будет значит означает объясни
    объясните расскажи расскажите пожалуйста скажи скажите подскажи подскажите вопрос урок урока уроке
    курс курса курсе разница разницу отличие отличается отличаются между мой моя моё мое мои свой
    очень просто всё все ещё еще уже вообще привет спасибо делать работает понимаю понять вот тоже
    также такой такая такие который которая которые всегда никогда сейчас теперь нибудь ну типа
    нужен нужна нужны нужно стоит лучше лучший важно важен важна зачем вообще правильно
    рассчитать рассчитывать рассчитывается посчитать считать считается вычислить вычисляется
    """
)

# Russian word beginnings -> the English words the course uses. The longest matching beginning wins.
_RU_TERMS: dict[str, tuple[str, ...]] = {
    "стоп": ("stop",), "лосс": ("loss",), "убыт": ("loss",), "потер": ("loss",),
    "тейк": ("take", "target"), "профит": ("profit",), "прибыл": ("profit", "gain"), "цел": ("target",),
    "спред": ("spread",), "свеч": ("candlestick", "candle"), "тренд": ("trend",),
    "восходящ": ("uptrend",), "нисходящ": ("downtrend",), "боков": ("range", "sideways"),
    "флэт": ("range", "sideways"), "диапазон": ("range",), "поддержк": ("support",),
    "сопротивлен": ("resistance",), "объем": ("volume",), "объём": ("volume",),
    "плеч": ("leverage",), "левередж": ("leverage",), "марж": ("margin",), "скользящ": ("moving",),
    "средн": ("average",), "волатильн": ("volatility",), "пробо": ("breakout",), "ложн": ("false",),
    "размер": ("size", "sizing"), "позици": ("position",), "риск": ("risk",), "ордер": ("order",),
    "заявк": ("order",), "рыночн": ("market",), "рын": ("market",), "лимит": ("limit",),
    "брокер": ("broker",), "бирж": ("exchange",), "комисси": ("commission",), "акци": ("stock", "share"),
    "фьючерс": ("futures",), "дивергенц": ("divergence",), "расхожден": ("divergence",),
    "перекуплен": ("overbought",), "перепродан": ("oversold",), "индикатор": ("indicator",),
    "осциллятор": ("oscillator",), "таймфрейм": ("timeframe",), "график": ("chart",),
    "уров": ("level",), "стратеги": ("strategy",), "бэктест": ("backtest", "backtesting"),
    "тестирован": ("test", "testing"), "сигнал": ("signal",), "журнал": ("journal",),
    "психолог": ("psychology",), "эмоци": ("emotion",), "страх": ("fear",), "жадн": ("greed",),
    "матожидан": ("expectancy",), "ожидан": ("expectancy", "expected"), "соотношен": ("ratio",),
    "вход": ("entry",), "выход": ("exit",), "цен": ("price",), "закрыт": ("close",), "открыт": ("open",),
    "тен": ("wick", "shadow"), "фитил": ("wick",), "доджи": ("doji",), "молот": ("hammer",),
    "поглощен": ("engulfing",), "быч": ("bull", "bullish"), "медвеж": ("bear", "bearish"),
    "боллинджер": ("bollinger",), "полос": ("band",), "отклонен": ("deviation",), "истинн": ("true",),
    "проскальзыван": ("slippage",), "гэп": ("gap",), "разрыв": ("gap",), "своп": ("swap",),
    "лонг": ("long",), "длинн": ("long",), "шорт": ("short",), "коротк": ("short",),
    "ликвидн": ("liquidity", "liquid"), "депозит": ("account", "deposit"), "счет": ("account",),
    "счёт": ("account",), "капитал": ("capital",), "процент": ("percent",), "переобучен": ("overfitting",),
    "подгонк": ("overfitting",), "демо": ("demo",), "бумажн": ("paper",), "сделк": ("trade",),
    "трейд": ("trade", "trading"), "торгов": ("trading", "trade"), "инвест": ("invest", "investing"),
    "дивиденд": ("dividend",), "облигац": ("bond",), "валют": ("currency",), "форекс": ("forex",),
    "крипт": ("crypto",), "биткоин": ("bitcoin",), "индекс": ("index",), "импульс": ("momentum",),
    "моментум": ("momentum",), "расч": ("calculate",), "рассчит": ("calculate",),
    "посчит": ("calculate",), "вычисл": ("calculate",), "формул": ("formula",), "период": ("period",),
    "сглаживан": ("smoothing",), "экспоненциальн": ("exponential",), "прост": ("simple",),
    "пересечен": ("cross", "crossover"), "гистограмм": ("histogram",), "линия": ("line",),
    "лини": ("line",), "структур": ("structure",), "максимум": ("high",), "минимум": ("low",),
    "откат": ("pullback",), "коррекц": ("pullback", "correction"), "дисциплин": ("discipline",),
    "план": ("plan",), "правил": ("rule",), "выборк": ("sample",), "просадк": ("drawdown",),
    "волн": ("swing",), "паттерн": ("pattern",), "фигур": ("pattern",), "исполнен": ("fill",),
    "гарантирован": ("guaranteed",), "комисс": ("commission",), "издержк": ("cost",),
    "затрат": ("cost",), "ликвидац": ("liquidation",), "маржин": ("margin",), "колл": ("call",),
}  # fmt: skip
_RU_PREFIXES = sorted(_RU_TERMS, key=len, reverse=True)

# Abbreviations beginners use, and what the lessons spell out.
_EXPANSIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "rsi": (("relative", "strength", "index"),),
    "ma": (("moving", "average"),),
    "sma": (("simple", "moving", "average"),),
    "ema": (("exponential", "moving", "average"),),
    "atr": (("average", "true", "range"),),
    "sl": (("stop",),),
    "tp": (("take", "profit"), ("target",)),
    "rr": (("risk", "reward"),),
    "fx": (("forex",),),
    "pnl": (("profit",),),
    "bb": (("bollinger",),),
    "fake": (("false",),),
    "genuine": (("real",),),
    "shadow": (("wick",),),
    "tail": (("wick",),),
    "lot": (("size",),),
}

_RU_ENDINGS = sorted(
    wordlist(
        "иями ями ами ией ого его ому ему ыми ими ий ый ой ая яя ое ее ые ие ую юю ом ем ах ях ов ев "
        "ей ам ям ию"
    ),
    key=len,
    reverse=True,
) + sorted(wordlist("ья ье ьи ы и а я о е у ю ь"))


def is_russian(text: str) -> bool:
    cyrillic = len(_CYRILLIC.findall(text))
    return cyrillic > 0 and cyrillic >= len(_LATIN.findall(text))


def words(text: str) -> list[str]:
    """Lower-case words; hyphens split ("stop-loss" -> "stop", "loss"), "ё" reads as "е"."""
    return [w.lower().replace("ё", "е") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light stemmer: enough to match "sizing" with "size" and "свечи" with "свеча"."""
    word = word.lower().replace("ё", "е")
    if _CYRILLIC.search(word):
        for ending in _RU_ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                return word[: -len(ending)]
        return word
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) <= 3:
        return word
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, replacement, min_rest in (
        ("ations", "at", 3), ("ation", "at", 3), ("ness", "", 4), ("ingly", "", 4), ("ing", "", 3),
        ("edly", "", 4), ("ed", "", 3), ("ly", "", 4),
    ):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= min_rest:
            word = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def is_stop(word: str) -> bool:
    return word in STOP_EN or word in STOP_RU or (word.isdigit() and len(word) == 1)


@dataclass(frozen=True)
class Concept:
    """One content word of a question and the stem groups that count as mentioning it."""

    label: str
    alternatives: tuple[tuple[str, ...], ...]
    weight: float = 1.0

    def found_in(self, stems: frozenset[str] | set[str]) -> bool:
        return any(all(s in stems for s in alternative) for alternative in self.alternatives)


def concepts(text: str, *, weight: float = 1.0) -> list[Concept]:
    """The question's content words with their spellings in the course (stems, expansions, English)."""
    result: dict[str, Concept] = {}
    for word in words(text):
        if is_stop(word) or len(word) < 2:
            continue
        alternatives: list[tuple[str, ...]] = [(stem(word),)]
        alternatives.extend(_EXPANSIONS.get(word, ()))
        if _CYRILLIC.search(word):
            for prefix in _RU_PREFIXES:
                if word.startswith(prefix):
                    alternatives.extend((stem(english),) for english in _RU_TERMS[prefix])
                    break
        key = alternatives[0][0]
        if key not in result:
            stemmed = tuple(tuple(stem(s) for s in alternative) for alternative in alternatives)
            result[key] = Concept(word, tuple(dict.fromkeys(stemmed)), weight)
    return list(result.values())


def stems_of(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(text))
