"""Confidence separates questions the course answers from those it does not."""

import pytest

from academy.coach.knowledge import knowledge_service
from academy.config import get_settings
from academy.kit.uow import UnitOfWork
from tests.coach.knowledge.embedders import HashingEmbedder

COVERED = [
    "how much of my account should i risk on one trade",
    "what is rsi and how do i read it",
    "where should i put my stop loss",
    "what is a margin call",
    "how do i calculate expectancy",
    "что такое спред",
]
UNCOVERED = [
    "how do I bake sourdough bread",
    "what is the capital of Peru",
    "who won the world cup in 2018",
    "how do i connect my binance account to the platform api",
    "how to trade options greeks delta gamma",
    "как испечь хлеб",
]


@pytest.mark.parametrize("hybrid", [False, True], ids=["fulltext", "hybrid"])
async def test_confidence_separates_covered_from_uncovered(real_course, hybrid):
    embedder = HashingEmbedder() if hybrid else None
    threshold = get_settings().coach_confidence_threshold
    async with UnitOfWork() as uow:
        if embedder:
            await knowledge_service.sync(uow.session, embedder)
    scores = {}
    async with UnitOfWork() as uow:
        for question in COVERED + UNCOVERED:
            hits = await knowledge_service.retrieve(uow.session, question, embedder=embedder)
            scores[question] = knowledge_service.confidence(question, hits)
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    low = {q: scores[q] for q in COVERED if scores[q] < threshold + 0.15}
    high = {q: scores[q] for q in UNCOVERED if scores[q] >= threshold}
    assert not low, f"covered questions scored near or below {threshold}: {low}"
    assert not high, f"uncovered questions scored above {threshold}: {high}"


def test_no_hits_means_no_confidence():
    assert knowledge_service.confidence("anything at all", []) == 0.0
