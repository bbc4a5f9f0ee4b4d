"""The embedded answerer: no model, no network. It answers by quoting the course.

From the retrieved passages it picks the sentences that mention most of the question's content words
(weighted by how rare each word is among the passages), keeps a sentence's antecedent when it opens
with "This/It…", puts a definition first for "what is X" questions and cites every sentence. When no
sentence mentions enough of the question, it says so instead of quoting something loosely related.
In hint mode it never quotes the material: it names where to look and asks a guiding question.
"""

from __future__ import annotations

import asyncio
import difflib
import itertools
import math
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from academy.integrations.llm import text as tx
from academy.integrations.llm.protocol import AnswerRequest, Passage

MAX_SENTENCES = 5
MAX_WORDS = 120
# Share of the question's weighted content words the best sentence (with its section title counting
# half) must mention before we claim the material covers the question.
COVERED = 0.5

_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "not_covered": (
            "The course material I have doesn't cover this question, so I won't guess. Try asking it "
            "with the terms used in the lessons, or ask a curator."
        ),
        "lead": "",
        "hint_intro": (
            "This looks like part of a graded task you haven't finished yet, so I won't give the answer "
            "away, but here is where to look."
        ),
        "hint_not_covered": (
            "This looks like part of a graded task, and I couldn't find the part of the course that "
            "covers it, so I won't guess. A curator can give you a hint."
        ),
        "pointer_section": "Re-read the section “{heading}” of the lesson “{title}” {marker}.",
        "pointer_lesson": "Go back to the lesson “{title}” {marker}.",
        "pointer_anonymous": "Go back to the lesson linked here {marker}.",
        "pointer_glossary": "Look up “{title}” in the course glossary {marker}.",
        "pointer_faq": "The FAQ answer to “{title}” {marker} helps too.",
        "guide_definition": (
            "Ask yourself: how would you explain {terms} in one sentence of your own, using the words "
            "the lesson uses?"
        ),
        "guide_calculation": (
            "Ask yourself: which formula does the lesson give for {terms}, and what does each number in "
            "the question stand for? Put the numbers in step by step{example}."
        ),
        "example": " and compare your working with the lesson's worked example",
        "guide_why": (
            "Ask yourself: what reason does the lesson give for {terms}, and what would go wrong without it?"
        ),
        "guide_compare": (
            "Ask yourself: what does each of {terms} do or measure, and where exactly do they differ?"
        ),
        "guide_choice": (
            "Check each option against what the lesson says about {terms}: which ones does it support, "
            "and which does it contradict?"
        ),
        "guide_how": "Ask yourself: which steps does the lesson describe for {terms}, and in what order?",
        "guide_general": (
            "Ask yourself: what does the lesson say about {terms}, and how does that apply to your question?"
        ),
        "hint_outro": "Work it out on your own first, then check your reasoning against the lesson.",
        "this_idea": "this idea",
        "and": " and ",
    },
    "ru": {
        "not_covered": (
            "В материалах курса нет ответа на этот вопрос, поэтому гадать я не буду. Попробуйте "
            "переформулировать его словами из уроков или спросите куратора."
        ),
        "lead": "Вот что об этом сказано в материалах курса (они на английском):",
        "hint_intro": (
            "Похоже, это вопрос из оцениваемого задания, которое вы ещё не сдали, поэтому готовый ответ "
            "я не дам, но подскажу, где искать."
        ),
        "hint_not_covered": (
            "Похоже, это вопрос из оцениваемого задания, но в материалах курса я не нашёл, где это "
            "разобрано, поэтому гадать не буду. Попросите подсказку у куратора."
        ),
        "pointer_section": "Перечитайте раздел «{heading}» урока «{title}» {marker}.",
        "pointer_lesson": "Вернитесь к уроку «{title}» {marker}.",
        "pointer_anonymous": "Вернитесь к уроку по ссылке {marker}.",
        "pointer_glossary": "Посмотрите термин «{title}» в глоссарии курса {marker}.",
        "pointer_faq": "Пригодится и ответ из FAQ на вопрос «{title}» {marker}.",
        "guide_definition": (
            "Спросите себя: как бы вы объяснили {terms} одним предложением своими словами, используя "
            "термины из урока?"
        ),
        "guide_calculation": (
            "Спросите себя: какую формулу для {terms} даёт урок и что означает каждое число в условии? "
            "Подставьте числа по шагам{example}."
        ),
        "example": " и сверьтесь с разобранным в уроке примером",
        "guide_why": (
            "Спросите себя: какую причину называет урок для {terms} и что пошло бы не так без этого?"
        ),
        "guide_compare": (
            "Спросите себя: что делает или измеряет каждое из понятий {terms} и в чём именно разница?"
        ),
        "guide_choice": (
            "Проверьте каждый вариант по тому, что урок говорит о {terms}: какие варианты он "
            "подтверждает, а какие опровергает?"
        ),
        "guide_how": "Спросите себя: какие шаги для {terms} описывает урок и в каком порядке?",
        "guide_general": ("Спросите себя: что урок говорит о {terms} и как это относится к вашему вопросу?"),
        "hint_outro": "Сначала попробуйте решить сами, а потом сверьте рассуждение с уроком.",
        "this_idea": "этой идеи",
        "and": " и ",
    },
}

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "definition",
        re.compile(
            r"^\s*(what\s*(is|are|'s|s)\b|whats\b|what\s+does\s+.+\s+mean|define\b|meaning\s+of|"
            r"что\s+(такое|значит|означает|это)\b|кто\s+так|что\s+за\b|определени)",
            re.IGNORECASE,
        ),
    ),
    (
        "calculation",
        re.compile(
            r"\d|\bcalculat|\bcomput|\bformula|рассчит|посчит|вычисл|формул",
            re.IGNORECASE,
        ),
    ),
    ("compare", re.compile(r"\bdifferen|\bvs\.?\b|\bversus\b|\bcompare|отлич|разниц", re.IGNORECASE)),
    ("why", re.compile(r"^\s*why\b|\bwhy\s+(do|does|is|are|should)\b|почему|зачем", re.IGNORECASE)),
    ("choice", re.compile(r"\bwhich\b|\btrue\b|\bcorrect\b|какой\s+из|какие\s+из|верн", re.IGNORECASE)),
    ("how", re.compile(r"^\s*how\b(?!\s+(much|many))|\bhow\s+(do|does|to|can|should)\b|^\s*как\b", re.I)),
)

# A sentence that opens with one of these leans on the sentence before it.
_NEEDS_PREVIOUS = re.compile(
    r"^[\"“«(]?(this|it|these|those|that|they|such|so|thus|therefore|but|however|otherwise|its|their|"
    r"both|neither|это|этот|эта|эти|он|она|оно|они|поэтому|но|однако|тогда|его|ее|её|их|так)\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(r"\b(it|its|this|that|they|them|он|она|оно|они|его|её|ее|их|это|этот|эта)\b", re.I)
# Talk about the course itself ("This lesson explains…") answers nothing.
_META = re.compile(
    r"^(this|the next|the previous|in this|in the next)\s+(lesson|module|course|section)"
    r"|^(в этом|этот)\s+(урок|модул)",
    re.IGNORECASE,
)
_REASON = re.compile(
    r"\b(because|so that|in order to|otherwise|protects?|prevents?|caps?|the reason|which means|"
    r"потому что|чтобы|иначе|защищ)\b",
    re.IGNORECASE,
)
# Words that lessons use in section headings whatever the topic ("How it is calculated", "Worked
# example"): naming such a heading in a hint gives nothing away.
_GENERIC_HEADING = frozenset(
    tx.stem(w)
    for w in tx.wordlist(
        "how what why where when who calculated calculation measures measure measuring worked example "
        "key points usual reading levels common mistakes basics introduction summary overview practice "
        "limits steps use using ways other main types rules matters misleads mislead"
    )
)
_COPULA = frozenset({"is", "are", "means", "refers", "measures", "describes", "—", "это", "–", "называют"})

_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "mr", "mrs", "dr", "jr", "sr", "st", "no", "approx", "fig"}
    | {"т.е", "т.д", "т.п", "др", "см"}
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"»”’)]*)\s+(?=[\"«“(]?[A-ZА-ЯЁ0-9])")
_LIST_LINE = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_INLINE_BULLET = re.compile(r"\s+[-•]\s+(?=[\"“«(]?[A-ZА-ЯЁ0-9])")
_INLINE_NUMBER = re.compile(r"(?<=[.:!?])\s+\d{1,2}\.\s+(?=[\"“«(]?[A-ZА-ЯЁ])")
_LINK = re.compile(r"(!?)\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")


@dataclass
class _Sentence:
    passage: Passage
    rank: int
    position: int
    text: str
    stems: frozenset[str]
    list_item: bool
    usable: bool
    score: float = 0.0
    coverage: float = 0.0
    own: float = 0.0
    definition: bool = False


@dataclass(frozen=True)
class _Question:
    kind: str
    locale: str
    concepts: tuple[tx.Concept, ...]
    stems: frozenset[str]
    text: str


class GroundedAnswerer:
    """Extractive, cited answers from the retrieved passages; the coach's answerer without a model."""

    name = "grounded"

    async def stream(self, request: AnswerRequest) -> AsyncIterator[str]:
        answer = self.answer(request)
        for piece in re.findall(r"\s*\S+\s*", answer):
            yield piece
            # Word-sized pieces with a yield point, so a long answer never blocks the event loop.
            await asyncio.sleep(0)

    def answer(self, request: AnswerRequest) -> str:
        question = _analyse(request)
        phrases = _PHRASES[question.locale]
        sentences = _sentences(request.passages)
        question = _repair(question, sentences, request.passages)
        ranked = _score(question, sentences)
        best = ranked[0] if ranked else None
        if best is None or best.own <= 0 or best.coverage < COVERED:
            lessons = [p for p in request.passages if p.kind == "lesson"]
            if request.mode == "hint" and lessons:
                # The caller matched the question to a graded item of this lesson: send the student
                # there even when no single sentence covers the wording (numbers, a pasted task).
                return " ".join(
                    [
                        phrases["hint_intro"],
                        phrases["pointer_lesson"].format(title=lessons[0].title, marker=f"[{lessons[0].n}]"),
                        phrases["guide_general"].format(terms=phrases["this_idea"], example=""),
                        phrases["hint_outro"],
                    ]
                )
            return phrases["hint_not_covered" if request.mode == "hint" else "not_covered"]
        if request.mode == "hint":
            return _hint(question, ranked, sentences, request.passages)
        return _compose(question, ranked, sentences)


def _analyse(request: AnswerRequest) -> _Question:
    text = request.question.strip()
    russian = tx.is_russian(text)
    locale = "ru" if request.locale == "ru" or russian else "en"
    kind = "general"
    for name, pattern in _KINDS:
        if pattern.search(text):
            kind = name
            break
    concepts = tx.concepts(text)
    if len(concepts) == 1 and kind == "general" and len(tx.words(text)) <= 3:
        kind = "definition"  # "RSI?" or "stop loss" alone asks what it is
    last_user = next((t.text for t in reversed(request.history) if t.role == "user"), "")
    if last_user and (len(concepts) <= 1 or _FOLLOW_UP.search(text)):
        # "How is it calculated?" after "What is RSI?": the topic comes from the previous question.
        known = {c.alternatives for c in concepts}
        concepts += [c for c in tx.concepts(last_user, weight=0.6) if c.alternatives not in known]
    if not concepts and request.context:
        concepts = tx.concepts(request.context, weight=0.5)
    return _Question(kind, locale, tuple(concepts), tx.stems_of(text), text)


def _repair(question: _Question, sentences: list[_Sentence], passages: Sequence[Passage]) -> _Question:
    """Typos and run-together words ("indicater", "stoploss") matched against the passages' words."""
    vocabulary: set[str] = set()
    for sentence in sentences:
        vocabulary |= sentence.stems
    for passage in passages:
        vocabulary |= tx.stems_of(f"{passage.title} {passage.heading}")
    repaired: list[tx.Concept] = []
    english_only = not any(tx.is_russian(word) for word in vocabulary)
    for concept in question.concepts:
        if english_only and len(concept.alternatives) == 1 and tx.is_russian(concept.label):
            continue  # a Russian word with no English counterpart we know cannot match English lessons
        if any(all(s in vocabulary for s in alt) for alt in concept.alternatives) or not vocabulary:
            repaired.append(concept)
            continue
        extra: list[tuple[str, ...]] = []
        word = concept.label
        for cut in range(2, len(word) - 1):
            left, right = tx.stem(word[:cut]), tx.stem(word[cut:])
            if left in vocabulary and right in vocabulary and min(len(left), len(right)) >= 2:
                extra.append((left, right))
                break
        for alt in concept.alternatives:
            if len(alt) == 1 and len(alt[0]) >= 4:
                extra += [(m,) for m in difflib.get_close_matches(alt[0], vocabulary, n=1, cutoff=0.8)]
        repaired.append(tx.Concept(concept.label, concept.alternatives + tuple(extra), concept.weight))
    return _Question(question.kind, question.locale, tuple(repaired), question.stems, question.text)


def _clean_inline(text: str) -> str:
    text = _LINK.sub(lambda m: "" if m.group(1) else m.group(2), text)
    text = re.sub(r"<[^>]+>", " ", text)
    for _ in range(2):  # nested emphasis such as ***word***
        text = _EMPHASIS.sub(r"\2", text)
    text = _UNDERSCORE_EMPHASIS.sub(r"\1", text)
    text = re.sub(r"[*`#>|]", " ", text)
    # "**stop distance**," reaches us flattened as "stop distance ,".
    text = re.sub(r"\s+([,.;:!?])(?=\s|$)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _segments(text: str) -> list[tuple[str, bool]]:
    """Paragraphs and list items as (text, is_list_item). Handles markdown and flattened plain text."""
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []
    current_is_item = False
    table: list[list[str]] = []

    def flush() -> None:
        nonlocal current, current_is_item
        if current:
            blocks.append((" ".join(current), current_is_item))
        current, current_is_item = [], False

    def flush_table() -> None:
        nonlocal table
        separators = [
            i for i, row in enumerate(table) if all(re.fullmatch(r":?-{2,}:?", c) or not c for c in row)
        ]
        # The row above the |---| line is the header; it labels columns and says nothing itself.
        skip = set(separators) | ({separators[0] - 1} if separators and separators[0] > 0 else set())
        for row in (row for i, row in enumerate(table) if i not in skip):
            cells = [_clean_inline(c) for c in row if c.strip()]
            if len(cells) >= 2:
                blocks.append((f"{cells[0]}: {'; '.join(cells[1:])}.", True))
        table = []

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            flush()
            table.append([c.strip() for c in stripped.strip("|").split("|")])
            continue
        if table:
            flush_table()
        if not stripped or stripped.startswith("#"):
            flush()
        elif _LIST_LINE.match(line):
            flush()
            current, current_is_item = [_LIST_LINE.sub("", line, count=1)], True
        else:
            current.append(stripped)
    if table:
        flush_table()
    flush()

    segments: list[tuple[str, bool]] = []
    for block, is_item in blocks:
        block = _clean_inline(block)
        # Search chunks arrive flattened: "… round? - RSI near 100 means … 2. Then …".
        for i, part in enumerate(_INLINE_BULLET.split(block)):
            for j, piece in enumerate(_INLINE_NUMBER.split(part)):
                piece = _LIST_LINE.sub("", piece, count=1) if (i or j) else piece
                if piece.strip():
                    segments.append((piece.strip(), is_item or i > 0 or j > 0))
    return segments


def _split_sentences(segment: str) -> list[str]:
    result: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(segment):
        before = segment[start : match.start()].split()
        token = before[-1].lower().lstrip('("«“') if before else ""
        if match.group(1) == "." and ((len(token) == 1 and token.isalpha()) or token in _ABBREVIATIONS):
            continue  # "J. Welles Wilder", "e.g. a stop"
        result.append(segment[start : match.end()].strip())
        start = match.end()
    if segment[start:].strip():
        result.append(segment[start:].strip())
    return result


def _usable(text: str) -> bool:
    tokens = text.split()
    alphabetic = [t for t in tokens if re.search(r"[A-Za-zА-Яа-яЁё]{2,}", t)]
    if len(tokens) < 5 or len(tokens) > 48 or text.endswith(("?", ":")):
        return False
    if len(alphabetic) < 3 and "=" not in text:
        return False
    # A flattened table row reads "Above 70 Overbought Recent gains …": many capitals mid-sentence.
    capitals = sum(
        1
        for prev, t in itertools.pairwise(tokens)
        if t[:1].isupper()
        and not t.isupper()
        and not prev.endswith((":", ".", "(", "“", '"', "—"))
        and len(t) > 1
    )
    return capitals < 4


def _sentences(passages: Sequence[Passage]) -> list[_Sentence]:
    result: list[_Sentence] = []
    for rank, passage in enumerate(passages):
        position = 0
        for segment, is_item in _segments(passage.text):
            parts = _split_sentences(segment)
            # "**Strong trends.** Selling because…" reads as a label: keep it with its sentence.
            if is_item and len(parts) > 1 and len(parts[0].split()) <= 4 and parts[0].endswith((".", ":")):
                parts = [f"{parts[0].rstrip('.:')}: {_lower_first(parts[1])}", *parts[2:]]
            for sentence in parts:
                stems = tx.stems_of(sentence)
                if passage.kind == "glossary" and position == 0:
                    # "Overbought: A reading of…" never repeats the term it defines.
                    stems |= tx.stems_of(passage.title)
                result.append(_Sentence(passage, rank, position, sentence, stems, is_item, _usable(sentence)))
                position += 1
    return result


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _score(question: _Question, sentences: list[_Sentence]) -> list[_Sentence]:
    """Usable sentences that mention the question, best first."""
    usable = [s for s in sentences if s.usable]
    if not usable or not question.concepts:
        return []
    n = len(usable)
    weights: dict[tx.Concept, float] = {}
    unseen: list[tx.Concept] = []
    for concept in question.concepts:
        df = sum(1 for s in usable if concept.found_in(s.stems))
        weights[concept] = concept.weight * math.log(1 + n / (df + 0.5))
        if df == 0:
            unseen.append(concept)
    passages = {id(s.passage): s.passage for s in usable}.values()
    headings = [tx.stems_of(f"{p.title} {p.heading}") for p in passages]
    topical = [c for c in question.concepts if c not in unseen and any(c.found_in(h) for h in headings)]
    if topical and len(unseen) < len(question.concepts):
        # The passages were retrieved for a word of the question that names their topic; a word found
        # nowhere in them is then more likely a typo or filler ("as a beginer") than the real subject,
        # so it may not veto the answer. With no topical match ("capital of France") it still does.
        seen_mean = sum(w for c, w in weights.items() if c not in unseen) / (len(weights) - len(unseen))
        for concept in unseen:
            weights[concept] = 0.35 * seen_mean * concept.weight
    total = sum(weights.values())
    subject = question.concepts[:2]
    for s in usable:
        context = tx.stems_of(f"{s.passage.title} {s.passage.heading}")
        own = sum(w for c, w in weights.items() if c.found_in(s.stems))
        from_context = sum(
            0.5 * w for c, w in weights.items() if not c.found_in(s.stems) and c.found_in(context)
        )
        s.own = own / total
        s.coverage = (own + from_context) / total
        s.score = s.coverage - 0.04 * s.rank - 0.01 * min(s.position, 10)
        if question.kind == "definition":
            s.definition = _is_definition(s, subject, context)
            if s.definition:
                s.score += 0.35
        if s.passage.kind == "faq" and s.position < 3:
            asked = [c for c in question.concepts if c.found_in(context)]
            if sum(weights[c] for c in asked) >= 0.6 * total:
                s.score += 0.15  # the FAQ entry asks what the student asks
        if question.kind == "calculation" and "=" in s.text:
            s.score += 0.1
        if question.kind == "why":
            s.score += 0.2 if _REASON.search(s.text) else -0.1
        if topical and not any(c.found_in(s.stems) or c.found_in(context) for c in topical):
            s.score -= 0.15  # off the topic the passages were retrieved for
        if s.passage.kind in ("glossary", "faq") and not all(c.found_in(context) for c in subject):
            s.score -= 0.15  # the entry is about another term that merely mentions this one
        if question.kind != "calculation" and re.search(r"example|пример", s.passage.heading, re.IGNORECASE):
            s.score -= 0.1  # a worked example's numbers answer only the example
        if _META.match(s.text):
            s.score -= 0.25
        length = len(s.text.split())
        if length > 40:
            s.score -= 0.1
        elif length < 7:
            s.score -= 0.05
    relevant = [s for s in usable if s.own > 0]
    return sorted(relevant, key=lambda s: -s.score)


def _is_definition(s: _Sentence, subject: Sequence[tx.Concept], context: frozenset[str]) -> bool:
    if s.passage.kind == "glossary" and s.position == 0 and all(c.found_in(context) for c in subject):
        return True
    tokens = s.text.lower().split()
    lowered = s.text.lower()
    if re.search(r"\b(is|are)\s+called\b|\bknown\s+as\b|называ", lowered) and any(
        c.found_in(s.stems) for c in subject
    ):
        return True
    for i, token in enumerate(tokens[:6]):
        if any(c.found_in(tx.stems_of(token)) for c in subject):
            # "The Relative Strength Index (RSI) is…", "A stop-loss is…"; not "RSI near 100 means…".
            rest = tokens[i + 1 :]
            while rest and (
                rest[0].startswith("(") or any(c.found_in(tx.stems_of(rest[0])) for c in subject)
            ):
                rest = rest[1:]
            return bool(rest) and rest[0].strip(",") in _COPULA
    return False


def _similar(a: _Sentence, b: _Sentence) -> bool:
    if not a.stems or not b.stems:
        return False
    return len(a.stems & b.stems) / len(a.stems | b.stems) >= 0.6


def _previous(s: _Sentence, sentences: list[_Sentence]) -> _Sentence | None:
    index = sentences.index(s)
    if index > 0 and sentences[index - 1].passage is s.passage:
        return sentences[index - 1]
    return None


def _select(ranked: list[_Sentence], sentences: list[_Sentence]) -> list[list[_Sentence]]:
    """Blocks of sentences to say, each a chosen sentence preceded by the antecedents it needs."""
    best = ranked[0]
    floor_coverage = max(0.34, 0.6 * best.coverage)
    candidates = [
        s for s in ranked if s is best or (s.coverage >= floor_coverage and s.score >= 0.6 * best.score)
    ]
    blocks: list[list[_Sentence]] = []
    said: list[_Sentence] = []
    words = 0
    while candidates:
        # Each sentence already taken from a passage makes the next one from it a little less
        # attractive, so three list items of one passage do not crowd out a clearer sentence elsewhere.
        candidate = max(
            candidates, key=lambda c: c.score - 0.08 * sum(1 for s in said if s.passage is c.passage)
        )
        candidates.remove(candidate)
        if any(candidate is s or _similar(candidate, s) for s in said):
            continue
        block = [candidate]
        while _NEEDS_PREVIOUS.match(block[0].text) and len(block) < 3:
            previous = _previous(block[0], sentences)
            if previous is None or any(previous is s for s in said):
                break
            block.insert(0, previous)
        if candidate.definition:
            following = _next(candidate, sentences)
            if (
                following is not None
                and _NEEDS_PREVIOUS.match(following.text)
                and following.usable
                and not any(following is s for s in said)
            ):
                block.append(following)  # "RSI is a momentum indicator. It compares…"
        block_words = sum(len(s.text.split()) for s in block)
        if blocks and (len(said) + len(block) > MAX_SENTENCES or words + block_words > MAX_WORDS):
            continue
        blocks.append(block)
        said += block
        words += block_words
    if len(said) == 1:
        # One sentence rarely reads as an answer: add what follows it in the lesson, or the runner-up.
        following = _next(said[0], sentences)
        if following is not None and following.usable:
            blocks[0].append(following)
        else:
            runner_up = next((s for s in ranked[1:] if not _similar(s, said[0])), None)
            if runner_up is not None:
                blocks.append([runner_up])
    return blocks


def _next(s: _Sentence, sentences: list[_Sentence]) -> _Sentence | None:
    index = sentences.index(s)
    if index + 1 < len(sentences) and sentences[index + 1].passage is s.passage:
        return sentences[index + 1]
    return None


def _compose(question: _Question, ranked: list[_Sentence], sentences: list[_Sentence]) -> str:
    blocks = _select(ranked, sentences)
    # Sentences from one passage read best in the passage's own order; passages in order of relevance.
    by_passage: dict[int, list[_Sentence]] = {}
    for block in blocks:
        by_passage.setdefault(id(block[-1].passage), [])
        for s in block:
            bucket = by_passage.setdefault(id(s.passage), [])
            if not any(s is t for t in bucket):
                bucket.append(s)
    ordered = [s for bucket in by_passage.values() for s in sorted(bucket, key=lambda s: s.position)]
    if question.kind == "definition":
        # Definitions first, each with the sentences its block holds ("It compares…"), best first.
        lead: list[_Sentence] = []
        defining = sorted(
            (b for b in blocks if any(s.definition for s in b)),
            key=lambda b: -max(s.score for s in b if s.definition),
        )
        for block in defining:
            lead += [s for s in sorted(block, key=lambda s: s.position) if not any(s is t for t in lead)]
        ordered = lead + [s for s in ordered if not any(s is t for t in lead)]
    rendered: list[str] = []
    index = 0
    while index < len(ordered):
        s = ordered[index]
        text = _render(s)
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        if (
            s.text.endswith(":")
            and following is not None
            and following.passage is s.passage
            and following.position == s.position + 1
        ):
            # "A stop-loss does three useful things:" + "It caps …" read as one sentence.
            text = f"{s.text} {_lower_first(_render(following))}"
            index += 1
        rendered.append(f"{text} [{s.passage.n}]")
        index += 1
    body = " ".join(rendered)
    lead_in = _PHRASES[question.locale]["lead"]
    if lead_in and not tx.is_russian(body):
        return f"{lead_in}\n\n{body}"
    return body


def _render(s: _Sentence) -> str:
    text = s.text
    if s.passage.kind == "glossary" and s.position == 0:
        title = s.passage.title.strip()
        if title and not text.lower().startswith(title.lower()):
            text = f"{title} — {_lower_first(text)}"
    if text[-1] not in '.!?…:"”»)':
        text += "."
    return text


def _hint(
    question: _Question, ranked: list[_Sentence], sentences: list[_Sentence], passages: Sequence[Passage]
) -> str:
    phrases = _PHRASES[question.locale]
    top = ranked[:3]
    # Words of the likely answer that the question does not already contain: a heading or title made
    # of them would give the answer away ("Divergence" for "what is this disagreement called?").
    revealing: set[str] = set()
    for s in ranked[:8]:
        revealing |= {tx.stem(w) for w in tx.words(_render(s)) if not tx.is_stop(w)}
    # Only the student's own words are safe: "расхождение" in the question does not make the English
    # heading "Divergence" harmless, it is the term the quiz wants.
    revealing -= question.stems

    def safe(label: str) -> bool:
        named = {tx.stem(w) for w in tx.words(label) if not tx.is_stop(w)} - _GENERIC_HEADING
        return not (named & revealing)

    pointers: list[str] = []
    documents: set[tuple[str, int]] = set()
    for s in sorted(top, key=lambda s: (s.passage.kind != "lesson", s.rank)):
        passage = s.passage
        key = (passage.kind, passage.document_id)
        if key in documents or len(documents) >= 2:
            continue
        marker = f"[{passage.n}]"
        if passage.kind == "lesson":
            # The lesson is always named: the student needs to know where to go, and its link shows
            # the title anyway. A section heading is named only when it does not name the answer.
            if passage.heading and safe(passage.heading):
                line = phrases["pointer_section"].format(
                    heading=passage.heading, title=passage.title, marker=marker
                )
            else:
                line = phrases["pointer_lesson"].format(title=passage.title, marker=marker)
        elif passage.kind == "faq" and safe(passage.title):
            line = phrases["pointer_faq"].format(title=passage.title.rstrip("?"), marker=marker)
        elif passage.kind == "glossary" and safe(passage.title):
            line = phrases["pointer_glossary"].format(title=passage.title, marker=marker)
        else:
            continue
        documents.add(key)
        pointers.append(line)
    if not pointers:
        pointers.append(phrases["pointer_anonymous"].format(marker=f"[{top[0].passage.n}]"))

    matched = [
        c
        for c in question.concepts
        if c.weight == 1.0
        and not any(ch.isdigit() for ch in c.label)
        and any(c.found_in(s.stems) for s in top)
    ]
    named = [tx.stems_of(f"{s.passage.title} {s.passage.heading}") for s in top]
    # Name the topic first (a word in the lesson's title), then the rarest words of the question.
    matched.sort(key=lambda c: (not any(c.found_in(h) for h in named), -_rarity(c, sentences)))
    labels = [_surface(c.label, question.text) for c in matched[:2]]
    if question.locale == "ru":
        terms = phrases["and"].join(f"«{label}»" for label in labels) or phrases["this_idea"]
    else:
        terms = phrases["and"].join(labels) or phrases["this_idea"]
    guide = phrases.get(f"guide_{question.kind}", phrases["guide_general"])
    lesson_ids = {s.passage.document_id for s in top if s.passage.kind == "lesson"}
    has_example = any(
        p.kind == "lesson" and p.document_id in lesson_ids and re.search(r"example|пример", p.heading, re.I)
        for p in passages
    )
    guide = guide.format(terms=terms, example=phrases["example"] if has_example else "")
    return " ".join([phrases["hint_intro"], *pointers, guide, phrases["hint_outro"]])


def _rarity(concept: tx.Concept, sentences: list[_Sentence]) -> float:
    return 1 / (1 + sum(1 for s in sentences if concept.found_in(s.stems)))


def _surface(label: str, question: str) -> str:
    """The word as the student wrote it ("RSI", not "rsi")."""
    match = re.search(rf"\b{re.escape(label)}\b", question, re.IGNORECASE)
    return match.group(0) if match else label
