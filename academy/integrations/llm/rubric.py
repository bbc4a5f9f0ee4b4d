"""The embedded grader: a rubric's key concepts, similarity to the model answer, and form checks.

Offline and deterministic: the same answer always gets the same points and the same words. It is a
pre-grader, so it explains every point it gives or withholds and a curator decides. Per criterion:

- coverage of the criterion's key concepts, matched after normalising case, punctuation, English and
  Russian word endings (with the course's Russian trading vocabulary mapped to English), number
  words and percent spellings ("1%", "1 %", "one percent", "один процент"); a range concept such as
  "1–2 %" matches any percentage inside it;
- TF-IDF cosine similarity (on word stems) to the part of the model answer about the criterion;
- form: too short, a list of words rather than sentences, or a copy of the task earns less or nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from academy.integrations.llm import text as tx
from academy.integrations.llm.grading import (
    CriterionGrade,
    GradeCriterion,
    GradeRequest,
    GradeResult,
    clamp_points,
)

NAME = "rubric"
# Coverage carries most of the points: it is what the rubric's author wrote down as required.
COVERAGE_WEIGHT = 0.8
# Cosine similarity at which the answer counts as fully like the model answer (paraphrases rarely
# reach more than ~0.6 on word stems).
SIMILAR_ENOUGH = 0.6
SHORT_FACTOR = 0.6
LIST_FACTOR = 0.8
MIN_CONTENT_WORDS = 6

_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "all": "Mentions every key point: {found}.",
        "some": "Covers {n} of {total} key points: mentions {found}; does not mention {missing}.",
        "none": "Does not mention the key points: {missing}.",
        "partly": "{label} (only partly)",
        "derived": "No key points were listed for this criterion, so its description's words were used.",
        "close": "Close to the model answer (similarity {sim:.2f}).",
        "partial": "Partly matches the model answer (similarity {sim:.2f}).",
        "far": "Has little in common with the model answer (similarity {sim:.2f}).",
        "short": "Too short ({words} words) to earn full points.",
        "list": "Written as a list of words, not sentences.",
        "copy": "The answer repeats the task instead of answering it.",
        "points": "{points:g} of {max:g} points.",
        "binary": (
            "The answer is a {kind} file the grader cannot read, so a curator needs to look at it; "
            "0 points proposed until then."
        ),
        "summary": "Proposed {points:g} of {max:g} points.",
        "strong": "Strongest: {title}.",
        "weak": "Needs work: {title}{what}.",
        "add": " (add {missing})",
        "summary_binary": "A {kind} file: it needs a curator's look before it can be graded.",
    },
    "ru": {
        "all": "Упомянуты все ключевые пункты: {found}.",
        "some": "Раскрыто {n} из {total} ключевых пунктов: упомянуто {found}; не упомянуто {missing}.",
        "none": "Не упомянуты ключевые пункты: {missing}.",
        "partly": "{label} (частично)",
        "derived": "Для этого критерия не заданы ключевые пункты, поэтому использованы слова его описания.",
        "close": "Близко к образцовому ответу (сходство {sim:.2f}).",
        "partial": "Частично совпадает с образцовым ответом (сходство {sim:.2f}).",
        "far": "Мало общего с образцовым ответом (сходство {sim:.2f}).",
        "short": "Слишком коротко ({words} слов) для полного балла.",
        "list": "Написано списком слов, а не предложениями.",
        "copy": "Ответ повторяет задание, а не отвечает на него.",
        "points": "{points:g} из {max:g} баллов.",
        "binary": (
            "Ответ — файл {kind}, который проверяющий алгоритм не может прочитать, поэтому его должен "
            "посмотреть куратор; до этого предложено 0 баллов."
        ),
        "summary": "Предложено {points:g} из {max:g} баллов.",
        "strong": "Сильная сторона: {title}.",
        "weak": "Стоит доработать: {title}{what}.",
        "add": " (добавьте: {missing})",
        "summary_binary": "Файл {kind}: прежде чем оценить, его должен посмотреть куратор.",
    },
}

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100, "half": 0.5,
    "ноль": 0, "один": 1, "одна": 1, "одно": 1, "одного": 1, "одной": 1, "одному": 1, "два": 2,
    "две": 2, "двух": 2, "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5,
    "шесть": 6, "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9,
    "десять": 10, "десяти": 10, "двадцать": 20, "двадцати": 20, "тридцать": 30, "пятьдесят": 50,
    "сто": 100, "половина": 0.5, "половину": 0.5,
}  # fmt: skip
_PERCENT = r"(?:%|\s*(?:per\s?cents?|percents?|pct|процент[а-я]*)\b)"
_NUM = r"\d+(?:[.,]\d+)?"
_RANGE = re.compile(rf"({_NUM})\s*(?:[-–—]|to|до)\s*({_NUM})\s*({_PERCENT})?", re.IGNORECASE)
_SINGLE = re.compile(rf"({_NUM})\s*({_PERCENT})?", re.IGNORECASE)
_WORD = re.compile(r"[a-zа-яё]+", re.IGNORECASE)
_SENTENCE = re.compile(r"[.!?;:\n]+")
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.I)


@dataclass(frozen=True)
class _Number:
    low: float
    high: float
    percent: bool

    def matches(self, found: _Number) -> bool:
        if self.percent and not found.percent:
            return False
        # A found range must sit inside the wanted one; a single found value, anywhere in it.
        return self.low - 1e-9 <= found.low and found.high <= self.high + 1e-9


@dataclass(frozen=True)
class _Analysis:
    words: list[str]
    stems: frozenset[str]
    counts: Counter[str]
    numbers: tuple[_Number, ...]


def _numbers_spelled(text: str) -> str:
    return _NUMBER_WORD.sub(lambda m: str(_NUMBER_WORDS[m.group(1).lower().replace("ё", "е")]), text)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _find_numbers(text: str) -> tuple[list[_Number], str]:
    """The numbers in `text` and the text without them (so "1 %" does not also read as a word)."""
    found: list[_Number] = []

    def take_range(m: re.Match[str]) -> str:
        low, high = sorted((_number(m.group(1)), _number(m.group(2))))
        found.append(_Number(low, high, bool(m.group(3))))
        return " "

    def take_single(m: re.Match[str]) -> str:
        value = _number(m.group(1))
        found.append(_Number(value, value, bool(m.group(2))))
        return " "

    rest = _RANGE.sub(take_range, text)
    rest = _SINGLE.sub(take_single, rest)
    return found, rest


def _word_stems(word: str) -> set[str]:
    """The word's stem, plus the English stems the course uses for a Russian trading word."""
    stems = {tx.stem(word)}
    for concept in tx.concepts(word):
        for alternative in concept.alternatives:
            stems.update(alternative)
    return stems


def _analyse(text: str) -> _Analysis:
    lowered = _numbers_spelled(text.lower().replace("ё", "е"))
    numbers, rest = _find_numbers(lowered)
    words = [w for w in _WORD.findall(rest)]
    counts: Counter[str] = Counter()
    stems: set[str] = set()
    for word in words:
        word_stems = _word_stems(word)
        stems.update(word_stems)
        if not tx.is_stop(word) and len(word) > 1:
            counts.update(word_stems)
    return _Analysis(words, frozenset(stems), counts, tuple(numbers))


@dataclass(frozen=True)
class _Alternative:
    words: tuple[frozenset[str], ...]  # per content word: the stems that count as it
    numbers: tuple[_Number, ...]

    def found(self, answer: _Analysis) -> float:
        """1 when every part is in the answer; 0.5 for a long phrase missing only a word or so."""
        hits = sum(1 for stems in self.words if stems & answer.stems)
        hits += sum(1 for n in self.numbers if any(n.matches(f) for f in answer.numbers))
        parts = len(self.words) + len(self.numbers)
        if parts and hits == parts:
            return 1.0
        if len(self.words) >= 3 and hits / parts >= 2 / 3:
            return 0.5
        return 0.0


@dataclass(frozen=True)
class _Concept:
    label: str
    alternatives: tuple[_Alternative, ...]

    def found(self, answer: _Analysis) -> float:
        return max((a.found(answer) for a in self.alternatives), default=0.0)


def _concept(label: str) -> _Concept | None:
    alternatives = []
    for wording in re.split(r"[|/]", label):
        numbers, rest = _find_numbers(_numbers_spelled(wording.lower().replace("ё", "е")))
        words = _WORD.findall(rest)
        content = [w for w in words if not tx.is_stop(w)] or words
        parts = tuple(frozenset(_word_stems(w)) for w in content)
        if parts or numbers:
            alternatives.append(_Alternative(parts, tuple(numbers)))
    shown = re.split(r"[|]", label)[0].strip()
    return _Concept(shown, tuple(alternatives)) if alternatives else None


def _derived_concepts(criterion: GradeCriterion) -> list[_Concept]:
    """Without listed concepts, the description's longer content words stand in for them."""
    seen: dict[str, _Concept] = {}
    for word in _WORD.findall(f"{criterion.title} {criterion.description}".lower()):
        if tx.is_stop(word) or len(word) < 4:
            continue
        concept = _concept(word)
        if concept is not None and tx.stem(word) not in seen:
            seen[tx.stem(word)] = concept
    return list(seen.values())[:6]


def _tfidf_cosine(documents: Sequence[Counter[str]], a: int, b: int) -> float:
    """Cosine of documents a and b under TF-IDF weights fitted on all `documents`."""
    vocabulary = sorted(set().union(*documents))
    if not vocabulary:
        return 0.0
    index = {term: i for i, term in enumerate(vocabulary)}
    n = len(documents)
    df = np.zeros(len(vocabulary))
    for doc in documents:
        for term in doc:
            df[index[term]] += 1
    idf = np.log((1 + n) / (1 + df)) + 1

    def vector(doc: Counter[str]) -> np.ndarray:
        v = np.zeros(len(vocabulary))
        for term, count in doc.items():
            v[index[term]] = 1 + math.log(count)
        return v * idf

    va, vb = vector(documents[a]), vector(documents[b])
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb / norm) if norm else 0.0


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _join(labels: Iterable[str], locale: str) -> str:
    items = list(labels)
    if len(items) <= 1:
        return "".join(items)
    word = " и " if locale == "ru" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


@dataclass
class _Form:
    words: int
    too_short: bool
    no_sentences: bool
    copied: bool


class RubricGrader:
    name = NAME

    async def grade(self, request: GradeRequest) -> GradeResult:
        return self.grade_now(request)

    def unreadable(self, request: GradeRequest, kind: str) -> GradeResult:
        """A binary file: nothing to read, so nothing is invented; 0 and a call for a human look."""
        phrases = _PHRASES["ru" if request.locale == "ru" else "en"]
        feedback = phrases["binary"].format(kind=kind.upper())
        scores = [CriterionGrade(c.key, 0.0, feedback) for c in request.criteria]
        return GradeResult(scores, phrases["summary_binary"].format(kind=kind.upper()), NAME)

    def grade_now(self, request: GradeRequest) -> GradeResult:
        locale = "ru" if request.locale == "ru" else "en"
        phrases = _PHRASES[locale]
        answer = _analyse(request.answer)
        model = _analyse(request.model_answer) if request.model_answer.strip() else None
        instructions = _analyse(request.instructions) if request.instructions.strip() else None
        form = self._form(request, answer, model, instructions)

        scores: list[CriterionGrade] = []
        missing_by_key: dict[str, list[str]] = {}
        fractions: dict[str, float] = {}
        for criterion in request.criteria:
            derived = not criterion.concepts
            concepts = (
                [c for c in (_concept(label) for label in criterion.concepts) if c is not None]
                if not derived
                else _derived_concepts(criterion)
            )
            found = [(c, c.found(answer)) for c in concepts]
            coverage = sum(share for _, share in found) / len(found) if found else None
            similarity = (
                self._similarity(request, criterion, concepts, answer, model, instructions) if model else None
            )

            if coverage is None and similarity is None:
                fraction = 1.0 if not form.too_short else 0.5
            elif similarity is None:
                fraction = coverage or 0.0
            elif coverage is None:
                fraction = min(1.0, similarity / SIMILAR_ENOUGH)
            else:
                fraction = COVERAGE_WEIGHT * coverage + (1 - COVERAGE_WEIGHT) * min(
                    1.0, similarity / SIMILAR_ENOUGH
                )
            if form.copied:
                fraction = 0.0
            if form.too_short:
                fraction *= SHORT_FACTOR
            if form.no_sentences:
                fraction *= LIST_FACTOR
            points = clamp_points(fraction * criterion.points, criterion.points)
            fractions[criterion.key] = points / criterion.points if criterion.points else 0.0

            parts: list[str] = []
            if form.copied:
                parts.append(phrases["copy"])
            elif found:
                got = [
                    c.label if share == 1.0 else phrases["partly"].format(label=c.label)
                    for c, share in found
                    if share > 0
                ]
                lacking = [c.label for c, share in found if share == 0]
                missing_by_key[criterion.key] = lacking
                if not lacking:
                    parts.append(phrases["all"].format(found=_join(got, locale)))
                elif not got:
                    parts.append(phrases["none"].format(missing=_join(lacking, locale)))
                else:
                    parts.append(
                        phrases["some"].format(
                            n=len(got),
                            total=len(found),
                            found=_join(got, locale),
                            missing=_join(lacking, locale),
                        )
                    )
                if derived:
                    parts.append(phrases["derived"])
            if similarity is not None and not form.copied:
                band = "close" if similarity >= 0.45 else "partial" if similarity >= 0.2 else "far"
                parts.append(phrases[band].format(sim=similarity))
            if form.too_short and not form.copied:
                parts.append(phrases["short"].format(words=form.words))
            if form.no_sentences and not form.copied:
                parts.append(phrases["list"])
            parts.append(phrases["points"].format(points=points, max=criterion.points))
            scores.append(CriterionGrade(criterion.key, points, " ".join(parts)))

        total = sum(s.points for s in scores)
        maximum = sum(c.points for c in request.criteria)
        summary = [phrases["summary"].format(points=total, max=maximum)]
        if form.copied:
            summary.append(phrases["copy"])
        elif request.criteria:
            ranked = sorted(request.criteria, key=lambda c: (fractions[c.key], -c.points))
            weakest, strongest = ranked[0], ranked[-1]
            if fractions[strongest.key] > 0 and strongest is not weakest:
                summary.append(phrases["strong"].format(title=strongest.title))
            if fractions[weakest.key] < 1:
                lacking = missing_by_key.get(weakest.key, [])
                what = phrases["add"].format(missing=_join(lacking, locale)) if lacking else ""
                summary.append(phrases["weak"].format(title=weakest.title, what=what))
            if form.too_short:
                summary.append(phrases["short"].format(words=form.words))
            if form.no_sentences:
                summary.append(phrases["list"])
        return GradeResult(scores, " ".join(summary), NAME)

    @staticmethod
    def _form(
        request: GradeRequest, answer: _Analysis, model: _Analysis | None, instructions: _Analysis | None
    ) -> _Form:
        content = sum(answer.counts.values())
        words = len(answer.words) + len(answer.numbers)
        model_words = len(model.words) + len(model.numbers) if model else 0
        too_short = content < MIN_CONTENT_WORDS or (model is not None and words < 0.25 * model_words)
        # A list of key terms has no sentence end and no function word ("the", "is", "и") at all.
        no_sentences = (
            words >= 3
            and not re.search(r"[.!?]", request.answer)
            and not any(tx.is_stop(w.lower()) for w in answer.words)
        )
        copied = False
        if instructions is not None and answer.counts:
            own = set(answer.counts) - set(instructions.counts)
            novelty = sum(answer.counts[t] for t in own) / max(1, sum(answer.counts.values()))
            similarity = _tfidf_cosine([answer.counts, instructions.counts], 0, 1)
            copied = similarity >= 0.85 or novelty < 0.1
        return _Form(words, too_short, no_sentences, copied)

    @staticmethod
    def _similarity(
        request: GradeRequest,
        criterion: GradeCriterion,
        concepts: list[_Concept],
        answer: _Analysis,
        model: _Analysis | None,
        instructions: _Analysis | None,
    ) -> float:
        """Similarity to the model answer's sentences about this criterion (all of it if none are)."""
        assert model is not None
        focus = model
        if concepts:
            relevant = [
                s for s in _sentences(request.model_answer) if any(c.found(_analyse(s)) > 0 for c in concepts)
            ]
            if relevant:
                focus = _analyse(" ".join(relevant))
        corpus = [answer.counts, focus.counts, model.counts]
        if instructions is not None:
            corpus.append(instructions.counts)
        corpus.append(_analyse(f"{criterion.title}. {criterion.description}").counts)
        return round(_tfidf_cosine(corpus, 0, 1), 2)
