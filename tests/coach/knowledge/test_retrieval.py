"""Hybrid retrieval over the real course: paraphrases, typos, Russian, and what must never show."""

import pytest

from academy.coach.knowledge import knowledge_service
from academy.integrations.embeddings import Embedder
from academy.kit.uow import UnitOfWork
from tests.coach.knowledge.embedders import HashingEmbedder
from tests.fixtures.learning import make_course

# Each question with the sources that answer it: its lesson, and the FAQ entry written for exactly
# that question where the course has one.
PARAPHRASES = {
    "how many shares should i buy so one loss costs me only 1% of my account": (
        "position-sizing",
        "How do I size a position with the 1% rule? Please show the numbers.",
    ),
    "two averages crossing, the slow one and the quick one, what does it tell me": ("moving-averages",),
    "how do i measure how far price usually moves in a day": ("atr-and-volatility",),
    "why does price keep bouncing from the same old level": ("support-and-resistance",),
    "my strategy was perfect on old data and then lost money live, why": (
        "overfitting-and-walk-forward",
        "My backtest looks amazing. What could be wrong?",
    ),
    "what should i record after every trade, and why bother with a journal": ("trading-journal-and-biases",),
    "how can i tell if a signal seller on telegram is a scam": (
        "red-flags-and-scams",
        "What are the red flags of a signal scam?",
    ),
    "what do open high low and close of a candle mean": ("candlesticks",),
}

TYPOS = {
    "bolinger bands sqeeze": "bollinger-bands",
    "how to calculate positon sizing": "position-sizing",
    "rsi divergance": "rsi",
    "where to put my stoploss": "stop-loss",
}


async def _top_lessons(query, course, embedder, limit=3):
    slug_of = dict(zip(course.lessons, course.lesson_slugs, strict=True))
    async with UnitOfWork() as uow:
        hits = await knowledge_service.retrieve(uow.session, query, limit=limit, embedder=embedder)
    return [slug_of[h.ref_id] for h in hits if h.kind == "lesson"], hits


async def _sync(embedder: Embedder) -> None:
    async with UnitOfWork() as uow:
        report = await knowledge_service.sync(uow.session, embedder)
    assert report.embedded > 0 and report.remaining == 0


@pytest.mark.parametrize("hybrid", [False, True], ids=["fulltext", "hybrid"])
async def test_paraphrased_questions_find_their_lesson(real_course, hybrid):
    embedder = HashingEmbedder() if hybrid else None
    if embedder is not None:
        await _sync(embedder)
    slug_of = dict(zip(real_course.lessons, real_course.lesson_slugs, strict=True))
    missed = {}
    for question, answers in PARAPHRASES.items():
        _, hits = await _top_lessons(question, real_course, embedder, limit=6)
        found = [slug_of[h.ref_id] if h.kind == "lesson" else h.title for h in hits]
        if not set(answers) & set(found):
            missed[question] = found
    assert not missed


async def test_hybrid_hits_carry_both_ranks_and_similarity(real_course):
    embedder = HashingEmbedder()
    await _sync(embedder)
    _, hits = await _top_lessons("what is the relative strength index", real_course, embedder)
    assert hits and hits[0].title == "The Relative Strength Index (RSI)"
    assert any(h.text_rank and h.vector_rank for h in hits)
    assert all(h.similarity is not None for h in hits if h.vector_rank)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_typos_are_corrected_against_the_index_vocabulary(real_course):
    for question, slug in TYPOS.items():
        lessons, _ = await _top_lessons(question, real_course, None, limit=4)
        assert slug in lessons, (question, lessons)


async def test_russian_questions_reach_the_english_material(real_course):
    _, hits = await _top_lessons("что такое спред", real_course, None)
    assert hits[0].kind == "glossary" and hits[0].title == "Spread"
    lessons, _ = await _top_lessons("как рассчитать размер позиции", real_course, None, limit=4)
    assert "position-sizing" in lessons
    lessons, _ = await _top_lessons("стоп лосс где ставить", real_course, None, limit=4)
    assert "stop-loss" in lessons


async def test_hits_link_to_their_source(real_course):
    async with UnitOfWork() as uow:
        hits = await knowledge_service.retrieve(uow.session, "spread bid ask", limit=6, embedder=None)
    by_kind = {h.kind: h for h in hits}
    lesson, term = by_kind["lesson"], by_kind["glossary"]
    assert lesson.url == f"/lessons/{lesson.ref_id}"
    assert term.url == f"/courses/{real_course.id}/glossary#term-{term.ref_id}"
    faq = (await _top_lessons("How do I choose a broker?", real_course, None))[1][0]
    assert faq.kind == "faq" and faq.url == f"/courses/{real_course.id}/faq#faq-{faq.ref_id}"


async def test_unpublished_lessons_and_courses_are_never_retrieved(settings, tmp_path):
    secret = "Zanzibarian quokka arbitrage is the secret of this draft lesson."
    bodies = {0: "## Open\n\nPublic quokka material for everyone.", 1: f"## Hidden\n\n{secret}"}
    course = await make_course(tmp_path, lessons=2, unpublished_lessons=[1], bodies=bodies)
    hidden = await make_course(
        tmp_path, slug="hidden-course", published=False, bodies={0: f"## Also hidden\n\n{secret}"}
    )
    embedder = HashingEmbedder()
    await _sync(embedder)
    for engine in (None, embedder):
        async with UnitOfWork() as uow:
            hits = await knowledge_service.retrieve(
                uow.session, "zanzibarian quokka arbitrage", limit=10, embedder=engine
            )
        assert hits, "the published lesson is found"
        assert {h.ref_id for h in hits if h.kind == "lesson"} == {course.lessons[0]}
        assert hidden.id not in {h.course_id for h in hits}


async def test_course_filter(settings, tmp_path):
    one = await make_course(tmp_path, slug="one", bodies={0: "## A\n\nCandles and wicks explained."})
    two = await make_course(tmp_path, slug="two", bodies={0: "## B\n\nCandles and wicks again."})
    embedder = HashingEmbedder()
    await _sync(embedder)
    for engine in (None, embedder):
        async with UnitOfWork() as uow:
            everywhere = await knowledge_service.retrieve(uow.session, "candles wicks", embedder=engine)
            only_two = await knowledge_service.retrieve(
                uow.session, "candles wicks", course_id=two.id, embedder=engine
            )
        assert {one.id, two.id} <= {h.course_id for h in everywhere}
        assert only_two and {h.course_id for h in only_two} == {two.id}


async def test_a_question_of_stop_words_finds_nothing_without_vectors(real_course):
    async with UnitOfWork() as uow:
        assert await knowledge_service.retrieve(uow.session, "what is it and how", embedder=None) == []


async def test_the_question_is_not_embedded_before_anything_was_synced(real_course):
    embedder = HashingEmbedder()
    lessons, hits = await _top_lessons("what is rsi", real_course, embedder)
    assert hits and "rsi" in lessons, "full-text still answers"
    assert embedder.calls == [] and all(h.vector_rank is None for h in hits)
