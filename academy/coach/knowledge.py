"""The coach's knowledge base: the course chunks (`search_documents`), their vectors, and hybrid
retrieval over them.

Retrieval fuses two ranked lists by reciprocal-rank fusion (RRF, k = 60):

* full-text: an OR of the question's content words (stop words dropped, light English stemming, prefix
  terms so "indicators" and "индикаторы" match their inflections; title 4x, heading 2x, body 1x;
  bm25 on SQLite, an idf-weighted sum of ts_rank per word on PostgreSQL, whose rankings know no
  idf). Words in more than half of the chunks are left out of the query (bm25 gives them no weight).
  Words missing from the index vocabulary are corrected to the closest vocabulary term (Damerau
  edit distance 1 for 5-7 letters, 2 from 8, found through a symmetric-delete index), or split when
  two words were run together ("stoploss"). Russian words are mapped to the course's English terms
  through a small trading lexicon, because the course is written in English.
* vectors (when an embedder is configured and `sync` has run): cosine similarity to the question,
  computed by pgvector (`<=>`) on PostgreSQL and by numpy over an in-memory matrix on SQLite.

Only published chunks of published courses are ever returned.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import EllipsisType

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.coach.knowledge_repository import ChunkRow, KnowledgeRepository
from academy.integrations.embeddings import Embedder, EmbeddingError
from academy.integrations.embeddings import embedder as default_embedder

log = structlog.get_logger()

RRF_K = 60
# How many candidates each retriever contributes to the fusion.
CANDIDATES = 30
# Chunks embedded per sync run: one run stays short (SQLite has a single writer), and the job
# queues the next run while some remain.
SYNC_RUN_LIMIT = 2000
SYNC_BATCH = 64
# How often a process re-checks that its in-memory vectors still match the table (SQLite only).
VECTOR_RECHECK_SECONDS = 2.0

_STOP_WORDS_TEXT = """
    a about above after again all also am an and any are as at be been before being but by can could
    did do does doing done during each either else even ever every explain for from get gets getting
    got had has have having he her here hers him his how however i if im in into is it its just kind
    know let like ll me mean meaning means might mine more most much must my need needs no not now
    of off often ok okay on once one only or other our out over own please pls plz re really right
    same say says shall she should so some someone something still such tell than thank thanks that
    the their them then there these they thing things this those though through to too trying
    understand until up us use used using ve very vs want wants was way we well were what whats when
    where whether which while who whom whose why will with would yes yet you your yours
    а без бы был была были было быть в вам вас весь во вот все всё всех вы где да даже для до его ее
    её если есть ещё еще же за зачем и из или им их к как какая какие каким какой когда кто ли либо
    между меня мне мной может можно мой моя мои мы на надо нам нас не него нее неё нет ни них но ну
    нужно о об объясни объясните означает от очень делать понять понимать подскажи подскажите
    пожалуйста по почему при про расскажи расскажите с сам со так такое такой там те тем то того
    тоже только том тот ты у уже хочу чем что чтобы эта эти это этот я
"""
# Question words and filler: matching them only slows full-text search and blurs coverage.
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# Russian stems -> the course's English terms. The course is written in English and MiniLM reads
# English only, so a Russian question reaches the material through these. Longest stem wins.
RU_LEXICON: dict[str, tuple[str, ...]] = {
    "акци": ("stock", "share"),
    "бирж": ("exchange",),
    "биткоин": ("bitcoin",),
    "боллинджер": ("bollinger",),
    "брокер": ("broker",),
    "бэктест": ("backtest",),
    "бектест": ("backtest",),
    "валют": ("currency",),
    "вероятн": ("probability",),
    "волатильн": ("volatility",),
    "восходящ": ("uptrend",),
    "вход": ("entry",),
    "выход": ("exit",),
    "гэп": ("gap",),
    "гэпы": ("gap",),
    "график": ("chart",),
    "дивергенц": ("divergence",),
    "дивиденд": ("dividend",),
    "дисциплин": ("discipline",),
    "дневник": ("journal",),
    "журнал": ("journal",),
    "депозит": ("account",),
    "деньг": ("money",),
    "денег": ("money",),
    "доходн": ("return",),
    "жадн": ("greed",),
    "заявк": ("order",),
    "индекс": ("index",),
    "индикатор": ("indicator",),
    "импульс": ("momentum",),
    "капитал": ("capital",),
    "канал": ("channel",),
    "комисси": ("commission", "fee"),
    "колл": ("call",),
    "крипт": ("crypto",),
    "купить": ("buy",),
    "лимитн": ("limit",),
    "ликвидн": ("liquidity",),
    "лонг": ("long",),
    "лосс": ("loss",),
    "ложн": ("false",),
    "макд": ("macd",),
    "маржин": ("margin",),
    "маржа": ("margin",),
    "минимум": ("low",),
    "максимум": ("high",),
    "мошенн": ("scam",),
    "начинающ": ("beginner",),
    "новичк": ("beginner",),
    "новичок": ("beginner",),
    "нисходящ": ("downtrend",),
    "облигаци": ("bond",),
    "объем": ("volume",),
    "объём": ("volume",),
    "ожидани": ("expectancy",),
    "опцион": ("option",),
    "ордер": ("order",),
    "осциллятор": ("oscillator",),
    "откат": ("pullback",),
    "отлич": ("difference",),
    "паттерн": ("pattern",),
    "переобуч": ("overfitting",),
    "перекуплен": ("overbought",),
    "перепродан": ("oversold",),
    "период": ("period",),
    "плеч": ("leverage",),
    "поддержк": ("support",),
    "позици": ("position",),
    "покупк": ("buy",),
    "полос": ("bands",),
    "прибыл": ("profit",),
    "пробит": ("breakout",),
    "пробо": ("breakout",),
    "продаж": ("sell",),
    "продать": ("sell",),
    "проскальз": ("slippage",),
    "просадк": ("drawdown",),
    "процент": ("percent",),
    "психолог": ("psychology",),
    "работ": ("work",),
    "развор": ("reversal",),
    "разниц": ("difference",),
    "размер": ("size",),
    "риск": ("risk",),
    "рынк": ("market",),
    "рынок": ("market",),
    "рыночн": ("market",),
    "свеч": ("candle", "candlestick"),
    "сигнал": ("signal",),
    "скам": ("scam",),
    "скользящ": ("moving", "average"),
    "сопротивлен": ("resistance",),
    "спред": ("spread",),
    "средн": ("average",),
    "стоп": ("stop",),
    "страх": ("fear",),
    "стратеги": ("strategy",),
    "таймфрейм": ("timeframe",),
    "тейк": ("take", "profit"),
    "торгов": ("trading",),
    "трейдер": ("trader",),
    "трейдинг": ("trading",),
    "телеграм": ("telegram",),
    "тренд": ("trend",),
    "убыт": ("loss",),
    "уров": ("level",),
    "фитил": ("wick",),
    "фьючерс": ("futures",),
    "форекс": ("forex",),
    "цен": ("price",),
    "шорт": ("short",),
    "эмоци": ("emotion",),
}
_LEXICON_STEMS = sorted(RU_LEXICON, key=len, reverse=True)
_CYRILLIC = re.compile(r"[а-яё]")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def stem(word: str) -> str:
    """A light English stem, used as a prefix: "strategies" -> "strateg", "stops" -> "stop"."""
    if not word.isascii() or not word.isalpha():
        return word
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3]
    if len(word) > 6 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 5 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if len(word) > 4 and word.endswith("e"):
        return word[:-1]  # "expire" also finds "expiry", "trade" "trading"
    return word


def _russian_terms(word: str) -> tuple[str, ...] | None:
    for key in _LEXICON_STEMS:
        if word.startswith(key):
            return RU_LEXICON[key]
    return None


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Damerau (optimal string alignment) distance, giving up above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Vocabulary:
    """The terms of the full-text index with their chunk counts, for typo correction and weights."""

    def __init__(self, terms: Iterable[tuple[str, int]], chunks: int) -> None:
        self.df: dict[str, int] = {}
        for term, count in terms:
            self.df[term] = self.df.get(term, 0) + count
        self.sorted = sorted(self.df)
        self.chunks = max(chunks, max(self.df.values(), default=0))
        # Symmetric-delete index: a word and a vocabulary term within distance 2 share a 1-delete.
        self._by_delete: dict[str, list[str]] = {}
        for term in self.sorted:
            if len(term) >= 4 and term.isalpha():
                for variant in _deletes(term) | {term}:
                    self._by_delete.setdefault(variant, []).append(term)

    def has_prefix(self, prefix: str) -> bool:
        i = bisect_left(self.sorted, prefix)
        return i < len(self.sorted) and self.sorted[i].startswith(prefix)

    def prefix_count(self, prefix: str) -> int:
        """Chunks holding a term that starts with `prefix` (an upper bound: terms can share chunks)."""
        total, i = 0, bisect_left(self.sorted, prefix)
        while i < len(self.sorted) and self.sorted[i].startswith(prefix):
            total += self.df[self.sorted[i]]
            i += 1
        return min(total, self.chunks)

    def correct(self, word: str) -> str | None:
        if len(word) < 5 or not word.isalpha():
            return None
        limit = 1 if len(word) <= 7 else 2
        candidates: set[str] = set()
        for variant in _deletes(word) | {word}:
            candidates.update(self._by_delete.get(variant, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = _osa_distance(word, candidate, limit)
            if distance <= limit:
                key = (distance, -self.df[candidate], candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    def split(self, word: str) -> tuple[str, str] | None:
        """Two known words run together ("stoploss", "riskreward"), the most common split."""
        best: tuple[int, str, str] | None = None
        for i in range(3, len(word) - 2):
            left, right = word[:i], word[i:]
            if left in self.df and right in self.df and left not in STOP_WORDS and right not in STOP_WORDS:
                score = min(self.df[left], self.df[right])
                if best is None or score > best[0]:
                    best = (score, left, right)
        return (best[1], best[2]) if best else None

    def idf(self, prefixes: Sequence[str]) -> float:
        count = max((self.prefix_count(p) for p in prefixes), default=0)
        return math.log(1 + self.chunks / max(count, 1))

    @property
    def max_idf(self) -> float:
        return math.log(1 + max(self.chunks, 1))


@dataclass(frozen=True)
class Term:
    """One content word of a question: the prefixes that stand for it in the index (several for a
    Russian word with more than one English equivalent) and its weight in coverage (idf)."""

    word: str
    prefixes: tuple[str, ...]
    weight: float

    @property
    def known(self) -> bool:
        return bool(self.prefixes)


@dataclass(frozen=True)
class Analysis:
    terms: tuple[Term, ...]
    # The question as the vector model should read it: Russian words the lexicon knows in English.
    vector_text: str

    @property
    def searchable(self) -> list[str]:
        seen: dict[str, None] = {}
        for term in self.terms:
            for prefix in term.prefixes:
                seen.setdefault(prefix, None)
        return list(seen)[:16]


def analyse(query: str, vocabulary: Vocabulary) -> Analysis:
    terms: list[Term] = []
    vector_words: list[str] = []
    for word in words(query):
        if word in STOP_WORDS:
            if not _CYRILLIC.search(word):
                vector_words.append(word)
            continue
        prefixes: tuple[str, ...] = ()
        if _CYRILLIC.search(word):
            english = _russian_terms(word)
            if english:
                prefixes = tuple(stem(w) for w in english)
                vector_words.extend(english)
            elif vocabulary.has_prefix(word[: max(4, len(word) - 2)]):
                # Russian material (a curator's FAQ answer): a crude stem keeps inflections matching.
                prefixes = (word[: max(4, len(word) - 2)],)
        else:
            vector_words.append(word)
            root = stem(word)
            if word in vocabulary.df or (len(root) >= 3 and vocabulary.has_prefix(root)):
                prefixes = (root,)
            elif (fixed := vocabulary.correct(word)) is not None:
                prefixes = (stem(fixed),)
            elif (parts := vocabulary.split(word)) is not None:
                prefixes = (stem(parts[0]), stem(parts[1]))
            elif len(word) < 3 and word in vocabulary.df:
                prefixes = (word,)
        if prefixes:
            weight = vocabulary.idf(prefixes)
        elif _CYRILLIC.search(word):
            # A Russian word we cannot place says little about the topic (it is often filler the
            # stop list missed), but it is still not covered.
            weight = 0.5 * vocabulary.max_idf
        else:
            # A word the material never uses is stronger evidence of an uncovered question than
            # the rarest word it does use ("peru" against "capital").
            weight = 2 * vocabulary.max_idf
        terms.append(Term(word, prefixes, weight))
    return Analysis(tuple(terms), " ".join(vector_words) or query)


def _selective(prefixes: Sequence[str], vocabulary: Vocabulary) -> list[str]:
    """Drop terms found in more than half of the chunks: bm25 gives them no weight (its idf is
    clamped there), yet every chunk they match must be ranked, which is most of the cost at 100k
    chunks. When every term is that common, the two rarest stay."""
    limit = vocabulary.chunks / 2
    counts = {p: vocabulary.prefix_count(p) for p in prefixes}
    kept = [p for p in prefixes if counts[p] <= limit]
    return kept or sorted(prefixes, key=lambda p: counts[p])[:2]


def coverage(analysis: Analysis, text: str) -> float:
    """The idf-weighted share of the question's content words found (as prefixes) in `text`."""
    total = sum(t.weight for t in analysis.terms)
    if total <= 0:
        return 0.0
    present = sorted(set(words(text)))
    found = 0.0
    for term in analysis.terms:
        for prefix in term.prefixes:
            i = bisect_left(present, prefix)
            if i < len(present) and present[i].startswith(prefix):
                found += term.weight
                break
    return found / total


@dataclass(frozen=True)
class Hit:
    document_id: int
    course_id: int
    kind: str  # "lesson", "glossary" or "faq"
    ref_id: int
    title: str
    heading: str
    text: str
    url: str
    score: float  # the fused RRF score
    text_rank: int | None  # 1-based rank in the full-text list, None when not in it
    vector_rank: int | None
    # Cosine similarity to the question (None without vectors) and the idf-weighted share of the
    # question's content words the chunk holds: the signals `confidence` reads.
    similarity: float | None = None
    coverage: float = 0.0


@dataclass
class SyncReport:
    model: str | None
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    # Chunks still to embed after this run's limit; the job queues another run for them.
    remaining: int = 0
    document_ids: list[int] = field(default_factory=list)


def content_hash(title: str, heading: str, body: str) -> str:
    return hashlib.sha256(embedding_text(title, heading, body).encode()).hexdigest()


def embedding_text(title: str, heading: str, body: str) -> str:
    return ". ".join(part for part in (title, heading, body) if part)


def chunk_url(kind: str, course_id: int, ref_id: int) -> str:
    if kind == "lesson":
        return f"/lessons/{ref_id}"
    if kind == "glossary":
        return f"/courses/{course_id}/glossary#term-{ref_id}"
    return f"/courses/{course_id}/faq#faq-{ref_id}"


@dataclass
class _Matrix:
    version: tuple[int, int]
    checked: float
    ids: np.ndarray
    courses: np.ndarray
    vectors: np.ndarray


class KnowledgeService:
    def __init__(self) -> None:
        # Per process and per database (tests and the benchmark open several): the vocabulary of
        # the full-text index and, on SQLite, the vectors of the current model.
        self._vocabularies: dict[str, tuple[tuple[int, ...], Vocabulary]] = {}
        self._matrices: dict[tuple[str, str], _Matrix] = {}

    # --- sync ---------------------------------------------------------------------------------------

    async def sync(
        self,
        session: AsyncSession,
        embedder: Embedder | EllipsisType | None = ...,
        *,
        limit: int = SYNC_RUN_LIMIT,
    ) -> SyncReport:
        """Embed the published chunks that have no vector from this embedder or whose text changed,
        and drop vectors of other models. Without an embedder (`None`, or none configured when left
        out) nothing happens: retrieval is full-text only."""
        model = default_embedder() if embedder is ... else embedder
        if model is None:
            return SyncReport(model=None)
        repo = KnowledgeRepository(session)
        report = SyncReport(model=model.name)
        report.removed = await repo.delete_other_models(model.name)
        pending: list[tuple[int, str, str]] = []  # (id, hash, text)
        after = 0
        while True:
            page = await repo.published_chunks(model.name, after_id=after, limit=1000)
            if not page:
                break
            for chunk in page:
                digest = content_hash(chunk.title, chunk.heading, chunk.body)
                if chunk.stored_hash == digest:
                    report.unchanged += 1
                elif len(pending) < limit:
                    pending.append((chunk.id, digest, embedding_text(chunk.title, chunk.heading, chunk.body)))
                else:
                    report.remaining += 1
            after = page[-1].id
        # Embed everything first and write at the end, so the write transaction stays short.
        rows: list[tuple[int, str, np.ndarray]] = []
        for start in range(0, len(pending), SYNC_BATCH):
            batch = pending[start : start + SYNC_BATCH]
            vectors = await model.embed([text for _, _, text in batch])
            rows.extend(
                (doc_id, digest, vector) for (doc_id, digest, _), vector in zip(batch, vectors, strict=True)
            )
        await repo.save_embeddings(model.name, rows)
        report.embedded = len(rows)
        report.document_ids = [row[0] for row in rows]
        if report.embedded or report.removed:
            self._forget_vectors(session)
            log.info(
                "coach.knowledge_synced",
                model=model.name,
                embedded=report.embedded,
                removed=report.removed,
                remaining=report.remaining,
            )
        return report

    # --- retrieval ----------------------------------------------------------------------------------

    async def retrieve(
        self,
        session: AsyncSession,
        query: str,
        *,
        course_id: int | None = None,
        limit: int = 6,
        embedder: Embedder | EllipsisType | None = ...,
    ) -> list[Hit]:
        """The chunks that best answer `query`, best first (see the module docstring)."""
        model = default_embedder() if embedder is ... else embedder
        repo = KnowledgeRepository(session)
        vocabulary = await self._vocabulary(session, repo)
        analysis = analyse(query, vocabulary)
        text_hits: list[tuple[int, float]] = []
        prefixes = _selective(analysis.searchable, vocabulary)
        if prefixes:
            weighted = [(p, vocabulary.idf([p])) for p in prefixes]
            text_hits = await repo.fulltext(weighted, course_id=course_id, limit=CANDIDATES)
        vector_hits: list[tuple[int, float]] = []
        if model is not None and query.strip():
            try:
                vector_hits = await self._nearest(session, repo, model, analysis.vector_text, course_id)
            except EmbeddingError as exc:
                # The question still gets a full-text answer; the failure is for the operator.
                log.warning("coach.embedding_failed", error=str(exc), model=model.name)
        text_rank = {doc_id: rank for rank, (doc_id, _) in enumerate(text_hits, 1)}
        vector_rank = {doc_id: rank for rank, (doc_id, _) in enumerate(vector_hits, 1)}
        similarity = dict(vector_hits)
        fused: dict[int, float] = {}
        for ranks in (text_rank, vector_rank):
            for doc_id, rank in ranks.items():
                fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (RRF_K + rank)
        order = sorted(fused, key=lambda d: (-fused[d], d))
        rows = await repo.documents(order[: limit * 3])
        hits = []
        for doc_id in order:
            row = rows.get(doc_id)
            if row is None:
                continue
            hits.append(self._hit(row, analysis, fused[doc_id], text_rank, vector_rank, similarity))
            if len(hits) == limit:
                break
        return hits

    def confidence(self, query: str, hits: Sequence[Hit]) -> float:
        """How sure retrieval is that the hits answer `query`, 0..1.

        C = coverage: the idf-weighted share of the question's content words found in the best
            of the top three chunks (words the index has never seen count fully against it).
        S = (cosine similarity of the closest chunk - 0.20) / 0.40, clipped to 0..1 (MiniLM puts
            unrelated text near 0.1 and a chunk that answers the question at 0.5-0.7).
        A = 1 when a top-three chunk is in the top three of both retrievers (they agree), else 0.
        G = the relative gap between the first and second fused scores, 0..1.

        With vectors:   0.50 C + 0.35 S + 0.10 A + 0.05 G
        Full-text only: 0.90 C + 0.10 G
        When C < 0.5 and the vectors do not vouch for the chunk (no vectors, or S < 0.5), the value
        is capped at 0.2 + 0.3 C: a question about something the course never mentions cannot
        pass on one shared word ("capital" in "what is the capital of Peru").
        """
        if not hits or not words(query):
            return 0.0
        top = hits[:3]
        c = max(h.coverage for h in top)
        gap = 0.0
        if len(hits) > 1 and hits[0].score > 0:
            gap = max(0.0, min(1.0, (hits[0].score - hits[1].score) / hits[0].score * 4))
        similarities = [h.similarity for h in hits if h.similarity is not None]
        s = 0.0
        if similarities:
            s = max(0.0, min(1.0, (max(similarities) - 0.20) / 0.40))
            agree = any(
                h.text_rank is not None
                and h.vector_rank is not None
                and h.text_rank <= 3
                and h.vector_rank <= 3
                for h in top
            )
            value = 0.50 * c + 0.35 * s + 0.10 * float(agree) + 0.05 * gap
        else:
            value = 0.90 * c + 0.10 * gap
        if c < 0.5 and s < 0.5:
            value = min(value, 0.2 + 0.3 * c)
        return round(max(0.0, min(1.0, value)), 4)

    # --- internals ----------------------------------------------------------------------------------

    def _hit(
        self,
        row: ChunkRow,
        analysis: Analysis,
        score: float,
        text_rank: dict[int, int],
        vector_rank: dict[int, int],
        similarity: dict[int, float],
    ) -> Hit:
        return Hit(
            document_id=row.id,
            course_id=row.course_id,
            kind=row.kind,
            ref_id=row.ref_id,
            title=row.title,
            heading=row.heading,
            text=row.body,
            url=chunk_url(row.kind, row.course_id, row.ref_id),
            score=score,
            text_rank=text_rank.get(row.id),
            vector_rank=vector_rank.get(row.id),
            similarity=similarity.get(row.id),
            coverage=coverage(analysis, f"{row.title} {row.heading} {row.body}"),
        )

    async def _vocabulary(self, session: AsyncSession, repo: KnowledgeRepository) -> Vocabulary:
        key = _database_key(session)
        version = await repo.documents_version()
        cached = self._vocabularies.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        vocabulary = Vocabulary(await repo.vocabulary(), chunks=version[0])
        self._vocabularies[key] = (version, vocabulary)
        return vocabulary

    async def _nearest(
        self,
        session: AsyncSession,
        repo: KnowledgeRepository,
        model: Embedder,
        text: str,
        course_id: int | None,
    ) -> list[tuple[int, float]]:
        # Nothing synced for this model yet: don't embed the question (nor load the model for it).
        if repo.dialect == "postgresql":
            if not await repo.has_embeddings(model.name):
                return []
            vector = (await model.embed([text]))[0]
            return await repo.nearest(model.name, vector, course_id=course_id, limit=CANDIDATES)
        matrix = await self._matrix(session, repo, model.name)
        if not len(matrix.ids):
            return []
        vector = (await model.embed([text]))[0]
        if matrix.vectors.shape[1] != vector.shape[0]:
            return []
        scores = matrix.vectors @ vector
        if course_id is not None:
            scores = np.where(matrix.courses == course_id, scores, -np.inf)
        count = min(CANDIDATES, len(scores))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best])]
        return [(int(matrix.ids[i]), float(scores[i])) for i in best if np.isfinite(scores[i])]

    async def _matrix(self, session: AsyncSession, repo: KnowledgeRepository, model: str) -> _Matrix:
        key = (_database_key(session), model)
        cached = self._matrices.get(key)
        now = time.monotonic()
        if cached is not None and now - cached.checked < VECTOR_RECHECK_SECONDS:
            return cached
        version = await repo.embeddings_version(model)
        if cached is not None and cached.version == version:
            cached.checked = now
            return cached
        ids, courses, vectors = await repo.embedding_matrix(model)
        matrix = _Matrix(version, now, ids, courses, vectors)
        self._matrices[key] = matrix
        return matrix

    def _forget_vectors(self, session: AsyncSession) -> None:
        key = _database_key(session)
        for cached in [k for k in self._matrices if k[0] == key]:
            del self._matrices[cached]


def _database_key(session: AsyncSession) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


knowledge_service = KnowledgeService()
