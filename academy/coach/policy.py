"""What the coach may answer, and how: pure checks on the question's text (English and Russian).

- Unsafe requests (harm to oneself or others, breaking into systems, fraud) get a polite refusal,
  and self-harm a caring one that points to real help; nothing is retrieved for them.
- A question that is not about trading or the course, when the material does not cover it either,
  gets a polite "that's outside what I can help with" instead of going to a curator.
- A question that is close to a graded item the student has not finished is answered with hints.
- Questions about what to trade carry the not-financial-advice notice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal


def _split(words: str) -> list[str]:
    return words.split()


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)

_STOP = frozenset(
    _split(
        """
        a an the and or but if then than so of to in on at by for with from as is are was were be been
        being do does did doing have has had having i me my we our you your he she it its they them their
        this that these those what which who whom whose when where why how can could should would will
        shall may might must not no yes about into over under again further once here there all any both
        each few more most other some such only own same too very just also please tell explain mean
        means meaning get got
        и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне
        было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до
        вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя
        их чем была сам чтобы без будто чего раз тоже себе под будет ж тогда кто этот того потому этого
        какой совсем ним здесь этом один почти мой тем чтоб нее сейчас были куда зачем всех никогда можно
        при наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве
        три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда
        конечно всю между это такое объясни расскажи значит
        """
    )
)

# Stems (first five letters) of the vocabulary of trading and of studying; enough to tell an
# on-topic question the course does not cover (a curator should see it) from an off-topic one.
_DOMAIN = frozenset(
    word[:5]
    for word in _split(
        """
        trade trading trader market stock share forex crypto bitcoin btc eth ethereum coin token price
        chart candle candlestick trend support resistance breakout volume indicator moving average sma
        ema rsi macd bollinger atr stochastic adx fibonacci risk reward stop loss target profit position
        size sizing leverage margin broker exchange order limit spread slippage commission long short
        buy sell entry exit drawdown backtest strategy signal channel portfolio diversify volatility
        liquidity bull bear dividend bond futures option etf index gold oil currency pair pip lot account
        journal psychology fomo emotion discipline plan lesson course quiz module certificate homework
        glossary curator coach xp streak level study learn
        торгов трейд рынок рынка акци валют крипт биткоин монет цена цены график свеч тренд поддерж
        сопрот пробой объем индикат средн скольз риск прибыл убыт стоп тейк цель позици размер плеч
        маржа брокер бирж ордер лимит спред проскал комисс лонг шорт покуп прода вход выход просад
        бэктест стратег сигнал канал портфел волатил ликвид бык медвед дивид облигац фьючер опцион
        индекс золот нефт пара лот счет журнал психолог эмоци дисципл урок курс тест модул сертиф
        домашн глоссар куратор коуч уровен учеб
        """
    )
)

_UNSAFE = re.compile(
    r"\b(kill|hurt|harm)\s+(my ?self|someone|people|him|her|them)\b|\bsuicid|\bself[- ]harm"
    r"|\b(make|build)\s+a\s+(bomb|weapon|explosive)|\bhack\s+(into|someone|an? account)|\bsteal\s+"
    r"|\bpassword\s+of\b|\blaunder(ing)?\s+money|\bmoney\s+launder|\bphishing\b|\bpump[- ]and[- ]dump\b"
    r"|\bcredit card numbers?\b|покончить с собой|суицид|убить себя|навредить себе|взорвать|бомб[уы]"
    r"|взломать|украсть|отмыть деньги|отмывани|фишинг",
    re.IGNORECASE,
)
_SELF_HARM = re.compile(
    r"\b(kill|hurt|harm)\s+my ?self\b|\bsuicid|\bself[- ]harm"
    r"|покончить с собой|суицид|убить себя|навредить себе",
    re.IGNORECASE,
)
_TRADE_ADVICE = re.compile(
    r"\bshould i (buy|sell|short|go long|invest|enter|hold)\b|\b(buy|sell) now\b|\bwill (it|the price|\w+) "
    r"(go|rise|fall|drop|pump|moon)\b|\bwhat (should|to) (i )?(buy|trade|invest)|\bgood (time|moment) to "
    r"(buy|sell|invest)|\bprice prediction|\bwhere (is|will) \w+ (going|go)\b|стоит ли (покупать|продавать|"
    r"входить|купить|продать|вкладывать)|куда пойд[её]т|будет ли (расти|падать)|что (купить|покупать)|"
    r"прогноз (цены|курса)",
    re.IGNORECASE,
)

Safety = Literal["ok", "unsafe", "self_harm"]


def is_russian(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if _CYRILLIC.match(c)) * 2 >= len(letters)


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and (len(w) > 1 or w.isdigit())]


def stems(text: str) -> set[str]:
    """Content words cut to five letters: a crude stemmer that works for English and Russian alike."""
    return {w[:5] for w in content_words(text)}


def safety(question: str) -> Safety:
    if _SELF_HARM.search(question):
        return "self_harm"
    return "unsafe" if _UNSAFE.search(question) else "ok"


def asks_for_trade_advice(question: str) -> bool:
    return bool(_TRADE_ADVICE.search(question))


def on_topic(question: str, titles: Iterable[str] = ()) -> bool:
    """Whether the question is about trading or studying: its words meet the domain vocabulary, or
    the title of one of the best-matching chunks."""
    words = stems(question)
    if words & _DOMAIN:
        return True
    # One shared word with a title proves little ("good", "time"); two make it the same subject.
    return any(len(words & stems(title)) >= 2 for title in titles)


def graded_match(question: str, prompts: Sequence[str], threshold: float = 0.6) -> int | None:
    """The index of the graded item the question restates, if any: most of the item's content words
    appear in the question (a student pasting or paraphrasing a quiz question)."""
    asked = stems(question)
    if len(asked) < 2:
        return None
    best, best_score = None, 0.0
    for index, prompt in enumerate(prompts):
        item = stems(prompt)
        if len(item) < 3:
            continue
        covered = len(item & asked) / len(item)
        # Both ways: a one-word question never "restates" a long quiz item.
        precision = len(item & asked) / len(asked)
        score = min(covered, max(precision, 0.5))
        if covered >= threshold and precision >= 0.5 and score > best_score:
            best, best_score = index, score
    return best
